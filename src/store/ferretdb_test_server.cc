#include "store/ferretdb_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace inferd::store {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(30);

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

Status FerretDbTestServer::Start() {
  if (!std::filesystem::exists(binary_)) {
    return FailedPrecondition("FerretDB binary " + binary_ +
                              " is missing: run scripts/build-ferretdb.sh");
  }
  if (data_dir_.empty()) {
    char pattern[] = "/tmp/inferd-ferretdb-XXXXXX";
    data_dir_ = mkdtemp(pattern);
    port_ = FreePort();
  }
  const std::string listen = "127.0.0.1:" + std::to_string(port_);
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    execl(binary_.c_str(), binary_.c_str(), "-listen-addr", listen.c_str(), "-sqlite-dir",
          data_dir_.c_str(), "-log-level", "error", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Accepts(port_)) return Status::Ok();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Unavailable("FerretDB exited at start-up with status " + std::to_string(status));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Stop();
  return Unavailable("FerretDB did not accept connections within 30 s");
}

void FerretDbTestServer::Stop(bool hard, bool keep_data) {
  if (pid_ > 0) {
    kill(pid_, hard ? SIGKILL : SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  if (!keep_data && !data_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
    data_dir_.clear();
  }
}

std::string FerretDbTestServer::Uri(const std::string& database) const {
  return "mongodb://127.0.0.1:" + std::to_string(port_) + "/" + database;
}

}  // namespace inferd::store
