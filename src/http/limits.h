// The transport's limits: what one client may send and keep open.
#pragma once

#include <chrono>
#include <cstdint>

namespace inferd::http {

// Every limit the transport enforces. Defaults are documented in README.md.
struct Limits {
  uint64_t max_body_bytes = 64ull << 20;  // larger bodies get 413 before being read
  uint32_t max_header_bytes = 16 << 10;   // request line + headers; larger gets 431
  uint32_t max_target_bytes = 8 << 10;    // path + query; longer gets 414
  uint32_t max_connections = 4096;        // further connections get 503 and are closed
  // A connection waiting for (the rest of) a request's headers is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  // Once headers are in, the body must arrive, and the reply be taken, within this.
  std::chrono::milliseconds read_timeout{30'000};
};

}  // namespace inferd::http
