#include "train/trainer.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
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
  return Internal("libxgboost " + what + ": " + XgbLastError());
}

struct DMatrixFree {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct BoosterFree {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using DMatrix = std::unique_ptr<void, DMatrixFree>;
using Booster = std::unique_ptr<void, BoosterFree>;

const float* DataOrDummy(const std::vector<float>& v);

StatusOr<DMatrix> MakeMatrix(const std::vector<float>& rows, const std::vector<float>& labels,
                             const std::vector<std::string>& names) {
  DMatrixHandle handle = nullptr;
  if (XGDMatrixCreateFromMat(DataOrDummy(rows), labels.size(), names.size(), NAN, &handle) != 0) {
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

// Feeds row-major features to libxgboost in batches, for a QuantileDMatrix.
struct DenseBatches {
  const float* x = nullptr;
  const float* y = nullptr;
  size_t rows = 0;
  size_t columns = 0;
  size_t at = 0;
  DMatrixHandle proxy = nullptr;
  int error = 0;
};
constexpr size_t kBatchRows = 1 << 16;

int NextBatch(DataIterHandle handle) {
  auto* it = static_cast<DenseBatches*>(handle);
  if (it->at >= it->rows) return 0;
  const size_t n = std::min(kBatchRows, it->rows - it->at);
  char interface[256];  // numpy's __array_interface__, version 3
  std::snprintf(interface, sizeof(interface),
                R"({"data": [%zu, true], "shape": [%zu, %zu], "typestr": "<f4", "version": 3})",
                reinterpret_cast<size_t>(it->x + it->at * it->columns), n, it->columns);
  if (XGProxyDMatrixSetDataDense(it->proxy, interface) != 0 ||
      XGDMatrixSetFloatInfo(it->proxy, "label", it->y + it->at, n) != 0) {
    it->error = 1;
    return 0;
  }
  it->at += n;
  return 1;
}

void ResetBatches(DataIterHandle handle) { static_cast<DenseBatches*>(handle)->at = 0; }

// The histogram method's own matrix: the features quantised into at most 256
// bins, one byte a value, built batch by batch without the CSR copy a
// DMatrix makes (distributed, the workers' quantile sketches are merged).
StatusOr<DMatrix> MakeQuantileMatrix(const std::vector<float>& rows,
                                     const std::vector<float>& labels,
                                     const std::vector<std::string>& names, int threads) {
  DMatrixHandle proxy = nullptr;
  if (XGProxyDMatrixCreate(&proxy) != 0) return XgbError("proxy DMatrix");
  DMatrix proxy_owner(proxy);
  DenseBatches batches{.x = DataOrDummy(rows),
                       .y = DataOrDummy(labels),
                       .rows = labels.size(),
                       .columns = names.size(),
                       .proxy = proxy};
  const std::string config = R"({"missing": NaN, "nthread": )" + std::to_string(threads) + "}";
  DMatrixHandle handle = nullptr;
  if (XGQuantileDMatrixCreateFromCallback(&batches, proxy, nullptr, ResetBatches, NextBatch,
                                          config.c_str(), &handle) != 0 ||
      batches.error != 0) {
    return XgbError("QuantileDMatrix");
  }
  DMatrix matrix(handle);
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

// A zero-row matrix still needs a data pointer.
const float* DataOrDummy(const std::vector<float>& v) {
  static const float kDummy = 0;
  return v.empty() ? &kDummy : v.data();
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
  if (options.valid_fraction < 0 || options.valid_fraction >= 1) {
    return InvalidArgument("--valid-fraction must be in [0, 1)");
  }
  TrainingRows rows;
  std::vector<const Column*> features;
  for (const auto& c : table.columns) {
    if (&c == target) continue;
    if (!c.numeric) return NotNumeric(table, c, "feature");
    features.push_back(&c);
    rows.feature_names.push_back(c.name);
  }
  if (features.empty())
    return InvalidArgument("the data has no feature columns besides the target");
  for (int64_t r = 0; r < table.rows; ++r) {
    if (std::isnan(target->values[r])) {
      return InvalidArgument("line " + std::to_string(table.lines[r]) + ": target '" +
                             options.target + "' is missing");
    }
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
  for (int64_t i = 0; i < table.rows; ++i) {
    const int64_t r = order[i];
    auto& x = i < valid_rows ? rows.valid_x : rows.train_x;
    for (const Column* c : features) x.push_back(static_cast<float>(c->values[r]));
    (i < valid_rows ? rows.valid_y : rows.train_y).push_back(static_cast<float>(target->values[r]));
  }
  return Fit(std::move(rows), options, nullptr, progress);
}

std::string XgbLastError() {
  std::string message = XGBGetLastError();
  const size_t trace = message.find("\nStack trace:");
  if (trace != std::string::npos) message.resize(trace);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

Status CheckDevice(const std::string& device) {
  if (device == "cpu" || device.empty()) return Status::Ok();
  if (device != "cuda")
    return InvalidArgument("--device must be cpu or cuda, not '" + device + "'");
  const char* info = nullptr;
  if (XGBuildInfo(&info) == 0 && info != nullptr &&
      std::string_view(info).find("\"USE_CUDA\":true") == std::string_view::npos) {
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    return FailedPrecondition("--device cuda needs a CUDA build of libxgboost; this one (" +
                              std::to_string(major) + "." + std::to_string(minor) + "." +
                              std::to_string(patch) + ") was built without CUDA");
  }
  return Status::Ok();
}

StatusOr<TrainResult> Fit(TrainingRows rows, const TrainOptions& options, Collective* collective,
                          const ProgressFn& progress) {
  RETURN_IF_ERROR(CheckDevice(options.device));
  if (options.num_rounds < 1) return InvalidArgument("--num-rounds must be at least 1");
  if (options.valid_fraction < 0 || options.valid_fraction >= 1) {
    return InvalidArgument("--valid-fraction must be in [0, 1)");
  }
  TrainResult result;
  result.feature_names = rows.feature_names;

  // Label statistics and row counts over every worker.
  std::vector<double> labels = {-std::numeric_limits<double>::infinity(), 0};  // max, non-integer
  for (const auto* ys : {&rows.train_y, &rows.valid_y}) {
    for (float v : *ys) {
      labels[0] = std::max(labels[0], static_cast<double>(v));
      if (v < 0 || std::floor(v) != v) labels[1] = 1;
    }
  }
  std::vector<double> counts = {static_cast<double>(rows.train_y.size()),
                                static_cast<double>(rows.valid_y.size())};
  if (collective != nullptr) {
    RETURN_IF_ERROR(collective->Max(&labels));
    RETURN_IF_ERROR(collective->Sum(&counts));
  }
  if (counts[0] == 0) return InvalidArgument("no rows to train on (all went to the holdout)");
  int classes = 0;
  result.objective = options.objective;
  if (result.objective.empty()) {
    classes = labels[1] == 0 ? static_cast<int>(labels[0]) + 1 : 0;
    if (classes == 2) {
      result.objective = "binary:logistic";
    } else if (classes > 2 && classes <= kMaxAutoClasses) {
      result.objective = "multi:softprob";
    } else {
      classes = 0;
      result.objective = "reg:squarederror";
    }
  } else if (result.objective.starts_with("multi:")) {
    classes = static_cast<int>(labels[0]) + 1;
  }
  result.train_rows = static_cast<int64_t>(counts[0]);
  result.valid_rows = static_cast<int64_t>(counts[1]);
  const bool has_valid = result.valid_rows > 0;

  // Every worker creates the same matrices in the same order (libxgboost
  // synchronises their shapes), even one with no holdout rows of its own.
  DMatrix train;
  if (options.tree_method == "hist") {
    ASSIGN_OR_RETURN(train, MakeQuantileMatrix(rows.train_x, rows.train_y, result.feature_names,
                                               options.threads));
  } else {
    ASSIGN_OR_RETURN(train, MakeMatrix(rows.train_x, rows.train_y, result.feature_names));
  }
  rows.train_x = {};  // libxgboost holds its own copy
  rows.train_y = {};
  DMatrix valid;
  if (has_valid) {
    ASSIGN_OR_RETURN(valid, MakeMatrix(rows.valid_x, rows.valid_y, result.feature_names));
    rows.valid_x = {};
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
  if (!options.tree_method.empty()) {
    xgb_params["tree_method"] = options.tree_method;
    result.params["tree_method"] = options.tree_method;
  }
  if (options.device == "cuda") {
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    if (major >= 2) {
      xgb_params["device"] = "cuda";
    } else {  // 1.x names the GPU by its tree method
      xgb_params["tree_method"] = "gpu_hist";
    }
    result.params["device"] = "cuda";
  }
  if (classes > 2 || result.objective.starts_with("multi:")) {
    xgb_params["num_class"] = std::to_string(classes);
    result.params["num_class"] = std::to_string(classes);
  }
  for (const auto& [k, v] : xgb_params) {
    if (XGBoosterSetParam(handle, k.c_str(), v.c_str()) != 0) {
      return InvalidArgument(std::string("invalid training parameter ") + k + "=" + v + ": " +
                             XgbLastError());
    }
  }
  for (int round = 0; round < options.num_rounds; ++round) {
    if (XGBoosterUpdateOneIter(handle, round, train.get()) != 0) {
      return InvalidArgument(std::string("training failed: ") + XgbLastError());
    }
    const char* evaluation = nullptr;
    if (XGBoosterEvalOneIter(handle, round, matrices.data(), names.data(), matrices.size(),
                             &evaluation) != 0) {
      return XgbError("evaluation");
    }
    if (progress) progress(round + 1, options.num_rounds, evaluation);
  }

  if (valid) {
    std::vector<float> predictions;
    double per_row = 0;
    if (!rows.valid_y.empty()) {
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
      predictions.assign(out, out + total);
      per_row = static_cast<double>(total / rows.valid_y.size());
    }
    std::vector<float> valid_y = rows.valid_y;
    if (collective != nullptr) {  // every worker's holdout, in rank order
      std::vector<double> shape = {per_row};
      RETURN_IF_ERROR(collective->Max(&shape));
      per_row = shape[0];
      const size_t width = static_cast<size_t>(per_row) + 1;
      std::vector<double> sizes(collective->world_size(), 0);
      sizes[collective->rank()] = static_cast<double>(rows.valid_y.size());
      RETURN_IF_ERROR(collective->Sum(&sizes));
      size_t offset = 0, total = 0;
      for (int w = 0; w < collective->world_size(); ++w) {
        if (w < collective->rank()) offset += static_cast<size_t>(sizes[w]);
        total += static_cast<size_t>(sizes[w]);
      }
      std::vector<double> gathered(total * width, 0);
      for (size_t r = 0; r < rows.valid_y.size(); ++r) {
        double* row = &gathered[(offset + r) * width];
        row[0] = rows.valid_y[r];
        for (size_t k = 1; k < width; ++k) row[k] = predictions[r * (width - 1) + (k - 1)];
      }
      RETURN_IF_ERROR(collective->Sum(&gathered));
      valid_y.assign(total, 0);
      predictions.assign(total * (width - 1), 0);
      for (size_t r = 0; r < total; ++r) {
        valid_y[r] = static_cast<float>(gathered[r * width]);
        for (size_t k = 1; k < width; ++k) {
          predictions[r * (width - 1) + (k - 1)] = static_cast<float>(gathered[r * width + k]);
        }
      }
    }
    const size_t total = predictions.size();
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
    const int64_t outputs = static_cast<int64_t>(total / std::max<size_t>(1, valid_y.size()));
    const model::Task task = model::TaskOf(result.objective, outputs);
    if (task == model::Task::kBinary) {
      std::vector<float> probabilities = predictions;
      if (result.objective == "binary:logitraw") {  // margins
        for (float& p : probabilities) p = 1.0f / (1.0f + std::exp(-p));
      }
      result.metrics = {{"auc", Auc(valid_y, probabilities)},
                        {"logloss", LogLoss(valid_y, probabilities)},
                        {"accuracy", BinaryAccuracy(valid_y, probabilities)}};
    } else if (task == model::Task::kMulticlass && outputs == classes) {
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
