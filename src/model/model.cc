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

const char* TaskName(Task task) {
  switch (task) {
    case Task::kBinary: return "binary";
    case Task::kMulticlass: return "multiclass";
    case Task::kRegression: return "regression";
  }
  return "regression";
}

}  // namespace inferd::model
