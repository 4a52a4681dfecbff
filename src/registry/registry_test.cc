#include "registry/registry.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace inferd::registry {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("inferd-registry-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = std::move(store::OpenStore("sqlite:///" + (dir_ / "r.db").string())).value();
    registry_ = std::make_unique<Registry>(store_.get(), &clock_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ModelVersion AddVersion(const std::string& name, const std::string& source = "mlflow-artifacts:/m") {
    auto v = registry_->CreateVersion({.name = name, .source = source});
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    clock_.Advance(1000);
    return v.ok() ? *v : ModelVersion{};
  }

  std::filesystem::path dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, CreateGetAndDuplicates) {
  auto m = registry_->CreateModel("iris", "flowers", {{"team", "ml"}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->creation_timestamp, 1'700'000'000'000);
  EXPECT_EQ(registry_->CreateModel("iris", "", {}).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(registry_->CreateModel("bad/name", "", {}).status().code(),
            StatusCode::kInvalidArgument);
  auto got = registry_->GetModel("iris");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->description, "flowers");
  EXPECT_EQ(got->tags.at("team"), "ml");
  EXPECT_EQ(registry_->GetModel("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, VersionsCountUpAndAreNeverReused) {
  ASSERT_TRUE(registry_->CreateModel("iris", "", {}).ok());
  EXPECT_EQ(AddVersion("iris").version, 1);
  EXPECT_EQ(AddVersion("iris").version, 2);
  ASSERT_TRUE(registry_->DeleteVersion("iris", 2).ok());
  EXPECT_EQ(AddVersion("iris").version, 3);
  EXPECT_EQ(registry_->GetVersion("iris", 2).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->CreateVersion({.name = "nope", .source = "x"}).status().code(),
            StatusCode::kNotFound);
  auto versions = registry_->ListVersions("iris");
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[1].version, 3);
}

TEST_F(RegistryTest, AliasesMoveAndFollowDeletes) {
  ASSERT_TRUE(registry_->CreateModel("iris", "", {}).ok());
  AddVersion("iris");
  AddVersion("iris");
  ASSERT_TRUE(registry_->SetAlias("iris", "production", 1).ok());
  EXPECT_EQ(registry_->GetVersionByAlias("iris", "production")->version, 1);
  ASSERT_TRUE(registry_->SetAlias("iris", "production", 2).ok());
  auto v2 = registry_->GetVersion("iris", 2);
  EXPECT_EQ(v2->aliases, (std::vector<std::string>{"production"}));
  EXPECT_EQ(registry_->SetAlias("iris", "staging", 9).code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->SetAlias("iris", "v3", 1).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(registry_->DeleteVersion("iris", 2).ok());
  EXPECT_EQ(registry_->GetVersionByAlias("iris", "production").status().code(),
            StatusCode::kNotFound);
}

TEST_F(RegistryTest, TagsParamsMetricsAndLineageRoundTrip) {
  ASSERT_TRUE(registry_->CreateModel("iris", "", {}).ok());
  auto v = registry_->CreateVersion({.name = "iris",
                                     .source = "mlflow-artifacts:/models/iris/a/model.json",
                                     .tags = {{"mlflow.note", "x"}},
                                     .params = {{"eta", "0.3"}},
                                     .metrics = {{"auc", 0.987}},
                                     .dataset = DatasetRef{"iris-data", 2, "abc"}});
  ASSERT_TRUE(v.ok());
  auto got = registry_->GetVersion("iris", 1);
  EXPECT_EQ(got->tags.at("mlflow.note"), "x");
  EXPECT_EQ(got->params.at("eta"), "0.3");
  EXPECT_DOUBLE_EQ(got->metrics.at("auc"), 0.987);
  EXPECT_EQ(got->dataset->name, "iris-data");
  EXPECT_EQ(got->dataset->version, 2);
  ASSERT_TRUE(registry_->SetVersionTag("iris", 1, "k", "v").ok());
  ASSERT_TRUE(registry_->DeleteVersionTag("iris", 1, "mlflow.note").ok());
  EXPECT_EQ(registry_->DeleteVersionTag("iris", 1, "mlflow.note").code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->GetVersion("iris", 1)->tags,
            (std::map<std::string, std::string>{{"k", "v"}}));
}

TEST_F(RegistryTest, RenameMovesVersionsAndDeleteRemovesAll) {
  ASSERT_TRUE(registry_->CreateModel("a", "", {}).ok());
  AddVersion("a");
  AddVersion("a");
  ASSERT_TRUE(registry_->SetAlias("a", "production", 2).ok());
  ASSERT_TRUE(registry_->CreateModel("taken", "", {}).ok());
  EXPECT_EQ(registry_->RenameModel("a", "taken").status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry_->RenameModel("a", "b").ok());
  EXPECT_EQ(registry_->GetModel("a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->GetVersionByAlias("b", "production")->version, 2);
  EXPECT_EQ(registry_->ListVersions("b")->size(), 2u);
  EXPECT_EQ(registry_->ListVersions("a")->size(), 0u);
  ASSERT_TRUE(registry_->DeleteModel("b").ok());
  EXPECT_EQ(*store_->Count(store::kModelVersions), 0);
}

TEST_F(RegistryTest, SearchFiltersOrdersAndPages) {
  for (std::string name : {"c-model", "a-model", "b-other"}) {
    ASSERT_TRUE(registry_->CreateModel(name, "", {{"kind", name.substr(2)}}).ok());
    AddVersion(name);
    AddVersion(name);
  }
  auto page = registry_->SearchModels({.filter = "name LIKE '%model'", .max_results = 1});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "a-model");
  auto next = registry_->SearchModels(
      {.filter = "name LIKE '%model'", .max_results = 1, .page_token = page->next_page_token});
  EXPECT_EQ(next->items[0].name, "c-model");
  EXPECT_EQ(next->next_page_token, "");
  auto versions = registry_->SearchVersions({.filter = "name = 'b-other'"});
  ASSERT_EQ(versions->items.size(), 2u);
  EXPECT_EQ(versions->items[0].version, 2);  // version_number DESC by default
  EXPECT_EQ(registry_->SearchModels({.max_results = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->SearchModels({.page_token = "x"}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, ModelFilesResolveFromArtifacts) {
  ASSERT_TRUE(registry_->CreateModel("iris", "", {}).ok());
  ASSERT_TRUE(store_->PutBlob(ArtifactBlobId("models/iris/a/model.json"), "{json}").ok());
  ASSERT_TRUE(store_->PutBlob(ArtifactBlobId("models/iris/b/MLmodel"), "x").ok());
  ASSERT_TRUE(store_->PutBlob(ArtifactBlobId("models/iris/b/model.ubj"), "{ubj}").ok());
  auto file = registry_->ReadModelFile(AddVersion("iris", "mlflow-artifacts:/models/iris/a/model.json"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->filename, "model.json");
  EXPECT_EQ(file->bytes, "{json}");
  file = registry_->ReadModelFile(AddVersion("iris", "mlflow-artifacts://host:5000/models/iris/b/"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->filename, "model.ubj");
  EXPECT_EQ(registry_->ReadModelFile(AddVersion("iris", "s3://bucket/x")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->ReadModelFile(AddVersion("iris", "mlflow-artifacts:/nothing")).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace inferd::registry
