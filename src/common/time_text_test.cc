#include "common/time_text.h"

#include <gtest/gtest.h>

namespace inferd {
namespace {

TEST(TimeTextTest, Durations) {
  EXPECT_EQ(*ParseDurationMs("30d"), 30ll * 86'400'000);
  EXPECT_EQ(*ParseDurationMs("12h"), 12ll * 3'600'000);
  EXPECT_EQ(*ParseDurationMs("15m"), 15ll * 60'000);
  EXPECT_EQ(*ParseDurationMs("90s"), 90'000);
  EXPECT_EQ(*ParseDurationMs("90"), 90'000);
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("0"), 0);
  for (const char* bad : {"", "d", "-1d", "3w", "1.5h", "99999999d", "12 h"}) {
    EXPECT_EQ(ParseDurationMs(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(TimeTextTest, PointsInTime) {
  const int64_t now = 1'790'000'000'000;
  EXPECT_EQ(*ParseTimeMs("1790000000123", now), 1'790'000'000'123);
  EXPECT_EQ(*ParseTimeMs("2026-11-29T10:00:00Z", now), 1'795'946'400'000);
  EXPECT_EQ(*ParseTimeMs("2026-11-29T10:00:00.25Z", now), 1'795'946'400'250);
  EXPECT_EQ(*ParseTimeMs("2026-11-29T11:30:00+01:30", now), 1'795'946'400'000);
  EXPECT_EQ(*ParseTimeMs("1970-01-01T00:00:00Z", now), 0);
  EXPECT_EQ(*ParseTimeMs("24h", now), now - 86'400'000);
  for (const char* bad : {"yesterday", "2026-13-01T00:00:00Z", "2026-11-29T10:00:00",
                          "2026-11-29", "-5"}) {
    EXPECT_EQ(ParseTimeMs(bad, now).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(FormatTimeMs(1'795'946'400'250), "2026-11-29T10:00:00.250Z");
  EXPECT_EQ(*ParseTimeMs(FormatTimeMs(1'795'946'400'007), now), 1'795'946'400'007);
}

}  // namespace
}  // namespace inferd
