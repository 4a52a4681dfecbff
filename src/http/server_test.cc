// The transport's deferred replies, over real sockets on port 0: a handler
// that hands its request to another thread must not hold up the other
// connections of its loop, and the reply must come back in order, once.
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace inferd::http {
namespace {

using std::chrono::milliseconds;

// A blocking client socket with a receive timeout.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  }
  ~Client() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void Send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  static std::string Get(const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
  }

  // Reads until `replies` complete replies (each with a Content-Length body)
  // are in; returns their bodies, or fewer on timeout or close.
  std::vector<std::string> Read(size_t replies) {
    std::vector<std::string> bodies;
    while (bodies.size() < replies) {
      size_t head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t at = buffer_.find("Content-Length: ");
        const size_t length = std::stoul(buffer_.substr(at + 16));
        if (buffer_.size() >= head_end + 4 + length) {
          bodies.push_back(buffer_.substr(head_end + 4, length));
          buffer_.erase(0, head_end + 4 + length);
          continue;
        }
      }
      char chunk[4096];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return bodies;
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

Response Text(std::string body) {
  Response response;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// One I/O thread: /slow is deferred to a thread that replies once released,
// everything else is answered inline with its path.
class DeferredTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = Server::Create(
        {.host = "127.0.0.1", .port = 0, .threads = 1},
        [this](Request& request, Responder& responder) -> std::optional<Response> {
          const std::string path(request.Path());
          if (path != "/slow") return Text(path);
          std::lock_guard lock(mu_);
          workers_.emplace_back([this, responder] {
            release_.get_future().wait();
            responder.Send(Text("slow done"));
            responder.Send(Text("a second send is ignored"));
          });
          return std::nullopt;
        });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    runner_ = std::thread([this] { server_->Run(); });
  }

  void TearDown() override {
    Release();
    for (auto& worker : workers_) worker.join();
    server_->Shutdown(milliseconds(2000));
    runner_.join();
  }

  void Release() {
    if (!released_.exchange(true)) release_.set_value();
  }

  std::promise<void> release_;
  std::atomic<bool> released_{false};
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
};

TEST_F(DeferredTest, ADeferredRequestDoesNotHoldUpOtherConnectionsOfItsLoop) {
  Client slow(server_->port());
  slow.Send(Client::Get("/slow"));
  Client fast(server_->port());
  for (int i = 0; i < 20; ++i) {
    fast.Send(Client::Get("/fast"));
    EXPECT_EQ(fast.Read(1), std::vector<std::string>{"/fast"});
  }
  Release();
  EXPECT_EQ(slow.Read(1), std::vector<std::string>{"slow done"});
}

TEST_F(DeferredTest, PipelinedRequestsBehindADeferredOneAreAnsweredInOrder) {
  Client client(server_->port());
  client.Send(Client::Get("/slow") + Client::Get("/after-1") + Client::Get("/after-2"));
  std::this_thread::sleep_for(milliseconds(50));  // the pipelined requests wait, unread
  Release();
  EXPECT_EQ(client.Read(3), (std::vector<std::string>{"slow done", "/after-1", "/after-2"}));
  client.Send(Client::Get("/again"));  // the connection reads on afterwards
  EXPECT_EQ(client.Read(1), std::vector<std::string>{"/again"});
}

TEST_F(DeferredTest, AReplyForAClosedConnectionIsDropped) {
  {
    Client gone(server_->port());
    gone.Send(Client::Get("/slow"));
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::this_thread::sleep_for(milliseconds(50));
  Release();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  Client next(server_->port());
  next.Send(Client::Get("/still-serving"));
  EXPECT_EQ(next.Read(1), std::vector<std::string>{"/still-serving"});
}

TEST_F(DeferredTest, ShutdownWaitsForADeferredReplyWithinTheGrace) {
  Client client(server_->port());
  client.Send(Client::Get("/slow"));
  std::this_thread::sleep_for(milliseconds(50));
  server_->Shutdown(milliseconds(5000));
  std::this_thread::sleep_for(milliseconds(50));
  Release();
  EXPECT_EQ(client.Read(1), std::vector<std::string>{"slow done"});
}

TEST(ServerTest, AReplySentAfterTheServerStoppedIsDropped) {
  std::promise<Responder> deferred;
  auto server = Server::Create(
      {.host = "127.0.0.1", .port = 0, .threads = 1},
      [&deferred](Request&, Responder& responder) -> std::optional<Response> {
        deferred.set_value(responder);
        return std::nullopt;
      });
  ASSERT_TRUE(server.ok());
  std::thread runner([&] { (*server)->Run(); });
  Client client((*server)->port());
  client.Send(Client::Get("/never"));
  Responder responder = deferred.get_future().get();
  (*server)->Shutdown(milliseconds(100));
  runner.join();
  server->reset();  // the loops, their eventfds and the server are gone
  responder.Send(Text("too late"));
  EXPECT_TRUE(client.Read(1).empty());
}

// Request::arrived is the kernel's receive time of the request's bytes: a
// request that sat in the socket while its loop was busy has waited that long.
TEST(ServerTest, ArrivalIsTheKernelsReceiveTime) {
  std::mutex mu;
  std::vector<std::chrono::system_clock::duration> waited;
  auto server = Server::Create(
      {.host = "127.0.0.1", .port = 0, .threads = 1},
      [&](Request& request, Responder&) -> std::optional<Response> {
        {
          std::lock_guard lock(mu);
          waited.push_back(std::chrono::system_clock::now() - request.arrived);
        }
        // The first request keeps the one loop busy while the second arrives.
        if (request.Path() == "/busy") std::this_thread::sleep_for(milliseconds(300));
        return Text("ok");
      });
  ASSERT_TRUE(server.ok());
  std::thread runner([&] { (*server)->Run(); });
  Client busy((*server)->port());
  Client waiting((*server)->port());
  busy.Send(Client::Get("/busy"));
  std::this_thread::sleep_for(milliseconds(50));
  waiting.Send(Client::Get("/waiting"));
  EXPECT_EQ(busy.Read(1).size(), 1u);
  EXPECT_EQ(waiting.Read(1).size(), 1u);
  (*server)->Shutdown(milliseconds(1000));
  runner.join();
  ASSERT_EQ(waited.size(), 2u);
  EXPECT_LT(waited[0], std::chrono::milliseconds(200));  // run as it came (a loaded machine: slack)
  EXPECT_GE(waited[1], std::chrono::milliseconds(200));  // sent 50 ms into a 300 ms handler
}

}  // namespace
}  // namespace inferd::http
