// TreeModel::FromLightgbmText: LightGBM's text model format
// (GBDT::SaveModelToString, Tree::ToString) turned into the native engine's
// trees.
//
// The header is `key=value` lines (and a bare `average_output` for random
// forests) up to the first `Tree=N`; each tree is `key=value` lines whose
// values are space-separated arrays over inner nodes (split_feature, threshold,
// decision_type, left_child, right_child; a child < 0 is leaf ~child) and over
// leaves (leaf_value); `end of trees` closes them and what follows
// (importances, parameters) is not needed to predict.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "model/tree_model.h"

namespace inferd::model {
namespace {

// decision_type's bits (LightGBM's kCategoricalMask, kDefaultLeftMask, missing
// type).
constexpr int kCategoricalBit = 1;
constexpr int kDefaultLeftBit = 2;
enum MissingType { kMissingNone = 0, kMissingZero = 1, kMissingNaN = 2 };
// LightGBM's kZeroThreshold: a float constant held in a double.
constexpr double kZero = static_cast<double>(1e-35f);

Status Malformed(const std::string& what) {
  return InvalidArgument("malformed LightGBM model: " + what);
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t end = text.find(separator);
    std::string_view item = text.substr(0, end);
    if (!item.empty()) out.push_back(item);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  if (ec == std::errc() && end == text.data() + text.size()) return true;
  if constexpr (std::is_floating_point_v<T>) {
    // LightGBM writes non-finite doubles as inf / -inf / nan.
    if (text == "inf" || text == "+inf")
      *out = std::numeric_limits<T>::infinity();
    else if (text == "-inf")
      *out = -std::numeric_limits<T>::infinity();
    else if (text == "nan" || text == "-nan")
      *out = std::numeric_limits<T>::quiet_NaN();
    else
      return false;
    return true;
  }
  return false;
}

// Key-value lines of one section (the header, or one tree).
using Section = std::map<std::string, std::string_view, std::less<>>;

template <typename T>
Status ReadArray(const Section& section, std::string_view key, size_t size, std::string_view where,
                 std::vector<T>* out) {
  auto it = section.find(key);
  if (it == section.end()) {
    if (size == 0) return Status::Ok();
    return Malformed(std::string(where) + " has no " + std::string(key));
  }
  for (std::string_view item : Split(it->second, ' ')) {
    T value;
    if (!ParseNumber(item, &value)) {
      return Malformed(std::string(where) + ": bad " + std::string(key) + " '" + std::string(item) +
                       "'");
    }
    out->push_back(value);
  }
  if (out->size() != size) {
    return Malformed(std::string(where) + ": " + std::string(key) + " has " +
                     std::to_string(out->size()) + " values, not " + std::to_string(size));
  }
  return Status::Ok();
}

Status ReadInt(const Section& section, std::string_view key, std::string_view where, int64_t* out) {
  auto it = section.find(key);
  if (it == section.end() || !ParseNumber(it->second, out)) {
    return Malformed(std::string(where) + " has no valid " + std::string(key));
  }
  return Status::Ok();
}

// The float bound b such that, for every float x, x < b exactly when LightGBM
// sends x left at `threshold` (x <= threshold in double, after values within
// kZero of zero are read as zero).
float LessBound(double threshold) {
  if (threshold >= -kZero && threshold < kZero) {
    // Every value near zero compares as zero: left for all of them, or none.
    threshold = threshold >= 0
                    ? kZero
                    : static_cast<double>(std::nextafter(static_cast<float>(-kZero),
                                                         -std::numeric_limits<float>::infinity()));
  }
  float below = static_cast<float>(threshold);  // the largest float <= threshold
  if (static_cast<double>(below) > threshold) {
    below = std::nextafter(below, -std::numeric_limits<float>::infinity());
  }
  return std::nextafter(below, std::numeric_limits<float>::infinity());
}

struct Objective {
  std::string name;
  TreeModel::Transform transform = TreeModel::Transform::kIdentity;
  double sigmoid = 1;
  int64_t num_class = 1;
};

// The `objective=` line: a name, then `key:value` options and flags
// ("binary sigmoid:1", "multiclass num_class:3", "regression sqrt").
Status ParseObjective(std::string_view text, Objective* objective) {
  auto tokens = Split(text, ' ');
  if (tokens.empty()) return Malformed("empty objective");
  objective->name = std::string(tokens[0]);
  bool sqrt = false;
  for (size_t i = 1; i < tokens.size(); ++i) {
    std::string_view token = tokens[i];
    if (token == "sqrt") sqrt = true;
    const size_t colon = token.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = token.substr(0, colon), value = token.substr(colon + 1);
    if (key == "sigmoid" &&
        (!ParseNumber(value, &objective->sigmoid) || !(objective->sigmoid > 0))) {
      return Malformed("objective sigmoid '" + std::string(value) + "'");
    }
    if (key == "num_class" && !ParseNumber(value, &objective->num_class)) {
      return Malformed("objective num_class '" + std::string(value) + "'");
    }
  }
  const std::string& n = objective->name;
  using T = TreeModel::Transform;
  if (n == "binary" || n == "cross_entropy" || n == "multiclassova") {
    objective->transform = T::kSigmoid;
    if (n == "cross_entropy") objective->sigmoid = 1;
  } else if (n == "regression" || n == "regression_l1" || n == "huber" || n == "fair" ||
             n == "quantile" || n == "mape") {
    objective->transform = sqrt ? T::kSignedSquare : T::kIdentity;
  } else if (n == "poisson" || n == "gamma" || n == "tweedie") {
    objective->transform = T::kExp;
  } else if (n == "multiclass") {
    objective->transform = T::kSoftmax;
  } else {
    return Unimplemented("LightGBM objective '" + n + "'");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<TreeModel>> TreeModel::FromLightgbmText(std::string_view text) {
  // Sections: the header, then one per tree.
  std::vector<Section> sections(1);
  bool average_output = false, ended = false;
  for (std::string_view line : Split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line == "end of trees") {
      ended = true;
      break;
    }
    if (line.starts_with("Tree=")) {
      sections.emplace_back();
      continue;
    }
    if (line == "average_output") {
      average_output = true;
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    sections.back().emplace(std::string(line.substr(0, eq)), line.substr(eq + 1));
  }
  const Section& header = sections[0];
  if (sections.size() == 1 && !header.contains("version")) {
    return Malformed("not a LightGBM text model (no version line, no trees)");
  }
  if (!ended) return Malformed("no 'end of trees' line: the file is truncated");

  int64_t num_class = 0, per_iteration = 0, max_feature = 0;
  RETURN_IF_ERROR(ReadInt(header, "num_class", "header", &num_class));
  RETURN_IF_ERROR(ReadInt(header, "num_tree_per_iteration", "header", &per_iteration));
  RETURN_IF_ERROR(ReadInt(header, "max_feature_idx", "header", &max_feature));
  if (num_class < 1 || num_class > kMaxGroups || per_iteration < 1 || max_feature < 0 ||
      max_feature >= kMaxFeatures) {
    return Malformed("bad num_class, num_tree_per_iteration or max_feature_idx");
  }
  auto objective_line = header.find("objective");
  if (objective_line == header.end()) {
    return Unimplemented("LightGBM model without an objective (a custom objective)");
  }
  Objective objective;
  RETURN_IF_ERROR(ParseObjective(objective_line->second, &objective));
  if (per_iteration != num_class) {
    return Malformed("num_tree_per_iteration differs from num_class");
  }
  const size_t num_trees = sections.size() - 1;
  if (num_trees % per_iteration != 0) {
    return Malformed(std::to_string(num_trees) + " trees are not whole iterations of " +
                     std::to_string(per_iteration));
  }

  std::unique_ptr<TreeModel> model(new TreeModel);
  model->in_double_ = true;
  model->transform_ = objective.transform;
  model->sigmoid_ = objective.sigmoid;
  model->num_groups_ = static_cast<int32_t>(per_iteration);
  model->average_output_ = average_output;
  model->trees_per_iteration_ = per_iteration;
  ModelInfo& info = model->info_;
  info.format = "lightgbm";
  info.runtime = "native";
  info.objective = objective.name;
  info.num_features = max_feature + 1;
  info.num_outputs = per_iteration;
  if (auto names = header.find("feature_names"); names != header.end()) {
    for (std::string_view name : Split(names->second, ' ')) info.feature_names.emplace_back(name);
    if (static_cast<int64_t>(info.feature_names.size()) != info.num_features) {
      return Malformed("feature_names has " + std::to_string(info.feature_names.size()) +
                       " names for " + std::to_string(info.num_features) + " features");
    }
  }

  for (size_t t = 0; t < num_trees; ++t) {
    const Section& tree = sections[t + 1];
    const std::string where = "tree " + std::to_string(t);
    if (auto linear = tree.find("is_linear"); linear != tree.end() && linear->second != "0") {
      return Unimplemented("LightGBM linear trees (linear_tree=true)");
    }
    int64_t num_leaves = 0, num_cat = 0;
    RETURN_IF_ERROR(ReadInt(tree, "num_leaves", where, &num_leaves));
    if (tree.contains("num_cat")) RETURN_IF_ERROR(ReadInt(tree, "num_cat", where, &num_cat));
    if (num_leaves < 1 || num_cat < 0) return Malformed(where + ": bad num_leaves or num_cat");
    const size_t inner = static_cast<size_t>(num_leaves - 1);
    std::vector<int64_t> feature, decision, left, right, boundaries, inner_count, leaf_count;
    std::vector<double> threshold, leaf_value;
    std::vector<uint32_t> bits;
    RETURN_IF_ERROR(ReadArray(tree, "leaf_value", num_leaves, where, &leaf_value));
    RETURN_IF_ERROR(ReadArray(tree, "split_feature", inner, where, &feature));
    RETURN_IF_ERROR(ReadArray(tree, "threshold", inner, where, &threshold));
    RETURN_IF_ERROR(ReadArray(tree, "decision_type", inner, where, &decision));
    RETURN_IF_ERROR(ReadArray(tree, "left_child", inner, where, &left));
    RETURN_IF_ERROR(ReadArray(tree, "right_child", inner, where, &right));
    // Data counts: TreeSHAP's covers (absent from hand-written models).
    if (tree.contains("leaf_count") && tree.contains("internal_count")) {
      RETURN_IF_ERROR(ReadArray(tree, "leaf_count", num_leaves, where, &leaf_count));
      RETURN_IF_ERROR(ReadArray(tree, "internal_count", inner, where, &inner_count));
    }
    if (num_cat > 0) {
      RETURN_IF_ERROR(ReadArray(tree, "cat_boundaries", num_cat + 1, where, &boundaries));
      auto words = tree.find("cat_threshold");
      if (words == tree.end()) return Malformed(where + " has no cat_threshold");
      for (std::string_view item : Split(words->second, ' ')) {
        uint32_t word;
        if (!ParseNumber(item, &word)) return Malformed(where + ": bad cat_threshold");
        bits.push_back(word);
      }
      for (size_t i = 0; i < boundaries.size(); ++i) {
        if (boundaries[i] < (i ? boundaries[i - 1] : 0) ||
            boundaries[i] > static_cast<int64_t>(bits.size())) {
          return Malformed(where + ": bad cat_boundaries");
        }
      }
    }

    // Inner node i is source node i; leaf j is source node inner + j (a
    // single-leaf tree is its leaf alone).
    std::vector<SourceNode> nodes(inner + num_leaves);
    auto child = [&](int64_t c) -> int64_t { return c < 0 ? static_cast<int64_t>(inner) + ~c : c; };
    for (size_t i = 0; i < inner; ++i) {
      SourceNode& node = nodes[i];
      const int64_t l = child(left[i]), r = child(right[i]);
      if (l <= 0 || r <= 0 || l >= static_cast<int64_t>(nodes.size()) ||
          r >= static_cast<int64_t>(nodes.size()) || feature[i] < 0 || feature[i] > max_feature) {
        return Malformed(where + " node " + std::to_string(i));
      }
      node.left = l;
      node.right = r;
      node.feature = static_cast<uint32_t>(feature[i]);
      node.default_left = decision[i] & kDefaultLeftBit;
      if (!inner_count.empty()) node.cover = static_cast<double>(inner_count[i]);
      const int missing = static_cast<int>((decision[i] >> 2) & 3);
      if (decision[i] & kCategoricalBit) {
        const double index = threshold[i];
        if (!(index >= 0 && index < static_cast<double>(num_cat))) {
          return Malformed(where + " node " + std::to_string(i) + ": bad category set");
        }
        const size_t c = static_cast<size_t>(index);
        node.kind = SourceNode::Kind::kCategorical;
        node.categories.assign(bits.begin() + boundaries[c], bits.begin() + boundaries[c + 1]);
        continue;
      }
      if (!std::isfinite(threshold[i])) {
        return Malformed(where + " node " + std::to_string(i) + ": threshold is not finite");
      }
      node.bound = LessBound(threshold[i]);
      if (missing == kMissingZero) {
        node.kind = SourceNode::Kind::kZeroMissing;
      } else if (missing == kMissingNone) {
        // NaN is read as zero.
        node.default_left = 0.0f < node.bound;
      } else if (missing != kMissingNaN) {
        return Malformed(where + " node " + std::to_string(i) + ": bad missing type");
      }
    }
    for (int64_t j = 0; j < num_leaves; ++j) {
      SourceNode& leaf = nodes[inner + j];
      leaf.leaf = leaf_value[j];
      leaf.leaf_id = static_cast<int32_t>(j);
      if (!leaf_count.empty()) leaf.cover = static_cast<double>(leaf_count[j]);
    }
    RETURN_IF_ERROR(
        model->AddTree(nodes, static_cast<int32_t>(t % per_iteration), info.num_features));
    // TreeSHAP's bias: LightGBM's Tree::ExpectedValue, leaves in their order.
    double expected = leaf_value[0];
    if (num_leaves > 1 && !leaf_count.empty()) {
      const double total = static_cast<double>(inner_count[0]);
      expected = 0;
      for (int64_t j = 0; j < num_leaves; ++j) {
        expected += (static_cast<double>(leaf_count[j]) / total) * leaf_value[j];
      }
    }
    model->tree_bias_.back() = expected;
  }
  model->FinishLayout();
  return model;
}

}  // namespace inferd::model
