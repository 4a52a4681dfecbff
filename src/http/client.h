// A minimal blocking HTTP/1.1 client for one GET at a time. It exists for
// `inferd healthcheck` (container HEALTHCHECK and exec probes, where the slim
// runtime image has no curl); it is not used on the serving path.
// Thread-compatible: each call opens, uses and closes its own connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace inferd::http {

struct ClientReply {
  int status = 0;
  std::string body;
};

// GETs http://host:port/target. Fails with Unavailable when the server cannot
// be reached or does not answer within `timeout` (connect, send and receive
// together); any HTTP status, 5xx included, is a successful reply.
StatusOr<ClientReply> Get(const std::string& host, uint16_t port, const std::string& target,
                          std::chrono::milliseconds timeout);

}  // namespace inferd::http
