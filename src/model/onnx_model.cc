// TreeModel::FromOnnx: an ONNX model holding one ai.onnx.ml tree ensemble (what skl2onnx,
// onnxmltools and CatBoost write for tree models) turned into the native engine's trees.
//
// The ensemble's nodes are parallel arrays (nodes_treeids, nodes_nodeids, nodes_modes,
// nodes_featureids, nodes_values, nodes_truenodeids, nodes_falsenodeids,
// nodes_missing_value_tracks_true); a leaf's outputs are (tree, node, target or class,
// weight) entries. A leaf may carry several classes (a random forest's class shares): the
// engine's trees have one output each, so such a tree becomes one tree per class it
// scores, in tree order per class, as onnxruntime adds them. Sums start at 0 in float;
// onnxruntime's aggregator then divides by the tree count (AVERAGE), adds base_values and
// applies post_transform.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/onnx_ml.pb.h"
#include "model/tree_model.h"

namespace inferd::model {
namespace {

// The group of a tree with vector leaves.
constexpr int64_t kAllGroups = -1;

Status Malformed(const std::string& what) {
  return InvalidArgument("malformed ONNX model: " + what);
}

// Attribute lookups by name.
struct Attributes {
  std::map<std::string, const onnx::AttributeProto*> by_name;

  const onnx::AttributeProto* Find(const std::string& name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  }
  std::vector<int64_t> Ints(const std::string& name) const {
    const auto* a = Find(name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
  }
  std::vector<std::string> Strings(const std::string& name) const {
    const auto* a = Find(name);
    return a ? std::vector<std::string>(a->strings().begin(), a->strings().end())
             : std::vector<std::string>{};
  }
  std::string String(const std::string& name, const std::string& fallback) const {
    const auto* a = Find(name);
    return a && a->has_s() ? a->s() : fallback;
  }
  // Floats, or the *_as_tensor version (opset 3) of them in float or double.
  StatusOr<std::vector<float>> Floats(const std::string& name) const {
    if (const auto* a = Find(name))
      return std::vector<float>(a->floats().begin(), a->floats().end());
    const auto* t = Find(name + "_as_tensor");
    if (!t) return std::vector<float>{};
    const onnx::TensorProto& tensor = t->t();
    std::vector<float> out(tensor.float_data().begin(), tensor.float_data().end());
    for (double d : tensor.double_data()) out.push_back(static_cast<float>(d));
    if (out.empty() && tensor.has_raw_data()) {
      const std::string& raw = tensor.raw_data();
      if (tensor.data_type() == 1) {
        out.resize(raw.size() / sizeof(float));
        std::copy_n(raw.data(), out.size() * sizeof(float), reinterpret_cast<char*>(out.data()));
      } else if (tensor.data_type() == 11) {
        std::vector<double> d(raw.size() / sizeof(double));
        std::copy_n(raw.data(), d.size() * sizeof(double), reinterpret_cast<char*>(d.data()));
        out.assign(d.begin(), d.end());
      } else {
        return Unimplemented("ONNX attribute " + name + "_as_tensor of data type " +
                             std::to_string(tensor.data_type()));
      }
    }
    return out;
  }
};

// The float bound b with x <= t exactly when x < b, for float x and t.
float AboveOrEqual(float t) { return std::nextafter(t, std::numeric_limits<float>::infinity()); }

}  // namespace

StatusOr<std::unique_ptr<TreeModel>> TreeModel::FromOnnx(std::string_view bytes) {
  onnx::ModelProto proto;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Malformed("not an ONNX protobuf");
  }
  const onnx::GraphProto& graph = proto.graph();
  const onnx::NodeProto* ensemble = nullptr;
  for (const onnx::NodeProto& node : graph.node()) {
    const std::string& op = node.op_type();
    if (op == "TreeEnsembleRegressor" || op == "TreeEnsembleClassifier") {
      if (node.domain() != "ai.onnx.ml") return Malformed(op + " outside the ai.onnx.ml domain");
      if (ensemble) return Unimplemented("ONNX graphs with more than one tree ensemble");
      ensemble = &node;
    } else if (op != "ZipMap" && op != "Cast" && op != "Identity") {
      return Unimplemented("ONNX operator " + op +
                           " (inferd serves a TreeEnsembleRegressor or "
                           "TreeEnsembleClassifier with ZipMap, Cast and Identity around it)");
    }
  }
  if (!ensemble) return Unimplemented("ONNX graphs without a TreeEnsembleRegressor or Classifier");
  if (graph.input_size() != 1) return Unimplemented("ONNX graphs of more than one input");
  const bool classifier = ensemble->op_type() == "TreeEnsembleClassifier";
  Attributes attrs;
  for (const auto& a : ensemble->attribute()) attrs.by_name[a.name()] = &a;

