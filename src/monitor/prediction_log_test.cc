#include "monitor/prediction_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace inferd::monitor {
namespace {

PredictionRecord Record(int i, int64_t rows) {
  PredictionRecord r;
  r.id = "prediction-" + std::to_string(i);
  r.model = "breast_cancer";
  r.version = 1;
  r.kind = "binary";
  r.rows = rows;
  r.inputs.assign(static_cast<size_t>(rows * 30), 1.5f);
  r.outputs.assign(static_cast<size_t>(rows), 0.25f);
  return r;
}

// The queue is bounded by records and by bytes, whichever comes first; what
// does not fit is dropped and counted, and what fits is still stored.
TEST(PredictionLogTest, QueueIsBoundedInRecordsAndBytes) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("inferd-prediction-log-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = std::move(store::OpenStore("sqlite:///" + (dir / "s.db").string())).value();
  PredictionLog::Options options;
  options.batch_size = 1'000'000;                  // the writer waits for the flush
  options.flush_interval = std::chrono::hours(1);  // interval: nothing leaves the queue
  options.queue_capacity = 10'000;
  options.queue_max_bytes = 1 << 20;
  options.spool_path = (dir / "spool").string();
  {
    auto log = std::move(PredictionLog::Create(store.get(), options)).value();
    const uint64_t big = RecordBytes(Record(0, 64));
    EXPECT_GT(big, 64u * 31 * 4);
    for (int i = 0; i < 1000; ++i) log->Record(Record(i, 64));
    auto s = log->stats();
    EXPECT_EQ(s.queued, static_cast<int64_t>((1u << 20) / big));  // bytes bind: ~130 records
    EXPECT_EQ(s.queued + s.dropped, 1000);
  }
  {
    options.queue_capacity = 50;
    auto log = std::move(PredictionLog::Create(store.get(), options)).value();
    for (int i = 0; i < 100; ++i) log->Record(Record(10'000 + i, 1));
    auto s = log->stats();
    EXPECT_EQ(s.queued, 50);  // the count binds first for small records
    EXPECT_EQ(s.dropped, 50);
  }
  // Destroying each log flushed its queue into the store.
  auto count = store->Count(store::kPredictions);
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, static_cast<int64_t>((1u << 20) / RecordBytes(Record(0, 64))) + 50);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace inferd::monitor
