// A model folder's config.json (Triton-style model configuration).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)inferd::model::ParseModelConfig(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
