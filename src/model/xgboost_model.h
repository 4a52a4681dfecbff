// XgboostModel: a Model backed by libxgboost's in-place dense prediction.
//
// This is the reference runtime: its outputs are libxgboost's own. Loading reads
// an XGBoost JSON (.json) or UBJSON (.ubj) model file. Predict is thread-safe:
// libxgboost keeps in-place prediction results in thread-local storage, and the
// booster is never mutated after Load (gblinear models, which have no in-place
// prediction, go through a DMatrix under a mutex). Each call uses one OpenMP thread, so
// request-level parallelism comes from the server's threads.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "model/model.h"

namespace inferd::model {

class XgboostModel final : public Model {
 public:
  // Loads `path`, whose extension (.json or .ubj) names the format.
  // Fails with InvalidArgument when the file is not a readable XGBoost model.
  static StatusOr<std::unique_ptr<XgboostModel>> Load(const std::string& path);
  // Loads a model held in memory; `filename` (model.json, model.ubj, or
  // model.bin for the legacy binary format) names the format. libxgboost reads files only, so this
  // goes through a private temporary file in $TMPDIR (default /tmp), removed before returning.
  static StatusOr<std::unique_ptr<XgboostModel>> LoadBytes(std::string_view bytes,
                                                           std::string_view filename);

  ~XgboostModel() override;
  XgboostModel(const XgboostModel&) = delete;
  XgboostModel& operator=(const XgboostModel&) = delete;

  const ModelInfo& info() const override { return info_; }
  // The model in libxgboost's JSON format, whatever format it was loaded from.
  StatusOr<std::string> SaveJson() const;
  Status Predict(const float* rows, int64_t num_rows, OutputKind kind,
                 std::vector<float>* out) const override;
  // Options, contributions (pred_contribs) and leaves (pred_leaf) go through a
  // DMatrix, one call at a time: slower than in-place prediction, and rows with
  // infinities are refused (InvalidArgument), as libxgboost refuses them there.
  // Tree boosters only (gbtree, dart); gblinear has no per-tree outputs.
  Status PredictWith(const float* rows, int64_t num_rows, const PredictOptions& options,
                     std::vector<float>* out) const override;
  Status Contributions(const float* rows, int64_t num_rows, const PredictOptions& options,
                       std::vector<float>* out) const override;
  Status Leaves(const float* rows, int64_t num_rows, const PredictOptions& options,
                std::vector<int32_t>* out) const override;

 private:
  explicit XgboostModel(void* booster) : booster_(booster) {}
  Status ReadInfo();
  // libxgboost's PredictFromDMatrix of `type` (0 value, 1 margin, 2
  // contributions, 6 leaf) with the options; `per_row` values expected per row
  // (0: not checked).
  StatusOr<std::vector<float>> PredictFromDMatrix(const float* rows, int64_t num_rows, int type,
                                                  const PredictOptions& options,
                                                  size_t per_row) const;

  void* booster_;  // BoosterHandle; owned
  ModelInfo info_;
  // gblinear has no in-place prediction, and options, contributions and leaves
  // need a DMatrix: those predict one call at a time.
  bool inplace_ = true;
  mutable std::mutex dmatrix_mutex_;
};

}  // namespace inferd::model
