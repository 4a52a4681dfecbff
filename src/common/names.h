// Names and version numbers that travel in URLs and file paths: models,
// aliases, datasets.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
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

// A version number: a positive decimal integer with nothing around it.
inline std::optional<int64_t> ParseVersionNumberText(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

}  // namespace inferd
