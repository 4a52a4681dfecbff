#include "monitor/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
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

// Every sample line of an exposition, keyed by name and labels, with how many
// times it appears and its last value.
std::map<std::string, std::pair<int, double>> Samples(const std::string& text) {
  std::map<std::string, std::pair<int, double>> samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    auto& [count, value] = samples[line.substr(0, space)];
    ++count;
    value = std::stod(line.substr(space + 1));
  }
  return samples;
}

double Value(const std::string& text, const std::string& sample) {
  auto samples = Samples(text);
  auto it = samples.find(sample);
  return it == samples.end() ? -1 : it->second.second;
}

TEST(ServerMetricsTest, EachSeriesOnceWhicheverThreadsRecordIt) {
  MetricsRegistry registry;
  ServerMetrics metrics(&registry);
  constexpr int kThreads = 4, kRequests = 1000;
  std::vector<ModelSeries*> series(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      series[t] = metrics.Model("iris", 1);
      for (int i = 0; i < kRequests; ++i) {
        metrics.Model("iris", 1)->success->Add();
        metrics.Model("iris", 1)->request_duration_us->Add(10);
        metrics.Http("/v2/models/{model}/infer", 200)->Add();
      }
      metrics.RecordFailure("iris", 2, /*rejected=*/true);
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(series[t], series[0]);

  const std::string text = registry.Render(), triton = metrics.RenderTriton();
  for (const std::string& exposition : {text, triton}) {
    for (const auto& [sample, seen] : Samples(exposition)) EXPECT_EQ(seen.first, 1) << sample;
  }
  const std::string iris = R"({model="iris",version="1"})";
  EXPECT_EQ(Value(text, "inferd_inference_requests_total" + iris), kThreads * kRequests);
  EXPECT_EQ(Value(text, "inferd_inference_request_duration_seconds_total" + iris),
            kThreads * kRequests * 10 / 1e6);
  EXPECT_EQ(
      Value(text, R"(inferd_http_requests_total{route="/v2/models/{model}/infer",code="200"})"),
      kThreads * kRequests);
  EXPECT_EQ(Value(triton, "nv_inference_request_success" + iris), kThreads * kRequests);
  EXPECT_EQ(
      Value(triton, R"(nv_inference_request_failure{model="iris",version="2",reason="REJECTED"})"),
      kThreads);
}

TEST(ServerMetricsTest, TwoInstancesOnOneThreadKeepTheirOwnSeries) {
  MetricsRegistry registry_a, registry_b;
  ServerMetrics a(&registry_a), b(&registry_b);
  for (int i = 0; i < 3; ++i) {
    a.Model("iris", 1)->success->Add();
    b.Model("iris", 1)->success->Add(2);
    a.Http("/metrics", 200)->Add();
    b.Http("/metrics", 200)->Add(2);
  }
  EXPECT_NE(a.Model("iris", 1), b.Model("iris", 1));
  EXPECT_EQ(a.Model("iris", 1)->success->value(), 3u);
  EXPECT_EQ(b.Model("iris", 1)->success->value(), 6u);
  const std::string metrics_200 = R"(inferd_http_requests_total{route="/metrics",code="200"})";
  EXPECT_EQ(Value(registry_a.Render(), metrics_200), 3);
  EXPECT_EQ(Value(registry_b.Render(), metrics_200), 6);
}

}  // namespace
}  // namespace inferd::monitor
