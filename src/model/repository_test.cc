#include "model/repository.h"

#include "model/directory_source.h"
#include "model/xgboost_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace inferd::model {
namespace {
namespace fs = std::filesystem;

const fs::path kData = INFERD_TEST_DATA;

// Rows of a demo CSV without its last (target) column.
std::vector<std::vector<float>> ReadFeatures(const std::string& name) {
  std::ifstream in(kData / (name + ".csv"));
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<float>> rows;
  while (std::getline(in, line)) {
    std::vector<float> row;
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) row.push_back(std::stof(cell));
    row.pop_back();
    rows.push_back(row);
  }
  return rows;
}

std::vector<float> ReadExpected(const std::string& name) {
  std::ifstream in(kData / "expected" / (name + ".txt"));
  std::vector<float> values;
  double v;
  while (in >> v) values.push_back(static_cast<float>(v));
  return values;
}

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("inferd-repo-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::copy(kData / "models", root_, fs::copy_options::recursive);
    source_ = std::make_unique<DirectorySource>(root_.string());
    repo_ = ModelRepository::Create({.source = source_.get(), .default_max_batch_size = 1000});
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  std::unique_ptr<DirectorySource> source_;
  std::unique_ptr<ModelRepository> repo_;
};

TEST_F(RepositoryTest, LoadsEveryModelAndPredictsLikeLibxgboost) {
  ASSERT_TRUE(repo_->LoadAll().ok());
  EXPECT_EQ(repo_->LoadedNames(), (std::vector<std::string>{"breast_cancer", "diabetes", "iris"}));
  for (std::string name : {"breast_cancer", "diabetes", "iris"}) {
    auto servable = repo_->Get(name, "");
    ASSERT_TRUE(servable.ok()) << servable.status().ToString();
    auto rows = ReadFeatures(name);
    std::vector<float> flat;
    for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
    std::vector<float> out;
    ASSERT_TRUE((*servable)->Predict(flat.data(), rows.size(), &out).ok());
    EXPECT_EQ(out, ReadExpected(name)) << name;
  }
}

TEST_F(RepositoryTest, ReadsModelInfoAndConfig) {
  ASSERT_TRUE(repo_->LoadAll().ok());
  auto cancer = *repo_->Get("breast_cancer", "1");
  EXPECT_EQ(cancer->model->info().num_features, 30);
  EXPECT_EQ(cancer->model->info().num_outputs, 1);
  EXPECT_EQ(cancer->model->info().objective, "binary:logistic");
  EXPECT_EQ(cancer->feature_names.front(), "mean_radius");
  EXPECT_EQ(cancer->feature_index.at("worst_fractal_dimension"), 29);
  EXPECT_EQ(cancer->max_batch_size, 4096);  // from config.json
  auto iris = *repo_->Get("iris", "");
  EXPECT_EQ(iris->model->info().num_outputs, 3);
  EXPECT_EQ(iris->max_batch_size, 1000);  // server default
}

TEST_F(RepositoryTest, MissingValuesFollowDefaultDirections) {
  ASSERT_TRUE(repo_->LoadAll().ok());
  auto servable = *repo_->Get("breast_cancer", "");
  std::vector<float> row(30, std::nanf(""));
  std::vector<float> out;
  ASSERT_TRUE(servable->Predict(row.data(), 1, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0] > 0 && out[0] < 1);
}

TEST_F(RepositoryTest, UnknownNamesAndVersions) {
  ASSERT_TRUE(repo_->LoadAll().ok());
  EXPECT_EQ(repo_->Get("nope", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(repo_->Get("iris", "2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(repo_->Get("iris", "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(repo_->Get("iris", "-1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(repo_->Load("../etc").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(repo_->Load("absent").code(), StatusCode::kNotFound);
}

TEST_F(RepositoryTest, BatchLimitIsEnforced) {
  ASSERT_TRUE(repo_->LoadAll().ok());
  auto iris = *repo_->Get("iris", "");
  std::vector<float> rows(1001 * 4, 1.0f), out;
  Status st = iris->Predict(rows.data(), 1001, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("limit of 1000 rows"), std::string::npos) << st.message();
}

TEST_F(RepositoryTest, ReloadSwapsVersionsAndKeepsOldOnesAliveForHolders) {
  ASSERT_TRUE(repo_->LoadAll().ok());
  auto v1 = *repo_->Get("iris", "");
  fs::copy(root_ / "iris" / "1", root_ / "iris" / "2");
  ASSERT_TRUE(repo_->Load("iris").ok());
  EXPECT_EQ((*repo_->Get("iris", ""))->version, 2);
  EXPECT_EQ(*repo_->Versions("iris"), (std::vector<int64_t>{1, 2}));
  std::vector<float> row = {5.1f, 3.5f, 1.4f, 0.2f}, out;
  EXPECT_TRUE(v1->Predict(row.data(), 1, &out).ok());  // the old servable still works
}

TEST_F(RepositoryTest, RefreshFollowsTheSource) {
  ASSERT_TRUE(repo_->LoadAll().ok());
  ASSERT_TRUE(repo_->Refresh().ok());  // nothing changed
  fs::copy(root_ / "iris" / "1", root_ / "iris" / "4");
  fs::remove_all(root_ / "diabetes");
  ASSERT_TRUE(repo_->Refresh().ok());
  EXPECT_EQ((*repo_->Get("iris", ""))->version, 4);
  EXPECT_EQ(repo_->Get("diabetes", "").status().code(), StatusCode::kNotFound);
  fs::create_directories(root_ / "broken" / "1");
  std::ofstream(root_ / "broken" / "1" / "model.json") << "{}";
  EXPECT_FALSE(repo_->Refresh().ok());
  EXPECT_TRUE(repo_->Refresh().ok());  // the same broken content is not retried
}

TEST_F(RepositoryTest, LoadsModelsHeldInMemory) {
  std::ifstream in(kData / "models" / "iris" / "1" / "model.ubj", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto model = XgboostModel::LoadBytes(bytes, "model.ubj");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->info().num_outputs, 3);
  EXPECT_EQ(XgboostModel::LoadBytes("garbage", "model.json").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RepositoryTest, FailedReloadKeepsServingAndIsIndexed) {
  ASSERT_TRUE(repo_->LoadAll().ok());
  fs::create_directories(root_ / "iris" / "3");
  std::ofstream(root_ / "iris" / "3" / "model.json") << "{not a model";
  Status st = repo_->Load("iris");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("version 3"), std::string::npos) << st.message();
  EXPECT_EQ((*repo_->Get("iris", ""))->version, 1);

  ASSERT_TRUE(repo_->Unload("iris").ok());
  EXPECT_EQ(repo_->Get("iris", "").status().code(), StatusCode::kNotFound);
  bool indexed = false;
  for (const auto& entry : repo_->Index()) {
    if (entry.name == "iris") {
      indexed = true;
      EXPECT_EQ(entry.state, "UNAVAILABLE");
      EXPECT_NE(entry.reason.find("version 3"), std::string::npos);
    }
  }
  EXPECT_TRUE(indexed);
}

}  // namespace
}  // namespace inferd::model
