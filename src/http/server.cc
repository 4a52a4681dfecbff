#include "http/server.h"

// Boost 1.74's Asio uses std::exchange without including <utility> under C++20.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/json_writer.h"

namespace inferd::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

// How long a closing connection keeps reading (and discarding) what the client
// still sends, so that the client sees our error reply instead of a reset.
constexpr std::chrono::milliseconds kLingerTimeout{1000};
constexpr size_t kDiscardBufferBytes = 4096;
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
// The read buffer: Beast reads into its free space, at least 512 bytes, and the
// parser empties it as it goes, so without room made ahead a body arrives 512
// bytes per recvmsg. Room is made for the announced body, up to kMaxReadBytes
// per read; a connection keeps at most kKeptReadBufferBytes between requests.
constexpr size_t kInitialReadBufferBytes = 4096;
constexpr size_t kMaxReadBytes = 1 << 20;
constexpr size_t kKeptReadBufferBytes = 64 << 10;

}  // namespace

class Connection;

class Server::Impl {
 public:
  Impl(const Options& options, Handler handler)
      : options_(options), handler_(std::move(handler)), contexts_(MakeContexts(options.threads)),
        acceptor_(*contexts_[0]), grace_timer_(*contexts_[0]) {
    for (auto& context : contexts_) guards_.emplace_back(context->get_executor());
  }
  // Destroying contexts_ destroys the connections still parked in them, whose
  // Unregister must then leave the half-destroyed contexts alone.
  ~Impl() { destroying_.store(true, std::memory_order_release); }

  Status Bind();
  void Run();
  void Shutdown(std::chrono::milliseconds grace);

  uint16_t port() const { return port_; }
  const Limits& limits() const { return options_.limits; }
  Handler& handler() { return handler_; }
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  int64_t connections() const {
    std::lock_guard lock(conns_mu_);
    return static_cast<int64_t>(conns_.size());
  }

  uint64_t Register(const std::shared_ptr<Connection>& conn);
  void Unregister(uint64_t id);

 private:
  // One single-threaded io_context per thread: a connection lives on one of
  // them, so its handlers never hop threads and need no strand or lock.
  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int threads) {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    for (int i = 0; i < threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
    return contexts;
  }
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void StopAll();

  const Options options_;
  Handler handler_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> destroying_{false};
  uint16_t port_ = 0;

  // Declared before contexts_ so that they outlive the connections those destroy.
  mutable std::mutex conns_mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> conns_;  // guarded by conns_mu_
  uint64_t next_id_ = 0;                                           // guarded by conns_mu_

  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  size_t next_context_ = 0;  // only touched by the acceptor's thread
  tcp::acceptor acceptor_;
  asio::steady_timer grace_timer_;
};

