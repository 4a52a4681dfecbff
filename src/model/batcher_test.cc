// DynamicBatcher with the real demo model: concurrent requests are merged into
// fewer model calls and each still gets exactly its own rows' outputs.
#include "model/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "model/model_config.h"
#include "model/runtime.h"
#include "model/tree_model.h"
#include "model/xgboost_model.h"
#include "train/table.h"

namespace inferd::model {
namespace {

struct Demo {
  std::shared_ptr<const Model> model;
  std::vector<float> rows;
  int64_t width = 0;
};

Demo LoadDemo() {
  VersionFile file{.version = 1, .filename = "model.json",
                   .path = INFERD_TEST_DATA "/models/breast_cancer/1/model.json"};
  auto loaded = LoadModel(file, Runtime::kAuto);
  EXPECT_TRUE(loaded.ok());
  Demo demo;
  demo.model = std::move(loaded->model);
  demo.width = demo.model->info().num_features;
  auto table = train::ReadCsvPath(INFERD_TEST_DATA "/breast_cancer.csv");
  for (int64_t r = 0; r < table->rows; ++r) {
    for (int64_t c = 0; c < demo.width; ++c) {
      demo.rows.push_back(static_cast<float>(table->columns[c].values[r]));
    }
  }
  return demo;
}

TEST(DynamicBatcherTest, ConcurrentRequestsShareCallsAndGetTheirOwnOutputs) {
  Demo demo = LoadDemo();
  std::vector<float> want;
  ASSERT_TRUE(demo.model->Predict(demo.rows.data(), 64, OutputKind::kProbability, &want).ok());
  // A long delay so that the 16 threads surely meet in a batch.
  DynamicBatcher batcher(demo.model, OutputKind::kProbability,
                         {.max_queue_delay = std::chrono::milliseconds(50),
                          .preferred_batch_rows = 16, .max_batch_rows = 64});
  std::vector<std::thread> threads;
  std::vector<std::vector<float>> got(16);
  std::vector<Status> status(16);
  std::atomic<int64_t> executions{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      // Thread t asks for rows 4t..4t+3 in two requests of 1 and 3 rows.
      std::vector<float> a, b;
      int64_t ran = 0;
      status[t] = batcher.Predict(demo.rows.data() + 4 * t * demo.width, 1, &a, &ran);
      executions += ran;
      if (status[t].ok()) {
        status[t] = batcher.Predict(demo.rows.data() + (4 * t + 1) * demo.width, 3, &b, &ran);
        executions += ran;
      }
      got[t] = a;
      got[t].insert(got[t].end(), b.begin(), b.end());
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 16; ++t) {
    ASSERT_TRUE(status[t].ok()) << status[t].ToString();
    EXPECT_EQ(got[t], std::vector<float>(want.begin() + 4 * t, want.begin() + 4 * t + 4));
  }
  EXPECT_EQ(batcher.requests(), 32);
  EXPECT_LT(batcher.calls(), batcher.requests() / 2);
  EXPECT_EQ(executions.load(), batcher.calls());  // each call counted by exactly one request
}

TEST(DynamicBatcherTest, ABatchNeverExceedsMaxRowsAndBigRequestsSkipTheQueue) {
  Demo demo = LoadDemo();
  DynamicBatcher batcher(demo.model, OutputKind::kProbability,
                         {.max_queue_delay = std::chrono::milliseconds(20),
                          .preferred_batch_rows = 8, .max_batch_rows = 8});
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> out;
      EXPECT_TRUE(batcher.Predict(demo.rows.data() + t * 3 * demo.width, 3, &out).ok());
      EXPECT_EQ(out.size(), 3u);
    });
  }
  for (auto& t : threads) t.join();
  // 18 rows in batches of at most 8 rows (two 3-row requests each): 3 calls or more.
  EXPECT_GE(batcher.calls(), 3);
  const int64_t before = batcher.calls();
  std::vector<float> out;
  ASSERT_TRUE(batcher.Predict(demo.rows.data(), 8, &out).ok());
  EXPECT_EQ(out.size(), 8u);
  EXPECT_EQ(batcher.calls(), before + 1);
}

TEST(DynamicBatcherTest, ALoneRequestWaitsNoLongerThanTheDelay) {
  Demo demo = LoadDemo();
  DynamicBatcher batcher(demo.model, OutputKind::kProbability,
                         {.max_queue_delay = std::chrono::microseconds(0),
                          .preferred_batch_rows = 64, .max_batch_rows = 64});
  std::vector<float> out;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(batcher.Predict(demo.rows.data(), 1, &out).ok());
  EXPECT_EQ(batcher.calls(), 100);
}

TEST(DynamicBatcherTest, ModelErrorsReachEveryRequestOfTheBatch) {
  // A multi:softmax model has no margin output: the native engine refuses it.
  auto iris = XgboostModel::Load(INFERD_TEST_DATA "/models/iris/1/model.ubj");
  ASSERT_TRUE(iris.ok()) << iris.status().ToString();
  std::string json = *(*iris)->SaveJson();
  json = std::regex_replace(json, std::regex("multi:softprob"), "multi:softmax");
  auto native = TreeModel::FromXgboostJson(json, (*iris)->info());
  ASSERT_TRUE(native.ok()) << native.status().ToString();
  std::shared_ptr<const Model> model = std::move(native).value();
  DynamicBatcher batcher(model, OutputKind::kMargin,
                         {.max_queue_delay = std::chrono::milliseconds(20),
                          .preferred_batch_rows = 4, .max_batch_rows = 8});
  const std::vector<float> rows(4 * 4, 1.0f);
  std::vector<std::thread> threads;
  std::vector<Status> status(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> out;
      status[t] = batcher.Predict(rows.data() + t * 4, 1, &out);
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& st : status) EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_LT(batcher.calls(), 4);
}

TEST(ModelConfigTest, DynamicBatchingBlock) {
  auto on = ParseModelConfig(
      R"({"dynamic_batching": {"max_queue_delay_microseconds": 250, "preferred_batch_size": [4, 16]}})");
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_TRUE(on->batching.enabled);
  EXPECT_EQ(on->batching.max_queue_delay_us, 250);
  EXPECT_EQ(on->batching.preferred_batch_rows, 16);
  EXPECT_TRUE(ParseModelConfig(R"({"dynamic_batching": {}})")->batching.enabled);
  EXPECT_FALSE(ParseModelConfig("{}")->batching.enabled);
  for (const char* bad : {R"({"dynamic_batching": 1})",
                          R"({"dynamic_batching": {"max_queue_delay_microseconds": -1}})",
                          R"({"dynamic_batching": {"preferred_batch_size": 0}})",
                          R"({"dynamic_batching": {"delay": 5}})"}) {
    EXPECT_EQ(ParseModelConfig(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace inferd::model
