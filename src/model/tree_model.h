// TreeModel: inferd's native evaluator for XGBoost tree ensembles (gbtree).
//
// The ensemble is read from libxgboost's own JSON serialization of a loaded
// booster, so every format libxgboost reads (JSON, UBJSON, legacy binary) ends
// up here the same way. Each tree is laid out depth-first in one flat array of
// 12-byte nodes whose two children sit side by side, so a step down the tree is
// one comparison and one add. Rows are evaluated in blocks of 64: one tree
// walks every row of the block while its nodes are hot in cache, several walks
// at once so that independent chains of loads overlap: two rows with early
// exits on models that fit L1, eight rows in lockstep on larger ones; a single
// row walks four trees at once (figures and what was dropped: bench/README.md).
//
// Results are libxgboost's bit for bit (float32): margins start at the base
// score and add each tree's leaf in tree order in float, then the objective's
// transform (sigmoid, softmax, exp, argmax) is applied with the same float
// operations. Parity is tested over trained models and thousands of rows with
// missing values, infinities and values equal to split thresholds
// (tree_model_test.cc).
//
// Models it cannot evaluate exactly (gblinear, dart, categorical splits, vector
// leaves, objectives it does not know) are refused with Unimplemented, naming
// why; the loader then keeps libxgboost (runtime.h). Predict is thread-safe:
// the model is immutable after construction.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "model/model.h"

namespace inferd::model {

class TreeModel final : public Model {
 public:
  // Builds the evaluator from libxgboost's JSON model (XGBoosterSaveModelToBuffer
  // with format "json"). `info` comes from the libxgboost booster it was saved
  // from; its runtime becomes "native". Unimplemented for what it cannot
  // evaluate exactly; InvalidArgument for a malformed document.
  static StatusOr<std::unique_ptr<TreeModel>> FromXgboostJson(std::string_view json,
                                                              ModelInfo info);

  const ModelInfo& info() const override { return info_; }
  Status Predict(const float* rows, int64_t num_rows, OutputKind kind,
                 std::vector<float>* out) const override;

  int64_t num_trees() const { return static_cast<int64_t>(roots_.size()); }
  int64_t num_nodes() const { return static_cast<int64_t>(nodes_.size()); }

  // How margins become outputs; one per supported XGBoost objective family.
  enum class Transform { kIdentity, kSigmoid, kExp, kSoftmax, kArgmax };

  // One node. An inner node compares row[feature] with `value` and goes to
  // `left` (less, or missing with default-left) or `left + 1`; a leaf holds its
  // output in `value`.
  struct Node {
    float value;
    uint32_t feature;  // bits 0-29 the feature; bit 30: a leaf; bit 31: missing goes left
    uint32_t left;
  };

 private:
  TreeModel() = default;
  // Adds every tree's output to `margins` (num_rows x num_groups_), in tree
  // order for each row, as libxgboost does.
  void AddTrees(const float* rows, int64_t num_rows, float* margins) const;

  ModelInfo info_;
  Transform transform_ = Transform::kIdentity;
  int32_t num_groups_ = 1;       // margins per row: the class count, or 1
  float base_margin_ = 0;        // base_score in margin space
  std::vector<Node> nodes_;      // every tree, depth-first, one after another
  std::vector<uint32_t> roots_;  // index of each tree's root in nodes_
  std::vector<int32_t> groups_;  // output group (class) of each tree
  bool lockstep_rows_ = false;   // batches walk eight rows in lockstep (large models)
};

}  // namespace inferd::model
