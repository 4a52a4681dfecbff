// RequestParser: HTTP/1.1 requests out of a connection's byte stream, under
// the transport's limits (Limits): Beast's parser underneath, plus the bounds
// Beast does not keep (the request target; a chunk's size line and the
// trailer), each refused with the HTTP status and message the client gets.
//
// The transport feeds it what a socket delivered; the fuzz target fuzz_http
// feeds it arbitrary bytes, so this is the one place request bytes are parsed.
// One per connection, one request at a time; not thread-safe.
#pragma once

// Boost 1.74's Asio under GCC 12 in C++20 needs <utility> before it.
#include <utility>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/limits.h"
#include "http/message.h"

namespace inferd::http {

class RequestParser {
 public:
  explicit RequestParser(const Limits& limits) : limits_(limits) { Reset(); }

  // What one Feed did. `used` bytes of the input were consumed (the caller
  // drops them); the flags say what happened, in this order.
  struct Step {
    size_t used = 0;
    int error_status = 0;  // 400, 413, 414 or 431: answer it and close
    std::string error;     // the message, naming the limit's flag when one was hit
    bool header = false;   // the request's header just completed (once a request)
    bool done = false;     // the request is complete: take it with TakeRequest
    bool need_more = false;
  };
  // Parses from the start of `input`. After an error the parser is spent
  // until Reset.
  Step Feed(std::string_view input);

  // After the header: the body bytes still to come when a Content-Length says
  // so, and whether the client waits for "100 Continue" before sending them.
  bool header_seen() const { return header_seen_; }
  std::optional<uint64_t> body_remaining() const {
    auto remaining = parser_->content_length_remaining();
    return remaining ? std::optional<uint64_t>(*remaining) : std::nullopt;
  }
  bool expects_continue() const;

  // After `done`: the request (its body with kBodyPadding spare bytes),
  // whether the connection may stay open after it, and whether it was
  // HTTP/1.0. The parser is then ready for the next request.
  Request TakeRequest(bool* keep_alive, bool* http10);

  void Reset();

 private:
  const Limits& limits_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool header_seen_ = false;
};

}  // namespace inferd::http
