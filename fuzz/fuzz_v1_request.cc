// KServe V1 bodies ({"instances": [...]} of arrays or named features) through
// :predict and :explain of a model with feature names (breast_cancer, 30
// features). The first byte picks the verb.
#include <cstddef>
#include <cstdint>

#include "fuzz_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  inferd::http::Request request;
  request.method = "POST";
  request.target =
      data[0] & 1 ? "/v1/models/breast_cancer:explain" : "/v1/models/breast_cancer:predict";
  request.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  request.body.reserve(request.body.size() + inferd::http::kBodyPadding);
  inferd::http::Response response = inferd::fuzz::FuzzService::Get().Handle(request);
  if (response.status == 500) __builtin_trap();  // 500: a bug, never the input's fault
  return 0;
}
