// TreeModel: inferd's native evaluator for tree ensembles: XGBoost (gbtree),
// LightGBM and ONNX (ai.onnx.ml tree ensembles).
//
// An XGBoost ensemble is read from libxgboost's own JSON serialization of a
// loaded booster, so every format libxgboost reads (JSON, UBJSON, legacy
// binary) ends up here the same way; a LightGBM one from LightGBM's text model
// (what Booster.save_model and MLflow's lightgbm flavor write); an ONNX one
// from its protobuf (onnx_model.cc). Each tree is laid out depth-first
// in one flat array of 12-byte nodes whose two children sit side by side, so a step down the tree
// is one comparison and one add. Rows are evaluated in blocks of 64: one tree walks every row of
// the block while its nodes are hot in cache, several walks at once so that independent chains of
// loads overlap. A block without missing values (the common case) takes the plain walk: a copy of
// the nodes in 8 bytes each whose leaves step onto themselves, so that a walk is its tree's depth
// in branch-free steps: eight rows of a block in lockstep per tree, and a single row walks eight
// trees in lockstep. Blocks with missing values and models with LightGBM's special nodes walk the
// 12-byte nodes, testing for leaves: two rows with early exits on models that fit L1, eight rows
// in lockstep on larger ones, four trees at once for one row (figures and what was dropped:
// bench/README.md).
//
// Results are each library's own. XGBoost's bit for bit (float32): margins
// start at the base score and add each tree's leaf in tree order in float, then
// the objective's transform (sigmoid, softmax, exp, argmax) is applied with the
// same float operations. LightGBM computes in double: leaves are summed in
// double in tree order, averaged for random forests, transformed in double and
// only then cast to float, so the result is LightGBM's after the cast. Its
// splits (`value <= threshold` on doubles, three missing-value types, values
// within 1e-35 of zero read as zero, categorical bitsets) become the same
// float `value < bound` nodes wherever an exact float bound exists, which is
// every numerical split; zero-as-missing and categorical splits take a general
// step only models that have them pay for. ONNX ensembles sum in float from 0
// and add their base values after, as onnxruntime does. Parity is tested over
// trained models and thousands of rows with missing values, infinities and
// values equal to split thresholds (tree_model_test.cc against libxgboost,
// tests/integration/test_lightgbm.py against the lightgbm wheel,
// tests/integration/test_onnx.py against onnxruntime).
//
// Contributions (path-dependent TreeSHAP) and leaf indices come from the same
// layout: each node keeps its cover, each leaf its exact output and source id.
//
// Models it cannot evaluate exactly (XGBoost's gblinear, dart, categorical
// splits, vector leaves; LightGBM's linear trees; objectives it does not know)
// are refused with Unimplemented, naming why; for XGBoost the loader then keeps
// libxgboost (runtime.h). Predict is thread-safe: the model is immutable after
// construction.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "model/model.h"

namespace inferd::model {

// How a walk steps down a tree (tree_model.cc): rows without missing values
// (every node a plain `x < value`), rows with some (each node's default
// direction matters), or a model with LightGBM's special nodes.
enum class TreeWalk { kNoMissing, kMissing, kGeneral };

class TreeModel final : public Model {
 public:
  // Builds the evaluator from libxgboost's JSON model (XGBoosterSaveModelToBuffer
  // with format "json"). `info` comes from the libxgboost booster it was saved
  // from; its runtime becomes "native". Unimplemented for what it cannot
  // evaluate exactly; InvalidArgument for a malformed document.
  static StatusOr<std::unique_ptr<TreeModel>> FromXgboostJson(std::string_view json,
                                                              ModelInfo info);
  // Builds the evaluator from a LightGBM text model. Its info: format
  // "lightgbm", runtime "native", the objective's name ("binary", "multiclass",
  // ...), the file's feature names. Unimplemented (naming it) for what it cannot
  // evaluate exactly; InvalidArgument for a malformed file.
  static StatusOr<std::unique_ptr<TreeModel>> FromLightgbmText(std::string_view text);
  // Builds the evaluator from an ONNX model (onnx_model.cc) whose graph is one
  // ai.onnx.ml TreeEnsembleRegressor or TreeEnsembleClassifier and its plain
  // post-processing (ZipMap, Cast, Identity). Outputs follow onnxruntime's
  // semantics (sums in float, base values after the trees, its binary-class
  // conventions); per-tree outputs (contributions, leaves) are not offered.
  // Unimplemented (naming it) for other operators, modes and transforms.
  static StatusOr<std::unique_ptr<TreeModel>> FromOnnx(std::string_view bytes);