  const auto tree_ids = attrs.Ints("nodes_treeids");
  const auto node_ids = attrs.Ints("nodes_nodeids");
  const auto features = attrs.Ints("nodes_featureids");
  const auto modes = attrs.Strings("nodes_modes");
  ASSIGN_OR_RETURN(const auto values, attrs.Floats("nodes_values"));
  const auto true_ids = attrs.Ints("nodes_truenodeids");
  const auto false_ids = attrs.Ints("nodes_falsenodeids");
  auto tracks_true = attrs.Ints("nodes_missing_value_tracks_true");
  const size_t n = tree_ids.size();
  tracks_true.resize(n, 0);
  if (n == 0 || node_ids.size() != n || features.size() != n || modes.size() != n ||
      values.size() != n || true_ids.size() != n || false_ids.size() != n) {
    return Malformed("the nodes_* attributes differ in length");
  }
  const std::string prefix = classifier ? "class_" : "target_";
  const auto leaf_trees = attrs.Ints(prefix + "treeids");
  const auto leaf_nodes = attrs.Ints(prefix + "nodeids");
  const auto leaf_targets = attrs.Ints(prefix + "ids");
  ASSIGN_OR_RETURN(const auto weights, attrs.Floats(prefix + "weights"));
  if (leaf_nodes.size() != leaf_trees.size() || leaf_targets.size() != leaf_trees.size() ||
      weights.size() != leaf_trees.size()) {
    return Malformed("the " + prefix + "* attributes differ in length");
  }
  ASSIGN_OR_RETURN(auto base_values, attrs.Floats("base_values"));
  const std::string aggregate = attrs.String("aggregate_function", "SUM");
  const std::string post = attrs.String("post_transform", "NONE");
  if (aggregate != "SUM" && aggregate != "AVERAGE") {
    return Unimplemented("ONNX aggregate_function " + aggregate);
  }

  // Outputs per row: the targets, or the class labels.
  int64_t outputs = 0;
  if (classifier) {
    outputs = static_cast<int64_t>(std::max(attrs.Ints("classlabels_int64s").size(),
                                            attrs.Strings("classlabels_strings").size()));
  } else {
    const auto* targets = attrs.Find("n_targets");
    outputs = targets ? targets->i() : 1;
  }
  if (outputs < 1 || outputs > kMaxGroups) return Malformed("bad count of targets or classes");
  std::set<int64_t> scored(leaf_targets.begin(), leaf_targets.end());
  for (int64_t t : scored) {
    if (t < 0 || t >= outputs)
      return Malformed("a leaf scores target or class " + std::to_string(t));
  }
  bool positive = true;
  for (float w : weights) positive &= w >= 0;

