#include "train/dataset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "train/trainer.h"

namespace inferd::train {
namespace {
namespace fs = std::filesystem;

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("inferd-train-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST_F(TrainTest, DvcHashesFilesAndFolders) {
  auto file = DvcHash(Write("d/a.csv", "x,y\n1,2\n"));
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->first, "344fd2323dd33d5c058b7cf27de029e8");  // md5sum
  EXPECT_EQ(file->second, 8);
  Write("d/sub/b.txt", "hello\n");
  // Python: md5(json.dumps(sorted entries, sort_keys=True)) + ".dir", as dvc-data does.
  auto folder = DvcHash((dir_ / "d").string());
  ASSERT_TRUE(folder.ok());
  EXPECT_EQ(folder->first, "1473c380fa12c1300f51e5a8ada46679.dir");
  EXPECT_EQ(folder->second, 14);
}

TEST_F(TrainTest, ReadsDvcPointers) {
  Write("data/x.csv", "a\n1\n");
  std::string dvc = Write("data/x.csv.dvc",
                          "outs:\n- md5: 0123abcd\n  size: 4\n  hash: md5\n  path: x.csv\n"
                          "meta:\n  note: hi\n");
  auto pointer = ReadDvcFile(dvc);
  ASSERT_TRUE(pointer.ok()) << pointer.status().ToString();
  EXPECT_EQ(pointer->md5, "0123abcd");
  EXPECT_EQ(pointer->size, 4);
  EXPECT_EQ(pointer->path, (dir_ / "data" / "x.csv").string());
  EXPECT_FALSE(ReadDvcFile(Write("bad.dvc", "stages: {}\n")).ok());
}

TEST_F(TrainTest, CsvTypesMissingAndErrors) {
  auto table = ReadCsv(Write("t.csv", "a,b,c\n1,x,\n2.5,\"y,z\",NA\n"));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->rows, 2);
  EXPECT_TRUE(table->Find("a")->numeric);
  EXPECT_FALSE(table->Find("b")->numeric);
  EXPECT_EQ(table->Find("b")->strings[1], "y,z");
  EXPECT_TRUE(std::isnan(table->Find("c")->values[0]));
  EXPECT_NE(ReadCsv(Write("e.csv", "")).status().message().find("is empty"), std::string::npos);
  EXPECT_NE(ReadCsv(Write("h.csv", "a,b\n")).status().message().find("no rows"), std::string::npos);
  EXPECT_NE(ReadCsv(Write("f.csv", "a,b\n1,2\n3\n")).status().message().find("line 3: 1 fields"),
            std::string::npos);
}

TEST_F(TrainTest, ProfileHasPercentilesHistogramAndCategories) {
  std::string csv = "v,k\n";
  for (int i = 1; i <= 100; ++i) csv += std::to_string(i) + "," + (i % 4 ? "a" : "b") + "\n";
  csv += ",\n";
  auto table = ReadCsv(Write("p.csv", csv));
  auto profile = ProfileTable(*table);
  const ColumnProfile& v = profile[0];
  EXPECT_EQ(v.count, 100);
  EXPECT_NEAR(v.missing_share, 1.0 / 101, 1e-12);
  EXPECT_DOUBLE_EQ(v.percentiles[0], 1);
  EXPECT_DOUBLE_EQ(v.percentiles[50], 50.5);  // numpy.percentile(range(1,101), 50)
  EXPECT_DOUBLE_EQ(v.percentiles[100], 100);
  EXPECT_NEAR(v.std, 28.866070047722118, 1e-9);  // numpy.std(range(1,101))
  ASSERT_EQ(v.histogram_counts.size(), 10u);
  for (int64_t n : v.histogram_counts) EXPECT_EQ(n, 10);
  const ColumnProfile& k = profile[1];
  EXPECT_EQ(k.type, "categorical");
  EXPECT_EQ(k.categories[0], (std::pair<std::string, int64_t>{"a", 75}));
}

