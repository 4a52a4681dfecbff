// Parity of the native tree engine with libxgboost: models are trained here with
// libxgboost itself (every supported objective, missing values in training so
// both default directions occur, a 500-tree model), then both runtimes predict
// thousands of rows (the datasets, random rows with 20% missing, ±inf, and values
// exactly equal to split thresholds) and must agree bit for bit.
#include "model/tree_model.h"

#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <regex>

#include "model/runtime.h"
#include "model/xgboost_model.h"
#include "train/table.h"

namespace inferd::model {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Data {
  std::vector<float> x;  // row-major
  std::vector<float> y;
  int64_t rows = 0, cols = 0;
};

Data ReadData(const std::string& name) {
  auto table = train::ReadCsvPath(std::string(INFERD_TEST_DATA) + "/" + name + ".csv");
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  Data d;
  d.rows = table->rows;
  d.cols = static_cast<int64_t>(table->columns.size()) - 1;
  for (int64_t r = 0; r < d.rows; ++r) {
    for (int64_t c = 0; c < d.cols; ++c) d.x.push_back(float(table->columns[c].values[r]));
    d.y.push_back(float(table->columns.back().values[r]));
  }
  return d;
}

// Synthetic regression data with 15% missing values, so that trees learn both
// default directions.
Data Synthetic(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> unit(0, 1);
  Data d{.rows = rows, .cols = cols};
  for (int64_t r = 0; r < rows; ++r) {
    float target = 0;
    for (int64_t c = 0; c < cols; ++c) {
      float v = normal(rng);
      target += (c % 3 == 0 ? v * v : v) / float(c + 1);
      d.x.push_back(unit(rng) < 0.15f ? kNaN : v);
    }
    d.y.push_back(target + 0.1f * normal(rng));
  }
  return d;
}

// Trains with libxgboost and returns the model as a loaded XgboostModel.
std::unique_ptr<XgboostModel> Train(const Data& d,
                                    std::vector<std::pair<std::string, std::string>> params) {
  DMatrixHandle dm;
  EXPECT_EQ(XGDMatrixCreateFromMat(d.x.data(), d.rows, d.cols, kNaN, &dm), 0);
  EXPECT_EQ(XGDMatrixSetFloatInfo(dm, "label", d.y.data(), d.rows), 0);
  BoosterHandle booster;
  EXPECT_EQ(XGBoosterCreate(&dm, 1, &booster), 0);
  params.emplace_back("nthread", "1");
  params.emplace_back("seed", "7");
  int rounds = 20;
  for (auto& [k, v] : params) {
    if (k == "rounds") {
      rounds = std::stoi(v);
      continue;
    }
    EXPECT_EQ(XGBoosterSetParam(booster, k.c_str(), v.c_str()), 0) << XGBGetLastError();
  }
  for (int i = 0; i < rounds; ++i) EXPECT_EQ(XGBoosterUpdateOneIter(booster, i, dm), 0);
  bst_ulong len;
  const char* bytes;
  EXPECT_EQ(XGBoosterSaveModelToBuffer(booster, R"({"format": "ubj"})", &len, &bytes), 0);
  auto model = XgboostModel::LoadBytes(std::string_view(bytes, len), "model.ubj");
  XGBoosterFree(booster);
  XGDMatrixFree(dm);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

// The split thresholds of every feature, read from the model's JSON.
std::vector<std::vector<float>> Thresholds(const std::string& json, int64_t cols) {
  std::vector<std::vector<float>> out(cols);
  std::regex conditions(R"("split_conditions":\[([^\]]*)\])"),
      indices(R"("split_indices":\[([^\]]*)\])");
  auto c = std::sregex_iterator(json.begin(), json.end(), conditions);
  auto i = std::sregex_iterator(json.begin(), json.end(), indices);
  for (; c != std::sregex_iterator() && i != std::sregex_iterator(); ++c, ++i) {
    std::vector<float> values;
    std::vector<int64_t> features;
    std::stringstream cs((*c)[1].str()), is((*i)[1].str());
    for (std::string s; std::getline(cs, s, ',');) values.push_back(std::stof(s));
    for (std::string s; std::getline(is, s, ',');) features.push_back(std::stoll(s));
    for (size_t n = 0; n < values.size() && n < features.size(); ++n) {
      out[features[n]].push_back(values[n]);
    }
  }
  return out;
}

// The dataset's rows, then random rows built from them: some ±inf and many
// values set exactly to a split threshold of their feature; the second half
// also 20% missing (rows without any take the engine's plain walk).
std::vector<float> TestRows(const Data& d, const std::string& json, int64_t extra) {
  std::vector<float> rows = d.x;
  auto thresholds = Thresholds(json, d.cols);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> unit(0, 1);
  std::uniform_int_distribution<int64_t> pick(0, d.rows - 1);
  for (int64_t r = 0; r < extra; ++r) {
    const float* base = d.x.data() + pick(rng) * d.cols;
    for (int64_t c = 0; c < d.cols; ++c) {
      float u = unit(rng), v = base[c];
      if (u < 0.2f) {
        if (2 * r >= extra) v = kNaN;
      } else if (u < 0.25f) {
        v = unit(rng) < 0.5f ? kInf : -kInf;
      } else if (u < 0.6f && !thresholds[c].empty()) {
        v = thresholds[c][rng() % thresholds[c].size()];
      }
      rows.push_back(v);
    }
  }
  return rows;
}

// Predicts `rows` with both runtimes and expects identical bits; reports the
// largest difference when they are not.
void ExpectParity(const XgboostModel& reference, const std::vector<float>& rows,
                  OutputKind kind = OutputKind::kProbability) {
  auto json = reference.SaveJson();
  ASSERT_TRUE(json.ok());
  auto native = TreeModel::FromXgboostJson(*json, reference.info());
  ASSERT_TRUE(native.ok()) << native.status().ToString();
  const int64_t n = static_cast<int64_t>(rows.size()) / reference.info().num_features;
  std::vector<float> want, got;
  ASSERT_TRUE(reference.Predict(rows.data(), n, kind, &want).ok());
  ASSERT_TRUE((*native)->Predict(rows.data(), n, kind, &got).ok());
  ASSERT_EQ(want.size(), got.size());
  int64_t differ = 0;
  double largest = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::bit_cast<uint32_t>(want[i]) != std::bit_cast<uint32_t>(got[i])) {
      ++differ;
      largest = std::max(largest, std::abs(double(want[i]) - double(got[i])));
    }
  }
  EXPECT_EQ(differ, 0) << differ << " of " << want.size() << " values differ; largest " << largest;
  // One row at a time takes the same path as a batch: the first rows, then
  // rows from all over (with and without missing values).
  for (int64_t r = 0; r < n; r += r < 50 ? 1 : 37) {
    std::vector<float> one;
    ASSERT_TRUE(
        (*native)->Predict(rows.data() + r * reference.info().num_features, 1, kind, &one).ok());
    const size_t width = one.size();
    for (size_t i = 0; i < width; ++i) {
      EXPECT_EQ(std::bit_cast<uint32_t>(one[i]), std::bit_cast<uint32_t>(got[r * width + i]));
    }
  }
  std::printf("parity: %zu values from %lld rows, %lld differ, largest difference %g\n",
              want.size(), static_cast<long long>(n), static_cast<long long>(differ), largest);
}

