// Lenient readers for fields of stored JSON documents (simdjson DOM): a field
// that is absent or of another type reads as empty / zero, because documents
// written by older versions may lack newer fields. Include only where simdjson
// is linked.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <vector>

namespace inferd {

inline std::string JsonString(simdjson::dom::element e, const char* key) {
  std::string_view s;
  return e[key].get(s) == simdjson::SUCCESS ? std::string(s) : std::string();
}

inline double JsonNumber(simdjson::dom::element e, const char* key) {
  double d = 0;
  if (e[key].get(d) == simdjson::SUCCESS) return d;
  int64_t i = 0;
  return e[key].get(i) == simdjson::SUCCESS ? static_cast<double>(i) : 0;
}

inline int64_t JsonInt(simdjson::dom::element e, const char* key) {
  int64_t i = 0;
  if (e[key].get(i) == simdjson::SUCCESS) return i;
  double d = 0;
  return e[key].get(d) == simdjson::SUCCESS ? static_cast<int64_t>(d) : 0;
}

inline std::vector<double> JsonNumbers(simdjson::dom::element e, const char* key) {
  std::vector<double> out;
  simdjson::dom::array a;
  if (e[key].get(a) != simdjson::SUCCESS) return out;
  for (auto v : a) {
    double d = 0;
    if (v.get(d) != simdjson::SUCCESS) {
      int64_t i = 0;
      d = v.get(i) == simdjson::SUCCESS ? static_cast<double>(i) : 0;
    }
    out.push_back(d);
  }
  return out;
}

}  // namespace inferd
