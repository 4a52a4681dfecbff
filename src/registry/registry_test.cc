#include "registry/registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

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
  ASSERT_TRUE(store_->PutBlob(ArtifactBlobId("models/iris/b/MLmodel"),
                              "flavors:\n  xgboost:\n    data: model.ubj\n"
                              "    model_format: ubj\n")
                  .ok());
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

// Runs `a` on this thread and `b` on another, released at the same moment.
void RunTogether(const std::function<void()>& a, const std::function<void()>& b) {
  std::atomic<int> ready{0};
  auto together = [&] {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
  };
  std::thread other([&] {
    together();
    b();
  });
  together();
  a();
  other.join();
}

// Two servers sharing one store, as two registries on two connections to one
// SQLite file; the store contract suite proves UpdateIf alike on MongoDB.
class SharedStoreRegistryTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    other_store_ = std::move(store::OpenStore("sqlite:///" + (dir_ / "r.db").string())).value();
    other_ = std::make_unique<Registry>(other_store_.get(), SystemClock::Get());
  }
  Registry* registry(int i) { return i % 2 == 0 ? registry_.get() : other_.get(); }

  std::unique_ptr<store::Store> other_store_;
  std::unique_ptr<Registry> other_;
};

TEST_F(SharedStoreRegistryTest, ConcurrentChangesAreNeitherLostNorDuplicated) {
  ASSERT_TRUE(registry_->CreateModel("iris", "", {}).ok());
  constexpr int kThreads = 6, kRounds = 8;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> created(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Registry* r = registry(t);
      for (int i = 0; i < kRounds; ++i) {
        auto v = r->CreateVersion({.name = "iris", .source = "mlflow-artifacts:/m"});
        ASSERT_TRUE(v.ok()) << v.status().ToString();
        created[t].push_back(v->version);
        const std::string key = std::to_string(t) + "-" + std::to_string(i);
        Status st = r->SetModelTag("iris", "tag-" + key, key);
        ASSERT_TRUE(st.ok()) << st.ToString();
        st = r->SetVersionTag("iris", 1, "tag-" + key, key);  // version 1 exists by now
        ASSERT_TRUE(st.ok()) << st.ToString();
        st = r->SetAlias("iris", "alias-" + std::to_string(t % 3), v->version);
        ASSERT_TRUE(st.ok()) << st.ToString();
      }
    });
  }
  for (auto& th : threads) th.join();

  std::set<int64_t> numbers;
  for (const auto& mine : created) numbers.insert(mine.begin(), mine.end());
  ASSERT_EQ(numbers.size(), size_t{kThreads * kRounds});  // each handed out once
  EXPECT_EQ(*numbers.begin(), 1);
  EXPECT_EQ(*numbers.rbegin(), kThreads * kRounds);  // and none skipped
  auto model = registry_->GetModel("iris");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->last_version, kThreads * kRounds);
  EXPECT_EQ(model->tags.size(), size_t{kThreads * kRounds});
  EXPECT_EQ(registry_->GetVersion("iris", 1)->tags.size(), size_t{kThreads * kRounds});
  ASSERT_EQ(model->aliases.size(), 3u);
  for (const auto& [alias, version] : model->aliases) {
    const int group = alias.back() - '0';
    bool set_by_group = false;
    for (int t = group; t < kThreads; t += 3) {
      set_by_group |= std::count(created[t].begin(), created[t].end(), version) > 0;
    }
    EXPECT_TRUE(set_by_group) << alias << " -> " << version;
  }
}

TEST_F(SharedStoreRegistryTest, AnAliasNeverOutlivesItsVersion) {
  ASSERT_TRUE(registry_->CreateModel("iris", "", {}).ok());
  for (int round = 0; round < 20; ++round) {
    const int64_t version = AddVersion("iris").version;
    RunTogether([&] { EXPECT_TRUE(registry_->DeleteVersion("iris", version).ok()); },
                [&] {
                  Status st = other_->SetAlias("iris", "production", version);
                  EXPECT_TRUE(st.ok() || st.code() == StatusCode::kNotFound) << st.ToString();
                });
    auto model = registry_->GetModel("iris");
    ASSERT_TRUE(model.ok());
    EXPECT_EQ(model->aliases.count("production"), 0u) << "round " << round;
  }
}

TEST_F(SharedStoreRegistryTest, ADeletedModelKeepsNoVersionCreatedMeanwhile) {
  for (int round = 0; round < 20; ++round) {
    const std::string name = "m" + std::to_string(round);
    ASSERT_TRUE(registry_->CreateModel(name, "", {}).ok());
    AddVersion(name);
    RunTogether([&] { EXPECT_TRUE(registry_->DeleteModel(name).ok()); },
                [&] {
                  auto v = other_->CreateVersion({.name = name, .source = "mlflow-artifacts:/m"});
                  EXPECT_TRUE(v.ok() || v.status().code() == StatusCode::kNotFound)
                      << v.status().ToString();
                });
    EXPECT_EQ(registry_->GetModel(name).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(store_->List(store::kModelVersions, {"name", name})->size(), 0u) << name;
  }
}

TEST_F(SharedStoreRegistryTest, ARenameCarriesOverChangesMadeMeanwhile) {
  ASSERT_TRUE(registry_->CreateModel("a", "", {}).ok());
  for (int i = 0; i < 3; ++i) AddVersion("a");
  std::map<std::string, std::string> model_tags, version_tags;
  RunTogether([&] { EXPECT_TRUE(registry_->RenameModel("a", "b").ok()); },
              [&] {
                for (int i = 0;; ++i) {  // until the old name is gone
                  const std::string key = "k" + std::to_string(i);
                  Status on_model = other_->SetModelTag("a", key, "m");
                  if (on_model.ok()) model_tags[key] = "m";
                  Status on_version = other_->SetVersionTag("a", 1, key, "v");
                  if (on_version.ok()) version_tags[key] = "v";
                  if (!on_model.ok() && !on_version.ok()) break;
                }
              });
  EXPECT_EQ(registry_->GetModel("a").status().code(), StatusCode::kNotFound);
  auto b = registry_->GetModel("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->tags, model_tags);
  EXPECT_EQ(registry_->GetVersion("b", 1)->tags, version_tags);
  EXPECT_EQ(registry_->ListVersions("b")->size(), 3u);
  EXPECT_EQ(registry_->ListVersions("a")->size(), 0u);
}

}  // namespace
}  // namespace inferd::registry
