#include "monitor/metrics.h"

#include <gtest/gtest.h>

#include <thread>

#include "monitor/server_metrics.h"

namespace inferd::monitor {
namespace {

TEST(MetricsTest, RendersPrometheusText) {
  MetricsRegistry registry;
  auto* requests = registry.AddCounter("x_requests_total", "Requests", {"model"});
  requests->Series({"iris"})->Add(3);
  requests->Series({"we\"ird\\"})->Add();
  auto* latency = registry.AddHistogram("x_seconds", "Latency", {}, {0.1, 1});
  latency->Series({})->Observe(0.05);
  latency->Series({})->Observe(0.5);
  latency->Series({})->Observe(7);
  registry.AddCallback("x_up", "Up", {}, false, [] {
    return std::vector<std::pair<std::vector<std::string>, double>>{{{}, 1}};
  });
  const std::string text = registry.Render();
  EXPECT_NE(text.find("# HELP x_requests_total Requests\n# TYPE x_requests_total counter\n"
                      "x_requests_total{model=\"iris\"} 3\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("x_requests_total{model=\"we\\\"ird\\\\\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.1\"} 1\nx_seconds_bucket{le=\"1\"} 2\n"
                      "x_seconds_bucket{le=\"+Inf\"} 3\nx_seconds_sum 7.55\nx_seconds_count 3\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE x_up gauge\nx_up 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, ConcurrentRecordingLosesNothing) {
  MetricsRegistry registry;
  ServerMetrics metrics(&registry);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        metrics.RecordInference(metrics.Model("iris", 1), Protocol::kRestV2, 2, 100, 50);
      }
    });
  }
  for (auto& t : threads) t.join();
  ModelSeries* s = metrics.Model("iris", 1);
  EXPECT_EQ(s->success->value(), 40000u);
  EXPECT_EQ(s->inference_count->value(), 80000u);
  EXPECT_EQ(s->request_duration_us->value(), 4000000u);
  EXPECT_EQ(s->duration[0]->count(), 40000u);
  EXPECT_EQ(metrics.Model("iris", 1), s);  // cached
  EXPECT_NE(metrics.Model("iris", 2), s);
}

}  // namespace
}  // namespace inferd::monitor
