#include "monitor/live_performance.h"

#include <gtest/gtest.h>

namespace inferd::monitor {
namespace {

TEST(LivePerformanceTest, WindowsByRowsAndTime) {
  ManualClock clock(0);
  LivePerformance live(nullptr, {.window_rows = 3, .window_seconds = 10}, &clock);
  for (int i = 0; i < 4; ++i) {
    const std::string id = "p" + std::to_string(i);
    live.Remember(id, "m", 1, "regression", {static_cast<float>(i)}, 1);
    ASSERT_TRUE(live.AddFeedback(id, {0}).ok());
  }
  auto reports = live.Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].rows, 3);  // the first label fell out of the 3-row window
  EXPECT_DOUBLE_EQ(reports[0].metrics.at("mae"), 2.0);  // |1| + |2| + |3| over 3
  clock.Advance(11'000);
  EXPECT_EQ(live.Reports()[0].rows, 0);  // older than 10 s
  EXPECT_EQ(live.AddFeedback("nope", {1}).code(), StatusCode::kNotFound);
  EXPECT_EQ(live.AddFeedback("p3", {1, 2}).code(), StatusCode::kInvalidArgument);
}

TEST(LivePerformanceTest, RemembersTheMostRecentCapacityPredictions) {
  ManualClock clock(0);
  // 16 shards of 4 slots: at most 64 predictions, the oldest of a shard go first.
  LivePerformance live(nullptr, {.capacity = 64}, &clock);
  for (int i = 0; i < 1000; ++i) {
    live.Remember("p" + std::to_string(i), "m", 1, "regression", {static_cast<float>(i)}, 1);
  }
  int remembered = 0;
  for (int i = 0; i < 1000; ++i) {
    Status s = live.AddFeedback("p" + std::to_string(i), {0});
    if (s.ok()) ++remembered;
    else EXPECT_EQ(s.code(), StatusCode::kNotFound);
    if (i >= 990) EXPECT_TRUE(s.ok()) << i;  // the newest are always there
  }
  EXPECT_GT(remembered, 32);
  EXPECT_LE(remembered, 64);
}

}  // namespace
}  // namespace inferd::monitor