// One client connection: reads requests one at a time and writes the replies.
// All of its work runs on the thread of its io_context.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket&& socket, Server::Impl* server)
      : stream_(std::move(socket)), server_(server) {}
  ~Connection() { server_->Unregister(id_); }

  void Start(bool over_connection_limit) {
    id_ = server_->Register(shared_from_this());
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    if (over_connection_limit) {
      return SendError(503, "too many connections (limit " +
                                std::to_string(server_->limits().max_connections) +
                                ", --max-connections)");
    }
    ReadHeader();
  }

  // Closes the connection if it is waiting for a request. Run on its executor.
  void CloseIfIdle() {
    if (idle_) {
      beast::error_code ec;
      stream_.socket().close(ec);
    }
  }

  asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  const Limits& limits() const { return server_->limits(); }

  void ReadHeader() {
    if (server_->draining()) return Close();
    if (buffer_.capacity() > kKeptReadBufferBytes && buffer_.size() == 0) buffer_.shrink_to_fit();
    if (buffer_.capacity() < kInitialReadBufferBytes) buffer_.reserve(kInitialReadBufferBytes);
    parser_.emplace();
    parser_->header_limit(limits().max_header_bytes);
    parser_->body_limit(limits().max_body_bytes);
    idle_ = true;
    stream_.expires_after(limits().idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Connection::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    idle_ = false;
    if (ec) return OnReadError(ec);
    if (auto length = parser_->content_length()) {
      if (*length > limits().max_body_bytes) {
        return SendError(413, "request body of " + std::to_string(*length) +
                                  " bytes exceeds the limit of " +
                                  std::to_string(limits().max_body_bytes) +
                                  " bytes (--max-body-bytes)");
      }
      parser_->get().body().reserve(*length + kBodyPadding);
      buffer_.reserve(std::min<uint64_t>(*length, kMaxReadBytes));
    }
    stream_.expires_after(limits().read_timeout);
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue") &&
        !parser_->is_done()) {
      return asio::async_write(
          stream_, asio::buffer(kContinue, sizeof(kContinue) - 1),
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (ec) return self->Close();
            self->ReadBody();
          });
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Connection::OnBody, shared_from_this()));
  }

  // Timeouts close the connection without a reply: the stream has already
  // closed the socket, as nginx does for a client_body_timeout.
  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return SendError(431, "request headers exceed " +
                                std::to_string(limits().max_header_bytes) +
                                " bytes (--max-header-bytes)");
    }
    if (ec == bhttp::error::body_limit) {
      return SendError(413, "request body exceeds the limit of " +
                                std::to_string(limits().max_body_bytes) +
                                " bytes (--max-body-bytes)");
    }
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::bad_descriptor) {
      return Close();
    }
    SendError(400, "malformed HTTP request: " + ec.message());
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    auto message = parser_->release();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.headers.reserve(8);
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    if (request.body.capacity() < request.body.size() + kBodyPadding) {
      request.body.reserve(request.body.size() + kBodyPadding);
    }
    Response response;
    try {
      response = server_->handler()(request);
    } catch (const std::exception& e) {
      spdlog::error("handler failed on {} {}: {}", request.method, request.Path(), e.what());
      response.status = 500;
      response.body = JsonError("internal error");
    }
    Send(std::move(response), message.keep_alive());
  }

  void Send(Response response, bool keep_alive) {
    reply_ = {};
    reply_.version(11);
    reply_.result(static_cast<unsigned>(response.status));
    reply_.set(bhttp::field::server, "inferd");
    reply_.set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) reply_.set(name, value);
    reply_.body() = std::move(response.body);
    reply_.keep_alive(keep_alive && !server_->draining());
    reply_.prepare_payload();
    stream_.expires_after(limits().read_timeout);
    bhttp::async_write(stream_, reply_,
                       beast::bind_front_handler(&Connection::OnWrite, shared_from_this()));
  }

  // Replies with a transport error and closes, without reading further requests.
  void SendError(int status, const std::string& message) {
    unread_input_ = true;
    Response response;
    response.status = status;
    response.body = JsonError(message);
    Send(std::move(response), /*keep_alive=*/false);
  }

  void OnWrite(beast::error_code ec, size_t) {
    if (ec) return Close();
    if (!reply_.keep_alive()) return unread_input_ ? LingerAndClose() : Close();
    ReadHeader();
  }

  // Half-closes, then discards input until the client closes or kLingerTimeout
  // passes, so a client still sending a body reads our reply before any reset.
  void LingerAndClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    discard_ = std::make_unique<std::array<char, kDiscardBufferBytes>>();
    stream_.expires_after(kLingerTimeout);
    Discard();
  }

  void Discard() {
    stream_.async_read_some(asio::buffer(*discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Discard();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  Server::Impl* server_;
  uint64_t id_ = 0;
  bool idle_ = false;
  bool unread_input_ = false;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> reply_;
  std::unique_ptr<std::array<char, kDiscardBufferBytes>> discard_;
};

Status Server::Impl::Bind() {
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    tcp::resolver resolver(*contexts_[0]);
    auto results = resolver.resolve(options_.host, "", ec);
    if (ec || results.empty()) {
      return InvalidArgument("cannot resolve --host '" + options_.host + "'");
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + options_.host + ":" +
                       std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void Server::Impl::Accept() {
  asio::io_context& context = *contexts_[next_context_++ % contexts_.size()];
  acceptor_.async_accept(context, beast::bind_front_handler(&Server::Impl::OnAccept, this));
}

void Server::Impl::StopAll() {
  if (destroying_.load(std::memory_order_acquire)) return;
  for (auto& context : contexts_) context->stop();
}

void Server::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (draining()) return;
  if (!ec) {
    bool over_limit = connections() >= options_.limits.max_connections;
    std::make_shared<Connection>(std::move(socket), this)->Start(over_limit);
  } else if (ec == asio::error::operation_aborted) {
    return;
  } else {
    spdlog::warn("accept failed: {}", ec.message());
  }
  Accept();
}

uint64_t Server::Impl::Register(const std::shared_ptr<Connection>& conn) {
  std::lock_guard lock(conns_mu_);
  uint64_t id = ++next_id_;
  conns_[id] = conn;
  return id;
}

void Server::Impl::Unregister(uint64_t id) {
  std::lock_guard lock(conns_mu_);
  conns_.erase(id);
  if (draining() && conns_.empty()) StopAll();
}

void Server::Impl::Run() {
  Accept();
  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([this, i] { contexts_[i]->run(); });
  }
  contexts_[0]->run();
  for (auto& t : threads) t.join();
}

void Server::Impl::Shutdown(std::chrono::milliseconds grace) {
  if (draining_.exchange(true, std::memory_order_acq_rel)) return;
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  grace_timer_.expires_after(grace);
  grace_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) StopAll();
  });
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(conns_mu_);
    if (conns_.empty()) StopAll();
    for (auto& [id, weak] : conns_) {
      if (auto conn = weak.lock()) live.push_back(std::move(conn));
    }
  }
  // Outside the lock: dropping the last reference runs ~Connection, which locks.
  for (auto& conn : live) {
    asio::post(conn->executor(), [conn] { conn->CloseIfIdle(); });
  }
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
