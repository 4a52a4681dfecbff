// Blocking TCP sockets with deadlines, for the training job's tracker and its
// workers (train/tracker.h, train/distributed.h). Integers travel as rabit's
// do: 32-bit, in the host's byte order (every worker of a job runs the same
// image); strings as a 32-bit length and the bytes.
//
// A Socket owns its descriptor. Not thread-safe, except that Shutdown() may be
// called from another thread to wake a blocked call.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace inferd::train {

using Deadline = std::chrono::steady_clock::time_point;

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { Close(); }
  Socket(Socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Connects to host:port, retrying refusals and names that do not resolve
  // yet (a pod not yet up) until `deadline`. Unavailable naming the address.
  static StatusOr<Socket> Connect(const std::string& host, int port, Deadline deadline);
  // Listens on host:port (port 0: any free port).
  static StatusOr<Socket> Listen(const std::string& host, int port);

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close();
  // Wakes any call blocked on this socket; it then fails.
  void Shutdown();
  // The port this socket is bound to, and the peer's address.
  int LocalPort() const;
  std::string PeerAddress() const;

  // Accepts one connection (the listening socket is polled until `deadline`).
  // Unavailable on timeout.
  StatusOr<Socket> Accept(Deadline deadline);

  Status SendAll(const void* data, size_t n, Deadline deadline);
  Status RecvAll(void* data, size_t n, Deadline deadline);
  Status SendInt(int32_t v, Deadline deadline) { return SendAll(&v, sizeof(v), deadline); }
  StatusOr<int32_t> RecvInt(Deadline deadline);
  Status SendString(const std::string& s, Deadline deadline);
  // Strings longer than `max_size` are refused (InvalidArgument).
  StatusOr<std::string> RecvString(Deadline deadline, size_t max_size = 1 << 16);

 private:
  // Waits until the socket is readable (POLLIN) or writable (POLLOUT).
  Status Wait(short events, Deadline deadline);

  int fd_ = -1;
};

}  // namespace inferd::train
