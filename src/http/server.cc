#include "http/server.h"

// Boost 1.74's Asio (pulled in by Beast) uses std::exchange without including
// <utility> under C++20.
#include <utility>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/status.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/json_writer.h"
#include "http/request_parser.h"

// The transport: HTTP/1.1 on epoll, one event loop per thread, as nginx does.
// Beast's parser reads requests (chunked bodies, limits, every header rule);
// replies are written with one sendmsg of the head and the body. Measured
// against Asio + Beast streams (bench/README.md): per request one recv and one
// send instead of a speculative recv that fails, a timer armed and cancelled
// per operation, and Beast's serializer; timeouts are deadlines that each loop
// sweeps a few times a second.
namespace inferd::http {
namespace beast = boost::beast;
namespace bhttp = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

// How long a closing connection keeps reading (and discarding) what the client
// still sends, so that the client sees our error reply instead of a reset.
constexpr std::chrono::milliseconds kLingerTimeout{1000};
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
// The read buffer: room for the announced body is made ahead (up to
// kMaxReadBytes a read) so that a body arrives in one recv, not 512 bytes at a
// time; a connection keeps at most kKeptReadBufferBytes between requests.
constexpr size_t kInitialReadBufferBytes = 4096;
constexpr size_t kMaxReadBytes = 256 << 10;
constexpr size_t kKeptReadBufferBytes = 64 << 10;
constexpr int kMaxEvents = 256;
constexpr std::chrono::milliseconds kAcceptPause{100};
// Reads that fill the buffer, in a row, before a connection lets the others
// of its loop have a turn (it resumes right after them, not on a new edge):
// at most 1 MiB a turn, so a large upload delays the loop's other requests by
// a fraction of a millisecond (bench/isolation.py).
constexpr int kReadsPerTurn = 4;

// Deadlines are checked this often: a quarter of the shortest timeout, within
// [10 ms, 250 ms].
std::chrono::milliseconds SweepInterval(const Limits& limits) {
  auto shortest = std::min({limits.idle_timeout, limits.read_timeout, kLingerTimeout});
  return std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
}

void AppendNumber(std::string* out, uint64_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out->append(digits, end);
}

}  // namespace

class Loop;

// Replies that other threads post to one loop (Responder::Send). The loop
// takes them when its eventfd wakes it. Thread-safe; outlives its loop, so a
// late Send after the loop has stopped is dropped, not a use after free.
class Mailbox {
 public:
  explicit Mailbox(int wake_fd) : wake_fd_(wake_fd) {}

  void Post(uint64_t request, Response response) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    replies_.emplace_back(request, std::move(response));
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }
  std::vector<std::pair<uint64_t, Response>> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(replies_, {});
  }
  // Called by the loop before its eventfd closes: later posts are dropped.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    replies_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<uint64_t, Response>> replies_;  // guarded by mu_
  bool closed_ = false;                                  // guarded by mu_
  const int wake_fd_;
};

void Responder::Send(Response response) const {
  if (mailbox_) mailbox_->Post(connection_, std::move(response));
}

// One client connection, owned by one Loop and touched only by its thread.
// Requests are read, handled and answered one at a time (pipelined requests
// wait in the buffer).
class Connection {
 public:
  Connection(int fd, Loop* loop);
  ~Connection() { ::close(fd_); }

  void Start(bool over_connection_limit);
  void OnEvent(uint32_t events);
  // Closes the connection when its deadline has passed.
  void CheckDeadline(Clock::time_point now);
  // Closes the connection if it is waiting for a request (draining).
  void CloseIfIdle();
  // Goes on reading where a turn ended (see kReadsPerTurn).
  void Resume();
  // The reply to the request a handler deferred; then reads on.
  void OnReply(Response response);
  // Closes now, whatever the state (the shutdown grace has run out).
  void Abort() { Close(); }
  bool queued = false;  // in Loop::ready_
  bool closed() const { return state_ == State::kClosed; }
  int fd() const { return fd_; }

  size_t index = 0;  // in Loop::connections_

 private:
  // kHandling: a handler deferred the request; nothing is read until its reply.
  enum class State { kReading, kHandling, kWriting, kLingering, kClosed };
  const Limits& limits() const;

  // `until_empty`: read until recv says so (after a hangup, or when an edge
  // may have been missed), not just until a short read.
  void Read(bool until_empty = false);
  ssize_t Receive(void* data, size_t size);
  void Process();
  void OnHeader();
  void Dispatch();
  void Send(Response response, bool keep_alive, bool head_only = false);
  void SendError(int status, const std::string& message);
  void SendInterim(std::string_view bytes);
  void Write();
  void OnWritten();
  void LingerAndClose();
  void Discard();
  void Close();

