// FerretDbTestServer: a real MongoDB-wire server (FerretDB, SQLite backend) for
// tests. Start() runs the binary built by scripts/build-ferretdb.sh on a free
// loopback port with a fresh data folder; Stop() (or the destructor) ends it
// and removes the folder. Test-only; not thread-safe.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/status.h"

namespace inferd::store {

class FerretDbTestServer {
 public:
  explicit FerretDbTestServer(std::string binary) : binary_(std::move(binary)) {}
  ~FerretDbTestServer() { Stop(); }

  // Starts the server and waits until it accepts connections.
  Status Start();
  // Kills the server (SIGKILL when `hard`, else SIGTERM) and removes its data
  // unless `keep_data` (so a restart finds it again).
  void Stop(bool hard = false, bool keep_data = false);
  bool running() const { return pid_ > 0; }

  // mongodb://127.0.0.1:<port>/<database>
  std::string Uri(const std::string& database) const;
  int port() const { return port_; }

 private:
  std::string binary_;
  std::string data_dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace inferd::store