// libxgboost's own prediction of `type` (0 value, 1 margin, 2 contributions,
// 6 leaf) over `rows` for the model in `json`, with an optional base margin and
// iteration range.
std::vector<float> LibxgboostPredict(const std::string& json, const std::vector<float>& rows,
                                     int64_t cols, int type,
                                     const std::vector<float>& base_margin = {}, int64_t begin = 0,
                                     int64_t end = 0) {
  BoosterHandle booster;
  EXPECT_EQ(XGBoosterCreate(nullptr, 0, &booster), 0);
  EXPECT_EQ(XGBoosterLoadModelFromBuffer(booster, json.data(), json.size()), 0)
      << XGBGetLastError();
  EXPECT_EQ(XGBoosterSetParam(booster, "nthread", "1"), 0);
  DMatrixHandle dm;
  const int64_t n = static_cast<int64_t>(rows.size()) / cols;
  EXPECT_EQ(XGDMatrixCreateFromMat(rows.data(), n, cols, kNaN, &dm), 0);
  if (!base_margin.empty()) {
    EXPECT_EQ(XGDMatrixSetFloatInfo(dm, "base_margin", base_margin.data(), base_margin.size()), 0);
  }
  const std::string config =
      "{\"type\": " + std::to_string(type) +
      ", \"training\": false, \"iteration_begin\": " + std::to_string(begin) +
      ", \"iteration_end\": " + std::to_string(end) + ", \"strict_shape\": false}";
  const bst_ulong* shape;
  bst_ulong dims;
  const float* result;
  EXPECT_EQ(XGBoosterPredictFromDMatrix(booster, dm, config.c_str(), &shape, &dims, &result), 0)
      << XGBGetLastError();
  bst_ulong size = 1;
  for (bst_ulong d = 0; d < dims; ++d) size *= shape[d];
  std::vector<float> out(result, result + size);
  XGDMatrixFree(dm);
  XGBoosterFree(booster);
  return out;
}

