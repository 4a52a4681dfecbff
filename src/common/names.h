// Names that travel in URLs and file paths: models, aliases, datasets.
#pragma once

#include <string_view>

namespace inferd {

inline constexpr size_t kMaxNameLength = 128;

// True when `name` is 1-128 of [A-Za-z0-9_.-] and does not start with '.'.
// Such a name is safe in a URL path segment and as a file name.
inline bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name[0] == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace inferd
