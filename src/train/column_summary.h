// ColumnSummary: the mergeable state behind a column profile, so that a
// dataset profiled in parts (shards, files, processes) gets exactly the profile
// one process computes over all of its rows.
//
// Every field merges exactly and the profile is a function of the multiset of
// values alone, never of how they were split or in which order they came:
//   - rows, non-missing count, min and max;
//   - sum and sum of squares as exact floating-point expansions (ExactSum), so
//     the mean and the standard deviation are correctly rounded whatever the
//     order of additions;
//   - the value distribution: exact (value, count) pairs while the column has
//     at most kExactDistinct distinct values (the percentiles and decile
//     histogram are then the exact ones); past that, counts on a fixed grid of
//     kGridBits mantissa bits (every binade cut into 2^kGridBits buckets, each
//     at most 0.4% wide relative to its values). Grid buckets are (lower, upper]
//     with grid values as bounds, so the histogram's edges sit on shared bucket
//     bounds and its counts are exact sums of bucket counts; percentiles
//     interpolate within a bucket;
//   - categories: every distinct value with its count (the profile keeps the
//     most frequent ones).
//
// Plain values, not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace inferd::train {

struct ColumnProfile;

// A sum of doubles kept as an exact expansion (Shewchuk's non-overlapping
// partials, as Python's math.fsum): Value() is the exact sum correctly
// rounded, the same for any order of Add and Merge calls. Sums that overflow
// the double range read as infinity.
class ExactSum {
 public:
  void Add(double x);
  void Merge(const ExactSum& other);
  double Value() const;
  const std::vector<double>& partials() const { return partials_; }
  static ExactSum FromPartials(std::vector<double> partials);

 private:
  std::vector<double> partials_;  // increasing magnitude, non-overlapping
  bool overflow_ = false;
};

inline constexpr size_t kExactDistinct = 10000;
inline constexpr int kGridBits = 8;

class ColumnSummary {
 public:
  ColumnSummary() = default;
  ColumnSummary(std::string name, bool numeric) : name_(std::move(name)), numeric_(numeric) {}

  // Numeric values of `rows` rows (NaN = missing).
  void AddNumbers(const double* values, size_t n);
  // Categorical cells ("" = missing).
  void AddStrings(const std::vector<std::string>& cells);

  // Adds `other`, a summary of other rows of the same column. A column with no
  // values on one side takes the other side's type; InvalidArgument when one
  // side holds numbers and the other text (the message names the column).
  Status Merge(const ColumnSummary& other);

  ColumnProfile Profile() const;

  const std::string& name() const { return name_; }
  bool numeric() const { return numeric_; }
  int64_t rows() const { return rows_; }
  int64_t count() const { return count_; }
  bool exact_distribution() const { return !grid_; }

  // A JSON object holding all of the state (doubles round-trip exactly).
  std::string ToJson() const;
  static StatusOr<ColumnSummary> FromJson(std::string_view json);

 private:
  void MergeValues(const std::vector<std::pair<double, int64_t>>& sorted_runs);
  void MergeBuckets(const std::vector<std::pair<int64_t, int64_t>>& sorted_buckets);
  void ToGrid();

  std::string name_;
  bool numeric_ = true;
  int64_t rows_ = 0;
  int64_t count_ = 0;
  double min_ = 0, max_ = 0;
  ExactSum sum_, sum_squares_;
  bool grid_ = false;
  std::vector<std::pair<double, int64_t>> values_;    // exact: ascending values
  std::vector<std::pair<int64_t, int64_t>> buckets_;  // grid: ascending bucket ids
  std::map<std::string, int64_t> categories_;
};

}  // namespace inferd::train
