#include "train/column_summary.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "common/json_fields.h"
#include "common/json_writer.h"
#include "train/dataset.h"

namespace inferd::train {
namespace {

constexpr int kHistogramBins = 10;
constexpr size_t kMaxCategories = 100;
constexpr int kGridShift = 52 - kGridBits;

// An order-preserving integer for a finite double: larger values, larger keys;
// 0 and -0 both 0. Grid values are the doubles whose key is a multiple of
// 2^kGridShift (their low mantissa bits are zero).
int64_t KeyOf(double v) {
  if (v == 0) return 0;
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  const int64_t magnitude = static_cast<int64_t>(bits & ~(uint64_t{1} << 63));
  return (bits >> 63) ? -magnitude : magnitude;
}

double ValueOfKey(int64_t key) {
  return key >= 0 ? std::bit_cast<double>(static_cast<uint64_t>(key))
                  : -std::bit_cast<double>(static_cast<uint64_t>(-key));
}

// Bucket b holds the values whose keys are in ((b-1) * 2^shift, b * 2^shift].
int64_t BucketOf(double v) { return ((KeyOf(v) - 1) >> kGridShift) + 1; }
double BucketUpper(int64_t b) { return ValueOfKey(b * (int64_t{1} << kGridShift)); }
double BucketLower(int64_t b) { return ValueOfKey((b - 1) * (int64_t{1} << kGridShift)); }

template <typename K>
std::vector<std::pair<K, int64_t>> MergeRuns(const std::vector<std::pair<K, int64_t>>& a,
                                             const std::vector<std::pair<K, int64_t>>& b) {
  std::vector<std::pair<K, int64_t>> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].first < b[j].first)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].first < a[i].first) {
      out.push_back(b[j++]);
    } else {
      out.emplace_back(a[i].first, a[i].second + b[j].second);
      ++i, ++j;
    }
  }
  return out;
}

std::vector<std::pair<int64_t, int64_t>> ToBuckets(
    const std::vector<std::pair<double, int64_t>>& runs) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& [v, n] : runs) {
    const int64_t b = BucketOf(v);
    if (!out.empty() && out.back().first == b) {
      out.back().second += n;
    } else {
      out.emplace_back(b, n);
    }
  }
  return out;
}

// x * y = hi + lo exactly (for products that neither overflow nor underflow).
std::pair<double, double> TwoProduct(double x, double y) {
  const double hi = x * y;
  return {hi, std::fma(x, y, -hi)};
}

}  // namespace

void ExactSum::Add(double x) {
  if (overflow_) return;
  size_t kept = 0;
  for (double y : partials_) {
    if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
    const double hi = x + y;
    const double lo = y - (hi - x);
    if (lo != 0) partials_[kept++] = lo;
    x = hi;
  }
  partials_.resize(kept);
  if (!std::isfinite(x)) {  // past the double range: the sum reads as that infinity
    overflow_ = true;
    partials_.assign(1, x);
    return;
  }
  partials_.push_back(x);
}

void ExactSum::Merge(const ExactSum& other) {
  if (other.overflow_ && !overflow_) {
    *this = other;
    return;
  }
  for (double p : other.partials_) Add(p);
}

double ExactSum::Value() const {
  if (partials_.empty()) return 0;
  if (overflow_) return partials_.back();
  // Python's fsum: add from the largest partial down until the rounding is
  // decided, then round half to even using the sign of the next partial.
  size_t n = partials_.size();
  double hi = partials_[--n];
  double lo = 0;
  while (n > 0) {
    const double x = hi;
    const double y = partials_[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo != 0) break;
  }
  if (n > 0 && ((lo < 0 && partials_[n - 1] < 0) || (lo > 0 && partials_[n - 1] > 0))) {
    const double y = lo * 2;
    const double x = hi + y;
    if (y == x - hi) hi = x;
  }
  return hi;
}

