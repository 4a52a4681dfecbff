// One contract, every backend: each test here runs against a real SQLite file and a
// real MongoDB-wire server (FerretDB), and also against a real MongoDB when
// INFERD_TEST_MONGODB_URI names one (CI's mongo:7 service container), e.g.
//   INFERD_TEST_MONGODB_URI='mongodb://root:pw@localhost:27017/?authSource=admin'
// Each test gets a database of its own there.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <thread>

#include "common/clock.h"
#include "monitor/prediction_retention.h"
#include "store/ferretdb_test_server.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace inferd::store {
namespace {

FerretDbTestServer* ferretdb = nullptr;

std::string ExternalMongoUri() {
  const char* uri = std::getenv("INFERD_TEST_MONGODB_URI");
  return uri ? uri : "";
}

// `uri` with its database path replaced by `database` (options kept).
std::string WithDatabase(const std::string& uri, const std::string& database) {
  size_t hosts = uri.find("://") + 3;
  size_t query = uri.find('?', hosts);
  size_t path = uri.find('/', hosts);
  size_t hosts_end = std::min(path, query);
  std::string options = query == std::string::npos ? "" : uri.substr(query);
  return uri.substr(0, hosts_end) + "/" + database + options;
}

std::vector<std::string> Backends() {
  std::vector<std::string> backends = {"sqlite", "ferretdb"};
  if (!ExternalMongoUri().empty()) backends.push_back("mongodb");
  return backends;
}

class FerretDbEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    ferretdb = new FerretDbTestServer(INFERD_FERRETDB);
    Status st = ferretdb->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void TearDown() override {
    delete ferretdb;
    ferretdb = nullptr;
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new FerretDbEnvironment);

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter_++);
    if (GetParam() == "sqlite") {
      dir_ = std::filesystem::temp_directory_path() / ("inferd-store-" + name);
      std::filesystem::remove_all(dir_);
      uri_ = "sqlite:///" + (dir_ / "sub" / "inferd.db").string();
    } else if (GetParam() == "ferretdb") {
      ASSERT_NE(ferretdb, nullptr);
      uri_ = ferretdb->Uri(name);
    } else {
      uri_ = WithDatabase(ExternalMongoUri(), name);
    }
    auto store = OpenStore(uri_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::string uri_;
  std::unique_ptr<Store> store_;
};

// Parses JSON so comparisons ignore formatting differences between backends.
std::string Canonical(const std::string& json) {
  simdjson::dom::parser parser;
  return simdjson::minify(parser.parse(json).value());
}

