// Model: a loaded, immutable predictor that maps rows of features to outputs.
//
// A Model is built once (by a runtime such as XgboostModel) and then only read,
// so Predict may be called from any number of threads at once. The model
// repository shares one Model between in-flight requests through shared_ptr;
// a reload builds a new Model beside the old one.
#pragma once

#include <cstdint>
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
};

}  // namespace inferd::model