  const ModelInfo& info() const override { return info_; }
  Status Predict(const float* rows, int64_t num_rows, OutputKind kind,
                 std::vector<float>* out) const override;
  // Every option: base_margin (XGBoost models only: LightGBM has none) and the
  // iteration range (LightGBM's random forests average over the rounds used).
  // InvalidArgument for a range outside the model's rounds or a base_margin
  // that is not one value per row (or per row and group).
  Status PredictWith(const float* rows, int64_t num_rows, const PredictOptions& options,
                     std::vector<float>* out) const override;
  // XGBoost's in float, LightGBM's in double (cast to float at the end), with
  // the same operations in the same order as each library.
  Status Contributions(const float* rows, int64_t num_rows, const PredictOptions& options,
                       std::vector<float>* out) const override;
  Status Leaves(const float* rows, int64_t num_rows, const PredictOptions& options,
                std::vector<int32_t>* out) const override;

  // Features a model may have (the node's feature bits).
  static constexpr int64_t kMaxFeatures = int64_t{1} << 28;
  // Outputs (classes, targets) a model file may declare.
  static constexpr int64_t kMaxGroups = int64_t{1} << 16;

  int64_t num_trees() const { return static_cast<int64_t>(roots_.size()); }
  int64_t num_nodes() const { return static_cast<int64_t>(nodes_.size()); }

  // How margins become outputs; one per supported objective family.
  // kSignedSquare is LightGBM's `sqrt` regression (sign(m) * m * m).
  // kOnnx*: onnxruntime's post_transform in float (LOGISTIC, SOFTMAX; and the
  // two-column outputs of a binary classifier with one score: [1 - s, s] or
  // [logistic(-s), logistic(s)]).
  enum class Transform {
    kIdentity,
    kSigmoid,
    kExp,
    kSoftmax,
    kArgmax,
    kSignedSquare,
    kOnnxLogistic,
    kOnnxSoftmax,
    kOnnxBinaryComplement,
    kOnnxBinaryLogistic
  };

  // One node. An inner node compares row[feature] with `value` and goes to
  // `left` (less, or missing with default-left) or `left + 1`; a leaf holds its
  // output in `value` (as float) and its index in leaves_ in `left`. A node
  // marked special (bit 29) is one of LightGBM's: zero-as-missing (`value` as
  // usual; zero and missing take the default direction) or categorical (bit 28;
  // `value`'s bits index categories_).
  struct Node {
    float value;
    uint32_t feature;  // bits 0-27 the feature; 28 categorical; 29 special; 30 leaf;
                       // 31 missing goes left
    uint32_t left;
  };
  // A leaf's exact output and its id in the source format.
  struct Leaf {
    double value;
    int32_t id;
  };

 private:
  // A tree as a source format describes it, before layout: node 0 is the root;
  // a node whose `left` is negative is a leaf.
  struct SourceNode {
    int64_t left = -1, right = -1;
    uint32_t feature = 0;
    enum class Kind { kLess, kZeroMissing, kCategorical } kind = Kind::kLess;
    float bound = 0;                   // kLess, kZeroMissing: left when value < bound
    bool default_left = false;         // where missing values go
    std::vector<uint32_t> categories;  // kCategorical: bitset of the categories going left
    double leaf = 0;                   // a leaf's output
    int32_t leaf_id = 0;               // a leaf's id in the source format
    std::vector<float> leaf_vector;    // vector leaves (leaf_width_ > 1): one value per group
    double cover = 0;  // the training weight through the node (XGBoost's sum_hessian,
                       // LightGBM's data count): TreeSHAP's proportions
  };
  struct Categories {
    uint32_t offset;  // into bitsets_
    uint32_t words;
  };

