#include "train/trainer.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>

#include "common/eval_metrics.h"
#include "model/model.h"

namespace inferd::train {
namespace {

// SplitMix64: a tiny generator whose sequence is the same on every platform.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

Status XgbError(const std::string& what) {
  return Internal("libxgboost " + what + ": " + XGBGetLastError());
}

struct DMatrixFree {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct BoosterFree {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using DMatrix = std::unique_ptr<void, DMatrixFree>;
using Booster = std::unique_ptr<void, BoosterFree>;

StatusOr<DMatrix> MakeMatrix(const std::vector<float>& rows, const std::vector<float>& labels,
                             const std::vector<std::string>& names) {
  DMatrixHandle handle = nullptr;
  if (XGDMatrixCreateFromMat(rows.data(), labels.size(), names.size(), NAN, &handle) != 0) {
    return XgbError("DMatrix");
  }
  DMatrix matrix(handle);
  if (XGDMatrixSetFloatInfo(handle, "label", labels.data(), labels.size()) != 0) {
    return XgbError("labels");
  }
  std::vector<const char*> cnames;
  for (const auto& n : names) cnames.push_back(n.c_str());
  if (XGDMatrixSetStrFeatureInfo(handle, "feature_name", cnames.data(), cnames.size()) != 0) {
    return XgbError("feature names");
  }
  return matrix;
}

// The first cell of a categorical column that is not a number, as an error.
Status NotNumeric(const Table& table, const Column& column, const std::string& role) {
  for (size_t r = 0; r < column.strings.size(); ++r) {
    char* end = nullptr;
    const std::string& cell = column.strings[r];
    std::strtod(cell.c_str(), &end);
    if (!cell.empty() && *end != '\0') {
      return InvalidArgument("line " + std::to_string(table.lines[r]) + ", column '" +
                             column.name + "': '" + cell + "' is not a number (" + role +
                             " columns must be numeric)");
    }
  }
  return InvalidArgument("column '" + column.name + "' is not numeric");
}

StatusOr<std::string> ChooseObjective(const std::vector<float>& labels, int* classes) {
  std::set<float> distinct(labels.begin(), labels.end());
  bool integers = std::all_of(distinct.begin(), distinct.end(),
                              [](float v) { return v >= 0 && std::floor(v) == v; });
  *classes = integers ? static_cast<int>(*distinct.rbegin()) + 1 : 0;
  if (integers && *classes == 2) return std::string("binary:logistic");
  if (integers && *classes > 2 && *classes <= kMaxAutoClasses) {
    return std::string("multi:softprob");
  }
  *classes = 0;
  return std::string("reg:squarederror");
}

}  // namespace

StatusOr<TrainResult> Train(const Table& table, const TrainOptions& options,
                            const ProgressFn& progress) {
  const Column* target = table.Find(options.target);
  if (target == nullptr) {
    std::string names;
    for (const auto& c : table.columns) names += (names.empty() ? "" : ", ") + c.name;
    return InvalidArgument("target column '" + options.target + "' is not in the data (" +
                           names + ")");
  }
  if (!target->numeric) return NotNumeric(table, *target, "the target");
  if (options.num_rounds < 1) return InvalidArgument("--num-rounds must be at least 1");
  if (options.valid_fraction < 0 || options.valid_fraction >= 1) {
    return InvalidArgument("--valid-fraction must be in [0, 1)");
  }
  TrainResult result;
  std::vector<const Column*> features;
  for (const auto& c : table.columns) {
    if (&c == target) continue;
    if (!c.numeric) return NotNumeric(table, c, "feature");
    features.push_back(&c);
    result.feature_names.push_back(c.name);
  }
  if (features.empty()) return InvalidArgument("the data has no feature columns besides the target");
  std::vector<float> labels(table.rows);
  for (int64_t r = 0; r < table.rows; ++r) {
    if (std::isnan(target->values[r])) {
      return InvalidArgument("line " + std::to_string(table.lines[r]) + ": target '" +
                             options.target + "' is missing");
    }
    labels[r] = static_cast<float>(target->values[r]);
  }

  int classes = 0;
  result.objective = options.objective;
  if (result.objective.empty()) {
    ASSIGN_OR_RETURN(result.objective, ChooseObjective(labels, &classes));
  } else if (result.objective.starts_with("multi:")) {
    classes = static_cast<int>(*std::max_element(labels.begin(), labels.end())) + 1;
  }

  // Seeded split: shuffle row indices, the first valid_fraction go to validation.
  std::vector<int64_t> order(table.rows);
  std::iota(order.begin(), order.end(), 0);
  SplitMix64 random(options.seed);
  for (int64_t i = table.rows - 1; i > 0; --i) {
    std::swap(order[i], order[random.Next() % static_cast<uint64_t>(i + 1)]);
  }
  int64_t valid_rows = static_cast<int64_t>(std::floor(options.valid_fraction * table.rows));
  if (options.valid_fraction > 0 && valid_rows == 0 && table.rows > 1) valid_rows = 1;
  std::vector<float> train_x, valid_x, train_y, valid_y;
  for (int64_t i = 0; i < table.rows; ++i) {
    const int64_t r = order[i];
    auto& x = i < valid_rows ? valid_x : train_x;
    for (const Column* c : features) x.push_back(static_cast<float>(c->values[r]));
    (i < valid_rows ? valid_y : train_y).push_back(labels[r]);
  }
  result.train_rows = static_cast<int64_t>(train_y.size());
  result.valid_rows = valid_rows;

  ASSIGN_OR_RETURN(DMatrix train, MakeMatrix(train_x, train_y, result.feature_names));
  DMatrix valid;
  if (valid_rows > 0) {
    ASSIGN_OR_RETURN(valid, MakeMatrix(valid_x, valid_y, result.feature_names));
  }
  std::vector<DMatrixHandle> matrices = {train.get()};
  std::vector<const char*> names = {"train"};
  if (valid) {
    matrices.push_back(valid.get());
    names.push_back("valid");
  }
  BoosterHandle handle = nullptr;
  if (XGBoosterCreate(matrices.data(), matrices.size(), &handle) != 0) return XgbError("booster");
  Booster booster(handle);
  result.params = {{"objective", result.objective},
                   {"num_rounds", std::to_string(options.num_rounds)},
                   {"max_depth", std::to_string(options.max_depth)},
                   {"eta", std::to_string(options.eta)},
                   {"seed", std::to_string(options.seed)},
                   {"valid_fraction", std::to_string(options.valid_fraction)}};
  std::map<std::string, std::string> xgb_params = {
      {"objective", result.objective}, {"max_depth", std::to_string(options.max_depth)},
      {"eta", std::to_string(options.eta)}, {"seed", std::to_string(options.seed)},
      {"nthread", std::to_string(options.threads)}};
  if (classes > 2 || result.objective.starts_with("multi:")) {
    xgb_params["num_class"] = std::to_string(classes);
    result.params["num_class"] = std::to_string(classes);
  }
  for (const auto& [k, v] : xgb_params) {
    if (XGBoosterSetParam(handle, k.c_str(), v.c_str()) != 0) {
      return InvalidArgument(std::string("invalid training parameter ") + k + "=" + v + ": " +
                             XGBGetLastError());
    }
  }
  for (int round = 0; round < options.num_rounds; ++round) {
    if (XGBoosterUpdateOneIter(handle, round, train.get()) != 0) {
      return InvalidArgument(std::string("training failed: ") + XGBGetLastError());
    }
    const char* evaluation = nullptr;
    if (XGBoosterEvalOneIter(handle, round, matrices.data(), names.data(), matrices.size(),
                             &evaluation) != 0) {
      return XgbError("evaluation");
    }
    if (progress) progress(round + 1, options.num_rounds, evaluation);
  }

  if (valid) {
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    constexpr char kConfig[] =
        R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
        R"( "strict_shape": false})";
    if (XGBoosterPredictFromDMatrix(handle, valid.get(), kConfig, &shape, &dim, &out) != 0) {
      return XgbError("holdout prediction");
    }
    size_t total = 1;
    for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
    std::vector<float> predictions(out, out + total);
    if (total == valid_y.size()) {
      result.prediction_profile =
          ProfileValues("prediction", std::vector<double>(predictions.begin(), predictions.end()));
    } else if (classes > 1) {  // multi-class: the predicted class's frequencies
      std::vector<std::string> predicted;
      for (size_t r = 0; r < valid_y.size(); ++r) {
        auto row = predictions.begin() + static_cast<std::ptrdiff_t>(r * classes);
        predicted.push_back(std::to_string(std::max_element(row, row + classes) - row));
      }
      result.prediction_profile = ProfileCategories("prediction", predicted);
    }
    // Scored as the server scores live ground truth: by the model's task.
    const int64_t per_row = static_cast<int64_t>(total / std::max<size_t>(1, valid_y.size()));
    const model::Task task = model::TaskOf(result.objective, per_row);
    if (task == model::Task::kBinary) {
      std::vector<float> probabilities = predictions;
      if (result.objective == "binary:logitraw") {  // margins
        for (float& p : probabilities) p = 1.0f / (1.0f + std::exp(-p));
      }
      result.metrics = {{"auc", Auc(valid_y, probabilities)},
                        {"logloss", LogLoss(valid_y, probabilities)},
                        {"accuracy", BinaryAccuracy(valid_y, probabilities)}};
    } else if (task == model::Task::kMulticlass && per_row == classes) {
      result.metrics = {{"logloss", MultiLogLoss(valid_y, predictions, classes)},
                        {"accuracy", MultiAccuracy(valid_y, predictions, classes)}};
    } else if (task == model::Task::kMulticlass) {  // multi:softmax: the class itself
      size_t right = 0;
      for (size_t r = 0; r < valid_y.size(); ++r) right += predictions[r] == valid_y[r];
      result.metrics = {{"accuracy", static_cast<double>(right) / valid_y.size()}};
    } else {
      result.metrics = {{"rmse", Rmse(valid_y, predictions)},
                        {"mae", Mae(valid_y, predictions)},
                        {"r2", R2(valid_y, predictions)}};
    }
  }

  // The booster does not take feature names from its training matrix; they are
  // set here so the saved model carries them (V1 rows as objects need them).
  std::vector<const char*> feature_names;
  for (const auto& n : result.feature_names) feature_names.push_back(n.c_str());
  if (XGBoosterSetStrFeatureInfo(handle, "feature_name", feature_names.data(),
                                 feature_names.size()) != 0) {
    return XgbError("feature names");
  }
  bst_ulong length = 0;
  const char* bytes = nullptr;
  if (XGBoosterSaveModelToBuffer(handle, R"({"format": "json"})", &length, &bytes) != 0) {
    return XgbError("save");
  }
  result.model_json.assign(bytes, length);
  return result;
}

}  // namespace inferd::train
