// Trainer: fits an XGBoost model with libxgboost and scores it on a holdout,
// alone or as one worker of a distributed job.
//
// Every column but the target is a feature and must be numeric (missing cells
// are allowed; XGBoost learns default directions). The split and the boosting
// are seeded, so the same data, options and seed give the same model bytes.
// The objective, when not given, follows the target: {0,1} -> binary:logistic,
// integers 0..k-1 with k <= kMaxAutoClasses -> multi:softprob, else
// reg:squarederror.
//
// Distributed, each worker calls Fit with its own rows and the same options,
// through libxgboost's collective (train/distributed.h): every worker ends
// with the same model, and the objective and holdout metrics are decided over
// all workers' rows. libxgboost and Fit are not thread-safe in that mode: one
// training job per process.
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
  std::string tree_method;     // "": libxgboost's default ("hist" for distributed jobs)
  std::string device = "cpu";  // "cuda": train on the GPU (needs a CUDA build of libxgboost)
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

// OK when libxgboost can train on `device` ("cpu", or "cuda" with a CUDA build);
// FailedPrecondition saying why not otherwise.
Status CheckDevice(const std::string& device);

// libxgboost's last error, without the stack trace it appends.
std::string XgbLastError();

// The other workers of a distributed job, for the reductions training needs
// besides libxgboost's own (label statistics, the holdout). Every worker makes
// the same calls in the same order.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // In place, over every worker's `values` (the same length on each).
  virtual Status Sum(std::vector<double>* values) = 0;
  virtual Status Max(std::vector<double>* values) = 0;
};

// One worker's rows (row-major features), split into training and holdout.
struct TrainingRows {
  std::vector<std::string> feature_names;
  std::vector<float> train_x, train_y, valid_x, valid_y;
};

// Trains on `rows` (taken: each part is freed once libxgboost has copied it);
// with a `collective`, as one worker of a distributed job (every worker gets
// the same result, its metrics over every worker's holdout rows).
// InvalidArgument for options or labels that cannot be trained on.
StatusOr<TrainResult> Fit(TrainingRows rows, const TrainOptions& options, Collective* collective,
                          const ProgressFn& progress);

}  // namespace inferd::train
