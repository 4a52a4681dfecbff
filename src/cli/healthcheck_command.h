// `inferd healthcheck`: asks a running server whether it is ready, for Docker's
// HEALTHCHECK and Kubernetes exec probes (the runtime image carries no curl).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace inferd::cli {

struct HealthcheckOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9000;
  std::string path = "/v2/health/ready";
  int64_t timeout_ms = 2000;
};

// Ok when the server answers `path` with a 2xx status; Unavailable with the
// status and body (or the connection error) otherwise.
Status Healthcheck(const HealthcheckOptions& options);

}  // namespace inferd::cli