  const int fd_;
  Loop* const loop_;
  State state_ = State::kReading;
  Clock::time_point deadline_;
  beast::flat_buffer in_;
  RequestParser parser_;
  // The kernel's receive time of the last bytes read (Request::arrived).
  std::chrono::system_clock::time_point arrived_;
  // The reply being written: head, then body; `sent_` bytes of both are out.
  std::string head_;
  std::string body_;
  size_t sent_ = 0;
  bool interim_ = false;      // writing "100 Continue": reading resumes after it
  bool keep_alive_ = true;    // after this reply
  bool client_keep_alive_ = true;  // what the client asked for
  bool unread_input_ = false; // closing with input unread: linger first
  bool http10_ = false;       // the request being answered was HTTP/1.0
  // The deferred request being handled (kHandling): its id in the loop, and
  // how to answer it.
  uint64_t awaiting_ = 0;
  bool awaiting_keep_alive_ = false;
  bool awaiting_head_only_ = false;
};

// An event loop on one thread: an epoll set of its connections, a queue of
// connections handed over by the accepting loop, deadlines swept periodically.
class Loop {
 public:
  explicit Loop(Server::Impl* server);
  ~Loop();

  Status Init();
  void Run();
  // Thread-safe: queues an accepted socket for this loop.
  void Adopt(int fd, bool over_limit);
  // Thread-safe: makes epoll_wait return so the loop sees draining/stop.
  void Wake();

  Server::Impl* server() const { return server_; }
  Clock::time_point now() const { return now_; }
  // After work that may take long (a handler), so deadlines start from now.
  void Tick() { now_ = Clock::now(); }
  void Watch(Connection* conn);
  void Forget(Connection* conn);
  // Queues a connection that still has input to be read after this batch.
  void Later(Connection* conn);
  // A Responder for the next request this loop hands to the handler.
  Responder NextResponder() { return Responder(mailbox_, ++last_request_); }
  uint64_t last_request() const { return last_request_; }
  // The connection waits for the reply to `request` (posted to the mailbox).
  void Await(uint64_t request, Connection* conn) { awaiting_[request] = conn; }
  void StopAwaiting(uint64_t request) { awaiting_.erase(request); }

  int listen_fd = -1;  // set on the accepting loop only

 private:
  void AcceptAll();
  void WatchListener();
  void TakeAdopted();
  void TakeReplies();
  void Sweep();

  Server::Impl* const server_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  Clock::time_point now_ = Clock::now();
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Connection>> closed_;  // freed after each batch
  std::vector<Connection*> ready_;                   // to resume after this batch
  std::shared_ptr<Mailbox> mailbox_;
  uint64_t last_request_ = 0;
  std::unordered_map<uint64_t, Connection*> awaiting_;  // deferred requests
  std::mutex adopted_mu_;
  std::vector<std::pair<int, bool>> adopted_;  // guarded by adopted_mu_
  bool exited_ = false;                        // guarded by adopted_mu_: Run returned
  size_t next_loop_ = 0;                       // accepting loop: round robin
  std::optional<Clock::time_point> accept_paused_until_;
  char listen_tag_ = 0, wake_tag_ = 0;         // epoll data for the two fds
};

