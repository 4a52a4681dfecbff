// Trainer: fits an XGBoost model on a Table with libxgboost and scores it on a
// holdout split.
//
// Every column but the target is a feature and must be numeric (missing cells
// are allowed; XGBoost learns default directions). The split and the boosting
// are seeded, so the same data, options and seed give the same model bytes.
// The objective, when not given, follows the target: {0,1} -> binary:logistic,
// integers 0..k-1 with k <= kMaxAutoClasses -> multi:softprob, else
// reg:squarederror.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "train/dataset.h"
#include "train/table.h"

namespace inferd::train {

inline constexpr int kMaxAutoClasses = 20;

struct TrainOptions {
  std::string target;
  std::string objective;  // empty: chosen from the target
  int num_rounds = 100;
  int max_depth = 6;
  double eta = 0.3;
  double valid_fraction = 0.2;
  uint64_t seed = 0;
  int threads = 1;
};

struct TrainResult {
  std::string model_json;  // XGBoost JSON, loadable by libxgboost and inferd
  std::string objective;
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;  // holdout: auc/logloss/accuracy or rmse/mae/r2
  std::vector<std::string> feature_names;
  int64_t train_rows = 0;
  int64_t valid_rows = 0;
  // The holdout predictions' profile, the reference for drift of the
  // prediction distribution: numeric for single-output models, the predicted
  // class's frequencies for multi-class ones.
  std::optional<ColumnProfile> prediction_profile;
};

// Called after each boosting round with libxgboost's evaluation line.
using ProgressFn = std::function<void(int round, int rounds, const std::string& evaluation)>;

// InvalidArgument, naming line and column, for data that cannot be trained on.
StatusOr<TrainResult> Train(const Table& table, const TrainOptions& options,
                            const ProgressFn& progress);

}  // namespace inferd::train