TEST_F(TrainTest, TrainingIsDeterministicAndScoresTheHoldout) {
  auto table = ReadCsv(std::string(INFERD_TEST_DATA) + "/breast_cancer.csv");
  ASSERT_TRUE(table.ok());
  TrainOptions options{.target = "target", .num_rounds = 10, .seed = 3};
  int rounds = 0;
  auto a = Train(*table, options, [&](int, int, const std::string&) { ++rounds; });
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(rounds, 10);
  EXPECT_EQ(a->objective, "binary:logistic");
  EXPECT_EQ(a->valid_rows, 113);
  EXPECT_GT(a->metrics.at("auc"), 0.95);
  EXPECT_NE(a->model_json.find("\"feature_names\":[\"mean_radius\""), std::string::npos);
  auto b = Train(*table, options, nullptr);
  EXPECT_EQ(a->model_json, b->model_json);  // same seed, same model
  options.seed = 4;
  EXPECT_NE(Train(*table, options, nullptr)->model_json, a->model_json);
}

TEST_F(TrainTest, ObjectiveFollowsTheTarget) {
  auto iris = ReadCsv(std::string(INFERD_TEST_DATA) + "/iris.csv");
  auto multi = Train(*iris, {.target = "target", .num_rounds = 3}, nullptr);
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  EXPECT_EQ(multi->objective, "multi:softprob");
  EXPECT_EQ(multi->params.at("num_class"), "3");
  auto diabetes = ReadCsv(std::string(INFERD_TEST_DATA) + "/diabetes.csv");
  auto reg = Train(*diabetes, {.target = "target", .num_rounds = 3}, nullptr);
  EXPECT_EQ(reg->objective, "reg:squarederror");
  EXPECT_TRUE(reg->metrics.contains("rmse") && reg->metrics.contains("r2"));
}

TEST_F(TrainTest, BadDataNamesLineAndColumn) {
  auto table = ReadCsv(Write("b.csv", "f1,f2,y\n1,2,0\n3,abc,1\n"));
  auto r = Train(*table, {.target = "y"}, nullptr);
  EXPECT_EQ(r.status().message(),
            "line 3, column 'f2': 'abc' is not a number (feature columns must be numeric)");
  table = ReadCsv(Write("m.csv", "f1,y\n1,0\n2,\n"));
  EXPECT_EQ(Train(*table, {.target = "y"}, nullptr).status().message(),
            "line 3: target 'y' is missing");
  EXPECT_NE(Train(*table, {.target = "label"}, nullptr).status().message().find(
                "target column 'label' is not in the data (f1, y)"),
            std::string::npos);
}

TEST_F(TrainTest, DatasetsVersionByContent) {
  auto store = std::move(store::OpenStore("sqlite:///" + (dir_ / "s.db").string())).value();
  ManualClock clock(1000);
  Datasets datasets(store.get(), &clock);
  std::string path = Write("data.csv", "a,y\n1,0\n2,1\n");
  auto v1 = datasets.Add("data", path);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(datasets.Add("data", path)->version, 1);  // same bytes, same version
  Write("data.csv", "a,y\n1,0\n2,1\n3,1\n");
  auto v2 = datasets.Add("data", path);
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->rows, 3);
  EXPECT_EQ(datasets.Get("data", 1)->rows, 2);
  EXPECT_EQ(datasets.Get("data")->version, 2);
  std::string dvc = Write("data.csv.dvc", "outs:\n- md5: " + v1->md5 + "\n  path: data.csv\n");
  auto mismatch = datasets.Add("data", path, dvc);
  EXPECT_EQ(mismatch.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(mismatch.status().message().find("does not match"), std::string::npos);
  EXPECT_EQ(ParseDatasetRef("data@2")->second, 2);
  Write("folder/part-1.csv", "a,y\n1,0\n");
  Write("folder/part-2.csv", "a,y\n2,1\n3,0\n");
  auto folder = datasets.Add("parts", (dir_ / "folder").string());
  ASSERT_TRUE(folder.ok()) << folder.status().ToString();
  EXPECT_EQ(folder->rows, 3);
  EXPECT_TRUE(folder->md5.ends_with(".dir"));
  EXPECT_FALSE(ParseDatasetRef("data@x").ok());
}

}  // namespace
}  // namespace inferd::train
