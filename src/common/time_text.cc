#include "common/time_text.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace inferd {
namespace {

constexpr int64_t kMaxDurationMs = int64_t{100} * 365 * 24 * 3600 * 1000;

// Reads exactly `digits` decimal digits at `*pos`.
bool Digits(std::string_view text, size_t* pos, int digits, int* value) {
  if (*pos + digits > text.size()) return false;
  int v = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += digits;
  *value = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool ParseRfc3339(std::string_view t, int64_t* ms) {
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(t, &pos, 4, &year) || !Expect(t, &pos, '-') || !Digits(t, &pos, 2, &month) ||
      !Expect(t, &pos, '-') || !Digits(t, &pos, 2, &day)) {
    return false;
  }
  if (pos >= t.size() || (t[pos] != 'T' && t[pos] != 't' && t[pos] != ' ')) return false;
  ++pos;
  if (!Digits(t, &pos, 2, &hour) || !Expect(t, &pos, ':') || !Digits(t, &pos, 2, &minute) ||
      !Expect(t, &pos, ':') || !Digits(t, &pos, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  int64_t millis = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    int scale = 100, digits = 0;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      millis += (t[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0) return false;
  }
  int64_t offset_minutes = 0;
  if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    ++pos;
  } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
    const int sign = t[pos] == '+' ? 1 : -1;
    ++pos;
    int oh, om;
    if (!Digits(t, &pos, 2, &oh) || !Expect(t, &pos, ':') || !Digits(t, &pos, 2, &om)) {
      return false;
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return false;
  }
  if (pos != t.size()) return false;
  const int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                          second - offset_minutes * 60;
  *ms = seconds * 1000 + millis;
  return true;
}

}  // namespace

StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  const Status invalid = InvalidArgument("'" + std::string(text) +
                                         "' is not a duration such as 30d, 12h, 15m, 90s or 500ms");
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value < 0) return invalid;
  const std::string_view unit(end, text.data() + text.size() - end);
  int64_t scale;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else if (unit == "d") {
    scale = 86'400'000;
  } else {
    return invalid;
  }
  if (value > kMaxDurationMs / scale) return invalid;
  return value * scale;
}

StatusOr<int64_t> ParseTimeMs(std::string_view text, int64_t now_ms) {
  int64_t ms = 0;
  if (text.size() >= 10) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc() && end == text.data() + text.size() && ms >= 0) return ms;
  }
  if (ParseRfc3339(text, &ms)) return ms;
  auto ago = ParseDurationMs(text);
  if (ago.ok()) return now_ms - *ago;
  return InvalidArgument("'" + std::string(text) +
                         "' is not a time: give epoch milliseconds, RFC 3339 "
                         "(2026-11-29T10:00:00Z) or a duration before now (24h, 7d)");
}

std::string FormatTimeMs(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char out[32];
  std::snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms - static_cast<int64_t>(seconds) * 1000));
  return out;
}

}  // namespace inferd
