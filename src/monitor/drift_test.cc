#include "monitor/drift.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <future>
#include <optional>
#include <random>
#include <thread>

namespace inferd::monitor {
namespace {

// A feature uniform on [0, 1): deciles at 0.1..0.9, percentiles k/100.
FeatureReference Uniform(const std::string& name) {
  FeatureReference f{.name = name, .count = 100000};
  for (int i = 1; i < 10; ++i) f.decile_edges.push_back(i / 10.0);
  f.decile_proportions.assign(10, 0.1);
  for (int k = 0; k <= 100; ++k) f.percentiles.push_back(k / 100.0);
  return f;
}

std::vector<float> Sample(int rows, int features, double shift, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<float> out;
  for (int i = 0; i < rows * features; ++i) out.push_back(static_cast<float>(u(random) + shift));
  return out;
}

TEST(DriftTest, KolmogorovDistributionKnownValues) {
  EXPECT_NEAR(KolmogorovQ(1.3581), 0.05, 1e-4);  // the classic 5% critical value
  EXPECT_NEAR(KolmogorovQ(1.0), 0.27, 1e-3);
  EXPECT_NEAR(KolmogorovQ(1.6276), 0.01, 1e-4);
}

TEST(DriftTest, SamplesOfTheReferenceDoNotDrift) {
  ManualClock clock(0);
  ModelDrift drift({Uniform("a"), Uniform("b")}, {.window_rows = 2000}, &clock);
  auto rows = Sample(2000, 2, 0, 1);
  drift.Observe(rows.data(), 2000);
  DriftReport report = drift.Report();
  EXPECT_EQ(report.rows, 2000);
  EXPECT_FALSE(report.dataset_drift);
  for (const auto& f : report.features) {
    EXPECT_LT(f.psi, 0.02) << f.name;
    EXPECT_GT(f.ks_p_value, 0.025) << f.name;
    EXPECT_FALSE(f.drift);
  }
}

TEST(DriftTest, ShiftedDataDrifts) {
  ManualClock clock(0);
  ModelDrift drift({Uniform("a"), Uniform("b")}, {.window_rows = 1000}, &clock);
  auto rows = Sample(1000, 2, 0.3, 2);
  drift.Observe(rows.data(), 1000);
  DriftReport report = drift.Report();
  EXPECT_TRUE(report.dataset_drift);
  for (const auto& f : report.features) {
    EXPECT_TRUE(f.drift);
    EXPECT_GT(f.psi, 1.0);
    EXPECT_NEAR(f.ks, 0.3, 0.05);  // a shift by 0.3 of a uniform moves the CDF by 0.3
  }
}

TEST(DriftTest, PsiFollowsItsFormula) {
  ManualClock clock(0);
  ModelDrift drift({Uniform("a")}, {.window_rows = 100, .min_rows = 1}, &clock);
  std::vector<float> rows(100, 0.045f);  // every row in the first decile
  drift.Observe(rows.data(), 100);
  const FeatureDrift f = drift.Report().features[0];
  // (1 - 0.1) ln(1 / 0.1) + 9 (1e-4 - 0.1) ln(1e-4 / 0.1), by hand.
  const double expected = 0.9 * std::log(10.0) + 9 * (1e-4 - 0.1) * std::log(1e-4 / 0.1);
  EXPECT_NEAR(f.psi, expected, 1e-9);
  EXPECT_NEAR(f.ks, 0.95, 1e-9);  // at p_5 = 0.05: F_live = 1, F_ref = 0.05
}

TEST(DriftTest, TheWindowForgetsOldRows) {
  ManualClock clock(0);
  ModelDrift drift({Uniform("a")}, {.window_rows = 1000, .chunks = 10}, &clock);
  auto shifted = Sample(1000, 1, 0.5, 3);
  drift.Observe(shifted.data(), 1000);
  EXPECT_TRUE(drift.Report().dataset_drift);
  auto normal = Sample(1000, 1, 0, 4);
  drift.Observe(normal.data(), 1000);
  DriftReport report = drift.Report();
  EXPECT_LE(report.rows, 1000);
  EXPECT_FALSE(report.dataset_drift);
}

TEST(DriftTest, TimeWindowsExpire) {
  ManualClock clock(0);
  ModelDrift drift({Uniform("a")}, {.window_rows = 1000000, .window_seconds = 10}, &clock);
  auto rows = Sample(500, 1, 0, 5);
  drift.Observe(rows.data(), 500);
  clock.Advance(60'000);
  drift.Observe(rows.data(), 1);
  EXPECT_LE(drift.Report().rows, 1);
}

TEST(DriftTest, MissingValuesAreCountedNotBinned) {
  ManualClock clock(0);
  ModelDrift drift({Uniform("a")}, {.min_rows = 1}, &clock);
  std::vector<float> rows = {NAN, 0.5f, NAN, 0.5f};
  drift.Observe(rows.data(), 4);
  EXPECT_DOUBLE_EQ(drift.Report().features[0].live_missing_share, 0.5);
}

TEST(DriftTest, ChiSquareTailMatchesScipy) {
  // scipy.stats.chi2.sf
  EXPECT_NEAR(ChiSquareSurvival(3.841458820694124, 1), 0.05, 1e-9);
  EXPECT_NEAR(ChiSquareSurvival(10, 5), 0.07523524614651217, 1e-9);
  EXPECT_NEAR(ChiSquareSurvival(4.5, 2), 0.10539922456186433, 1e-9);
  EXPECT_LT(ChiSquareSurvival(200, 3), 1e-40);
}

FeatureReference Classes() {
  return {.name = "prediction", .categories = {"0", "1", "2"},
          .category_proportions = {0.5, 0.4, 0.1}};
}

TEST(DriftTest, CategoricalStatisticsMatchScipy) {
  ManualClock clock(0);
  ModelDrift drift({Classes()}, {.min_rows = 1}, &clock);
  std::vector<float> rows;
  for (int i = 0; i < 60; ++i) rows.push_back(0);
  for (int i = 0; i < 30; ++i) rows.push_back(1);
  for (int i = 0; i < 10; ++i) rows.push_back(2);
  drift.Observe(rows.data(), 100);
  FeatureDrift f = drift.Report().features[0];
  EXPECT_TRUE(f.categorical);
  // scipy.spatial.distance.jensenshannon([.6, .3, .1], [.5, .4, .1], base=2)
  EXPECT_NEAR(f.js, 0.09194311325861228, 1e-9);
  EXPECT_NEAR(f.chi2, 4.5, 1e-9);  // scipy.stats.chisquare([60,30,10], [50,40,10])
  EXPECT_NEAR(f.chi2_p_value, 0.10539922456186433, 1e-9);
  EXPECT_FALSE(f.drift);  // JS below 0.1

  ModelDrift shifted({Classes()}, {.min_rows = 1}, &clock);
  std::vector<float> zeros(100, 0);
  shifted.Observe(zeros.data(), 100);
  f = shifted.Report().features[0];
  // scipy.spatial.distance.jensenshannon([1, 0, 0], [.5, .4, .1], base=2)
  EXPECT_NEAR(f.js, 0.5579230452841438, 1e-9);
  EXPECT_TRUE(f.drift);
}

// A DriftMonitor whose loader counts its calls; version 0 has no reference.
struct CountingMonitor {
  ManualClock clock{0};
  std::atomic<int> loads{0};
  DriftMonitor monitor{[this](const std::string&, int64_t version, const std::vector<std::string>&,
                              const std::string&) {
                         loads.fetch_add(1);
                         return version == 0 ? std::vector<FeatureReference>{}
                                             : std::vector<FeatureReference>{Uniform("a")};
                       },
                       DriftOptions{}, &clock};
};

TEST(DriftMonitorTest, TwoMonitorsOnOneThreadDoNotEvictEachOther) {
  CountingMonitor input, prediction;  // as the server has: input drift and prediction drift
  for (int i = 0; i < 100; ++i) {
    ModelDrift* a = input.monitor.For("iris", 1, {"a"});
    ModelDrift* b = prediction.monitor.For("iris", 1, {"prediction"});
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_NE(a, b);
  }
  EXPECT_EQ(input.loads.load(), 1);
  EXPECT_EQ(prediction.loads.load(), 1);
}

TEST(DriftMonitorTest, LoadsEachVersionOnceAcrossThreads) {
  CountingMonitor m;
  constexpr int kThreads = 6, kVersions = 5;
  std::vector<std::vector<ModelDrift*>> seen(kThreads, std::vector<ModelDrift*>(kVersions));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (int v = 0; v < kVersions; ++v) {
          ModelDrift* window = m.monitor.For("iris", v, {"a"});
          if (round == 0) seen[t][v] = window;
          ASSERT_EQ(window, seen[t][v]);
          if (window) window->Observe(std::vector<float>{0.5f}.data(), 1);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(m.loads.load(), kVersions);
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t], seen[0]);
  EXPECT_EQ(seen[0][0], nullptr);  // no reference
  int windows = 0;
  m.monitor.ForEach([&](const std::string&, int64_t, const ModelDrift& drift) {
    ++windows;
    EXPECT_EQ(drift.Report().rows, kThreads * 50);
  });
  EXPECT_EQ(windows, kVersions - 1);
}

TEST(DriftMonitorTest, PeekNeverLoads) {
  CountingMonitor m;
  EXPECT_EQ(m.monitor.Peek("iris", 1), std::nullopt);
  EXPECT_EQ(m.monitor.Peek("iris", 0), std::nullopt);
  EXPECT_EQ(m.loads.load(), 0);
  ModelDrift* window = m.monitor.For("iris", 1, {"a"});
  m.monitor.For("iris", 0, {"a"});
  EXPECT_EQ(m.monitor.Peek("iris", 1), std::optional<ModelDrift*>(window));
  EXPECT_EQ(m.monitor.Peek("iris", 0), std::optional<ModelDrift*>(nullptr));
  EXPECT_EQ(m.monitor.Peek("iris", 2), std::nullopt);
  std::optional<ModelDrift*> elsewhere;  // another thread: from the shared map
  std::thread([&] { elsewhere = m.monitor.Peek("iris", 1); }).join();
  EXPECT_EQ(elsewhere, std::optional<ModelDrift*>(window));
  EXPECT_EQ(m.loads.load(), 2);
}

TEST(DriftMonitorTest, PeekAndForEachDoNotWaitForALoad) {
  ManualClock clock(0);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> loading{false};
  DriftMonitor monitor(
      [&](const std::string&, int64_t version, const std::vector<std::string>&,
          const std::string&) {
        if (version == 2) {  // a slow store: blocks until the test lets go
          loading.store(true);
          released.wait();
        }
        return std::vector<FeatureReference>{Uniform("a")};
      },
      DriftOptions{}, &clock);
  monitor.For("iris", 1, {"a"});
  std::thread loader([&] { monitor.For("iris", 2, {"a"}); });
  while (!loading.load()) std::this_thread::yield();
  EXPECT_EQ(monitor.Peek("iris", 2), std::nullopt);
  std::optional<ModelDrift*> one;
  std::thread([&] { one = monitor.Peek("iris", 1); }).join();  // through the shared map
  ASSERT_TRUE(one.has_value());
  EXPECT_NE(*one, nullptr);
  int windows = 0;
  monitor.ForEach([&](const std::string&, int64_t, const ModelDrift&) { ++windows; });
  EXPECT_EQ(windows, 1);
  release.set_value();
  loader.join();
  ASSERT_TRUE(monitor.Peek("iris", 2).has_value());
  EXPECT_NE(*monitor.Peek("iris", 2), nullptr);
}

}  // namespace
}  // namespace inferd::monitor
