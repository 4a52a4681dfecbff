#include "monitor/prediction_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "store/ferretdb_test_server.h"

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
  EXPECT_EQ(in.size(), spool.size() - whole);
}

// A record whose bytes changed after it was written fails its checksum.
TEST(PredictionLogTest, SpoolDetectsADamagedRecord) {
  std::string spool;
  AppendSpoolRecord(Record(1, 2), &spool);
  PredictionRecord got;
  for (size_t i : {size_t{4}, size_t{20}, spool.size() - 1}) {  // the checksum, the id, a float
    std::string damaged = spool;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
    std::string_view in = damaged;
    EXPECT_FALSE(ReadSpoolRecord(&in, &got)) << "byte " << i;
    EXPECT_EQ(in.size(), damaged.size());
  }
  std::string_view in = spool;
  EXPECT_TRUE(ReadSpoolRecord(&in, &got));
  EXPECT_TRUE(in.empty());
}

class SpoolRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("inferd-spool-recovery-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = std::move(store::OpenStore("sqlite:///" + (dir_ / "s.db").string())).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteSpool(const std::string& bytes) {
    std::ofstream(dir_ / "spool", std::ios::binary) << bytes;
  }
  // Starts a log on the spool, waits until it is replayed, and returns the count.
  int64_t Replayed() {
    PredictionLog::Options options;
    options.spool_path = (dir_ / "spool").string();
    auto log = std::move(PredictionLog::Create(store_.get(), options)).value();
    EXPECT_TRUE(log->WaitIdle(std::chrono::seconds(30)));
    EXPECT_EQ(std::filesystem::file_size(dir_ / "spool"), 0u);
    return log->stats().replayed;
  }
  void ExpectStored(int i) {
    auto r = store_->GetPrediction(Record(i, 2).id);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    EXPECT_EQ(r->inputs, Record(i, 2).inputs);
    EXPECT_EQ(r->outputs, Record(i, 2).outputs);
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

// A crash in the middle of an append leaves part of a record: the whole
// records before it are replayed, the rest is cut off.
TEST_F(SpoolRecoveryTest, TornTailIsCutOff) {
  std::string spool(kSpoolHeader);
  AppendSpoolRecord(Record(1, 2), &spool);
  AppendSpoolRecord(Record(2, 2), &spool);
  std::string torn;
  AppendSpoolRecord(Record(3, 2), &torn);
  spool += torn.substr(0, torn.size() / 2);
  WriteSpool(spool);
  EXPECT_EQ(Replayed(), 2);
  ExpectStored(1);
  ExpectStored(2);
  EXPECT_FALSE(store_->GetPrediction(Record(3, 2).id).ok());
}

// A crash while the first batch was appended: part of the header.
TEST_F(SpoolRecoveryTest, TornHeaderIsCutOff) {
  WriteSpool(std::string(kSpoolHeader.substr(0, 10)));
  EXPECT_EQ(Replayed(), 0);
}

// The store is down when a log starts on a spool with a torn tail: the tail is
// cut off before the first append, so that the records spooled after it are
// replayed with the others once the store is back.
TEST_F(SpoolRecoveryTest, RecordsSpooledAfterATornTailAreReplayed) {
  store::FerretDbTestServer ferretdb(INFERD_FERRETDB);
  ASSERT_TRUE(ferretdb.Start().ok());
  auto mongo = store::OpenStore(ferretdb.Uri("spool") + "?serverSelectionTimeoutMS=300");
  ASSERT_TRUE(mongo.ok()) << mongo.status().ToString();
  ferretdb.Stop(/*hard=*/false, /*keep_data=*/true);
  std::string spool(kSpoolHeader), torn;
  AppendSpoolRecord(Record(1, 2), &spool);
  AppendSpoolRecord(Record(2, 2), &torn);
  WriteSpool(spool + torn.substr(0, torn.size() - 3));
  PredictionLog::Options options;
  options.spool_path = (dir_ / "spool").string();
  options.flush_interval = std::chrono::milliseconds(10);
  options.retry_interval = std::chrono::milliseconds(100);
  auto log = std::move(PredictionLog::Create(mongo->get(), options)).value();
  log->Record(Record(3, 2));
  log->Record(Record(4, 2));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (log->stats().spooled < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(log->stats().spooled, 2);
  ASSERT_TRUE(ferretdb.Start().ok());
  ASSERT_TRUE(log->WaitIdle(std::chrono::seconds(60)));
  EXPECT_EQ(log->stats().replayed, 3);
  for (int i : {1, 3, 4}) {
    auto r = (*mongo)->GetPrediction(Record(i, 2).id);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    EXPECT_EQ(r->inputs, Record(i, 2).inputs);
  }
  EXPECT_FALSE((*mongo)->GetPrediction(Record(2, 2).id).ok());
}

// A spool of v2 frames (no checksums) left by an older inferd is replayed.
TEST_F(SpoolRecoveryTest, V2SpoolIsReplayed) {
  std::string spool(kSpoolHeaderV2);
  for (int i : {1, 2}) {
    std::string frame;
    AppendSpoolRecord(Record(i, 2), &frame);
    spool += frame.substr(0, 4) + frame.substr(8);  // without the checksum
  }
  WriteSpool(spool + "\x10\x00");  // and a torn tail
  EXPECT_EQ(Replayed(), 2);
  ExpectStored(1);
  ExpectStored(2);
}

// A whole frame whose record no store accepts (no id, negative rows, tensors
// that are not `rows` rows) is damaged, not a record: the store refused the
// whole replay batch holding it, at every retry, so the spool never drained
// (found by fuzz_prediction_spool).
TEST(PredictionLogTest, SpoolFrameOfARecordTheStoreRefusesIsDamaged) {
  PredictionRecord no_id = Record(1, 2), negative = Record(2, 1), ragged = Record(3, 2),
                   empty_rows = Record(4, 1);
  no_id.id.clear();
  negative.rows = -1;
  ragged.inputs.pop_back();
  empty_rows.rows = 0;
  for (const PredictionRecord& bad : {no_id, negative, ragged, empty_rows}) {
    std::string spool;
    AppendSpoolRecord(bad, &spool);
    std::string_view in = spool;
    PredictionRecord got;
    EXPECT_FALSE(ReadSpoolRecord(&in, &got)) << bad.id << " rows " << bad.rows;
    EXPECT_EQ(in.size(), spool.size());
  }
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