// Contributions (TreeSHAP), leaf indices, base_margin and iteration ranges of
// the native engine against libxgboost's pred_contribs, pred_leaf, base_margin
// and iteration_range over the same rows.
void ExpectOutputParity(const XgboostModel& reference, const std::vector<float>& all_rows) {
  const std::string json = *reference.SaveJson();
  auto native = TreeModel::FromXgboostJson(json, reference.info());
  ASSERT_TRUE(native.ok()) << native.status().ToString();
  const ModelInfo& info = (*native)->info();
  const int64_t cols = info.num_features;
  // TreeSHAP is per row and slow in libxgboost: 600 rows are enough (60 on
  // large models). A DMatrix refuses infinities: they become the largest floats.
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(all_rows.size()) / cols,
                                      info.num_trees > 200 ? 60 : 600);
  std::vector<float> rows(all_rows.begin(), all_rows.begin() + n * cols);
  for (float& v : rows) {
    if (std::isinf(v)) v = std::copysign(std::numeric_limits<float>::max(), v);
  }

  std::vector<float> want = LibxgboostPredict(json, rows, cols, 2), got;
  ASSERT_TRUE((*native)->Contributions(rows.data(), n, {}, &got).ok());
  ASSERT_EQ(want.size(), got.size());
  int64_t differ = 0;
  double largest = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::bit_cast<uint32_t>(want[i]) != std::bit_cast<uint32_t>(got[i])) ++differ;
    largest = std::max(largest, std::abs(double(want[i]) - double(got[i])));
  }
  EXPECT_LE(largest, 1e-5) << differ << " of " << want.size() << " contributions differ";
  std::printf("contributions: %zu values from %lld rows, %lld differ, largest difference %g\n",
              want.size(), static_cast<long long>(n), static_cast<long long>(differ), largest);

  std::vector<int32_t> leaves;
  ASSERT_TRUE((*native)->Leaves(rows.data(), n, {}, &leaves).ok());
  want = LibxgboostPredict(json, rows, cols, 6);
  ASSERT_EQ(want.size(), leaves.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(static_cast<int32_t>(want[i]), leaves[i]) << "leaf " << i;
  }

  // base_margin: one value per row and group, replacing the base score.
  std::vector<float> margins(n * info.num_groups);
  for (size_t i = 0; i < margins.size(); ++i) margins[i] = 0.25f * float(i % 7) - 0.5f;
  const bool softmax = info.objective == "multi:softmax";  // has no margin output
  PredictOptions with_margin{.kind = softmax ? OutputKind::kProbability : OutputKind::kMargin,
                             .base_margin = margins};
  ASSERT_TRUE((*native)->PredictWith(rows.data(), n, with_margin, &got).ok());
  EXPECT_EQ(got, LibxgboostPredict(json, rows, cols, softmax ? 0 : 1, margins));
  ASSERT_TRUE((*native)->Contributions(rows.data(), n, with_margin, &got).ok());
  want = LibxgboostPredict(json, rows, cols, 2, margins);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(want[i], got[i], 1e-5) << i;

  // An iteration range, transformed as the model does.
  if (info.num_iterations >= 4) {
    const int64_t begin = 1, end = info.num_iterations - 1;
    PredictOptions range{.iteration_begin = begin, .iteration_end = end};
    ASSERT_TRUE((*native)->PredictWith(rows.data(), n, range, &got).ok());
    EXPECT_EQ(got, LibxgboostPredict(json, rows, cols, 0, {}, begin, end));
    range.iteration_begin = 0;
    ASSERT_TRUE((*native)->Leaves(rows.data(), n, range, &leaves).ok());
    EXPECT_EQ(leaves.size(), static_cast<size_t>(n * end * (info.num_trees / info.num_iterations)));
  }
  PredictOptions bad{.iteration_begin = 3, .iteration_end = 2};
  EXPECT_EQ((*native)->PredictWith(rows.data(), n, bad, &got).code(), StatusCode::kInvalidArgument);
  PredictOptions short_margin{.base_margin = std::span<const float>(margins).first(1)};
  EXPECT_EQ((*native)->PredictWith(rows.data(), n, short_margin, &got).code(),
            StatusCode::kInvalidArgument);
}

