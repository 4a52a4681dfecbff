// Request and Response: the transport-neutral HTTP messages that handlers see.
//
// The server (server.h) fills a Request from the wire and writes back the
// Response a handler returns; handlers never touch sockets, so they are tested
// by building these structs directly. Plain values; not shared across threads.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inferd::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent: "/v2/models/m/infer?x=1"
  std::vector<std::pair<std::string, std::string>> headers;
  // The body. The server leaves at least kBodyPadding writable bytes of spare
  // capacity after it, so parsers that read past the end (simdjson) need no copy.
  std::string body;
  // When the kernel received the request's last bytes (the socket's receive
  // timestamp, SO_TIMESTAMPNS): the time a request waited in the kernel's queue
  // and the loop's is `now - arrived`. The epoch when unknown.
  std::chrono::system_clock::time_point arrived;

  // The value of the first header named `name` (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
  // The path part of `target`, without the query string.
  std::string_view Path() const;
  // The raw query string (after '?'), or "".
  std::string_view Query() const;
};

// Spare capacity the server reserves after a request body (simdjson's padding).
inline constexpr size_t kBodyPadding = 64;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

}  // namespace inferd::http
