#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "train/columnar.h"
#include "train/dataset.h"

namespace inferd::train {
namespace {
namespace fs = std::filesystem;

class ShardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("inferd-shards-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = std::move(store::OpenStore("sqlite:///" + (dir_ / "s.db").string())).value();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  ManualClock clock_{1000};
};

std::string Profiles(const DatasetVersion& d) {
  std::string out;
  for (const auto& c : d.columns) out += ColumnProfileToJson(c) + "\n";
  return out;
}

// Three CSV files of `rows` rows each: a continuous column with many distinct
// values (the grid), a coarse one (exact), a categorical one, missing cells.
std::vector<std::string> MakeParts(int rows, std::string* all) {
  std::mt19937_64 random(11);
  std::normal_distribution<double> normal(50, 20);
  std::vector<std::string> parts(3, "x,coarse,kind,y\n");
  *all = "x,coarse,kind,y\n";
  for (int i = 0; i < 3 * rows; ++i) {
    char line[128];
    const double x = normal(random);
    std::snprintf(line, sizeof(line), "%.9g,%s,%s,%d\n", x,
                  i % 13 == 0 ? "" : std::to_string(static_cast<int>(x) / 10).c_str(),
                  i % 3 == 0 ? "red" : (i % 7 == 0 ? "" : "blue"), x > 50 ? 1 : 0);
    parts[static_cast<size_t>(i / rows)] += line;
    *all += line;
  }
  return parts;
}

TEST_F(ShardsTest, MergedShardProfilesEqualTheOneProcessProfile) {
  std::string all;
  const auto parts = MakeParts(6000, &all);
  for (int i = 0; i < 3; ++i) Write("data/part-" + std::to_string(i) + ".csv", parts[i]);
  Write("data/README.md", "not data\n");
  Datasets datasets(store_.get(), &clock_);
  std::vector<std::string> lines;
  auto progress = [&](const std::string& line) { lines.push_back(line); };
  // Shards finish in any order; the last one merges.
  ShardSpec spec{.name = "big",
                 .inputs = {Path("data")},
                 .count = 3,
                 .run = "job-1",
                 .columnar_dir = Path("columnar")};
  for (int index : {2, 0}) {
    spec.index = index;
    auto shard = datasets.AddShard(spec, progress);
    ASSERT_TRUE(shard.ok()) << shard.status().ToString();
    EXPECT_FALSE(shard->merged.has_value());
  }
  auto early = datasets.MergeShards("big", "job-1", 3);
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("shard(s) 1 of 3 not recorded yet"), std::string::npos);
  spec.index = 1;
  auto last = datasets.AddShard(spec, progress);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  ASSERT_TRUE(last->merged.has_value());
  const DatasetVersion& merged = *last->merged;
  EXPECT_EQ(merged.version, 1);
  EXPECT_EQ(merged.rows, 18000);
  EXPECT_EQ(merged.shards, 3);
  EXPECT_EQ(merged.md5, DvcHash(Path("data"))->first);  // DVC's folder hash
  ASSERT_EQ(merged.files.size(), 4u);
  EXPECT_EQ(merged.DataFiles().size(), 3u);
  EXPECT_FALSE(merged.files[0].data);  // README.md
  EXPECT_EQ(merged.files[1].rows, 6000);

  // One process over one file holding the same rows.
  auto one = ReadCsv(Write("all.csv", all));
  ASSERT_TRUE(one.ok());
  std::string expected;
  for (const auto& c : ProfileTable(*one)) expected += ColumnProfileToJson(c) + "\n";
  EXPECT_EQ(Profiles(merged), expected);
  EXPECT_EQ(merged.columns[0].histogram_counts.size(), 10u);
  EXPECT_EQ(merged.columns[2].type, "categorical");
  // And `datasets add` of the folder in one process is the same version.
  auto added = datasets.Add("big", Path("data"));
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->version, 1);
  EXPECT_EQ(Profiles(datasets.Get("big").value()), expected);
  // Merging again is idempotent.
  EXPECT_EQ(datasets.MergeShards("big", "job-1", 3)->version, 1);

