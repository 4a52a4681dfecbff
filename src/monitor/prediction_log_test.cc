#include "monitor/prediction_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

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
  auto size = store->GetPredictionLogSize();
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(size->records, static_cast<int64_t>((1u << 20) / RecordBytes(Record(0, 64))) + 50);
  std::filesystem::remove_all(dir);
}

// The binary spool frames a record exactly, and a torn tail is skipped.
TEST(PredictionLogTest, SpoolFramesRoundTripAndSkipATornTail) {
  std::string spool;
  PredictionRecord a = Record(1, 64), b = Record(2, 1);
  a.inputs[3] = std::numeric_limits<float>::quiet_NaN();
  a.time_ms = 1'790'000'000'123;
  a.latency_us = 42;
  AppendSpoolRecord(a, &spool);
  AppendSpoolRecord(b, &spool);
  EXPECT_LT(spool.size(), 2u * 4 * (65 * 31) + 200);  // float32s plus a few header bytes
  const size_t whole = spool.size();
  AppendSpoolRecord(Record(3, 2), &spool);
  spool.resize(spool.size() - 5);  // a crash in the middle of the third append
  std::string_view in = spool;
  PredictionRecord got;
  ASSERT_TRUE(ReadSpoolRecord(&in, &got));
  EXPECT_EQ(got.id, a.id);
  EXPECT_EQ(got.time_ms, a.time_ms);
  EXPECT_EQ(got.latency_us, 42);
  EXPECT_EQ(got.rows, 64);
  ASSERT_EQ(got.inputs.size(), a.inputs.size());
  EXPECT_TRUE(std::isnan(got.inputs[3]));
  EXPECT_EQ(got.inputs[4], a.inputs[4]);
  ASSERT_TRUE(ReadSpoolRecord(&in, &got));
  EXPECT_EQ(got.id, b.id);
  EXPECT_EQ(got.outputs, b.outputs);
  EXPECT_EQ(in.size(), spool.size() - whole);
  EXPECT_FALSE(ReadSpoolRecord(&in, &got));
}

// A spool of JSON lines left by an inferd before the binary spool is replayed
// into the store at start-up, and emptied.
TEST(PredictionLogTest, LegacyJsonSpoolIsReplayed) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("inferd-legacy-spool-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = std::move(store::OpenStore("sqlite:///" + (dir / "s.db").string())).value();
  const std::string id = store::PredictionIdPrefix(1'790'000'000'000) + "00000000000000000001";
  {
    std::ofstream spool(dir / "spool");
    spool << id << "\t"
          << R"({"model":"m","version":2,"time":1790000000000,"latency_us":9,"kind":"binary",)"
          << R"("inputs":{"shape":[2,2],"data":[1,2,3,null]},)"
          << R"("outputs":{"shape":[2,1],"data":[0.25,0.75]}})" << "\n"
          << "0000000000"  // a torn last line
        ;
  }
  PredictionLog::Options options;
  options.spool_path = (dir / "spool").string();
  {
    auto log = std::move(PredictionLog::Create(store.get(), options)).value();
    ASSERT_TRUE(log->WaitIdle(std::chrono::seconds(30)));
    EXPECT_EQ(log->stats().replayed, 1);
  }
  auto r = store->GetPrediction(id);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(r->rows, 2);
  ASSERT_EQ(r->inputs.size(), 4u);
  EXPECT_EQ(r->inputs[2], 3.0f);
  EXPECT_TRUE(std::isnan(r->inputs[3]));
  EXPECT_EQ(r->outputs, (std::vector<float>{0.25f, 0.75f}));
  EXPECT_EQ(std::filesystem::file_size(dir / "spool"), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace inferd::monitor
