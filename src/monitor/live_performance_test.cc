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

TEST(LivePerformanceTest, KeepsAPointOfHistoryPerInterval) {
  ManualClock clock(0);
  LivePerformance live(nullptr, {.history_interval_seconds = 60, .history_points = 3}, &clock);
  int next = 0;
  auto feedback = [&](float output, float label) {
    const std::string id = "p" + std::to_string(next++);
    live.Remember(id, "m", 1, "regression", {output}, 1);
    ASSERT_TRUE(live.AddFeedback(id, {label}).ok());
  };
  feedback(1, 0);  // t=0: the first point, MAE 1 on one row
  feedback(3, 0);  // same interval: no new point
  clock.Advance(60'000);
  feedback(0, 0);  // t=60 s: MAE (1 + 3 + 0) / 3
  auto history = live.Reports()[0].history;
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].time_ms, 0);
  EXPECT_EQ(history[0].rows, 1);
  EXPECT_DOUBLE_EQ(history[0].metrics.at("mae"), 1.0);
  EXPECT_EQ(history[1].time_ms, 60'000);
  EXPECT_EQ(history[1].rows, 3);
  EXPECT_DOUBLE_EQ(history[1].metrics.at("mae"), 4.0 / 3);
  // Bounded: the oldest points go first.
  for (int i = 0; i < 5; ++i) {
    clock.Advance(60'000);
    feedback(0, 0);
  }
  history = live.Reports()[0].history;
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history.front().time_ms, 240'000);
  EXPECT_EQ(history.back().time_ms, 360'000);
  EXPECT_EQ(history.back().rows, 8);
}

TEST(LivePerformanceTest, NoHistoryWhenTheIntervalIsZero) {
  ManualClock clock(0);
  LivePerformance live(nullptr, {.history_interval_seconds = 0}, &clock);
  live.Remember("p", "m", 1, "regression", {1}, 1);
  ASSERT_TRUE(live.AddFeedback("p", {0}).ok());
  EXPECT_TRUE(live.Reports()[0].history.empty());
}

}  // namespace
}  // namespace inferd::monitor