class Server::Impl {
 public:
  Impl(const Options& options, Handler handler) : options_(options), handler_(std::move(handler)) {}
  ~Impl() {
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  Status Bind();
  void Run();
  void Shutdown(std::chrono::milliseconds grace);

  uint16_t port() const { return port_; }
  const Limits& limits() const { return options_.limits; }
  Handler& handler() { return handler_; }
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  // Past the shutdown grace: loops close what is left and return.
  bool stopping(Clock::time_point now) const {
    return draining() && now >= Clock::time_point(Clock::duration(
                                    stop_at_.load(std::memory_order_acquire)));
  }
  int64_t connections() const { return open_.load(std::memory_order_relaxed); }
  void Opened() { open_.fetch_add(1, std::memory_order_relaxed); }
  void Closed() { open_.fetch_sub(1, std::memory_order_relaxed); }
  std::vector<std::unique_ptr<Loop>>& loops() { return loops_; }
  std::chrono::milliseconds sweep_interval() const { return sweep_interval_; }
  // Hands the listening socket to the accepting loop (it closes it on drain).
  int TakeListenFd() { return std::exchange(listen_fd_, -1); }

 private:
  const Options options_;
  Handler handler_;
  const std::chrono::milliseconds sweep_interval_ = SweepInterval(options_.limits);
  std::atomic<bool> draining_{false};
  std::atomic<Clock::rep> stop_at_{0};
  std::atomic<int64_t> open_{0};
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<Loop>> loops_;
};

// ---- Connection ----

Connection::Connection(int fd, Loop* loop)
    : fd_(fd), loop_(loop), parser_(loop->server()->limits()) {}

const Limits& Connection::limits() const { return loop_->server()->limits(); }

void Connection::Start(bool over_connection_limit) {
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Each read then carries the kernel's receive time (Request::arrived).
  ::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  in_.reserve(kInitialReadBufferBytes);
  deadline_ = loop_->now() + limits().idle_timeout;
  if (over_connection_limit) {
    return SendError(503, "too many connections (limit " +
                              std::to_string(limits().max_connections) +
                              ", --max-connections)");
  }
  // Edge-triggered: the first data may have arrived before registration.
  Read();
}


void Connection::OnEvent(uint32_t events) {
  const bool hangup = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
  if (state_ == State::kWriting) {
    // A reply that did not fit the socket at once: input that came meanwhile
    // raised no new edge, so it is read now.
    Write();
    if (state_ != State::kReading) return;
    Process();
    return Read(/*until_empty=*/true);
  }
  if (state_ == State::kLingering) return Discard();
  if (state_ == State::kReading) Read(hangup);
}

void Connection::CheckDeadline(Clock::time_point now) {
  // Timeouts close without a reply, as nginx does for a client_body_timeout.
  // A request being handled has no deadline here: the handler's work bounds it.
  if (state_ != State::kClosed && state_ != State::kHandling && now >= deadline_) Close();
}

void Connection::CloseIfIdle() {
  if (state_ == State::kReading && !parser_.header_seen() && in_.size() == 0) Close();
}

void Connection::OnReply(Response response) {
  if (state_ != State::kHandling) return;
  awaiting_ = 0;
  state_ = State::kReading;
  Send(std::move(response), awaiting_keep_alive_, awaiting_head_only_);
  // Input that arrived while the request was handled raised edges no one read.
  if (state_ != State::kReading) return;
  Process();
  Read(/*until_empty=*/true);
}

void Connection::Resume() {
  if (state_ == State::kReading) return Read(/*until_empty=*/true);
  if (state_ == State::kLingering) Discard();
}

// Reads what the socket holds, handling each complete request. A read that
// does not fill the room offered has drained the socket: the next bytes bring
// a new edge, so the loop goes back to epoll without a recv that would fail.
// Requests are handled (and usually answered) inside Process, so pipelined
// requests are served one after the other without recursion.
void Connection::Read(bool until_empty) {
  for (int turn = 0; state_ == State::kReading; ++turn) {
    if (turn == kReadsPerTurn) return loop_->Later(this);
    size_t room = kInitialReadBufferBytes;
    if (parser_.header_seen()) {
      if (auto length = parser_.body_remaining()) {
        room = std::clamp<uint64_t>(*length, kInitialReadBufferBytes, kMaxReadBytes);
      }
    }
    room = std::max(room, in_.capacity() - in_.size());
    auto buffer = in_.prepare(room);
    ssize_t n = Receive(buffer.data(), buffer.size());
    if (n > 0) {
      in_.commit(static_cast<size_t>(n));
      Process();
      if (static_cast<size_t>(n) < buffer.size() && !until_empty) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // End of stream or error: a request cut short is dropped without a reply.
    return Close();
  }
}

// recv, keeping the kernel's receive timestamp of the bytes read in arrived_.
ssize_t Connection::Receive(void* data, size_t size) {
  iovec iov{data, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd_, &message, 0);
  if (n <= 0) return n;
  // Bytes that arrived before the socket asked for timestamps carry none:
  // then the time they were read, which is when their wait is known to start.
  arrived_ = std::chrono::system_clock::now();
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec t;
      std::memcpy(&t, CMSG_DATA(c), sizeof t);
      arrived_ = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec)));
    }
  }
  return n;
}