  // The columnar copies hold the rows as parsed.
  auto copy = ColumnarFile::Open(ColumnarPath(Path("columnar"), merged.files[2].md5));
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ((*copy)->rows(), 6000);
  auto parsed = ReadCsv(Path("data/part-1.csv"));
  const Table table = (*copy)->ToTable();
  ASSERT_EQ(table.columns.size(), 4u);
  for (size_t c = 0; c < 4; ++c) {
    EXPECT_EQ(table.columns[c].numeric, parsed->columns[c].numeric);
    EXPECT_EQ(table.columns[c].strings, parsed->columns[c].strings);
    ASSERT_EQ(table.columns[c].values.size(), parsed->columns[c].values.size());
    for (size_t r = 0; r < table.columns[c].values.size(); ++r) {
      const double a = table.columns[c].values[r], b = parsed->columns[c].values[r];
      EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b)));
    }
  }
  EXPECT_EQ(table.lines, parsed->lines);
  EXPECT_FALSE(lines.empty());
}

TEST_F(ShardsTest, ListsGlobsAndSplitsContiguously) {
  Write("a/x-1.csv", "v\n1\n");
  Write("a/b/x-2.csv", "v\n2\n3\n");
  Write("a/b/y.txt", "no\n");
  auto listing = ListDatasetFiles({Path("a") + "/*.csv", Path("a/b/x-2.csv")});
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  EXPECT_EQ(listing->root, Path("a"));
  ASSERT_EQ(listing->files.size(), 2u);
  EXPECT_EQ(listing->files[0].relpath, "b/x-2.csv");
  EXPECT_TRUE(listing->files[0].data);
  EXPECT_EQ(ListDatasetFiles({Path("a") + "/*.parquet"}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ListDatasetFiles({Path("a/x-1.csv"), Path("a/x-1.csv")}).status().code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(SplitContiguous({10, 10, 10}, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(SplitContiguous({30, 5, 5, 5, 5}, 2), (std::vector<int>{0, 1, 1, 1, 1}));
  EXPECT_EQ(SplitContiguous({1, 1}, 4), (std::vector<int>{1, 3}));

  Datasets datasets(store_.get(), &clock_);
  auto d = datasets.Add("globbed", Path("a/b/x-2.csv"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->FilePath(d->files[0]), Path("a/b/x-2.csv"));
  EXPECT_EQ(d->rows, 2);
}

TEST_F(ShardsTest, ShardErrorsNameTheFile) {
  Write("m/a.csv", "v,w\n1,2\n");
  Write("m/b.csv", "v,w\nabc,3\n");
  Datasets datasets(store_.get(), &clock_);
  auto mixed = datasets.Add("mixed", Path("m"));
  EXPECT_EQ(mixed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mixed.status().message().find("column 'v'"), std::string::npos)
      << mixed.status().message();
  EXPECT_NE(mixed.status().message().find("b.csv has text"), std::string::npos);
  Write("h/a.csv", "v,w\n1,2\n");
  Write("h/b.csv", "v,z\n1,2\n");
  auto header =
      datasets.AddShard({.name = "h", .inputs = {Path("h")}, .index = 1, .count = 2}, nullptr);
  EXPECT_NE(header.status().message().find("b.csv line 1: the columns are v,z"), std::string::npos)
      << header.status().message();
  EXPECT_FALSE(
      datasets.AddShard({.name = "h", .inputs = {Path("h")}, .index = 2, .count = 2}, nullptr)
          .ok());
  // Copies among the data would change its hash on the next add.
  auto inside = datasets.AddShard(
      {.name = "h", .inputs = {Path("h")}, .columnar_dir = Path("h/.copies")}, nullptr);
  EXPECT_NE(inside.status().message().find("is inside the data"), std::string::npos);
}

}  // namespace
}  // namespace inferd::train