struct Case {
  std::string name, data;
  std::vector<std::pair<std::string, std::string>> params;
};

class ParityTest : public ::testing::TestWithParam<Case> {};

TEST_P(ParityTest, NativeEqualsLibxgboostBitForBit) {
  const Case& c = GetParam();
  Data d = c.data == "synthetic" ? Synthetic(2000, 12, 3) : ReadData(c.data);
  auto reference = Train(d, c.params);
  auto json = reference->SaveJson();
  ASSERT_TRUE(json.ok());
  auto rows = TestRows(d, *json, 3000);
  ExpectParity(*reference, rows, OutputKind::kProbability);
  if (reference->info().objective != "multi:softmax") {
    ExpectParity(*reference, rows, OutputKind::kMargin);
  }
  ExpectOutputParity(*reference, rows);
}

INSTANTIATE_TEST_SUITE_P(
    Objectives, ParityTest,
    ::testing::Values(
        Case{"binary_logistic", "breast_cancer", {{"objective", "binary:logistic"}}},
        Case{"binary_logistic_base_score",
             "breast_cancer",
             {{"objective", "binary:logistic"}, {"base_score", "0.3"}, {"max_depth", "8"}}},
        Case{"reg_logistic", "breast_cancer", {{"objective", "reg:logistic"}}},
        Case{"binary_logitraw", "breast_cancer", {{"objective", "binary:logitraw"}}},
        Case{"multi_softprob", "iris", {{"objective", "multi:softprob"}, {"num_class", "3"}}},
        Case{"multi_softmax", "iris", {{"objective", "multi:softmax"}, {"num_class", "3"}}},
        Case{"reg_squarederror", "diabetes", {{"objective", "reg:squarederror"}}},
        Case{"count_poisson", "diabetes", {{"objective", "count:poisson"}}},
        Case{"missing_values_both_ways",
             "synthetic",
             {{"objective", "reg:squarederror"}, {"max_depth", "6"}}},
        Case{"random_forest",
             "synthetic",
             {{"objective", "reg:squarederror"},
              {"num_parallel_tree", "4"},
              {"subsample", "0.8"},
              {"colsample_bynode", "0.8"},
              {"rounds", "5"}}},
        Case{"large_500_trees",
             "synthetic",
             {{"objective", "reg:squarederror"},
              {"max_depth", "8"},
              {"rounds", "500"},
              {"eta", "0.05"}}}),
    [](const auto& info) { return info.param.name; });

