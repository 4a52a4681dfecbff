// CSV dataset files: the reader, then the column profile `inferd datasets add`
// records (moments, histograms, categories) and its JSON round trip.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>

#include "train/dataset.h"
#include "train/table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  auto table = inferd::train::ReadCsv(in, "fuzz.csv");
  if (!table.ok()) return 0;
  for (const auto& profile : inferd::train::ProfileTable(*table)) {
    const std::string json = inferd::train::ColumnProfileToJson(profile);
    auto back = inferd::train::ColumnProfileFromJson(json);
    if (!back.ok()) {  // what inferd writes it must read back
      std::fprintf(stderr, "%s: %s\n", back.status().ToString().c_str(), json.c_str());
      __builtin_trap();
    }
  }
  return 0;
}