  TreeModel() = default;
  // Lays one tree out depth-first with children side by side, for output
  // group `group`. InvalidArgument (naming the tree) for a malformed one.
  Status AddTree(const std::vector<SourceNode>& tree, int32_t group, int64_t num_features);
  // Adds every tree's output to `margins` (num_rows x num_groups_), in tree
  // order for each row, as the source library does: in float for XGBoost
  // (Acc = float), in double for LightGBM.
  // Decides how batches walk, once every tree is added.
  void FinishLayout();
  // Adds the output of trees [first_tree, last_tree) to `margins` (num_rows x
  // num_groups_), in tree order for each row, as the source library does: in
  // float for XGBoost (Acc = float), in double for LightGBM.
  template <typename Acc, TreeWalk kWalk>
  void AddTrees(const float* rows, int64_t num_rows, size_t first_tree, size_t last_tree,
                Acc* margins) const;
  // As AddTrees for models whose leaves are vectors, one value per group (ONNX
  // classifiers whose trees score every class): each tree walked once.
  template <TreeWalk kWalk>
  void AddVectorTrees(const float* rows, int64_t num_rows, size_t first_tree, size_t last_tree,
                      float* margins) const;
  // As AddTrees<Acc, kNoMissing> through walk_nodes_ (rows without missing
  // values, models without special nodes).
  template <typename Acc>
  void AddTreesPlain(const float* rows, int64_t num_rows, size_t first_tree, size_t last_tree,
                     Acc* margins) const;
  template <typename Acc>
  Status PredictAs(const float* rows, int64_t num_rows, const PredictOptions& options,
                   std::vector<float>* out) const;
  // The trees of the options' iteration range, and checks of its base_margin.
  Status TreeRange(const PredictOptions& options, int64_t num_rows, size_t* first_tree,
                   size_t* last_tree) const;
  // The transformed outputs of one row's margins (`iterations`: the rounds
  // summed, which LightGBM's random forests average over).
  void TransformRow(float* margins, float* dest, int64_t iterations) const;
  void TransformRow(double* margins, float* dest, int64_t iterations) const;
  // The rows' contributions, num_groups_ x (features + 1) each, computed in T
  // (float for XGBoost, double for LightGBM) into `out`.
  template <typename T>
  void ContributionsOfRows(const float* rows, int64_t num_rows, size_t first_tree, size_t last_tree,
                           std::span<const float> base_margin, float* out) const;

  ModelInfo info_;
  Transform transform_ = Transform::kIdentity;
  int32_t num_groups_ = 1;       // margins per row: the class count, or 1
  float base_margin_ = 0;        // base_score in margin space
  bool in_double_ = false;       // LightGBM: leaves, sums and transforms in double
  bool general_ = false;         // some nodes are special (zero-as-missing, categorical)
  double sigmoid_ = 1;           // LightGBM's sigmoid parameter
  bool average_output_ = false;  // LightGBM random forest: outputs averaged over the rounds
  // ONNX: the sums are divided by this many trees (AVERAGE; 0: SUM), then each
  // group's base value is added, before the transform; outputs per row when
  // they differ from the groups (2 for a binary classifier with one score).
  bool onnx_ = false;
  int64_t onnx_average_trees_ = 0;
  std::vector<float> onnx_base_values_;
  int32_t outputs_per_row_ = 0;
  int32_t leaf_width_ = 1;           // values per leaf: 1, or num_groups_ (vector leaves)
  std::vector<float> leaf_vectors_;  // leaf i's values at i * leaf_width_
  int64_t trees_per_iteration_ = 1;
  std::vector<Node> nodes_;      // every tree, depth-first, one after another
  std::vector<uint32_t> roots_;  // index of each tree's root in nodes_
  std::vector<int32_t> groups_;  // output group (class) of each tree
  std::vector<Leaf> leaves_;     // every leaf's exact output and source id
  std::vector<Categories> categories_;
  std::vector<uint32_t> bitsets_;
  // TreeSHAP's: each node's cover and (XGBoost) mean output, by node index;
  // each tree's expected output; the deepest tree's depth.
  std::vector<double> covers_;
  std::vector<float> means_;
  std::vector<double> tree_bias_;
  int32_t max_depth_ = 0;
  bool lockstep_rows_ = false;   // batches walk eight rows in lockstep (large models)
  std::vector<int32_t> depths_;  // each tree's depth
  // The plain walk's copy of nodes_ (same indices, 8 bytes a node), for rows
  // without missing values on models without special nodes; empty when a
  // model does not fit it (more than 2^16 features, a right child more than
  // 65,534 nodes after its parent). A step from node i goes to its right
  // child, i + offset, less one when x < value; a leaf has offset 1 and
  // value NaN (a step from it stays on it, as NaN compares false): a walk
  // takes its tree's depth in steps, with no test for leaves. Each leaf's
  // output by node index, in the model's Acc.
  struct WalkNode {
    float value;
    uint16_t feature;
    uint16_t offset;
  };
  std::vector<WalkNode> walk_nodes_;
  std::vector<float> walk_leaves_float_;
  std::vector<double> walk_leaves_double_;
};

}  // namespace inferd::model
