#include "model/model.h"

namespace inferd::model {

Task TaskOf(std::string_view objective, int64_t num_outputs) {
  if (num_outputs > 1 || objective.starts_with("multi:")) return Task::kMulticlass;
  if (objective.starts_with("binary") || objective == "reg:logistic" ||
      objective == "cross_entropy") {
    return Task::kBinary;
  }
  return Task::kRegression;
}

Status Model::PredictWith(const float* rows, int64_t num_rows, const PredictOptions& options,
                          std::vector<float>* out) const {
  if (!options.plain()) {
    return InvalidArgument(
        "base_margin and iteration_range need the native runtime; this model "
        "runs on " +
        info().runtime);
  }
  return Predict(rows, num_rows, options.kind, out);
}

Status Model::Contributions(const float*, int64_t, const PredictOptions&,
                            std::vector<float>*) const {
  return InvalidArgument("contributions need the native runtime; this model runs on " +
                         info().runtime);
}

Status Model::Leaves(const float*, int64_t, const PredictOptions&, std::vector<int32_t>*) const {
  return InvalidArgument("leaf indices need the native runtime; this model runs on " +
                         info().runtime);
}

const char* TaskName(Task task) {
  switch (task) {
    case Task::kBinary: return "binary";
    case Task::kMulticlass: return "multiclass";
    case Task::kRegression: return "regression";
  }
  return "regression";
}

}  // namespace inferd::model