ExactSum ExactSum::FromPartials(std::vector<double> partials) {
  ExactSum sum;
  for (double p : partials) sum.Add(p);
  return sum;
}

void ColumnSummary::AddNumbers(const double* values, size_t n) {
  rows_ += static_cast<int64_t>(n);
  std::vector<double> present;
  present.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const double v = values[i] + 0.0;  // -0 as 0
    if (std::isnan(v)) continue;
    present.push_back(v);
    sum_.Add(v);
    const auto [hi, lo] = TwoProduct(v, v);
    sum_squares_.Add(hi);
    if (lo != 0) sum_squares_.Add(lo);
  }
  if (present.empty()) return;
  std::sort(present.begin(), present.end());
  if (count_ == 0) {
    min_ = present.front();
    max_ = present.back();
  } else {
    min_ = std::min(min_, present.front());
    max_ = std::max(max_, present.back());
  }
  count_ += static_cast<int64_t>(present.size());
  std::vector<std::pair<double, int64_t>> runs;
  for (double v : present) {
    if (!runs.empty() && runs.back().first == v) {
      ++runs.back().second;
    } else {
      runs.emplace_back(v, 1);
    }
  }
  if (grid_) {
    MergeBuckets(ToBuckets(runs));
  } else {
    MergeValues(runs);
  }
}

void ColumnSummary::AddStrings(const std::vector<std::string>& cells) {
  rows_ += static_cast<int64_t>(cells.size());
  for (const auto& s : cells) {
    if (s.empty()) continue;
    ++categories_[s];
    ++count_;
  }
}

void ColumnSummary::MergeValues(const std::vector<std::pair<double, int64_t>>& runs) {
  values_ = MergeRuns(values_, runs);
  if (values_.size() > kExactDistinct) ToGrid();
}

void ColumnSummary::MergeBuckets(const std::vector<std::pair<int64_t, int64_t>>& buckets) {
  buckets_ = MergeRuns(buckets_, buckets);
}

void ColumnSummary::ToGrid() {
  if (grid_) return;
  buckets_ = MergeRuns(buckets_, ToBuckets(values_));
  values_.clear();
  values_.shrink_to_fit();
  grid_ = true;
}

Status ColumnSummary::Merge(const ColumnSummary& other) {
  if (numeric_ != other.numeric_) {
    if (other.count_ == 0) {  // an empty side takes the other's type
      rows_ += other.rows_;
      return Status::Ok();
    }
    if (count_ != 0) {
      return InvalidArgument("column '" + name_ +
                             "' holds numbers in some rows and text in others");
    }
    const int64_t rows = rows_;
    *this = other;
    rows_ += rows;
    return Status::Ok();
  }
  rows_ += other.rows_;
  if (other.count_ == 0) return Status::Ok();
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_.Merge(other.sum_);
  sum_squares_.Merge(other.sum_squares_);
  for (const auto& [value, n] : other.categories_) categories_[value] += n;
  if (grid_ || other.grid_) {
    ToGrid();
    MergeBuckets(other.grid_ ? other.buckets_ : ToBuckets(other.values_));
  } else {
    MergeValues(other.values_);
  }
  return Status::Ok();
}

