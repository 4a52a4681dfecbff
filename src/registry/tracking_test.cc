#include "registry/tracking.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "common/base64.h"
#include "registry/search_filter.h"

namespace inferd::registry {
namespace {

class TrackingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("inferd-tracking-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = std::move(store::OpenStore("sqlite:///" + (dir_ / "t.db").string())).value();
    tracking_ = std::make_unique<Tracking>(store_.get(), &clock_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  registry::Run NewRun(const std::string& experiment_id, const std::string& name) {
    auto run = tracking_->CreateRun({.experiment_id = experiment_id, .run_name = name});
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    clock_.Advance(1000);
    return run.ok() ? *run : registry::Run{};
  }

  std::filesystem::path dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Tracking> tracking_;
};

TEST_F(TrackingTest, ExperimentsHaveUniqueNamesAndArtifactLocations) {
  auto def = tracking_->GetExperimentByName("Default");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->experiment_id, "0");
  EXPECT_EQ(def->artifact_location, "mlflow-artifacts:/0");
  auto id = tracking_->CreateExperiment("e", "", {{"k", "v"}});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(tracking_->GetExperiment(*id)->artifact_location, "mlflow-artifacts:/" + *id);
  EXPECT_EQ(tracking_->CreateExperiment("e", "", {}).status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(tracking_->RenameExperiment(*id, "f").ok());
  EXPECT_EQ(tracking_->GetExperimentByName("e").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(tracking_->CreateExperiment("e", "", {}).ok());  // the old name is free again
  EXPECT_EQ(tracking_->CreateExperiment("", "", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tracking_->DeleteExperiment("0").code(), StatusCode::kInvalidArgument);
}

TEST_F(TrackingTest, ParamsKeepTheirValueAndMetricsKeepHistory) {
  registry::Run run = NewRun("", "r");
  EXPECT_EQ(run.experiment_id, "0");
  EXPECT_EQ(run.tags.at("mlflow.runName"), "r");
  ASSERT_TRUE(tracking_->LogBatch(run.run_id, {}, {{"depth", "3"}}, {}).ok());
  ASSERT_TRUE(tracking_->LogBatch(run.run_id, {}, {{"depth", "3"}}, {}).ok());  // same value
  EXPECT_EQ(tracking_->LogBatch(run.run_id, {}, {{"depth", "4"}}, {}).code(),
            StatusCode::kInvalidArgument);
  // Step decides the latest value before time does; a replayed point is stored once.
  std::vector<Metric> points = {{.key = "loss", .value = 0.5, .timestamp = 10, .step = 2},
                                {.key = "loss", .value = 0.9, .timestamp = 20, .step = 1},
                                {.key = "loss", .value = NAN, .timestamp = 30, .step = 0}};
  ASSERT_TRUE(tracking_->LogBatch(run.run_id, points, {}, {}).ok());
  ASSERT_TRUE(tracking_->LogBatch(run.run_id, {points[0]}, {}, {}).ok());
  auto got = tracking_->GetRun(run.run_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->params.at("depth"), "3");
  EXPECT_EQ(got->metrics.at("loss").value, 0.5);
  auto history = tracking_->GetMetricHistory(run.run_id, "loss", 2, "");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->items.size(), 2u);
  EXPECT_EQ(history->items[0].timestamp, 10);
  auto rest = tracking_->GetMetricHistory(run.run_id, "loss", 2, history->next_page_token);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_TRUE(std::isnan(rest->items[0].value));
  EXPECT_EQ(rest->next_page_token, "");
}

TEST_F(TrackingTest, LimitsAreMlflows) {
  registry::Run run = NewRun("", "r");
  std::vector<Metric> many(kMaxMetricsPerBatch + 1, Metric{.key = "m", .value = 1});
  EXPECT_EQ(tracking_->LogBatch(run.run_id, many, {}, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      tracking_->LogBatch(run.run_id, {}, {{"p", std::string(kMaxParamValueLength + 1, 'x')}}, {})
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      tracking_->LogBatch(run.run_id, {}, {{"p", std::string(kMaxParamValueLength, 'x')}}, {})
          .ok());
  for (const char* bad : {"", "a//b", "../x", "/x", "x/", "a\\b", "a*b"}) {
    EXPECT_EQ(tracking_->LogBatch(run.run_id, {}, {}, {{bad, "v"}}).code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_TRUE(tracking_->LogBatch(run.run_id, {}, {}, {{"a/b c:d.e-f_g", "v"}}).ok());
}

TEST_F(TrackingTest, DeletedRunsTakeNoWritesAndExperimentsCascade) {
  auto id = tracking_->CreateExperiment("e", "", {});
  ASSERT_TRUE(id.ok());
  registry::Run a = NewRun(*id, "a");
  registry::Run b = NewRun(*id, "b");
  ASSERT_TRUE(tracking_->DeleteRun(a.run_id).ok());
  EXPECT_EQ(tracking_->LogBatch(a.run_id, {}, {{"p", "v"}}, {}).code(),
            StatusCode::kInvalidArgument);
  clock_.Advance(1000);
  ASSERT_TRUE(tracking_->DeleteExperiment(*id).ok());
  EXPECT_EQ(tracking_->GetRun(b.run_id)->lifecycle_stage, "deleted");
  EXPECT_EQ(tracking_->CreateRun({.experiment_id = *id}).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(tracking_->RestoreExperiment(*id).ok());
  // Only the runs deleted with the experiment come back.
  EXPECT_EQ(tracking_->GetRun(b.run_id)->lifecycle_stage, "active");
  EXPECT_EQ(tracking_->GetRun(a.run_id)->lifecycle_stage, "deleted");
  EXPECT_EQ(tracking_->GetRun("0123456789abcdef0123456789abcdef").status().code(),
            StatusCode::kNotFound);
}

TEST_F(TrackingTest, SearchRunsFiltersOrdersAndPages) {
  auto id = tracking_->CreateExperiment("e", "", {});
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 4; ++i) {
    registry::Run r = NewRun(*id, "r" + std::to_string(i));
    ASSERT_TRUE(tracking_
                    ->LogBatch(r.run_id, {{.key = "acc", .value = 0.1 * i}},
                               {{"i", std::to_string(i)}}, {{"even", i % 2 == 0 ? "yes" : "no"}})
                    .ok());
  }
  NewRun(*id, "bare");
  auto names = [&](const RunSearch& s) {
    std::vector<std::string> out;
    auto page = tracking_->SearchRuns(s);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (page.ok()) {
      for (const auto& r : page->items) out.push_back(r.run_name);
    }
    return out;
  };
  EXPECT_EQ(names({.experiment_ids = {*id}, .filter = "metrics.acc >= 0.2 and tags.even = 'yes'"}),
            std::vector<std::string>{"r2"});
  EXPECT_EQ(names({.experiment_ids = {*id}, .order_by = {"metrics.acc DESC"}}),
            (std::vector<std::string>{"r3", "r2", "r1", "r0", "bare"}));
  // Default order: newest first.
  EXPECT_EQ(names({.experiment_ids = {*id}, .max_results = 2}),
            (std::vector<std::string>{"bare", "r3"}));
  EXPECT_EQ(names({.experiment_ids = {*id}, .filter = "params.i IS NULL"}),
            std::vector<std::string>{"bare"});
  auto page = tracking_->SearchRuns({.experiment_ids = {*id}, .max_results = 3});
  ASSERT_TRUE(page.ok());
  auto next = tracking_->SearchRuns(
      {.experiment_ids = {*id}, .max_results = 3, .page_token = page->next_page_token});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->items.size(), 2u);
  for (const char* bad : {"metrics.acc > 'x'", "params.i > 1", "attributes.colour = 'x'",
                          "foo.bar = 'x'", "metrics.acc LIKE '1'", "metrics.acc <"}) {
    EXPECT_EQ(tracking_->SearchRuns({.experiment_ids = {*id}, .filter = bad}).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(tracking_->SearchRuns({.experiment_ids = {*id}, .page_token = "nope"}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(TrackingTest, LoggedModelsAndTheirRegistration) {
  registry::Run run = NewRun("", "r");
  auto model = tracking_->CreateLoggedModel(
      {.experiment_id = "0", .name = "model", .source_run_id = run.run_id});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->artifact_location,
            "mlflow-artifacts:/0/models/" + model->model_id + "/artifacts");
  EXPECT_EQ(tracking_->FinalizeLoggedModel(model->model_id, "LOGGED_MODEL_READY")->status,
            "LOGGED_MODEL_READY");
  ASSERT_TRUE(tracking_->LogOutputs(run.run_id, {{model->model_id, 0}}).ok());
  EXPECT_EQ(tracking_->GetRun(run.run_id)->model_outputs.size(), 1u);

  Registry registry(store_.get(), &clock_);
  ASSERT_TRUE(registry.CreateModel("m", "", {}).ok());
  auto version =
      RegisterVersion(registry, *tracking_, {.name = "m", .source = "models:/" + model->model_id});
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->model_id, model->model_id);
  EXPECT_EQ(version->run_id, run.run_id);
  EXPECT_EQ(VersionLocation(*version), model->artifact_location);
  EXPECT_EQ(tracking_->GetLoggedModel(model->model_id)->tags.at("mlflow.modelVersions"),
            R"([{"name":"m","version":1}])");
  EXPECT_EQ(RegisterVersion(registry, *tracking_, {.name = "m", .source = "models:/m-absent"})
                .status()
                .code(),
            StatusCode::kNotFound);
}

TEST_F(TrackingTest, ALoggedModelRegisteredHundredsOfTimesKeepsItsTagWithinTheLimit) {
  auto model = tracking_->CreateLoggedModel({.experiment_id = "0", .name = "model"});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Registry registry(store_.get(), &clock_);
  ASSERT_TRUE(registry.CreateModel("m", "", {}).ok());
  for (int i = 0; i < 400; ++i) {
    auto version =
        RegisterVersion(registry, *tracking_, {.name = "m", .source = "models:/" + model->model_id});
    ASSERT_TRUE(version.ok()) << i << ": " << version.status().ToString();
  }
  const std::string tag = tracking_->GetLoggedModel(model->model_id)->tags.at("mlflow.modelVersions");
  EXPECT_LE(tag.size(), kMaxTagValueLength);
  EXPECT_TRUE(tag.ends_with(R"({"name":"m","version":400}])")) << tag.substr(tag.size() - 60);
  EXPECT_FALSE(tag.starts_with(R"([{"name":"m","version":1})"));
}

TEST(PageTokenTest, RoundTripsMlflowsForm) {
  EXPECT_EQ(Base64Decode(EncodePageToken(25)).value(), "{\"offset\": 25}");
  EXPECT_EQ(DecodePageToken(EncodePageToken(25)).value(), 25);
  EXPECT_EQ(DecodePageToken("").value(), 0);
  EXPECT_FALSE(DecodePageToken("e30=").ok());  // {}
  EXPECT_FALSE(DecodePageToken("!!").ok());
}

TEST(FilterGrammarTest, ParsesEveryOperatorAndValue) {
  auto clauses = ParseFilter(
      "metrics.`a.b` >= -1.5e3 AND tags.\"my tag\" IS NOT NULL and attributes.run_id NOT IN "
      "('x', 'y') AND params.p ILIKE '%v%'");
  ASSERT_TRUE(clauses.ok()) << clauses.status().ToString();
  ASSERT_EQ(clauses->size(), 4u);
  EXPECT_EQ((*clauses)[0].entity, "metrics");
  EXPECT_EQ((*clauses)[0].key, "a.b");
  EXPECT_EQ((*clauses)[0].op, ">=");
  EXPECT_EQ(ClauseNumber((*clauses)[0]).value(), -1500);
  EXPECT_EQ((*clauses)[1].key, "my tag");
  EXPECT_EQ((*clauses)[1].op, "IS NOT NULL");
  EXPECT_EQ((*clauses)[2].values, (std::vector<std::string>{"x", "y"}));
  EXPECT_FALSE(StringClauseHolds((*clauses)[2], "x"));
  EXPECT_TRUE(StringClauseHolds((*clauses)[3], "aVb"));
  for (const char* bad : {"a IS", "a NOT LIKE 'x'", "a IN 'x'", "a IN ('x'", "a = 'x' b"}) {
    EXPECT_FALSE(ParseFilter(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace inferd::registry