TEST(TreeModelTest, RefusesWhatItCannotEvaluateExactly) {
  Data d = ReadData("breast_cancer");
  auto linear = Train(d, {{"booster", "gblinear"}, {"objective", "binary:logistic"}});
  auto dart = Train(d, {{"booster", "dart"}, {"objective", "binary:logistic"}});
  for (auto* model : {linear.get(), dart.get()}) {
    auto json = model->SaveJson();
    ASSERT_TRUE(json.ok());
    auto native = TreeModel::FromXgboostJson(*json, model->info());
    EXPECT_EQ(native.status().code(), StatusCode::kUnimplemented) << native.status().ToString();
  }
  auto tree = Train(d, {{"objective", "binary:logistic"}});
  std::string json = *tree->SaveJson();
  std::string categorical =
      std::regex_replace(json, std::regex(R"("split_type":\[0)"), R"("split_type":[1)",
                         std::regex_constants::format_first_only);
  auto native = TreeModel::FromXgboostJson(categorical, tree->info());
  EXPECT_EQ(native.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(native.status().message().find("categorical"), std::string::npos);
  std::string objective = std::regex_replace(json, std::regex("binary:logistic"), "rank:pairwise");
  EXPECT_EQ(TreeModel::FromXgboostJson(objective, tree->info()).status().code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(TreeModel::FromXgboostJson("{\"learner\": 3}", tree->info()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(TreeModelTest, AutoFallsBackToLibxgboostAndSaysWhy) {
  Data d = ReadData("breast_cancer");
  auto linear = Train(d, {{"booster", "gblinear"}, {"objective", "binary:logistic"}});
  VersionFile file{.version = 1, .filename = "model.json", .bytes = *linear->SaveJson()};
  auto loaded = LoadModel(file, Runtime::kAuto);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->model->info().runtime, "xgboost");
  EXPECT_NE(loaded->fallback.find("gblinear"), std::string::npos) << loaded->fallback;
  // The fallback answers exactly as libxgboost does.
  std::vector<float> want, got;
  auto st = linear->Predict(d.x.data(), d.rows, OutputKind::kProbability, &want);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(loaded->model->Predict(d.x.data(), d.rows, OutputKind::kProbability, &got).ok());
  EXPECT_EQ(want, got);
  EXPECT_EQ(LoadModel(file, Runtime::kNative).status().code(), StatusCode::kUnimplemented);

  auto tree = Train(d, {{"objective", "binary:logistic"}});
  VersionFile tree_file{.version = 1, .filename = "model.json", .bytes = *tree->SaveJson()};
  auto native = LoadModel(tree_file, Runtime::kAuto);
  ASSERT_TRUE(native.ok());
  EXPECT_EQ(native->model->info().runtime, "native");
  EXPECT_TRUE(native->fallback.empty());
  EXPECT_EQ(LoadModel(tree_file, Runtime::kXgboost)->model->info().runtime, "xgboost");
}

// A hand-written LightGBM model: a single-leaf tree (the init score), a split at
// LightGBM's zero threshold (1e-35, where values within 1e-35 of zero read as
// zero), a zero-as-missing split and a categorical one. Parity with the
// lightgbm wheel over trained models is tests/integration/test_lightgbm.py.
constexpr char kLightgbmText[] = R"(tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=2
objective=regression
feature_names=a b c
tree_sizes=1 1 1

Tree=0
num_leaves=1
num_cat=0
split_feature=
threshold=
decision_type=
left_child=
right_child=
leaf_value=0.5
is_linear=0
shrinkage=1


Tree=1
num_leaves=3
num_cat=1
split_feature=0 2
threshold=1.0000000180025095e-35 0
decision_type=10 1
left_child=-1 -2
right_child=1 -3
leaf_value=1 10 100
cat_boundaries=0 2
cat_threshold=2 1
is_linear=0
shrinkage=0.1


Tree=2
num_leaves=2
num_cat=0
split_feature=1
threshold=2.5
decision_type=4
left_child=-1
right_child=-2
leaf_value=1000 10000
is_linear=0
shrinkage=0.1


end of trees

parameters:
[boosting: gbdt]
end of parameters
)";

TEST(TreeModelTest, LightgbmSplitsAsLightgbmTakesThem) {
  auto model = TreeModel::FromLightgbmText(kLightgbmText);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ModelInfo& info = (*model)->info();
  EXPECT_EQ(info.format, "lightgbm");
  EXPECT_EQ(info.runtime, "native");
  EXPECT_EQ(info.num_features, 3);
  EXPECT_EQ(info.feature_names, (std::vector<std::string>{"a", "b", "c"}));
  // Tree 1: a <= 1e-35 (NaN default left) -> 1; else c in {1, 32} -> 10, else 100.
  // Tree 2: b zero or missing -> default right (10000); b <= 2.5 -> 1000.
  struct Case {
    float a, b, c;
    double want;
  };
  const Case cases[] = {
      {-1, 1, 0, 0.5 + 1 + 1000},
      {kNaN, 3, 0, 0.5 + 1 + 10000},
      {1e-36f, 0, 0, 0.5 + 1 + 10000},
      {2e-35f, 1e-36f, 1, 0.5 + 10 + 10000},
      {1, kNaN, 32, 0.5 + 10 + 10000},
      {1, 2.5f, 33, 0.5 + 100 + 1000},
      {1, 2.6f, 1.9f, 0.5 + 10 + 10000},
      {1, -kInf, -0.5f, 0.5 + 100 + 1000},
      {1, kInf, kNaN, 0.5 + 100 + 10000},
      {1, 1, -1, 0.5 + 100 + 1000},
      {1, 1, 2147483648.0f, 0.5 + 100 + 1000},
      {1, 1, 1e20f, 0.5 + 100 + 1000},
  };
  for (const Case& c : cases) {
    const float row[] = {c.a, c.b, c.c};
    std::vector<float> out;
    ASSERT_TRUE((*model)->Predict(row, 1, OutputKind::kProbability, &out).ok());
    EXPECT_EQ(out, std::vector<float>{static_cast<float>(c.want)})
        << "a=" << c.a << " b=" << c.b << " c=" << c.c;
  }
}

// A chain of 600 splits on one feature: predictions walk it, contributions are
// refused rather than recursing 600 levels deep.
TEST(TreeModelTest, DegenerateDeepTreePredictsAndRefusesContributions) {
  constexpr int kInner = 600;
  std::string text =
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nmax_feature_idx=0\n"
      "objective=regression\n\nTree=0\nnum_leaves=" +
      std::to_string(kInner + 1) + "\n";
  std::string feature, threshold, decision, left, right, leaf, leaf_count, inner_count;
  for (int i = 0; i < kInner; ++i) {
    feature += "0 ";
    threshold += std::to_string(i) + " ";
    decision += "8 ";
    left += std::to_string(~i) + " ";
    right += std::to_string(i + 1 < kInner ? i + 1 : ~kInner) + " ";
    inner_count += std::to_string(kInner + 1 - i) + " ";
  }
  for (int i = 0; i <= kInner; ++i) {
    leaf += std::to_string(i) + " ";
    leaf_count += "1 ";
  }
  text += "split_feature=" + feature + "\nthreshold=" + threshold + "\ndecision_type=" + decision +
          "\nleft_child=" + left + "\nright_child=" + right + "\nleaf_value=" + leaf +
          "\nleaf_count=" + leaf_count + "\ninternal_count=" + inner_count +
          "\nis_linear=0\n\nend of trees\n";
  auto model = TreeModel::FromLightgbmText(text);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const float row[] = {299.5f};
  std::vector<float> out;
  ASSERT_TRUE((*model)->Predict(row, 1, OutputKind::kProbability, &out).ok());
  EXPECT_EQ(out, std::vector<float>{300.0f});
  auto refused = (*model)->Contributions(row, 1, {}, &out);
  EXPECT_EQ(refused.code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.message().find("deeper than"), std::string::npos) << refused.message();
}

TEST(TreeModelTest, LightgbmRefusesWhatItCannotEvaluate) {
  std::string text = kLightgbmText;
  std::string linear = std::regex_replace(text, std::regex("is_linear=0"), "is_linear=1",
                                          std::regex_constants::format_first_only);
  auto refused = TreeModel::FromLightgbmText(linear);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.status().message().find("linear trees"), std::string::npos);
  std::string ranking =
      std::regex_replace(text, std::regex("objective=regression"), "objective=lambdarank");
  refused = TreeModel::FromLightgbmText(ranking);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.status().message().find("lambdarank"), std::string::npos);
  for (std::string bad :
       {text.substr(0, text.size() / 2),
        std::regex_replace(text, std::regex("left_child=-1 -2"), "left_child=-1"),
        std::regex_replace(text, std::regex("split_feature=1"), "split_feature=7"),
        std::string("{\"learner\": {}}")}) {
    EXPECT_EQ(TreeModel::FromLightgbmText(bad).status().code(), StatusCode::kInvalidArgument)
        << bad.substr(0, 40);
  }
}

}  // namespace
}  // namespace inferd::model
