// KServe V2 inference bodies, JSON and Triton's binary tensor extension,
// decoded, checked against a model, run and encoded (iris: 4 FP32 features,
// 3 classes). The first byte picks the form; for the binary form the next two
// give the JSON header's length (Inference-Header-Content-Length).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  inferd::http::Request request;
  request.method = "POST";
  request.target = "/v2/models/iris/infer";
  const bool binary = data[0] & 1;
  if (binary) {
    const size_t header_length = (size_t{data[1]} << 8 | data[2]) % (size - 2);
    request.headers.emplace_back("Inference-Header-Content-Length", std::to_string(header_length));
    request.headers.emplace_back("Content-Type", "application/octet-stream");
  }
  request.body.assign(reinterpret_cast<const char*>(data) + 3, size - 3);
  request.body.reserve(request.body.size() + inferd::http::kBodyPadding);
  inferd::http::Response response = inferd::fuzz::FuzzService::Get().Handle(request);
  if (response.status == 500) __builtin_trap();  // 500: a bug, never the input's fault
  return 0;
}
