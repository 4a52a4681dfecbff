// Model: a loaded, immutable predictor that maps rows of features to outputs.
//
// A Model is built once (by a runtime such as XgboostModel) and then only read,
// so Predict may be called from any number of threads at once. The model
// repository shares one Model between in-flight requests through shared_ptr;
// a reload builds a new Model beside the old one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inferd::model {

// What a prediction returns per row: the transformed score (probability for
// logistic objectives, the mean for regression) or the raw margin.
enum class OutputKind { kProbability, kMargin };

struct ModelInfo {
  std::string format = "xgboost";          // the model file's: "xgboost" or "lightgbm"
  std::string runtime;                     // "native" or "xgboost" (libxgboost)
  std::string objective;                   // e.g. "binary:logistic"
  int64_t num_features = 0;
  int64_t num_outputs = 1;                 // values per row: 1, or the class count
  std::vector<std::string> feature_names;  // empty when the model file has none
  // Per-tree outputs (PredictWith options, Contributions, Leaves); all 0 when
  // the runtime has none (libxgboost here).
  int64_t num_groups = 0;  // margins per row (multi:softmax: the classes, not 1)
  int64_t num_trees = 0;
  int64_t num_iterations = 0;  // boosting rounds: num_trees / trees per round
};

// What a prediction may ask for beyond the rows.
struct PredictOptions {
  OutputKind kind = OutputKind::kProbability;
  // XGBoost's base_margin: replaces the base score in margin space, one value
  // per row (per row and group, row-major, for multi-class). Empty: the model's.
  std::span<const float> base_margin;
  // Boosting rounds [iteration_begin, iteration_end) to use; end 0: all.
  int64_t iteration_begin = 0;
  int64_t iteration_end = 0;

  bool plain() const { return base_margin.empty() && iteration_begin == 0 && iteration_end == 0; }
};

// What a model predicts, which decides how its outputs are scored against
// ground truth (training's holdout metrics, live performance, feedback).
// Decided here and nowhere else.
enum class Task { kBinary, kMulticlass, kRegression };

// kMulticlass for multi:* objectives or more than one output per row; kBinary
// for binary:* objectives (logistic, logitraw, hinge), reg:logistic and
// LightGBM's binary and cross_entropy; kRegression otherwise.
Task TaskOf(std::string_view objective, int64_t num_outputs);
inline Task TaskOf(const ModelInfo& info) { return TaskOf(info.objective, info.num_outputs); }

// "binary", "multiclass" or "regression".
const char* TaskName(Task task);

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelInfo& info() const = 0;

  // Predicts `num_rows` rows stored row-major in `rows` (num_rows x
  // info().num_features floats; NaN means missing). On success `out` holds
  // num_rows x info().num_outputs values. On failure `out` is unspecified.
  // Thread-safe.
  virtual Status Predict(const float* rows, int64_t num_rows, OutputKind kind,
                         std::vector<float>* out) const = 0;

  // As Predict, with `options`. This default serves plain options (no base
  // margin, every round) and is InvalidArgument otherwise. Thread-safe.
  virtual Status PredictWith(const float* rows, int64_t num_rows, const PredictOptions& options,
                             std::vector<float>* out) const;

  // Feature contributions (exact path-dependent TreeSHAP, as libxgboost's
  // pred_contribs and LightGBM's pred_contrib compute them) in margin space:
  // num_rows x num_groups x (num_features + 1) values, the bias last; each
  // row's group sums to its margin. Honours base_margin and the iteration
  // range; `options.kind` is ignored. InvalidArgument unless the runtime has
  // per-tree outputs. Thread-safe.
  virtual Status Contributions(const float* rows, int64_t num_rows, const PredictOptions& options,
                               std::vector<float>* out) const;

  // The leaf each row reaches in each tree of the iteration range, as the
  // source library numbers them (XGBoost: node id; LightGBM: leaf index):
  // num_rows x trees values. InvalidArgument unless the runtime has per-tree
  // outputs. Thread-safe.
  virtual Status Leaves(const float* rows, int64_t num_rows, const PredictOptions& options,
                        std::vector<int32_t>* out) const;
};

}  // namespace inferd::model
