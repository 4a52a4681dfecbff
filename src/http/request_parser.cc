#include "http/request_parser.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace inferd::http {
namespace bhttp = boost::beast::http;

void RequestParser::Reset() {
  parser_.emplace();
  parser_->header_limit(limits_.max_header_bytes);
  parser_->body_limit(limits_.max_body_bytes);
  header_seen_ = false;
}

RequestParser::Step RequestParser::Feed(std::string_view input) {
  Step step;
  boost::beast::error_code ec;
  step.used = parser_->put(boost::asio::buffer(input.data(), input.size()), ec);
  auto fail = [&step](int status, std::string message) {
    step.error_status = status;
    step.error = std::move(message);
    return step;
  };
  if (ec == bhttp::error::need_more) {
    // Beast bounds the request head by header_limit, but not a chunk's size
    // line or the trailer: bound what waits unparsed the same way.
    if (header_seen_ && input.size() - step.used > limits_.max_header_bytes) {
      return fail(400, "a chunk header or trailer exceeds " +
                           std::to_string(limits_.max_header_bytes) +
                           " bytes (--max-header-bytes)");
    }
    step.need_more = true;
    return step;
  }
  if (ec == bhttp::error::header_limit) {
    return fail(431, "request headers exceed " + std::to_string(limits_.max_header_bytes) +
                         " bytes (--max-header-bytes)");
  }
  // A Content-Length over the limit fails here as soon as the header is read.
  if (ec == bhttp::error::body_limit) {
    return fail(413, "request body exceeds the limit of " +
                         std::to_string(limits_.max_body_bytes) + " bytes (--max-body-bytes)");
  }
  if (ec) return fail(400, "malformed HTTP request: " + ec.message());
  if (parser_->is_header_done() && !header_seen_) {
    header_seen_ = true;
    if (parser_->get().target().size() > limits_.max_target_bytes) {
      return fail(414, "request target (path and query) exceeds " +
                           std::to_string(limits_.max_target_bytes) +
                           " bytes (--max-target-bytes)");
    }
    if (auto length = parser_->content_length()) {
      parser_->get().body().reserve(*length + kBodyPadding);
    }
    step.header = true;
  }
  step.done = parser_->is_done();
  return step;
}

bool RequestParser::expects_continue() const {
  return !parser_->is_done() && parser_->get().version() >= 11 &&
         boost::beast::iequals(parser_->get()[bhttp::field::expect], "100-continue");
}

Request RequestParser::TakeRequest(bool* keep_alive, bool* http10) {
  auto message = parser_->release();
  *keep_alive = message.keep_alive();
  *http10 = message.version() < 11;
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
  Reset();
  return request;
}

}  // namespace inferd::http