// Feeds buffered bytes to the parser; handles every request they complete.
void Connection::Process() {
  while (state_ == State::kReading && in_.size() > 0) {
    const auto input = in_.data();
    const RequestParser::Step step =
        parser_.Feed(std::string_view(static_cast<const char*>(input.data()), input.size()));
    in_.consume(step.used);
    if (step.error_status != 0) return SendError(step.error_status, step.error);
    if (step.header) {
      OnHeader();
      if (state_ != State::kReading) return;
    }
    if (step.done) {
      Dispatch();
    } else if (step.need_more || step.used == 0) {
      break;
    }
  }
  if (state_ == State::kReading && in_.size() == 0 && !parser_.header_seen() &&
      in_.capacity() > kKeptReadBufferBytes) {
    in_.shrink_to_fit();
    in_.reserve(kInitialReadBufferBytes);
  }
}

void Connection::OnHeader() {
  deadline_ = loop_->now() + limits().read_timeout;
  if (parser_.expects_continue()) SendInterim(kContinue);
}

void Connection::Dispatch() {
  bool keep_alive = false;
  bool http10 = false;
  Request request = parser_.TakeRequest(&keep_alive, &http10);
  request.arrived = arrived_;
  const bool head_only = request.method == "HEAD";
  std::optional<Response> response;
  Responder responder = loop_->NextResponder();
  try {
    response = loop_->server()->handler()(request, responder);
  } catch (const std::exception& e) {
    spdlog::error("handler failed on {}: {}", request.Path(), e.what());
    response = {.status = 500, .body = JsonError("internal error")};
  } catch (...) {
    spdlog::error("handler failed on {}: unknown exception", request.Path());
    response = {.status = 500, .body = JsonError("internal error")};
  }
  loop_->Tick();
  http10_ = http10;
  if (!response) {  // deferred: answered through the mailbox
    state_ = State::kHandling;
    awaiting_ = loop_->last_request();
    awaiting_keep_alive_ = keep_alive;
    awaiting_head_only_ = head_only;
    loop_->Await(awaiting_, this);
    return;
  }
  Send(std::move(*response), keep_alive, head_only);
}

// `head_only` (a HEAD request): the head, with the length of the body a GET
// would get, and no body.
void Connection::Send(Response response, bool keep_alive, bool head_only) {
  client_keep_alive_ = keep_alive;
  keep_alive_ = keep_alive && !loop_->server()->draining();
  head_.clear();
  head_ += "HTTP/1.1 ";
  AppendNumber(&head_, static_cast<uint64_t>(response.status));
  head_ += ' ';
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
  head_.append(reason.data(), reason.size());
  head_ += "\r\nServer: inferd\r\nContent-Type: ";
  head_ += response.content_type;
  for (const auto& [name, value] : response.headers) {
    head_ += "\r\n";
    head_ += name;
    head_ += ": ";
    head_ += value;
  }
  head_ += "\r\nContent-Length: ";
  AppendNumber(&head_, response.body.size());
  if (!keep_alive_) {
    head_ += "\r\nConnection: close";
  } else if (http10_) {
    head_ += "\r\nConnection: keep-alive";  // HTTP/1.0 closes unless told so
  }
  head_ += "\r\n\r\n";
  body_ = std::move(response.body);
  if (head_only) body_.clear();
  sent_ = 0;
  interim_ = false;
  state_ = State::kWriting;
  deadline_ = loop_->now() + limits().read_timeout;
  Write();
}

// Replies with a transport error and closes, without reading further requests.
void Connection::SendError(int status, const std::string& message) {
  unread_input_ = true;
  Response response;
  response.status = status;
  response.body = JsonError(message);
  Send(std::move(response), /*keep_alive=*/false);
}

void Connection::SendInterim(std::string_view bytes) {
  head_.assign(bytes);
  body_.clear();
  sent_ = 0;
  interim_ = true;
  state_ = State::kWriting;
  Write();
}

void Connection::Write() {
  while (sent_ < head_.size() + body_.size()) {
    iovec parts[2];
    int count = 0;
    if (sent_ < head_.size()) {
      parts[count++] = {head_.data() + sent_, head_.size() - sent_};
      parts[count++] = {body_.data(), body_.size()};
    } else {
      parts[count++] = {body_.data() + (sent_ - head_.size()), head_.size() + body_.size() - sent_};
    }
    msghdr msg{};
    msg.msg_iov = parts;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n >= 0) {
      sent_ += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // EPOLLOUT resumes
    return Close();
  }
  OnWritten();
}