TEST_P(StoreContractTest, InsertGetPutDelete) {
  EXPECT_EQ(store_->backend(), GetParam() == "sqlite" ? "sqlite" : "mongodb");
  ASSERT_TRUE(store_->Ping().ok());
  const std::string doc = R"({"name":"iris","n":3,"x":0.5,"tags":{"a":"b"},"list":[1,"two",null],"ok":true})";
  ASSERT_TRUE(store_->Insert(kRegisteredModels, {"iris", doc}).ok());
  EXPECT_EQ(store_->Insert(kRegisteredModels, {"iris", "{}"}).code(), StatusCode::kAlreadyExists);
  auto got = store_->Get(kRegisteredModels, "iris");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Canonical(*got), Canonical(doc));

  ASSERT_TRUE(store_->Put(kRegisteredModels, {"iris", R"({"name":"iris","n":4})"}).ok());
  EXPECT_EQ(Canonical(*store_->Get(kRegisteredModels, "iris")), R"({"name":"iris","n":4})");
  ASSERT_TRUE(store_->Put(kRegisteredModels, {"new", R"({"name":"new"})"}).ok());  // upsert

  EXPECT_TRUE(store_->Delete(kRegisteredModels, "iris").ok());
  EXPECT_EQ(store_->Delete(kRegisteredModels, "iris").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get(kRegisteredModels, "iris").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("no_such_collection", "x").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreContractTest, ListFiltersSortsAndLimits) {
  for (std::string id : {"b/2", "a/1", "b/1", "c/1"}) {
    std::string name = id.substr(0, 1);
    ASSERT_TRUE(store_->Put(kModelVersions, {id, R"({"name":")" + name + R"("})"}).ok());
  }
  auto all = store_->List(kModelVersions, {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::vector<std::string> ids;
  for (const auto& d : *all) ids.push_back(d.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a/1", "b/1", "b/2", "c/1"}));
  auto bs = store_->List(kModelVersions, {"name", "b"}, 1);
  ASSERT_TRUE(bs.ok());
  ASSERT_EQ(bs->size(), 1u);
  EXPECT_EQ((*bs)[0].id, "b/1");
  EXPECT_EQ(Canonical((*bs)[0].json), R"({"name":"b"})");
  EXPECT_EQ(store_->List(kModelVersions, {"name", "z"})->size(), 0u);
  EXPECT_EQ(*store_->Count(kModelVersions), 4);
}

TEST_P(StoreContractTest, InsertManySkipsIdsAlreadyPresent) {
  std::vector<Document> batch;
  for (int i = 0; i < 500; ++i) {
    batch.push_back({"p" + std::to_string(i), R"({"model":"m","i":)" + std::to_string(i) + "}"});
  }
  std::vector<Document> first(batch.begin(), batch.begin() + 200);
  ASSERT_EQ(*store_->InsertMany(kFeedback, first), 200);
  auto replay = store_->InsertMany(kFeedback, batch);  // a replayed, larger batch
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  EXPECT_EQ(*replay, 300);
  EXPECT_EQ(*store_->Count(kFeedback), 500);
  EXPECT_EQ(*store_->InsertMany(kFeedback, {}), 0);
}

TEST_P(StoreContractTest, BlobsRoundTripAcrossChunks) {
  std::string big(9 << 20, '\0');  // three MongoDB chunks
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 2654435761u >> 13);
  ASSERT_TRUE(store_->PutBlob("models/iris/1/model.json", big).ok());
  ASSERT_TRUE(store_->PutBlob("models/iris/2/model.json", "").ok());
  ASSERT_TRUE(store_->PutBlob("other/x", "small").ok());
  auto got = store_->GetBlob("models/iris/1/model.json");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == big);
  EXPECT_EQ(*store_->GetBlob("models/iris/2/model.json"), "");
  ASSERT_TRUE(store_->PutBlob("models/iris/1/model.json", "replaced").ok());
  EXPECT_EQ(*store_->GetBlob("models/iris/1/model.json"), "replaced");
  EXPECT_EQ(*store_->ListBlobs("models/"),
            (std::vector<std::string>{"models/iris/1/model.json", "models/iris/2/model.json"}));
  EXPECT_TRUE(store_->DeleteBlob("other/x").ok());
  EXPECT_EQ(store_->GetBlob("other/x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteBlob("other/x").code(), StatusCode::kNotFound);
}

TEST_P(StoreContractTest, ConcurrentWritersAllLand) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 50; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        ASSERT_TRUE(store_->Insert(kFeedback, {id, R"({"v":1})"}).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(*store_->Count(kFeedback), 200);
}

int64_t IntField(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  int64_t value = 0;
  return parser.parse(json)[key].get(value) == simdjson::SUCCESS ? value : -1;
}

TEST_P(StoreContractTest, UpdateIfAndDeleteIfCompareTheRevision) {
  ASSERT_TRUE(store_->Insert(kRegisteredModels, {"m", R"({"name":"m","n":1})"}).ok());
  // A document written without a revision is at revision 0.
  EXPECT_EQ(store_->UpdateIf(kRegisteredModels, {"m", R"({"name":"m","n":9})"}, 1).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Canonical(*store_->Get(kRegisteredModels, "m")), R"({"name":"m","n":1})");
  Status st = store_->UpdateIf(kRegisteredModels, {"m", R"({"name":"m","n":2})"}, 0);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Canonical(*store_->Get(kRegisteredModels, "m")), R"({"name":"m","n":2,"revision":1})");
  // The store sets the revision, whatever the document says.
  ASSERT_TRUE(
      store_->UpdateIf(kRegisteredModels, {"m", R"({"name":"m","n":3,"revision":7})"}, 1).ok());
  EXPECT_EQ(Canonical(*store_->Get(kRegisteredModels, "m")), R"({"name":"m","n":3,"revision":2})");
  EXPECT_EQ(store_->UpdateIf(kRegisteredModels, {"m", R"({"n":4})"}, 1).code(),
            StatusCode::kFailedPrecondition);

  EXPECT_EQ(store_->UpdateIf(kRegisteredModels, {"absent", "{}"}, 0).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->UpdateIf(kRegisteredModels, {"m", "not json"}, 2).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->UpdateIf("no_such_collection", {"m", "{}"}, 2).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Canonical(*store_->Get(kRegisteredModels, "m")), R"({"name":"m","n":3,"revision":2})");

  EXPECT_EQ(store_->DeleteIf(kRegisteredModels, "m", 1).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->Get(kRegisteredModels, "m").ok());
  EXPECT_TRUE(store_->DeleteIf(kRegisteredModels, "m", 2).ok());
  EXPECT_EQ(store_->DeleteIf(kRegisteredModels, "m", 2).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->Insert(kRegisteredModels, {"plain", R"({"n":1})"}).ok());
  EXPECT_TRUE(store_->DeleteIf(kRegisteredModels, "plain", 0).ok());
}

// Two writers (each a store of its own, as two servers) race to change the
// same revision, again and again: exactly one wins each round.
TEST_P(StoreContractTest, OfTwoRacingWritersExactlyOneWins) {
  auto other = OpenStore(uri_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  Store* writers[] = {store_.get(), other->get()};
  ASSERT_TRUE(store_->Insert(kRegisteredModels, {"m", R"({"winner":-1})"}).ok());
  constexpr int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    const bool deletes = round == kRounds - 1;  // the last round races DeleteIf against UpdateIf
    Status results[2];
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 2; ++w) {
      threads.emplace_back([&, w] {
        ready.fetch_add(1);
        while (ready.load() < 2) {
        }
        results[w] =
            deletes && w == 1
                ? writers[w]->DeleteIf(kRegisteredModels, "m", round)
                : writers[w]->UpdateIf(kRegisteredModels,
                                       {"m", R"({"winner":)" + std::to_string(w) + "}"}, round);
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_NE(results[0].ok(), results[1].ok())
        << "round " << round << ": " << results[0].ToString() << " / " << results[1].ToString();
    const int winner = results[0].ok() ? 0 : 1;
    const StatusCode lost = results[1 - winner].code();
    if (deletes && winner == 1) {  // an update that lost to a delete: gone, or "read it again"
      EXPECT_TRUE(lost == StatusCode::kNotFound || lost == StatusCode::kFailedPrecondition)
          << results[1 - winner].ToString();
      EXPECT_EQ(store_->Get(kRegisteredModels, "m").status().code(), StatusCode::kNotFound);
    } else {
      EXPECT_EQ(lost, StatusCode::kFailedPrecondition) << results[1 - winner].ToString();
      auto doc = store_->Get(kRegisteredModels, "m");
      ASSERT_TRUE(doc.ok()) << doc.status().ToString();
      EXPECT_EQ(IntField(*doc, "winner"), winner);
      EXPECT_EQ(IntField(*doc, kRevisionField), round + 1);
    }
  }
}

// Read-modify-write loops on one counter from two stores and several threads:
// every increment lands once.
TEST_P(StoreContractTest, CompareAndSwapLosesNoIncrement) {
  auto other = OpenStore(uri_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  Store* writers[] = {store_.get(), other->get()};
  ASSERT_TRUE(store_->Insert(kRegisteredModels, {"counter", R"({"n":0})"}).ok());
  constexpr int kThreadsPerWriter = 3, kIncrements = 20;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsPerWriter; ++t) {
    threads.emplace_back([&, store = writers[t % 2]] {
      for (int i = 0; i < kIncrements; ++i) {
        for (;;) {
          auto doc = store->Get(kRegisteredModels, "counter");
          ASSERT_TRUE(doc.ok()) << doc.status().ToString();
          const int64_t n = IntField(*doc, "n"),
                        revision = std::max<int64_t>(0, IntField(*doc, kRevisionField));
          Status st = store->UpdateIf(
              kRegisteredModels, {"counter", R"({"n":)" + std::to_string(n + 1) + "}"}, revision);
          if (st.ok()) break;
          ASSERT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
          conflicts.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto doc = store_->Get(kRegisteredModels, "counter");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(IntField(*doc, "n"), 2 * kThreadsPerWriter * kIncrements);
  EXPECT_EQ(IntField(*doc, kRevisionField), 2 * kThreadsPerWriter * kIncrements);
  RecordProperty("conflicts_retried", conflicts.load());
}

TEST_P(StoreContractTest, SchemaSurvivesReopen) {
  ASSERT_TRUE(store_->Put(kDatasets, {"d@1", R"({"name":"d"})"}).ok());
  store_.reset();
  auto again = OpenStore(uri_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Canonical(*(*again)->Get(kDatasets, "d@1")), R"({"name":"d"})");
}

// A prediction record at `time_ms` with `rows` rows of 30 inputs and `classes`
// outputs, values derived from `seed`; ids sort as their times.
PredictionRecord Prediction(int64_t time_ms, int seed, int64_t rows, const std::string& model = "m",
                            int64_t version = 1, int64_t classes = 1) {
  PredictionRecord r;
  char suffix[21];
  std::snprintf(suffix, sizeof(suffix), "%020d", seed);
  r.id = PredictionIdPrefix(time_ms) + suffix;
  r.model = model;
  r.version = version;
  r.time_ms = time_ms;
  r.latency_us = 17 + seed;
  r.kind = classes > 1 ? "multiclass" : "binary";
  r.rows = rows;
  for (int64_t i = 0; i < rows * 30; ++i) r.inputs.push_back(static_cast<float>(seed) + i * 0.37f);
  for (int64_t i = 0; i < rows * classes; ++i) r.outputs.push_back(1.0f / (seed + i + 3));
  return r;
}

void ExpectSameRecord(const PredictionRecord& got, const PredictionRecord& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.model, want.model);
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.time_ms, want.time_ms);
  EXPECT_EQ(got.latency_us, want.latency_us);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.rows, want.rows);
  ASSERT_EQ(got.inputs.size(), want.inputs.size());
  ASSERT_EQ(got.outputs.size(), want.outputs.size());
  // Bit for bit: float32s are stored as they are, NaN included.
  EXPECT_EQ(std::memcmp(got.inputs.data(), want.inputs.data(), want.inputs.size() * 4), 0);
  EXPECT_EQ(std::memcmp(got.outputs.data(), want.outputs.data(), want.outputs.size() * 4), 0);
}

std::vector<std::string> Ids(const std::vector<PredictionRecord>& records) {
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.id);
  return ids;
}

constexpr int64_t kT0 = 1'790'000'000'000;  // ms, in 2026

TEST_P(StoreContractTest, PredictionsRoundTripAsFloat32) {
  std::vector<PredictionRecord> records = {Prediction(kT0, 1, 1), Prediction(kT0 + 1, 2, 64),
                                           Prediction(kT0 + 2, 3, 0),
                                           Prediction(kT0 + 3, 4, 2, "iris", 3, 3)};
  records[1].inputs[5] = std::numeric_limits<float>::quiet_NaN();
  records[1].inputs[6] = -std::numeric_limits<float>::infinity();
  auto added = store_->InsertPredictions(records);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(*added, 4);
  EXPECT_EQ(*store_->InsertPredictions(records), 0);  // a replay adds nothing
  EXPECT_EQ(*store_->InsertPredictions({}), 0);
  for (const auto& want : records) {
    auto got = store_->GetPrediction(want.id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectSameRecord(*got, want);
    EXPECT_EQ(got->ground_truth, "");
  }
  EXPECT_EQ(store_->GetPrediction("ffffffffffff0000").status().code(), StatusCode::kNotFound);
  auto size = store_->GetPredictionLogSize();
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(size->records, 4);
  // float32s, not their text: the four records hold (30 + 1) * 67 + 2 * 3 floats.
  const int64_t floats = 4 * ((30 + 1) * 67 + 2 * 3);
  EXPECT_GE(size->bytes, floats);
  // FerretDB on SQLite reports the pages its table takes (collStats size).
  if (GetParam() != "ferretdb") EXPECT_LT(size->bytes, floats + 4 * 400);
  PredictionRecord bad = Prediction(kT0, 9, 2);
  bad.inputs.pop_back();
  EXPECT_EQ(store_->InsertPredictions({Prediction(kT0 + 9, 10, 1), bad}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetPrediction(Prediction(kT0 + 9, 10, 1).id).status().code(),
            StatusCode::kNotFound);
}

TEST_P(StoreContractTest, PredictionQueriesFilterPageAndJoinFeedback) {
  std::vector<PredictionRecord> records;
  for (int i = 0; i < 30; ++i) {
    records.push_back(Prediction(kT0 + i * 1000, i, 1 + i % 3, i % 3 == 2 ? "other" : "m",
                                 1 + i % 2));
  }
  ASSERT_EQ(*store_->InsertPredictions(records), 30);
  ASSERT_TRUE(store_->Put(kFeedback, {records[4].id, R"({"ground_truth":[1,0]})"}).ok());
  ASSERT_TRUE(store_->Put(kFeedback, {records[6].id, R"({"ground_truth":0.5})"}).ok());

  auto all = store_->ListPredictions({.limit = 1000});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Ids(*all), Ids(records));  // by id, so by time
  ExpectSameRecord(all->at(7), records[7]);

  // One model, one version, a time range [since, until).
  PredictionQuery q{.model = "m", .version = 2, .since_ms = kT0 + 5000, .until_ms = kT0 + 20000};
  auto some = store_->ListPredictions(q);
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  std::vector<std::string> want;
  for (const auto& r : records) {
    if (r.model == "m" && r.version == 2 && r.time_ms >= kT0 + 5000 && r.time_ms < kT0 + 20000) {
      want.push_back(r.id);
    }
  }
  ASSERT_EQ(want.size(), 5u);
  EXPECT_EQ(Ids(*some), want);

  // Pages of 4 through the cursor visit each of model m's records once.
  std::vector<std::string> paged;
  PredictionQuery page{.model = "m", .limit = 4, .with_ground_truth = true};
  std::map<std::string, std::string> truths;
  while (true) {
    auto got = store_->ListPredictions(page);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_LE(got->size(), 4u);
    for (const auto& r : *got) {
      paged.push_back(r.id);
      if (!r.ground_truth.empty()) truths[r.id] = Canonical(r.ground_truth);
    }
    if (got->size() < 4) break;
    page.after_id = got->back().id;
  }
  want.clear();
  for (const auto& r : records) {
    if (r.model == "m") want.push_back(r.id);
  }
  EXPECT_EQ(paged, want);
  EXPECT_EQ(truths, (std::map<std::string, std::string>{{records[4].id, "[1,0]"},
                                                       {records[6].id, "0.5"}}));
  EXPECT_EQ(store_->ListPredictions({.limit = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->ListPredictions({.model = "none", .limit = 10})->empty());
}

TEST_P(StoreContractTest, OldestPredictionsAreDeletedInBatches) {
  std::vector<PredictionRecord> records;
  for (int i = 0; i < 50; ++i) records.push_back(Prediction(kT0 + i * 60'000, i, 1 + i % 2));
  ASSERT_EQ(*store_->InsertPredictions(records), 50);
  const PredictionLogSize before = *store_->GetPredictionLogSize();
  EXPECT_EQ(before.records, 50);
  // Records of the first 20 minutes go, at most 8 at a time, oldest first.
  const int64_t cutoff = kT0 + 20 * 60'000;
  auto deleted = store_->DeleteOldestPredictions(cutoff, 8);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 8);
  EXPECT_EQ(store_->ListPredictions({.limit = 1})->front().id, records[8].id);
  EXPECT_EQ(*store_->DeleteOldestPredictions(cutoff, 8), 8);
  EXPECT_EQ(*store_->DeleteOldestPredictions(cutoff, 8), 4);
  EXPECT_EQ(*store_->DeleteOldestPredictions(cutoff, 8), 0);
  auto left = store_->ListPredictions({.limit = 100});
  ASSERT_EQ(left->size(), 30u);
  EXPECT_EQ(left->front().id, records[20].id);
  const PredictionLogSize after = *store_->GetPredictionLogSize();
  EXPECT_EQ(after.records, 30);
  EXPECT_LT(after.bytes, before.bytes);
  EXPECT_GT(after.bytes, 0);
  // Without an age bound (the size bound's use): the oldest, whatever their age.
  EXPECT_EQ(*store_->DeleteOldestPredictions(std::numeric_limits<int64_t>::max(), 10), 10);
  EXPECT_EQ(store_->ListPredictions({.limit = 1})->front().id, records[30].id);
  EXPECT_EQ(store_->GetPredictionLogSize()->records, 20);
}

TEST_P(StoreContractTest, PredictionTtlIsTheServersWhereItHasOne) {
  Status st = store_->SetPredictionTtl(3600);
  if (GetParam() == "mongodb") {
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(store_->SetPredictionTtl(7200).ok());  // changed in place
    EXPECT_TRUE(store_->SetPredictionTtl(0).ok());     // removed
    EXPECT_TRUE(store_->SetPredictionTtl(0).ok());
  } else {
    // SQLite and FerretDB 1.x: the caller deletes expired records itself.
    EXPECT_EQ(st.code(), StatusCode::kUnimplemented) << st.ToString();
  }
}

TEST_P(StoreContractTest, ConcurrentPredictionWritersAllLand) {
  // Several writers (threads here; processes in tests/integration) at once.
  std::vector<std::thread> writers;
  std::atomic<int64_t> added{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int batch = 0; batch < 5; ++batch) {
        std::vector<PredictionRecord> records;
        for (int i = 0; i < 50; ++i) {
          records.push_back(Prediction(kT0 + batch * 10 + w, w * 1000 + batch * 50 + i, 2));
        }
        auto n = store_->InsertPredictions(records);
        if (n.ok()) added += *n;
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(added.load(), 1000);
  EXPECT_EQ(store_->ListPredictions({.limit = 5000})->size(), 1000u);
  EXPECT_EQ(store_->GetPredictionLogSize()->records, 1000);
}

// Retention over the store, with time from a ManualClock: the age bound (the
// server's TTL where it has one, else inferd's batched deletes) and the size
// bound, both oldest first.
TEST_P(StoreContractTest, RetentionKeepsTheLogWithinAgeAndSize) {
  ManualClock clock(kT0);
  monitor::PredictionRetention::Options options{.max_age_ms = 3'600'000, .batch = 7,
                                                .background = false};
  auto retention = monitor::PredictionRetention::Create(store_.get(), options, &clock);
  ASSERT_TRUE(retention.ok()) << retention.status().ToString();
  EXPECT_EQ((*retention)->stats().server_expires, GetParam() == "mongodb");
  // Two hours of records, one a minute.
  std::vector<PredictionRecord> records;
  for (int i = 0; i < 120; ++i) records.push_back(Prediction(kT0 + i * 60'000, i, 1));
  ASSERT_EQ(*store_->InsertPredictions(records), 120);
  clock.Advance(120 * 60'000);  // now: kT0 + 2 h; records before kT0 + 1 h are expired
  auto deleted = (*retention)->RunOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  if (GetParam() != "mongodb") {  // MongoDB's TTL monitor deletes on the server's clock
    EXPECT_EQ(*deleted, 60);
    EXPECT_EQ((*retention)->stats().expired, 60);
    EXPECT_EQ(store_->ListPredictions({.limit = 1})->front().id, records[60].id);
    EXPECT_EQ(store_->GetPredictionLogSize()->records, 60);
    EXPECT_EQ(*(*retention)->RunOnce(), 0);  // nothing more until time passes
    clock.Advance(10 * 60'000);
    EXPECT_EQ(*(*retention)->RunOnce(), 10);
  }

  // A size bound of about 20 of these records: the oldest go until it holds.
  const PredictionLogSize size = *store_->GetPredictionLogSize();
  const int64_t average = size.bytes / size.records;
  auto bounded = monitor::PredictionRetention::Create(
      store_.get(), {.max_bytes = average * 20, .batch = 7, .background = false}, &clock);
  ASSERT_TRUE(bounded.ok()) << bounded.status().ToString();
  deleted = (*bounded)->RunOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  const PredictionLogSize after = *store_->GetPredictionLogSize();
  EXPECT_LE(after.bytes, average * 20);
  EXPECT_GE(after.records, 15);  // what the bound holds, give or take the backend's measure
  EXPECT_EQ((*bounded)->stats().oversize, *deleted);
  auto left = store_->ListPredictions({.limit = 1000});
  ASSERT_FALSE(left->empty());
  EXPECT_EQ(left->back().id, records.back().id);  // the newest stay
  EXPECT_EQ(static_cast<int64_t>(left->size()), after.records);
}

// SQLite under retention for hours of simulated traffic: deleted records' pages
// are reused (the file stops growing) and the WAL stays bounded.
TEST(SqliteRetentionTest, FileAndWalStopGrowing) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("inferd-retention-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "inferd.db").string();
  auto store = std::move(OpenStore("sqlite:///" + path)).value();
  ManualClock clock(kT0);
  auto retention = std::move(monitor::PredictionRetention::Create(
                                 store.get(), {.max_age_ms = 3'600'000, .background = false},
                                 &clock))
                       .value();
  std::map<int, uintmax_t> size_at_hour;
  int seed = 0;
  for (int minute = 1; minute <= 6 * 60; ++minute) {
    std::vector<PredictionRecord> batch;
    for (int i = 0; i < 50; ++i) batch.push_back(Prediction(clock.NowMillis() + i, ++seed, 2));
    ASSERT_EQ(*store->InsertPredictions(batch), 50);
    clock.Advance(60'000);
    ASSERT_TRUE(retention->RunOnce().ok());
    if (minute % 60 == 0) size_at_hour[minute / 60] = std::filesystem::file_size(path);
    ASSERT_LE(std::filesystem::file_size(path + "-wal"),
              static_cast<uintmax_t>(SqliteStore::kJournalSizeLimit));
  }
  EXPECT_EQ(store->GetPredictionLogSize()->records, 60 * 50);  // one hour's worth
  // After the first hour the file holds one hour of records plus free pages
  // that the next inserts take: it grows no more than a few pages.
  EXPECT_LE(size_at_hour[6], size_at_hour[2] + size_at_hour[2] / 20)
      << size_at_hour[2] << " -> " << size_at_hour[6];
  store.reset();
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::ValuesIn(Backends()),
                         [](const auto& info) { return info.param; });

TEST(StoreUriTest, UnreachableAndMalformedStoresSayWhy) {
  auto down = OpenStore("mongodb://user:s3cret@127.0.0.1:1/inferd?serverSelectionTimeoutMS=300");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(down.status().message().find("s3cret"), std::string::npos) << down.status().message();
  EXPECT_NE(down.status().message().find("user:***@127.0.0.1:1"), std::string::npos)
      << down.status().message();
  EXPECT_EQ(OpenStore("postgres://x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite:///").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite:////proc/no/such/dir/x.db").status().code(),
            StatusCode::kUnavailable);
}

TEST(StoreUriTest, RefusedCredentialsSayWhyOnOneLine) {
  ASSERT_NE(ferretdb, nullptr);
  // This FerretDB refuses every SCRAM login, as a MongoDB does a wrong password.
  const std::string uri = "mongodb://inferd:wrong-pass@127.0.0.1:" +
                          std::to_string(ferretdb->port()) + "/inferd?authSource=admin";
  auto refused = OpenStore(uri);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  const std::string& message = refused.status().message();
  EXPECT_EQ(message.find("wrong-pass"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find("MongoDB refused the credentials"), std::string::npos) << message;
  EXPECT_NE(message.find("inferd:***@"), std::string::npos) << message;
}

TEST(StoreUriTest, EnvironmentComposesMongoUri) {
  unsetenv("INFERD_STORE");
  unsetenv("MONGO_URL");
  EXPECT_EQ(StoreUriFromEnv(kDefaultStoreUri), kDefaultStoreUri);
  setenv("MONGO_URL", "mongodb-0.mongodb:27017", 1);
  EXPECT_EQ(StoreUriFromEnv(""), "mongodb://mongodb-0.mongodb:27017/inferd");
  setenv("MONGO_USERNAME", "root", 1);
  setenv("MONGO_PASSWORD", "p@ss:w/rd", 1);
  setenv("MONGO_DB", "prod", 1);
  EXPECT_EQ(StoreUriFromEnv(""),
            "mongodb://root:p%40ss%3Aw%2Frd@mongodb-0.mongodb:27017/prod?authSource=admin");
  setenv("INFERD_STORE", "sqlite:///x.db", 1);
  EXPECT_EQ(StoreUriFromEnv(""), "sqlite:///x.db");
  for (const char* v : {"INFERD_STORE", "MONGO_URL", "MONGO_USERNAME", "MONGO_PASSWORD", "MONGO_DB"}) {
    unsetenv(v);
  }
  EXPECT_EQ(RedactUri("mongodb://a:b@h/x"), "mongodb://a:***@h/x");
  EXPECT_EQ(RedactUri("mongodb://h:27017/x"), "mongodb://h:27017/x");
}

}  // namespace
}  // namespace inferd::store
