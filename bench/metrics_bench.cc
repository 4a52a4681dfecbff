// Cost of recording one inference's metrics on the hot path: the cached series
// lookup plus Triton's counters, the latency and batch histograms and the HTTP
// counter, from one and from two threads at once.
#include <benchmark/benchmark.h>

#include "monitor/server_metrics.h"

namespace {

inferd::monitor::MetricsRegistry registry;
inferd::monitor::ServerMetrics metrics(&registry);

void BM_RecordInference(benchmark::State& state) {
  for (auto _ : state) {
    metrics.RecordInference(metrics.Model("breast_cancer", 1), inferd::monitor::Protocol::kRestV2, 1, 250, 40);
    metrics.Http("/v2/models/{model}/infer", 200)->Add();
  }
}
BENCHMARK(BM_RecordInference)->Threads(1)->Threads(2)->UseRealTime();

void BM_Render(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(registry.Render());
}
BENCHMARK(BM_Render);

}  // namespace

BENCHMARK_MAIN();