// Back to reading; the caller (Process's loop, or OnEvent) goes on with what
// is buffered or arrives.
void Connection::OnWritten() {
  if (interim_) {
    interim_ = false;
    state_ = State::kReading;
    return;
  }
  if (body_.capacity() > kKeptReadBufferBytes) std::string().swap(body_);
  if (!keep_alive_ || loop_->server()->draining()) {
    // Closing while the client may still send (an error cut its request, or a
    // drain cut a keep-alive connection): linger so that it reads this reply
    // rather than a reset.
    return unread_input_ || client_keep_alive_ || in_.size() > 0 ? LingerAndClose() : Close();
  }
  state_ = State::kReading;
  deadline_ = loop_->now() + limits().idle_timeout;
}

// Half-closes, then discards input until the client closes or kLingerTimeout
// passes, so a client still sending a body reads our reply before any reset.
void Connection::LingerAndClose() {
  if (::shutdown(fd_, SHUT_WR) != 0) return Close();
  state_ = State::kLingering;
  deadline_ = loop_->now() + kLingerTimeout;
  in_.clear();
  Discard();
}

void Connection::Discard() {
  char sink[4096];
  for (int turn = 0;; ++turn) {
    if (turn == kReadsPerTurn) return loop_->Later(this);
    ssize_t n = ::recv(fd_, sink, sizeof sink, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    return Close();
  }
}

void Connection::Close() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kHandling) loop_->StopAwaiting(awaiting_);
  state_ = State::kClosed;
  loop_->Forget(this);
}

// ---- Loop ----

Loop::Loop(Server::Impl* server) : server_(server) {}

Loop::~Loop() {
  if (mailbox_) mailbox_->Close();
  connections_.clear();
  closed_.clear();
  for (auto& [fd, over] : adopted_) ::close(fd);
  if (listen_fd >= 0) ::close(listen_fd);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Status Loop::Init() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    return Unavailable(std::string("cannot create an event loop: ") + std::strerror(errno));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = &wake_tag_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
  mailbox_ = std::make_shared<Mailbox>(wake_fd_);
  return Status::Ok();
}

void Loop::Wake() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void Loop::Adopt(int fd, bool over_limit) {
  {
    std::lock_guard lock(adopted_mu_);
    if (!exited_) {
      adopted_.emplace_back(fd, over_limit);
      return Wake();
    }
  }
  // This loop has drained and returned (a shutdown raced the accept).
  ::close(fd);
  server_->Closed();
}

void Loop::Watch(Connection* conn) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = conn;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn->fd(), &event);
}

void Loop::Later(Connection* conn) {
  if (conn->queued) return;
  conn->queued = true;
  ready_.push_back(conn);
}

// Unlinks a closed connection; it is freed after the current batch of events,
// which may still name it.
void Loop::Forget(Connection* conn) {
  if (conn->queued) std::erase(ready_, conn);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd(), nullptr);
  ::shutdown(conn->fd(), SHUT_RDWR);
  const size_t i = conn->index;
  std::swap(connections_[i], connections_.back());
  connections_[i]->index = i;
  closed_.push_back(std::move(connections_.back()));
  connections_.pop_back();
  server_->Closed();
}

void Loop::AcceptAll() {
  auto& loops = server_->loops();
  while (!server_->draining()) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // Out of descriptors (or worse): the socket stays readable, so accepting
      // pauses for a while instead of spinning.
      spdlog::warn("accept failed: {}; pausing accepts for {} ms", std::strerror(errno),
                   kAcceptPause.count());
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd, nullptr);
      accept_paused_until_ = now_ + kAcceptPause;
      return;
    }
    const bool over_limit = server_->connections() >= server_->limits().max_connections;
    server_->Opened();
    Loop* target = loops[next_loop_++ % loops.size()].get();
    if (target == this) {
      adopted_.emplace_back(fd, over_limit);  // this thread only reads it below
      TakeAdopted();
    } else {
      target->Adopt(fd, over_limit);
    }
  }
}

void Loop::TakeAdopted() {
  std::vector<std::pair<int, bool>> adopted;
  {
    std::lock_guard lock(adopted_mu_);
    adopted.swap(adopted_);
  }
  for (auto [fd, over_limit] : adopted) {
    connections_.push_back(std::make_unique<Connection>(fd, this));
    Connection* conn = connections_.back().get();
    conn->index = connections_.size() - 1;
    if (server_->draining()) {
      conn->CloseIfIdle();
      continue;
    }
    Watch(conn);
    conn->Start(over_limit);
  }
}

void Loop::TakeReplies() {
  for (auto& [request, response] : mailbox_->Take()) {
    auto it = awaiting_.find(request);
    if (it == awaiting_.end()) continue;  // closed meanwhile, or answered already
    Connection* conn = it->second;
    awaiting_.erase(it);
    conn->OnReply(std::move(response));
  }
}

