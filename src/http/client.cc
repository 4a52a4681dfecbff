#include "http/client.h"

// Boost 1.74's Asio uses std::exchange without including <utility> under C++20.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace inferd::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

StatusOr<ClientReply> Get(const std::string& host, uint16_t port, const std::string& target,
                          std::chrono::milliseconds timeout) {
  const std::string where = "http://" + host + ":" + std::to_string(port) + target;
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
  request.set(bhttp::field::host, host);
  request.set(bhttp::field::connection, "close");
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  beast::error_code failure;
  // One deadline for the whole exchange: the stream cancels whatever is pending.
  stream.expires_after(timeout);
  resolver.async_resolve(host, std::to_string(port), [&](beast::error_code ec, auto results) {
    if (ec) { failure = ec; return; }
    stream.async_connect(results, [&](beast::error_code ec, auto) {
      if (ec) { failure = ec; return; }
      bhttp::async_write(stream, request, [&](beast::error_code ec, size_t) {
        if (ec) { failure = ec; return; }
        bhttp::async_read(stream, buffer, response, [&](beast::error_code ec, size_t) {
          failure = ec;
        });
      });
    });
  });
  io.run_for(timeout + std::chrono::milliseconds(100));  // the resolver has no deadline of its own
  if (!io.stopped() || failure == beast::error::timeout) {
    return Unavailable(where + ": no answer within " + std::to_string(timeout.count()) + " ms");
  }
  if (failure) return Unavailable(where + ": " + failure.message());
  return ClientReply{static_cast<int>(response.result_int()), std::move(response.body())};
}

}  // namespace inferd::http
