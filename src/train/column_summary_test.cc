#include "train/column_summary.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "train/dataset.h"

namespace inferd::train {
namespace {

TEST(ExactSumTest, CorrectlyRoundedInAnyOrder) {
  ExactSum a;
  for (double v : {1e16, 1.0, -1e16}) a.Add(v);
  EXPECT_EQ(a.Value(), 1.0);  // naive left-to-right summation gives 0
  std::mt19937_64 random(7);
  std::vector<double> values;
  std::uniform_real_distribution<double> uniform(-1, 1);
  for (int i = 0; i < 5000; ++i) values.push_back(uniform(random) * std::pow(10, i % 30 - 15));
  ExactSum forward, backward, merged, left, right;
  for (double v : values) forward.Add(v);
  for (auto it = values.rbegin(); it != values.rend(); ++it) backward.Add(*it);
  for (size_t i = 0; i < values.size(); ++i) (i % 3 ? left : right).Add(values[i]);
  merged.Merge(right);
  merged.Merge(left);
  EXPECT_EQ(forward.Value(), backward.Value());
  EXPECT_EQ(forward.Value(), merged.Value());
  EXPECT_EQ(ExactSum::FromPartials(forward.partials()).Value(), forward.Value());
}

std::string ProfileJson(const ColumnSummary& s) { return ColumnProfileToJson(s.Profile()); }

ColumnSummary Whole(const std::vector<double>& values) {
  ColumnSummary s("x", true);
  s.AddNumbers(values.data(), values.size());
  return s;
}

// Splits `values` into `parts` random parts (each summarised in chunks) and
// merges them in a shuffled order.
ColumnSummary InParts(std::vector<double> values, int parts, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::shuffle(values.begin(), values.end(), random);
  std::vector<ColumnSummary> summaries(parts, ColumnSummary("x", true));
  size_t at = 0;
  for (int p = 0; p < parts; ++p) {
    const size_t end = p + 1 == parts ? values.size() : at + random() % (values.size() - at + 1);
    for (size_t chunk = at; chunk < end; chunk += 777) {
      summaries[p].AddNumbers(values.data() + chunk, std::min<size_t>(777, end - chunk));
    }
    at = end;
  }
  std::shuffle(summaries.begin(), summaries.end(), random);
  ColumnSummary merged("x", true);
  for (const auto& s : summaries) {
    // Through JSON, as shards are stored.
    auto stored = ColumnSummary::FromJson(s.ToJson());
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_TRUE(merged.Merge(*stored).ok());
  }
  return merged;
}

TEST(ColumnSummaryTest, FewDistinctValuesGiveTheExactProfileInAnySplit) {
  std::vector<double> values;
  std::mt19937_64 random(1);
  for (int i = 0; i < 20000; ++i) {
    values.push_back(i % 17 == 0 ? NAN : static_cast<double>(random() % 500) / 8 - 20);
  }
  const ColumnSummary whole = Whole(values);
  ASSERT_TRUE(whole.exact_distribution());
  for (uint64_t seed : {1, 2, 3}) {
    EXPECT_EQ(ProfileJson(InParts(values, 5, seed)), ProfileJson(whole)) << seed;
  }
  // The exact percentiles: numpy's linear interpolation over the sorted values.
  std::vector<double> sorted;
  for (double v : values) {
    if (!std::isnan(v)) sorted.push_back(v);
  }
  std::sort(sorted.begin(), sorted.end());
  const ColumnProfile p = whole.Profile();
  const double rank = 0.37 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(rank);
  EXPECT_EQ(p.percentiles[37], sorted[lo] + (rank - lo) * (sorted[lo + 1] - sorted[lo]));
  EXPECT_EQ(p.count, static_cast<int64_t>(sorted.size()));
}

TEST(ColumnSummaryTest, ManyDistinctValuesMergeExactlyOnTheGrid) {
  std::vector<double> values;
  std::mt19937_64 random(2);
  std::lognormal_distribution<double> lognormal(0, 2);
  for (size_t i = 0; i < 3 * kExactDistinct; ++i) {
    values.push_back(i % 2 ? lognormal(random) : -lognormal(random) * 1e-3);
  }
  const ColumnSummary whole = Whole(values);
  ASSERT_FALSE(whole.exact_distribution());
  for (uint64_t seed : {4, 5}) {
    EXPECT_EQ(ProfileJson(InParts(values, 7, seed)), ProfileJson(whole)) << seed;
  }
  // Parts each under the exact limit whose union is over it.
  EXPECT_EQ(ProfileJson(InParts(values, 9, 6)), ProfileJson(whole));

  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const ColumnProfile p = whole.Profile();
  EXPECT_EQ(p.min, sorted.front());
  EXPECT_EQ(p.max, sorted.back());
  EXPECT_EQ(p.percentiles[0], sorted.front());
  EXPECT_EQ(p.percentiles[100], sorted.back());
  for (int q : {10, 25, 50, 75, 90}) {  // within a bucket (2^-8 relative) of the exact one
    const double rank = q / 100.0 * static_cast<double>(sorted.size() - 1);
    const size_t lo = static_cast<size_t>(rank);
    const double exact = sorted[lo] + (rank - lo) * (sorted[lo + 1] - sorted[lo]);
    EXPECT_NEAR(p.percentiles[q], exact, (std::fabs(sorted[lo]) + std::fabs(sorted[lo + 1])) / 128)
        << q;
  }
  // The histogram counts are exact for its (bucket-bound) edges.
  int64_t below = 0;
  ASSERT_EQ(p.histogram_counts.size(), p.histogram_edges.size() + 1);
  for (size_t i = 0; i < p.histogram_edges.size(); ++i) {
    const int64_t upto =
        std::upper_bound(sorted.begin(), sorted.end(), p.histogram_edges[i]) - sorted.begin();
    EXPECT_EQ(p.histogram_counts[i], upto - below) << i;
    EXPECT_NEAR(static_cast<double>(upto - below) / sorted.size(), 0.1, 0.02) << i;
    below = upto;
  }
  double mean = 0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(values.size());
  EXPECT_NEAR(p.mean, mean, 1e-12 * std::fabs(mean));
}

TEST(ColumnSummaryTest, TypesCategoriesAndEmptySides) {
  ColumnSummary text("k", false), more("k", false);
  text.AddStrings({"a", "b", "", "a"});
  more.AddStrings({"b", "b", "c"});
  ASSERT_TRUE(text.Merge(more).ok());
  const ColumnProfile p = text.Profile();
  EXPECT_EQ(p.type, "categorical");
  EXPECT_EQ(p.count, 6);
  EXPECT_NEAR(p.missing_share, 1.0 / 7, 1e-15);
  EXPECT_EQ(p.categories[0], (std::pair<std::string, int64_t>{"b", 3}));
  // A part where the column is all missing parses as numeric and takes the text type.
  ColumnSummary empty("k", true);
  const double missing[] = {NAN, NAN};
  empty.AddNumbers(missing, 2);
  ASSERT_TRUE(empty.Merge(text).ok());
  EXPECT_EQ(empty.Profile().type, "categorical");
  EXPECT_EQ(empty.rows(), 9);
  ColumnSummary numbers("k", true);
  const double one[] = {1};
  numbers.AddNumbers(one, 1);
  EXPECT_EQ(numbers.Merge(text).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace inferd::train
