// Raw HTTP/1.1 bytes through the transport's request parser (the one the
// server's connections use, under small limits so that every limit is
// reached) and each request it completes through the router and the routes
// of the whole API, as a connection would: pipelined requests one after the
// other until the bytes run out or the parser refuses them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_service.h"
#include "http/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const inferd::http::Limits limits{
      .max_body_bytes = 1 << 16, .max_header_bytes = 2048, .max_target_bytes = 512};
  inferd::http::RequestParser parser(limits);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    auto step = parser.Feed(input);
    input.remove_prefix(step.used);
    if (step.error_status != 0) break;
    if (step.header) (void)parser.expects_continue();
    if (step.done) {
      bool keep_alive = false;
      bool http10 = false;
      inferd::http::Request request = parser.TakeRequest(&keep_alive, &http10);
      inferd::http::Response response = inferd::fuzz::FuzzService::Get().Handle(request);
      if (response.status == 500) __builtin_trap();  // 500: a bug, never the input's fault
      if (!keep_alive) break;
    } else if (step.need_more || step.used == 0) {
      break;
    }
  }
  return 0;
}