void Loop::Sweep() {
  // Iterating backwards: closing swaps the last connection into the gap.
  for (size_t i = connections_.size(); i-- > 0;) {
    if (i < connections_.size()) connections_[i]->CheckDeadline(now_);
  }
}

void Loop::WatchListener() {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = &listen_tag_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd, &event);
}

void Loop::Run() {
  if (listen_fd >= 0) WatchListener();
  const auto interval = server_->sweep_interval();
  auto next_sweep = now_ + interval;
  bool drained = false;
  epoll_event events[kMaxEvents];
  while (true) {
    const auto wait = ready_.empty()
                          ? std::chrono::ceil<std::chrono::milliseconds>(next_sweep - now_).count()
                          : 0;
    int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, static_cast<int>(std::max<int64_t>(0, wait)));
    now_ = Clock::now();
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &wake_tag_) {
        uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
        TakeAdopted();
        TakeReplies();
      } else if (tag == &listen_tag_) {
        if (listen_fd >= 0) AcceptAll();
      } else {
        auto* conn = static_cast<Connection*>(tag);
        if (!conn->closed()) conn->OnEvent(events[i].events);
      }
    }
    // Connections whose turn ended with input left, in the order they queued.
    std::vector<Connection*> ready;
    ready.swap(ready_);
    for (Connection* conn : ready) {
      conn->queued = false;
      if (!conn->closed()) conn->Resume();
    }
    closed_.clear();
    if (server_->draining()) {
      if (!drained) {
        // Stop accepting (new connections are refused once the socket is
        // closed) and close connections that wait for a request.
        drained = true;
        if (listen_fd >= 0) {
          ::close(listen_fd);
          listen_fd = -1;
        }
        TakeAdopted();
        for (size_t i = connections_.size(); i-- > 0;) {
          if (i < connections_.size()) connections_[i]->CloseIfIdle();
        }
        closed_.clear();
      }
      if (server_->stopping(now_)) {
        while (!connections_.empty()) connections_.back()->Abort();
        closed_.clear();
      }
      if (connections_.empty()) {
        std::lock_guard lock(adopted_mu_);
        if (!adopted_.empty()) continue;  // one last hand-over to close first
        exited_ = true;
        mailbox_->Close();
        return;
      }
    }
    if (accept_paused_until_ && now_ >= *accept_paused_until_) {
      accept_paused_until_.reset();
      WatchListener();
    }
    if (now_ >= next_sweep) {
      Sweep();
      closed_.clear();
      next_sweep = now_ + interval;
    }
  }
}

// ---- Server ----

Status Server::Impl::Bind() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.port);
  if (::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found) != 0 || !found) {
    return InvalidArgument("cannot resolve --host '" + options_.host + "'");
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, ::freeaddrinfo);
  const std::string where = options_.host + ":" + port;
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable("cannot listen on " + where + ": " + std::strerror(errno));
  listen_fd_ = fd;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    return Unavailable("cannot listen on " + where + ": " + std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  for (int i = 0; i < options_.threads; ++i) {
    loops_.push_back(std::make_unique<Loop>(this));
    RETURN_IF_ERROR(loops_.back()->Init());
  }
  return Status::Ok();
}

void Server::Impl::Run() {
  loops_[0]->listen_fd = TakeListenFd();
  std::vector<std::thread> threads;
  for (size_t i = 1; i < loops_.size(); ++i) threads.emplace_back([this, i] { loops_[i]->Run(); });
  loops_[0]->Run();
  for (auto& t : threads) t.join();
}

void Server::Impl::Shutdown(std::chrono::milliseconds grace) {
  if (draining()) return;
  // Stored before draining_ is set: a loop that sees draining sees the grace.
  stop_at_.store((Clock::now() + grace).time_since_epoch().count(), std::memory_order_release);
  if (draining_.exchange(true, std::memory_order_acq_rel)) return;
  for (auto& loop : loops_) loop->Wake();
}

StatusOr<std::unique_ptr<Server>> Server::Create(const Options& options, Handler handler) {
  if (options.threads < 1) return InvalidArgument("--threads must be at least 1");
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  RETURN_IF_ERROR(impl->Bind());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;
uint16_t Server::port() const { return impl_->port(); }
void Server::Run() { impl_->Run(); }
void Server::Shutdown(std::chrono::milliseconds grace) { impl_->Shutdown(grace); }
int64_t Server::connections() const { return impl_->connections(); }

}  // namespace inferd::http