  std::unique_ptr<TreeModel> model(new TreeModel);
  model->onnx_ = true;
  model->num_groups_ = static_cast<int32_t>(outputs);
  Transform transform = Transform::kIdentity;
  // onnxruntime's conventions for a binary classifier scored through one class.
  if (classifier && outputs == 2 && scored.size() == 1) {
    if (*scored.begin() != 0 || base_values.size() > 1) {
      return Unimplemented("ONNX binary classifiers scoring class 1 alone or with two base_values");
    }
    model->num_groups_ = 1;
    model->outputs_per_row_ = 2;
    if (positive) {
      transform = Transform::kOnnxBinaryComplement;
    } else if (post == "LOGISTIC") {
      transform = Transform::kOnnxBinaryLogistic;
    } else {
      return Unimplemented("ONNX binary classifiers with mixed-sign weights and post_transform " +
                           post);
    }
  } else {
    if (classifier && outputs == 2 && (!base_values.empty() || post != "NONE")) {
      return Unimplemented(
          "ONNX binary classifiers scoring both classes with base_values or a "
          "post_transform");
    }
    if (post == "LOGISTIC") {
      transform = Transform::kOnnxLogistic;
    } else if (post == "SOFTMAX") {
      transform = Transform::kOnnxSoftmax;
    } else if (post != "NONE") {
      return Unimplemented("ONNX post_transform " + post);
    }
  }
  if (!base_values.empty() && base_values.size() != static_cast<size_t>(model->num_groups_)) {
    // onnxruntime uses one base value for a single target and ignores a
    // mismatching count otherwise.
    if (model->num_groups_ == 1) {
      base_values.resize(1);
    } else {
      base_values.clear();
    }
  }
  model->onnx_base_values_ = base_values;
  model->transform_ = transform;

  // Features: the input's second dimension, else the highest feature id + 1.
  int64_t num_features = 0;
  const auto& input_type = graph.input(0).type();
  if (input_type.has_tensor_type() && input_type.tensor_type().shape().dim_size() == 2) {
    num_features = input_type.tensor_type().shape().dim(1).dim_value();
  }
  for (int64_t f : features) num_features = std::max(num_features, f + 1);
  if (num_features <= 0 || num_features > kMaxFeatures) return Malformed("feature count");

  // Node index by (tree, node); each tree's leaves' weights per class.
  std::map<std::pair<int64_t, int64_t>, size_t> index;
  for (size_t i = 0; i < n; ++i) {
    if (!index.emplace(std::make_pair(tree_ids[i], node_ids[i]), i).second) {
      return Malformed("node " + std::to_string(node_ids[i]) + " of tree " +
                       std::to_string(tree_ids[i]) + " appears twice");
    }
  }
  std::map<std::pair<int64_t, int64_t>, std::map<int64_t, float>> leaf_weights;
  for (size_t i = 0; i < leaf_trees.size(); ++i) {
    const int64_t group = model->num_groups_ == 1 ? 0 : leaf_targets[i];
    leaf_weights[{leaf_trees[i], leaf_nodes[i]}][group] += weights[i];
  }
  std::set<int64_t> trees(tree_ids.begin(), tree_ids.end());
  // Trees that score several groups (a random forest's class shares) keep one
  // leaf vector each instead of a copy of the tree per group: one walk a tree.
  bool vector_leaves = false;
  if (model->num_groups_ > 1) {
    std::map<int64_t, std::set<int64_t>> tree_groups;
    for (const auto& [leaf, by_group] : leaf_weights) {
      for (const auto& [g, w] : by_group) tree_groups[leaf.first].insert(g);
    }
    for (const auto& [tree, scored_groups] : tree_groups) vector_leaves |= scored_groups.size() > 1;
  }
  if (vector_leaves) model->leaf_width_ = model->num_groups_;
  model->onnx_average_trees_ = aggregate == "AVERAGE" ? static_cast<int64_t>(trees.size()) : 0;