ColumnProfile ColumnSummary::Profile() const {
  ColumnProfile p{.name = name_, .type = numeric_ ? "numeric" : "categorical"};
  p.count = count_;
  p.missing_share = rows_ ? 1.0 - static_cast<double>(count_) / static_cast<double>(rows_) : 0;
  if (!numeric_) {
    p.categories.assign(categories_.begin(), categories_.end());
    std::stable_sort(p.categories.begin(), p.categories.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (p.categories.size() > kMaxCategories) p.categories.resize(kMaxCategories);
    return p;
  }
  if (count_ == 0) return p;
  p.min = min_;
  p.max = max_;
  const double n = static_cast<double>(count_);
  p.mean = sum_.Value() / n;
  // sum (v - mean)^2 = sum v^2 - 2 mean sum v + n mean^2, each term added
  // exactly, rounded once.
  ExactSum deviations = sum_squares_;
  for (double s : sum_.partials()) {
    const auto [hi, lo] = TwoProduct(-2 * p.mean, s);
    deviations.Add(hi);
    deviations.Add(lo);
  }
  const auto [square_hi, square_lo] = TwoProduct(p.mean, p.mean);
  for (double part : {square_hi, square_lo}) {
    const auto [hi, lo] = TwoProduct(n, part);
    deviations.Add(hi);
    deviations.Add(lo);
  }
  p.std = std::sqrt(std::max(0.0, deviations.Value()) / n);

  // Cumulative counts over the exact values or the grid buckets.
  const size_t entries = grid_ ? buckets_.size() : values_.size();
  std::vector<int64_t> through(entries);  // values in entries [0, i]
  int64_t running = 0;
  for (size_t i = 0; i < entries; ++i) {
    running += grid_ ? buckets_[i].second : values_[i].second;
    through[i] = running;
  }
  auto entry_of_rank = [&](int64_t rank) {
    return static_cast<size_t>(std::upper_bound(through.begin(), through.end(), rank) -
                               through.begin());
  };
  auto value_at_rank = [&](int64_t rank) {
    const size_t e = entry_of_rank(rank);
    if (!grid_) return values_[e].first;
    if (rank == 0) return min_;
    if (rank == count_ - 1) return max_;
    const int64_t before = e ? through[e - 1] : 0;
    const double lower = std::max(BucketLower(buckets_[e].first), min_);
    const double upper = std::min(BucketUpper(buckets_[e].first), max_);
    const double share =
        static_cast<double>(rank - before + 1) / static_cast<double>(buckets_[e].second);
    return lower + (upper - lower) * share;
  };
  // numpy's linear percentile over the sorted values.
  auto percentile = [&](double q) {
    const double rank = q * static_cast<double>(count_ - 1);
    const int64_t lo = static_cast<int64_t>(std::floor(rank));
    const int64_t hi = std::min(lo + 1, count_ - 1);
    const double a = value_at_rank(lo);
    return a + (rank - static_cast<double>(lo)) * (value_at_rank(hi) - a);
  };
  for (int i = 0; i <= 100; ++i) p.percentiles.push_back(percentile(i / 100.0));
  for (int i = 1; i < kHistogramBins; ++i) {
    const double q = static_cast<double>(i) / kHistogramBins;
    double edge;
    if (grid_) {  // the upper bound of the bucket holding the decile
      const int64_t rank = static_cast<int64_t>(std::floor(q * static_cast<double>(count_ - 1)));
      edge = std::min(BucketUpper(buckets_[entry_of_rank(rank)].first), max_);
    } else {
      edge = percentile(q);
    }
    if (p.histogram_edges.empty() || edge > p.histogram_edges.back()) {
      p.histogram_edges.push_back(edge);
    }
  }
  // Bin i holds values in (edge[i-1], edge[i]]; the last bin everything above.
  auto at_most = [&](double edge) -> int64_t {
    if (edge >= max_) return count_;
    size_t e;
    if (grid_) {
      const int64_t b = BucketOf(edge);
      e = static_cast<size_t>(
          std::upper_bound(buckets_.begin(), buckets_.end(), b,
                           [](int64_t x, const auto& entry) { return x < entry.first; }) -
          buckets_.begin());
    } else {
      e = static_cast<size_t>(
          std::upper_bound(values_.begin(), values_.end(), edge,
                           [](double x, const auto& entry) { return x < entry.first; }) -
          values_.begin());
    }
    return e ? through[e - 1] : 0;
  };
  int64_t below = 0;
  for (double edge : p.histogram_edges) {
    const int64_t upto = at_most(edge);
    p.histogram_counts.push_back(upto - below);
    below = upto;
  }
  p.histogram_counts.push_back(count_ - below);
  return p;
}

std::string ColumnSummary::ToJson() const {
  std::string out;
  JsonWriter json(&out);
  auto partials = [&](const char* key, const ExactSum& sum) {
    json.Key(key).BeginArray();
    for (double v : sum.partials()) {
      if (std::isfinite(v)) {
        json.Double(v);
      } else {  // an overflowed sum: twice the largest double overflows again on reading
        const double largest = std::copysign(std::numeric_limits<double>::max(), v);
        json.Double(largest).Double(largest);
      }
    }
    json.EndArray();
  };
  json.BeginObject().Key("name").String(name_).Key("numeric").Bool(numeric_);
  json.Key("rows").Int(rows_).Key("count").Int(count_).Key("min").Double(min_);
  json.Key("max").Double(max_);
  partials("sum", sum_);
  partials("sum_squares", sum_squares_);
  json.Key("grid").Bool(grid_).Key("keys").BeginArray();
  if (grid_) {
    for (const auto& [b, n] : buckets_) json.Int(b);
  } else {
    for (const auto& [v, n] : values_) json.Double(v);
  }
  json.EndArray().Key("counts").BeginArray();
  for (const auto& [k, n] : buckets_) json.Int(n);
  for (const auto& [k, n] : values_) json.Int(n);
  json.EndArray().Key("categories").BeginArray();
  for (const auto& [value, n] : categories_) json.String(value).Int(n);
  json.EndArray().EndObject();
  return out;
}

StatusOr<ColumnSummary> ColumnSummary::FromJson(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(text);
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
    return InvalidArgument("column summary is not JSON");
  }
  ColumnSummary s(JsonString(doc, "name"), true);
  bool flag = true;
  if (doc["numeric"].get(flag) == simdjson::SUCCESS) s.numeric_ = flag;
  s.rows_ = JsonInt(doc, "rows");
  s.count_ = JsonInt(doc, "count");
  s.min_ = JsonNumber(doc, "min");
  s.max_ = JsonNumber(doc, "max");
  s.sum_ = ExactSum::FromPartials(JsonNumbers(doc, "sum"));
  s.sum_squares_ = ExactSum::FromPartials(JsonNumbers(doc, "sum_squares"));
  if (doc["grid"].get(flag) == simdjson::SUCCESS) s.grid_ = flag;
  simdjson::dom::array keys, counts, categories;
  if (doc["keys"].get(keys) != simdjson::SUCCESS ||
      doc["counts"].get(counts) != simdjson::SUCCESS || keys.size() != counts.size()) {
    return InvalidArgument("column summary of '" + s.name_ + "' has no keys and counts");
  }
  auto count = counts.begin();
  for (auto key : keys) {
    int64_t n = 0;
    if ((*count).get(n) != simdjson::SUCCESS) return InvalidArgument("bad count in column summary");
    ++count;
    if (s.grid_) {
      int64_t b = 0;
      if (key.get(b) != simdjson::SUCCESS) return InvalidArgument("bad bucket in column summary");
      s.buckets_.emplace_back(b, n);
    } else {
      double v = 0;
      if (key.get(v) != simdjson::SUCCESS) {
        int64_t i = 0;
        if (key.get(i) != simdjson::SUCCESS) return InvalidArgument("bad value in column summary");
        v = static_cast<double>(i);
      }
      s.values_.emplace_back(v, n);
    }
  }
  if (doc["categories"].get(categories) == simdjson::SUCCESS) {
    for (auto it = categories.begin(); it != categories.end(); ++it) {
      std::string_view value;
      if ((*it).get(value) != simdjson::SUCCESS) return InvalidArgument("bad category");
      ++it;
      int64_t n = 0;
      if (it == categories.end() || (*it).get(n) != simdjson::SUCCESS) {
        return InvalidArgument("bad category count");
      }
      s.categories_[std::string(value)] = n;
    }
  }
  return s;
}

}  // namespace inferd::train
