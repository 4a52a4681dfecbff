// Server: the HTTP/1.1 transport. Accepts connections, reads requests within
// the configured limits and timeouts, hands each to a Handler, writes replies.
//
// It knows nothing of inference: a Handler maps a Request to a Response. Every
// failure of the transport itself (malformed bytes, a body or header over its
// limit, too many connections) is answered with a JSON `{"error": ...}` body and
// the connection is closed; nothing a client sends can crash or wedge a worker.
//
// Threading: Run() drives `threads` I/O threads, each with an event loop of its
// own; new connections are dealt to them in turn and stay on one thread, so one
// connection's requests are handled in order and never hop threads. The
// handler is called on all of them concurrently, so it must be thread-safe.
// A handler that would block (store I/O, a model load) must not run its work
// on the loop: it hands the work to another thread with the request's
// Responder and returns no response; the reply is then posted back to the
// connection's loop. The connection reads nothing more until it is answered.
// Shutdown() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "http/limits.h"
#include "http/message.h"

namespace inferd::http {

class Mailbox;

// Answers one request later, from any thread. Copyable; the first Send wins
// and later ones are ignored. If the connection has closed meanwhile (client
// gone, server stopped) the reply is dropped. A request whose handler deferred
// it and whose Responder is destroyed unanswered stays unanswered until the
// server's shutdown grace closes it: always Send.
class Responder {
 public:
  Responder() = default;
  Responder(std::shared_ptr<Mailbox> mailbox, uint64_t connection)
      : mailbox_(std::move(mailbox)), connection_(connection) {}
  void Send(Response response) const;

 private:
  std::shared_ptr<Mailbox> mailbox_;
  uint64_t connection_ = 0;
};

// Returns the reply, or std::nullopt after arranging for `responder` (which it
// may copy or move) to be sent the reply later.
using Handler = std::function<std::optional<Response>(Request&, Responder&)>;

class Server {
 public:
  struct Options {
    std::string host = "0.0.0.0";
    uint16_t port = 9000;  // 0 picks a free port; see port()
    int threads = 1;
    Limits limits;
  };

  // Binds and listens. Fails with Unavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<Server>> Create(const Options& options, Handler handler);
  ~Server();

  // The bound port (useful with port 0).
  uint16_t port() const;

  // Serves until Shutdown has drained every connection or its grace ran out.
  void Run();

  // Stops accepting, closes idle connections, lets in-flight requests finish
  // (their replies carry `Connection: close`), and makes Run return once no
  // connection is left or `grace` has passed. Idempotent; thread-safe.
  void Shutdown(std::chrono::milliseconds grace);

  // Number of open connections.
  int64_t connections() const;

  class Impl;  // public only so that server.cc's Connection can name it

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferd::http