  for (int64_t tree : trees) {
    const std::string where = "tree " + std::to_string(tree);
    // The tree's nodes, its root the node no other node points at.
    std::vector<size_t> members;
    std::set<int64_t> children;
    for (size_t i = 0; i < n; ++i) {
      if (tree_ids[i] != tree) continue;
      members.push_back(i);
      if (modes[i] != "LEAF") {
        children.insert(true_ids[i]);
        children.insert(false_ids[i]);
      }
    }
    std::vector<size_t> roots;
    for (size_t i : members) {
      if (!children.contains(node_ids[i])) roots.push_back(i);
    }
    if (roots.size() != 1)
      return Malformed(where + " has " + std::to_string(roots.size()) + " roots");
    std::set<int64_t> groups;
    for (size_t i : members) {
      if (auto it = leaf_weights.find({tree, node_ids[i]}); it != leaf_weights.end()) {
        for (const auto& [group, w] : it->second) groups.insert(group);
      }
    }
    // Vector leaves: the tree once, each leaf with every group's weight.
    if (vector_leaves) groups = {kAllGroups};
    for (int64_t group : groups) {
      // Source node 0 is the root; the others follow in the tree's order.
      std::vector<SourceNode> nodes(members.size());
      std::map<int64_t, int64_t> slot;  // node id -> source index
      slot[node_ids[roots[0]]] = 0;
      int64_t next = 1;
      for (size_t i : members) {
        if (i != roots[0]) slot[node_ids[i]] = next++;
      }
      for (size_t i : members) {
        SourceNode& node = nodes[slot[node_ids[i]]];
        const std::string& mode = modes[i];
        if (mode == "LEAF") {
          auto it = leaf_weights.find({tree, node_ids[i]});
          node.leaf = 0;
          if (group == kAllGroups) node.leaf_vector.assign(model->num_groups_, 0.0f);
          if (it != leaf_weights.end()) {
            for (const auto& [g, w] : it->second) {
              if (group == kAllGroups) node.leaf_vector[g] = w;
              if (g == group) node.leaf = w;
            }
          }
          node.leaf_id = static_cast<int32_t>(node_ids[i]);
          continue;
        }
        auto child = [&](int64_t id) -> StatusOr<int64_t> {
          auto it = slot.find(id);
          if (it == slot.end()) return Malformed(where + " points at a missing node");
          return it->second;
        };
        ASSIGN_OR_RETURN(const int64_t yes, child(true_ids[i]));
        ASSIGN_OR_RETURN(const int64_t no, child(false_ids[i]));
        if (features[i] < 0) return Malformed(where + ": a negative feature id");
        node.feature = static_cast<uint32_t>(features[i]);
        const float t = values[i];
        const bool nan_true = tracks_true[i] != 0;
        // The engine goes left when x < bound; NaN goes left by default_left.
        if (mode == "BRANCH_LEQ" || mode == "BRANCH_LT") {
          node.bound = mode == "BRANCH_LEQ" ? AboveOrEqual(t) : t;
          node.left = yes;
          node.right = no;
          node.default_left = nan_true;
        } else if (mode == "BRANCH_GT" || mode == "BRANCH_GTE") {
          node.bound = mode == "BRANCH_GT" ? AboveOrEqual(t) : t;
          node.left = no;
          node.right = yes;
          node.default_left = !nan_true;
        } else {
          return Unimplemented("ONNX node mode " + mode);
        }
      }
      RETURN_IF_ERROR(model->AddTree(nodes, group == kAllGroups ? 0 : static_cast<int32_t>(group),
                                     num_features));
    }
  }
  model->trees_per_iteration_ = std::max<int64_t>(1, model->num_trees());
  ModelInfo& info = model->info_;
  info.format = "onnx";
  info.runtime = "native";
  info.objective = ensemble->op_type();
  info.num_features = num_features;
  info.num_outputs = model->outputs_per_row_ ? model->outputs_per_row_ : model->num_groups_;
  model->FinishLayout();
  // Per-tree outputs would name the engine's per-class copies, not the file's trees.
  info.num_trees = 0;
  info.num_iterations = 0;
  return model;
}

}  // namespace inferd::model
