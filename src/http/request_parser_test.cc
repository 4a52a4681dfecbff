#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace inferd::http {
namespace {

// Feeds `bytes` as a connection would, one Feed after another; returns the
// requests completed and the last step.
struct Fed {
  std::vector<Request> requests;
  RequestParser::Step last;
};
Fed FeedAll(RequestParser& parser, std::string_view bytes) {
  Fed fed;
  while (!bytes.empty()) {
    fed.last = parser.Feed(bytes);
    bytes.remove_prefix(fed.last.used);
    if (fed.last.error_status != 0) break;
    if (fed.last.done) {
      bool keep_alive = false;
      bool http10 = false;
      fed.requests.push_back(parser.TakeRequest(&keep_alive, &http10));
    } else if (fed.last.need_more || fed.last.used == 0) {
      break;
    }
  }
  return fed;
}

TEST(RequestParserTest, PipelinedAndChunkedRequests) {
  Limits limits;
  RequestParser parser(limits);
  Fed fed = FeedAll(parser,
                    "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
                    "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                    "POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhel");
  ASSERT_EQ(fed.requests.size(), 2u);
  EXPECT_EQ(fed.requests[0].Path(), "/a");
  EXPECT_EQ(fed.requests[0].Query(), "x=1");
  EXPECT_EQ(fed.requests[1].body, "abcde");
  EXPECT_GE(fed.requests[1].body.capacity(), 5 + kBodyPadding);
  EXPECT_FALSE(fed.last.done);  // all of "hel" taken, the rest still to come
  EXPECT_TRUE(parser.header_seen());
  EXPECT_EQ(parser.body_remaining(), 2u);
  fed = FeedAll(parser, "lo");
  ASSERT_EQ(fed.requests.size(), 1u);
  EXPECT_EQ(fed.requests[0].body, "hello");
  EXPECT_FALSE(parser.header_seen());
}

TEST(RequestParserTest, EveryLimitHasItsStatusAndFlag) {
  Limits limits{.max_body_bytes = 10, .max_header_bytes = 1024, .max_target_bytes = 256};
  struct Case {
    std::string bytes;
    int status;
    const char* says;
  } cases[] = {
      {"GET /" + std::string(300, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414,
       "exceeds 256 bytes (--max-target-bytes)"},
      {"GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", 431, "--max-header-bytes"},
      {"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 413, "limit of 10 bytes (--max-body-bytes)"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(1100, '1'), 400,
       "a chunk header or trailer exceeds 1024 bytes"},
      {"\x16\x03\x01 garbage\r\n\r\n", 400, "malformed HTTP request"},
  };
  for (const Case& c : cases) {
    RequestParser parser(limits);
    Fed fed = FeedAll(parser, c.bytes);
    EXPECT_EQ(fed.last.error_status, c.status) << c.bytes.substr(0, 60);
    EXPECT_NE(fed.last.error.find(c.says), std::string::npos) << fed.last.error;
    EXPECT_TRUE(fed.requests.empty());
  }
}

TEST(RequestParserTest, ExpectContinueOnlyWhileTheBodyIsToCome) {
  Limits limits;
  RequestParser parser(limits);
  auto step = parser.Feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_TRUE(step.header);
  EXPECT_TRUE(parser.expects_continue());
  step = parser.Feed("ok");
  EXPECT_TRUE(step.done);
  EXPECT_FALSE(parser.expects_continue());
  bool keep_alive = false;
  bool http10 = true;
  EXPECT_EQ(parser.TakeRequest(&keep_alive, &http10).body, "ok");
  EXPECT_TRUE(keep_alive);
  EXPECT_FALSE(http10);
}

}  // namespace
}  // namespace inferd::http
