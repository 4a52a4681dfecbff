// Times and durations as people write them on command lines and in query
// strings: "30d", "12h", "90s" for durations; epoch milliseconds, RFC 3339
// ("2026-11-29T10:00:00Z", "2026-11-29T10:00:00.250+01:00") or a duration
// before now ("24h") for points in time. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace inferd {

// "<number><unit>" with unit ms, s, m, h or d (a bare number is seconds), in
// milliseconds. InvalidArgument naming the text otherwise, or when negative or
// beyond 100 years.
StatusOr<int64_t> ParseDurationMs(std::string_view text);

// A point in time in ms since the epoch: an integer of at least 10 digits is
// epoch ms; RFC 3339 with a 'Z' or an offset; else a duration before `now_ms`.
StatusOr<int64_t> ParseTimeMs(std::string_view text, int64_t now_ms);

// `ms` as RFC 3339 in UTC with milliseconds: "2026-11-29T10:00:00.250Z".
std::string FormatTimeMs(int64_t ms);

}  // namespace inferd
