// The prediction writer's store cost per record, without the server around it:
// Store::InsertPredictions in batches of 500 (the writer's batch) into a fresh
// SQLite file, records of 1 and 64 rows of 30 features and one output (the demo
// model's). CPU time per record is the figure (bench/README.md): it includes
// SQLite's b-tree inserts and the kernel's copies into the WAL and at checkpoints.
//
//     build/prediction_store_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "monitor/prediction_log.h"
#include "store/store.h"

namespace inferd {
namespace {

constexpr int kBatch = 500;
constexpr int64_t kFeatures = 30;

void BM_InsertPredictions(benchmark::State& state) {
  const int64_t rows = state.range(0);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("inferd-store-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = std::move(store::OpenStore("sqlite:///" + (dir / "inferd.db").string())).value();
  std::vector<store::PredictionRecord> batch(kBatch);
  int64_t time_ms = 1'790'000'000'000;
  for (auto& r : batch) {
    r.model = "breast_cancer";
    r.version = 1;
    r.kind = "binary";
    r.rows = rows;
    r.inputs.resize(rows * kFeatures);
    for (size_t i = 0; i < r.inputs.size(); ++i) r.inputs[i] = 0.37f * static_cast<float>(i);
    r.outputs.assign(rows, 0.25f);
  }
  for (auto _ : state) {
    for (auto& r : batch) {
      r.time_ms = ++time_ms;
      r.id = monitor::NewPredictionId(time_ms);
    }
    auto added = store->InsertPredictions(batch);
    if (!added.ok() || *added != kBatch) state.SkipWithError("insert failed");
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["us_per_record"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBatch),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_InsertPredictions)->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace inferd

BENCHMARK_MAIN();
