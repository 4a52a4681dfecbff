#include "train/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace inferd::train {
namespace {

constexpr auto kRetryPause = std::chrono::milliseconds(200);

int MillisUntil(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1000));
}

}  // namespace

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void Socket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Socket::Shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

StatusOr<Socket> Socket::Connect(const std::string& host, int port, Deadline deadline) {
  const std::string address = host + ":" + std::to_string(port);
  std::string last_error = "timed out";
  for (;;) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int resolved = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (resolved != 0) {
      last_error = ::gai_strerror(resolved);
    } else {
      for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        Socket socket(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
        if (!socket.valid()) continue;
        if (::connect(socket.fd(), a->ai_addr, a->ai_addrlen) == 0) {
          ::freeaddrinfo(found);
          const int one = 1;
          ::setsockopt(socket.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          return socket;
        }
        last_error = std::strerror(errno);
      }
      ::freeaddrinfo(found);
    }
    if (std::chrono::steady_clock::now() + kRetryPause >= deadline) break;
    std::this_thread::sleep_for(kRetryPause);
  }
  return Unavailable("cannot connect to " + address + ": " + last_error);
}

StatusOr<Socket> Socket::Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const int resolved = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                     std::to_string(port).c_str(), &hints, &found);
  if (resolved != 0) return Unavailable("cannot resolve " + host + ": " + ::gai_strerror(resolved));
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    Socket socket(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!socket.valid()) continue;
    const int one = 1;
    ::setsockopt(socket.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(socket.fd(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(socket.fd(), 256) == 0) {
      ::freeaddrinfo(found);
      return socket;
    }
    error = std::strerror(errno);
  }
  ::freeaddrinfo(found);
  return Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " + error);
}

int Socket::LocalPort() const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return -1;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

std::string Socket::PeerAddress() const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {  // an IPv4 peer on a dual-stack listener
      ::inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    }
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address)->sin_addr, text, sizeof(text));
  }
  return text;
}

Status Socket::Wait(short events, Deadline deadline) {
  for (;;) {
    pollfd p{.fd = fd_, .events = events, .revents = 0};
    const int ready = ::poll(&p, 1, MillisUntil(deadline));
    if (ready > 0) return Status::Ok();
    if (ready < 0 && errno != EINTR)
      return Unavailable(std::string("poll: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) return Unavailable("timed out");
  }
}

StatusOr<Socket> Socket::Accept(Deadline deadline) {
  RETURN_IF_ERROR(Wait(POLLIN, deadline));
  const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return Unavailable(std::string("accept: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return Socket(fd);
}

Status Socket::SendAll(const void* data, size_t n, Deadline deadline) {
  const char* at = static_cast<const char*>(data);
  while (n > 0) {
    RETURN_IF_ERROR(Wait(POLLOUT, deadline));
    const ssize_t sent = ::send(fd_, at, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Unavailable(std::string("send: ") + std::strerror(errno));
    }
    at += sent;
    n -= static_cast<size_t>(sent);
  }
  return Status::Ok();
}

Status Socket::RecvAll(void* data, size_t n, Deadline deadline) {
  char* at = static_cast<char*>(data);
  while (n > 0) {
    RETURN_IF_ERROR(Wait(POLLIN, deadline));
    const ssize_t got = ::recv(fd_, at, n, MSG_DONTWAIT);
    if (got == 0) return Unavailable("connection closed");
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Unavailable(std::string("recv: ") + std::strerror(errno));
    }
    at += got;
    n -= static_cast<size_t>(got);
  }
  return Status::Ok();
}

StatusOr<int32_t> Socket::RecvInt(Deadline deadline) {
  int32_t v = 0;
  RETURN_IF_ERROR(RecvAll(&v, sizeof(v), deadline));
  return v;
}

Status Socket::SendString(const std::string& s, Deadline deadline) {
  RETURN_IF_ERROR(SendInt(static_cast<int32_t>(s.size()), deadline));
  return SendAll(s.data(), s.size(), deadline);
}

StatusOr<std::string> Socket::RecvString(Deadline deadline, size_t max_size) {
  ASSIGN_OR_RETURN(int32_t size, RecvInt(deadline));
  if (size < 0 || static_cast<size_t>(size) > max_size) {
    return InvalidArgument("a string of " + std::to_string(size) + " bytes");
  }
  std::string s(static_cast<size_t>(size), '\0');
  RETURN_IF_ERROR(RecvAll(s.data(), s.size(), deadline));
  return s;
}

}  // namespace inferd::train
