#include "model/tree_model.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

namespace inferd::model {
namespace {

namespace od = simdjson::ondemand;

constexpr uint32_t kDefaultLeft = 1u << 31;
// Batches walk eight rows in lockstep on models larger than this (L1d here);
// smaller ones walk two rows with early exits. Both measured in engine_bench.
constexpr size_t kLockstepModelBytes = 32 << 10;
constexpr uint32_t kLeaf = 1u << 30;
// The plain walk's limits (TreeModel::WalkNode): 16-bit features, right
// children at most this many nodes after their parent.
constexpr int64_t kWalkMaxFeatures = int64_t{1} << 16;
constexpr size_t kWalkMaxOffset = (size_t{1} << 16) - 2;
constexpr uint32_t kSpecial = 1u << 29;
constexpr uint32_t kCategorical = 1u << 28;
constexpr uint32_t kFeatureMask = kCategorical - 1;
static_assert(TreeModel::kMaxFeatures == kFeatureMask + 1);
// LightGBM's kZeroThreshold (a float constant): values this close to zero are zero.
constexpr float kZeroThreshold = 1e-35f;
constexpr float kTwoPow31 = 2147483648.0f;
// The deepest tree contributions are computed for (a path per level is kept,
// and the recursion goes one call per level).
constexpr int32_t kMaxShapDepth = 256;
// Rows a tree walks before the next tree: small enough that the block's rows
// and margins stay in L1 beside the tree.
constexpr int64_t kBlockRows = 64;
// The plain walk (AddTreesPlain): trees one row walks at once, and rows one
// tree walks at once, in lockstep for the tree's depth (bench/README.md).
constexpr size_t kPlainTrees = 8;
constexpr int64_t kPlainRows = 8;

bool IsLeafNode(const TreeModel::Node& n) { return n.feature & kLeaf; }

// One tree as libxgboost writes it (parallel arrays indexed by node id).
struct JsonTree {
  std::vector<int64_t> left, right, feature, split_type;
  std::vector<float> condition, sum_hessian;
  std::vector<bool> default_left;
  int64_t size_leaf_vector = 0;
};

Status Malformed(const std::string& what) {
  return InvalidArgument("malformed XGBoost JSON model: " + what);
}

// A float exactly as written: libxgboost prints the shortest text that reads
// back as the same float32, so parsing straight to float (not via double)
// recovers it bit for bit.
bool ParseFloat(std::string_view text, float* out) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
  if (!text.empty() && text.front() == '"') text = text.substr(1, text.size() - 2);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Reads a JSON array whose every element `read` turns into a T (false: bad).
template <typename T, typename Read>
Status ReadArray(od::value value, std::string_view what, std::vector<T>* out, Read read) {
  od::array array;
  if (value.get_array().get(array)) return Malformed("expected an array of " + std::string(what));
  for (auto item : array) {
    od::value v;
    T element;
    if (item.get(v) || !read(v, &element)) return Malformed("bad " + std::string(what));
    out->push_back(element);
  }
  return Status::Ok();
}

Status ReadFloats(od::value value, std::vector<float>* out) {
  return ReadArray(value, "numbers", out,
                   [](od::value& v, float* f) { return ParseFloat(v.raw_json_token(), f); });
}

Status ReadInts(od::value value, std::vector<int64_t>* out) {
  return ReadArray(value, "integers", out,
                   [](od::value& v, int64_t* i) { return !v.get_int64().get(*i); });
}

// Default directions: booleans in some XGBoost versions, 0/1 in others.
Status ReadBools(od::value value, std::vector<bool>* out) {
  std::vector<uint8_t> flags;
  RETURN_IF_ERROR(ReadArray(value, "flags", &flags, [](od::value& v, uint8_t* flag) {
    bool b;
    int64_t i;
    if (!v.get_bool().get(b)) {
      *flag = b;
    } else if (!v.get_int64().get(i)) {
      *flag = i != 0;
    } else {
      return false;
    }
    return true;
  }));
  out->assign(flags.begin(), flags.end());
  return Status::Ok();
}

// A number written as a JSON string ("5E-1", "3"), as learner_model_param does.
Status ReadStringNumber(od::value value, float* out) {
  std::string_view text;
  if (value.get_string().get(text) || !ParseFloat(text, out)) return Malformed("bad parameter");
  return Status::Ok();
}

// Calls fn(key, value) on each field of the JSON object `value`, in order, and
// stops at the first failure.
template <typename Fn>
Status ForEachField(od::value value, std::string_view what, Fn fn) {
  od::object object;
  if (value.get_object().get(object)) return Malformed(std::string(what) + " is not an object");
  for (auto field : object) {
    std::string_view key;
    od::value v;
    if (field.unescaped_key().get(key) || field.value().get(v)) {
      return Malformed("bad field in " + std::string(what));
    }
    RETURN_IF_ERROR(fn(key, v));
  }
  return Status::Ok();
}

Status ReadTree(od::value value, JsonTree* tree) {
  return ForEachField(value, "tree", [&](std::string_view key, od::value v) {
    if (key == "left_children") return ReadInts(v, &tree->left);
    if (key == "right_children") return ReadInts(v, &tree->right);
    if (key == "split_indices") return ReadInts(v, &tree->feature);
    if (key == "split_type") return ReadInts(v, &tree->split_type);
    if (key == "split_conditions") return ReadFloats(v, &tree->condition);
    if (key == "sum_hessian") return ReadFloats(v, &tree->sum_hessian);
    if (key == "default_left") return ReadBools(v, &tree->default_left);
    if (key == "tree_param") {
      std::string_view size;
      if (!v["size_leaf_vector"].get_string().get(size)) {
        tree->size_leaf_vector = std::atoll(std::string(size).c_str());
      }
    }
    return Status::Ok();
  });
}

struct JsonModel {
  std::string booster;
  std::string objective;
  float base_score = 0.5f;
  int64_t num_class = 0;
  int64_t num_feature = 0;
  int64_t num_parallel_tree = 1;
  std::vector<JsonTree> trees;
  std::vector<int64_t> tree_info;
};

Status ReadTrees(od::value value, std::vector<JsonTree>* trees) {
  od::array array;
  if (value.get_array().get(array)) return Malformed("trees is not an array");
  for (auto item : array) {
    od::value tree;
    if (item.get(tree)) return Malformed("bad tree");
    RETURN_IF_ERROR(ReadTree(tree, &trees->emplace_back()));
  }
  return Status::Ok();
}

Status ReadGradientBooster(od::value value, JsonModel* model) {
  return ForEachField(value, "gradient_booster", [&](std::string_view key, od::value v) {
    if (key == "name") {
      std::string_view name;
      if (v.get_string().get(name)) return Malformed("gradient_booster.name");
      model->booster = std::string(name);
    } else if (key == "model") {
      return ForEachField(v, "gradient_booster.model", [&](std::string_view k, od::value mv) {
        if (k == "trees") return ReadTrees(mv, &model->trees);
        if (k == "tree_info") return ReadInts(mv, &model->tree_info);
        if (k == "gbtree_model_param") {
          float trees = 1;
          od::value param;
          if (!mv["num_parallel_tree"].get(param)) RETURN_IF_ERROR(ReadStringNumber(param, &trees));
          model->num_parallel_tree = std::max<int64_t>(1, static_cast<int64_t>(trees));
        }
        return Status::Ok();
      });
    }
    return Status::Ok();
  });
}

Status ReadModelParams(od::value value, JsonModel* model) {
  return ForEachField(value, "learner_model_param", [&](std::string_view key, od::value v) {
    float number = 0;
    if (key == "base_score") return ReadStringNumber(v, &model->base_score);
    if (key == "num_class" || key == "num_feature" || key == "num_target") {
      RETURN_IF_ERROR(ReadStringNumber(v, &number));
    }
    if (key == "num_class") model->num_class = static_cast<int64_t>(number);
    if (key == "num_feature") model->num_feature = static_cast<int64_t>(number);
    if (key == "num_target" && number > 1) return Unimplemented("multi-target models");
    return Status::Ok();
  });
}

Status ReadModel(std::string_view json, JsonModel* model) {
  simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  od::value learner;
  if (parser.iterate(padded).get(doc)) return Malformed("not JSON");
  if (doc["learner"].get(learner)) return Malformed("no learner");
  return ForEachField(learner, "learner", [&](std::string_view key, od::value v) {
    if (key == "gradient_booster") return ReadGradientBooster(v, model);
    if (key == "learner_model_param") return ReadModelParams(v, model);
    if (key == "objective") {
      std::string_view name;
      if (v["name"].get_string().get(name)) return Malformed("objective.name");
      model->objective = std::string(name);
    }
    return Status::Ok();
  });
}

// libxgboost's ObjFunction::ProbToMargin and PredTransform, per objective.
Status ObjectiveOf(const JsonModel& m, TreeModel::Transform* transform, float* base_margin) {
  const std::string& o = m.objective;
  if (o == "binary:logistic" || o == "reg:logistic") {
    *transform = TreeModel::Transform::kSigmoid;
    *base_margin = -logf(1.0f / m.base_score - 1.0f);
  } else if (o == "binary:logitraw" || o == "reg:squarederror" || o == "reg:squaredlogerror" ||
             o == "reg:pseudohubererror" || o == "reg:absoluteerror") {
    *transform = TreeModel::Transform::kIdentity;
    *base_margin = m.base_score;
  } else if (o == "count:poisson" || o == "reg:gamma" || o == "reg:tweedie") {
    *transform = TreeModel::Transform::kExp;
    *base_margin = logf(m.base_score);
  } else if (o == "multi:softprob" || o == "multi:softmax") {
    *transform =
        o == "multi:softprob" ? TreeModel::Transform::kSoftmax : TreeModel::Transform::kArgmax;
    *base_margin = m.base_score;
  } else {
    return Unimplemented("objective " + o);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<TreeModel>> TreeModel::FromXgboostJson(std::string_view json,
                                                                ModelInfo info) {
  JsonModel m;
  RETURN_IF_ERROR(ReadModel(json, &m));
  if (m.booster != "gbtree") return Unimplemented("booster " + m.booster);
  if (m.trees.size() != m.tree_info.size()) return Malformed("tree_info does not match trees");
  if (m.num_feature != info.num_features) return Malformed("num_feature disagrees");
  std::unique_ptr<TreeModel> model(new TreeModel);
  RETURN_IF_ERROR(ObjectiveOf(m, &model->transform_, &model->base_margin_));
  model->num_groups_ = static_cast<int32_t>(std::max<int64_t>(1, m.num_class));
  model->trees_per_iteration_ = model->num_groups_ * m.num_parallel_tree;
  info.runtime = "native";
  model->info_ = std::move(info);

  for (size_t t = 0; t < m.trees.size(); ++t) {
    const JsonTree& tree = m.trees[t];
    const size_t n = tree.left.size();
    if (tree.size_leaf_vector > 1) return Unimplemented("vector leaves");
    if (n == 0 || tree.right.size() != n || tree.feature.size() != n ||
        tree.condition.size() != n || tree.default_left.size() != n) {
      return Malformed("tree " + std::to_string(t) + " has arrays of different lengths");
    }
    for (int64_t type : tree.split_type) {
      if (type != 0) return Unimplemented("categorical splits");
    }
    if (m.tree_info[t] < 0 || m.tree_info[t] >= model->num_groups_) {
      return Malformed("tree " + std::to_string(t) + " has a bad output group");
    }
    std::vector<SourceNode> nodes(n);
    for (size_t id = 0; id < n; ++id) {
      SourceNode& node = nodes[id];
      if (tree.left[id] == -1) {
        node.leaf = tree.condition[id];
        node.leaf_id = static_cast<int32_t>(id);
        continue;
      }
      if (tree.left[id] <= 0 || tree.right[id] <= 0 || tree.feature[id] < 0 ||
          tree.feature[id] >= m.num_feature) {
        return Malformed("tree " + std::to_string(t) + " node " + std::to_string(id));
      }
      node.left = tree.left[id];
      node.right = tree.right[id];
      node.feature = static_cast<uint32_t>(tree.feature[id]);
      node.bound = tree.condition[id];
      node.default_left = tree.default_left[id];
    }
    if (tree.sum_hessian.size() == n) {
      for (size_t id = 0; id < n; ++id) nodes[id].cover = tree.sum_hessian[id];
    }
    RETURN_IF_ERROR(model->AddTree(nodes, static_cast<int32_t>(m.tree_info[t]), m.num_feature));
  }
  model->FinishLayout();
  return model;
}

void TreeModel::FinishLayout() {
  lockstep_rows_ = nodes_.size() * sizeof(Node) > kLockstepModelBytes;
  // The plain walk's nodes, when every feature and child offset fits.
  bool fits = !general_ && leaf_width_ == 1 && info_.num_features > 0 &&
              info_.num_features <= kWalkMaxFeatures;
  for (size_t i = 0; fits && i < nodes_.size(); ++i) {
    fits = IsLeafNode(nodes_[i]) || nodes_[i].left + 1 - i <= kWalkMaxOffset;
  }
  if (fits) {
    walk_nodes_.resize(nodes_.size());
    if (in_double_) {
      walk_leaves_double_.resize(nodes_.size());
    } else {
      walk_leaves_float_.resize(nodes_.size());
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const Node& node = nodes_[i];
      if (IsLeafNode(node)) {
        walk_nodes_[i] = {std::numeric_limits<float>::quiet_NaN(), 0, 1};
        if (in_double_) {
          walk_leaves_double_[i] = leaves_[node.left].value;
        } else {
          walk_leaves_float_[i] = node.value;
        }
      } else {
        walk_nodes_[i] = {node.value, static_cast<uint16_t>(node.feature & kFeatureMask),
                          static_cast<uint16_t>(node.left + 1 - i)};
      }
    }
  }
  info_.num_groups = num_groups_;
  info_.num_trees = num_trees();
  info_.num_iterations = num_trees() / trees_per_iteration_;
}

Status TreeModel::AddTree(const std::vector<SourceNode>& tree, int32_t group,
                          int64_t num_features) {
  const size_t n = tree.size();
  const std::string name = "tree " + std::to_string(roots_.size());
  if (n == 0) return InvalidArgument(name + " is empty");
  if (group < 0 || group >= num_groups_) return InvalidArgument(name + " has a bad output group");
  const size_t root = nodes_.size();
  roots_.push_back(static_cast<uint32_t>(root));
  groups_.push_back(group);
  // Depth-first, children side by side: (source node, its slot in nodes_, depth).
  struct Visit {
    int64_t id;
    size_t slot;
    int32_t depth;
  };
  std::vector<Visit> stack = {{0, root, 0}};
  int32_t& tree_depth = depths_.emplace_back(0);
  nodes_.push_back({});
  covers_.push_back(0);
  size_t visited = 0;
  while (!stack.empty()) {
    auto [id, slot, depth] = stack.back();
    stack.pop_back();
    if (++visited > n) return InvalidArgument(name + " has a cycle");
    const SourceNode& source = tree[id];
    covers_[slot] = source.cover;
    max_depth_ = std::max(max_depth_, depth);
    tree_depth = std::max(tree_depth, depth);
    Node& node = nodes_[slot];
    if (source.left < 0) {
      node.value = static_cast<float>(source.leaf);
      node.feature = kLeaf;
      node.left = static_cast<uint32_t>(leaves_.size());
      leaves_.push_back({source.leaf, source.leaf_id});
      if (leaf_width_ > 1) {
        if (source.leaf_vector.size() != static_cast<size_t>(leaf_width_)) {
          return InvalidArgument(name + " has a leaf of " +
                                 std::to_string(source.leaf_vector.size()) + " values, not " +
                                 std::to_string(leaf_width_));
        }
        leaf_vectors_.insert(leaf_vectors_.end(), source.leaf_vector.begin(),
                             source.leaf_vector.end());
      }
      continue;
    }
    const int64_t l = source.left, r = source.right;
    if (l <= 0 || r <= 0 || static_cast<size_t>(l) >= n || static_cast<size_t>(r) >= n ||
        source.feature >= num_features || source.feature > kFeatureMask) {
      return InvalidArgument(name + " node " + std::to_string(id) + " is malformed");
    }
    uint32_t feature = source.feature | (source.default_left ? kDefaultLeft : 0);
    float value = source.bound;
    if (source.kind != SourceNode::Kind::kLess) {
      general_ = true;
      feature |= kSpecial;
    }
    if (source.kind == SourceNode::Kind::kCategorical) {
      feature |= kCategorical;
      value = std::bit_cast<float>(static_cast<uint32_t>(categories_.size()));
      categories_.push_back({static_cast<uint32_t>(bitsets_.size()),
                             static_cast<uint32_t>(source.categories.size())});
      bitsets_.insert(bitsets_.end(), source.categories.begin(), source.categories.end());
    }
    const uint32_t children = static_cast<uint32_t>(nodes_.size());
    node.value = value;
    node.feature = feature;
    node.left = children;
    nodes_.push_back({});  // invalidates `node`
    nodes_.push_back({});
    covers_.resize(nodes_.size());
    stack.push_back({r, children + 1, depth + 1});
    stack.push_back({l, children, depth + 1});
  }
  // Each node's mean output weighted by cover, in float as libxgboost's
  // FillNodeMeanValues: children sit after their parent, so a backward sweep
  // has them ready.
  means_.resize(nodes_.size());
  for (size_t slot = nodes_.size(); slot-- > root;) {
    const Node& node = nodes_[slot];
    if (node.feature & kLeaf) {
      means_[slot] = node.value;
      continue;
    }
    const size_t l = node.left, r = node.left + 1;
    float mean = means_[l] * static_cast<float>(covers_[l]);
    mean += means_[r] * static_cast<float>(covers_[r]);
    mean /= static_cast<float>(covers_[slot]);
    means_[slot] = mean;
  }
  tree_bias_.push_back(means_[root]);
  return Status::Ok();
}

namespace {

// What a step needs besides the node: the categorical bitsets.
struct Splits {
  const TreeModel::Node* nodes;
  const uint32_t* bitsets;
  const uint32_t* categories;  // (offset, words) pairs
};

// LightGBM's step at a special node: zero-as-missing (zero, that is within
// 1e-35 of it, and NaN take the default direction) or categorical (NaN,
// values at or below -1 and at or past 2^31 go right, as LightGBM's int cast
// sends them on x86; otherwise the truncated value's bit in the bitset).
inline bool SpecialLeft(const Splits& s, const TreeModel::Node* n, float x) {
  if (n->feature & kCategorical) {
    if (!(x > -1.0f) || !(x < kTwoPow31)) return false;
    const uint32_t category = static_cast<uint32_t>(static_cast<int32_t>(x));
    const uint32_t* c = s.categories + 2 * std::bit_cast<uint32_t>(n->value);
    const uint32_t word = category / 32;
    return word < c[1] && ((s.bitsets[c[0] + word] >> (category % 32)) & 1);
  }
  if (std::isnan(x) || std::fabs(x) <= kZeroThreshold) return n->feature & kDefaultLeft;
  return x < n->value;
}

using Walk = TreeWalk;

// One step down from inner node `n` for `row`. Missing (NaN) fails both
// comparisons: it goes left only by default.
template <Walk kWalk>
inline const TreeModel::Node* Step(const Splits& s, const TreeModel::Node* n, const float* row) {
  const float x = row[n->feature & kFeatureMask];
  if constexpr (kWalk == Walk::kNoMissing) return s.nodes + n->left + !(x < n->value);
  if constexpr (kWalk == Walk::kGeneral) {
    if (n->feature & kSpecial) return s.nodes + n->left + !SpecialLeft(s, n, x);
  }
  const bool left = (n->feature & kDefaultLeft) ? !(x >= n->value) : x < n->value;
  return s.nodes + n->left + !left;
}

// Whether any of `count` values is NaN (a missing value).
bool AnyMissing(const float* values, int64_t count) {
  bool missing = false;
  for (int64_t i = 0; i < count; ++i) missing |= std::isnan(values[i]);
  return missing;
}

inline bool IsLeaf(const TreeModel::Node* n) { return n->feature & kLeaf; }

// Walks K chains in lockstep, chain k from node n[k] with row[k], until each is
// at its leaf; a chain at its leaf stands still. K independent chains of loads
// are in flight at once, and no branch depends on one chain's depth.
template <Walk kWalk, size_t K>
void WalkTogether(const Splits& s, const TreeModel::Node* (&n)[K], const float* const (&row)[K]) {
  bool walking = true;
  while (walking) {
    walking = false;
    for (size_t k = 0; k < K; ++k) {
      const bool leaf = IsLeaf(n[k]);
      n[k] = leaf ? n[k] : Step<kWalk>(s, n[k], row[k]);
      walking |= !leaf;
    }
  }
}

}  // namespace

template <typename Acc, Walk kWalk>
void TreeModel::AddTrees(const float* rows, int64_t num_rows, size_t first_tree, size_t last_tree,
                         Acc* margins) const {
  const Node* nodes = nodes_.data();
  static_assert(sizeof(Categories) == 2 * sizeof(uint32_t));
  const Splits s{nodes, bitsets_.data(), reinterpret_cast<const uint32_t*>(categories_.data())};
  // A leaf's output: the node's float for XGBoost, the exact double for LightGBM.
  auto leaf = [this](const Node* n) -> Acc {
    if constexpr (std::is_same_v<Acc, float>) {
      return n->value;
    } else {
      return leaves_[n->left].value;
    }
  };
  const int64_t width = info_.num_features;
  size_t first = first_tree;
  if (num_rows == 1) {
    // One row: trees walk four at a time (deep trees live in L2, where each
    // level waits for the last: 500 trees of depth 8, 12.2 -> 6.7 us; demo
    // 644 -> 509 ns; eight at a time was slower on the demo model).
    constexpr size_t kTrees = 4;
    Acc sum = margins[0];
    const float* row[kTrees];
    std::fill(row, row + kTrees, rows);
    for (; first + kTrees <= last_tree; first += kTrees) {
      const Node* n[kTrees];
      for (size_t k = 0; k < kTrees; ++k) n[k] = nodes + roots_[first + k];
      WalkTogether<kWalk>(s, n, row);
      if (num_groups_ == 1) {
        // In a register: through memory each add waits for the last one's store.
        for (size_t k = 0; k < kTrees; ++k) sum += leaf(n[k]);
      } else {
        for (size_t k = 0; k < kTrees; ++k) margins[groups_[first + k]] += leaf(n[k]);
      }
    }
    if (num_groups_ == 1) margins[0] = sum;
  }
  for (size_t t = first; t < last_tree; ++t) {
    Acc* margin = margins + groups_[t];
    const Node* root = nodes + roots_[t];
    int64_t r = 0;
    if (lockstep_rows_) {
      // Eight rows in lockstep (500 trees of depth 8, 64 rows: 380 -> 257 us;
      // on the demo model, which fits L1, 25.5 -> 28.1 us, hence only here).
      constexpr int64_t kRows = 8;
      for (; r + kRows <= num_rows; r += kRows) {
        const Node* n[kRows];
        const float* row[kRows];
        for (int64_t k = 0; k < kRows; ++k) {
          n[k] = root;
          row[k] = rows + (r + k) * width;
        }
        WalkTogether<kWalk>(s, n, row);
        for (int64_t k = 0; k < kRows; ++k) margin[(r + k) * num_groups_] += leaf(n[k]);
      }
    } else {
      // Two rows walk together, each stopping at its own leaf: on trees that
      // fit L1 the branch predictor runs ahead of a plain walk.
      for (; r + 1 < num_rows; r += 2) {
        const float* row_a = rows + r * width;
        const float* row_b = row_a + width;
        const Node* a = root;
        const Node* b = root;
        while (!IsLeaf(a) && !IsLeaf(b)) {
          a = Step<kWalk>(s, a, row_a);
          b = Step<kWalk>(s, b, row_b);
        }
        while (!IsLeaf(a)) a = Step<kWalk>(s, a, row_a);
        while (!IsLeaf(b)) b = Step<kWalk>(s, b, row_b);
        margin[r * num_groups_] += leaf(a);
        margin[(r + 1) * num_groups_] += leaf(b);
      }
    }
    for (; r < num_rows; ++r) {
      const float* row = rows + r * width;
      const Node* n = root;
      while (!IsLeaf(n)) n = Step<kWalk>(s, n, row);
      margin[r * num_groups_] += leaf(n);
    }
  }
}

template <typename Acc>
void TreeModel::AddTreesPlain(const float* rows, int64_t num_rows, size_t first_tree,
                              size_t last_tree, Acc* margins) const {
  const WalkNode* nodes = walk_nodes_.data();
  const Acc* leaves;
  if constexpr (std::is_same_v<Acc, float>) {
    leaves = walk_leaves_float_.data();
  } else {
    leaves = walk_leaves_double_.data();
  }
  // From node i to its right child, less one when x < value or value is NaN
  // (a leaf: offset 1). On x86 comiss sets the carry flag for exactly those
  // and sbb subtracts it from the index: two instructions where the compiler
  // writes four (interleaved A/B: demo one row 406 -> 361 ns, 500 trees
  // 3.70 -> 3.39 us).
  auto step = [nodes](size_t i, const float* row) {
    const WalkNode& n = nodes[i];
    const float x = row[n.feature];
    size_t next = i + n.offset;
#if defined(__x86_64__)
    asm("comiss %[v], %[x]\n\tsbb $0, %[next]"
        : [next] "+r"(next)
        : [x] "x"(x), [v] "m"(n.value)
        : "cc");
#else
    next -= !(x >= n.value);
#endif
    return next;
  };
  const int64_t width = info_.num_features;
  size_t first = first_tree;
  if (num_rows == 1) {
    constexpr size_t kTrees = kPlainTrees;
    Acc sum = margins[0];
    for (; first + kTrees <= last_tree; first += kTrees) {
      size_t n[kTrees];
      int32_t depth = 0;
      for (size_t k = 0; k < kTrees; ++k) {
        n[k] = roots_[first + k];
        depth = std::max(depth, depths_[first + k]);
      }
      for (int32_t d = 0; d < depth; ++d) {
        for (size_t k = 0; k < kTrees; ++k) n[k] = step(n[k], rows);
      }
      if (num_groups_ == 1) {
        for (size_t k = 0; k < kTrees; ++k) sum += leaves[n[k]];
      } else {
        for (size_t k = 0; k < kTrees; ++k) margins[groups_[first + k]] += leaves[n[k]];
      }
    }
    if (num_groups_ == 1) margins[0] = sum;
  }
  for (size_t t = first; t < last_tree; ++t) {
    Acc* margin = margins + groups_[t];
    const size_t root = roots_[t];
    const int32_t depth = depths_[t];
    int64_t r = 0;
    constexpr int64_t kRows = kPlainRows;
    for (; r + kRows <= num_rows; r += kRows) {
      size_t n[kRows];
      for (int64_t k = 0; k < kRows; ++k) n[k] = root;
      for (int32_t d = 0; d < depth; ++d) {
        for (int64_t k = 0; k < kRows; ++k) n[k] = step(n[k], rows + (r + k) * width);
      }
      for (int64_t k = 0; k < kRows; ++k) margin[(r + k) * num_groups_] += leaves[n[k]];
    }
    for (; r < num_rows; ++r) {
      size_t n = root;
      for (int32_t d = 0; d < depth; ++d) n = step(n, rows + r * width);
      margin[r * num_groups_] += leaves[n];
    }
  }
}

template <Walk kWalk>
void TreeModel::AddVectorTrees(const float* rows, int64_t num_rows, size_t first_tree,
                               size_t last_tree, float* margins) const {
  const Splits s{nodes_.data(), bitsets_.data(),
                 reinterpret_cast<const uint32_t*>(categories_.data())};
  const int64_t width = info_.num_features;
  const int32_t groups = num_groups_;
  for (size_t t = first_tree; t < last_tree; ++t) {
    const Node* root = nodes_.data() + roots_[t];
    int64_t r = 0;
    if (lockstep_rows_) {
      // Eight rows in lockstep on models larger than L1, as AddTrees.
      constexpr int64_t kRows = 8;
      for (; r + kRows <= num_rows; r += kRows) {
        const Node* n[kRows];
        const float* row[kRows];
        for (int64_t k = 0; k < kRows; ++k) {
          n[k] = root;
          row[k] = rows + (r + k) * width;
        }
        WalkTogether<kWalk>(s, n, row);
        for (int64_t k = 0; k < kRows; ++k) {
          const float* v = leaf_vectors_.data() + size_t{n[k]->left} * groups;
          for (int32_t g = 0; g < groups; ++g) margins[(r + k) * groups + g] += v[g];
        }
      }
    }
    // Two rows at a time, each stopping at its own leaf (as AddTrees on small models).
    for (; r + 1 < num_rows; r += 2) {
      const float* row_a = rows + r * width;
      const float* row_b = row_a + width;
      const Node* a = root;
      const Node* b = root;
      while (!IsLeaf(a) && !IsLeaf(b)) {
        a = Step<kWalk>(s, a, row_a);
        b = Step<kWalk>(s, b, row_b);
      }
      while (!IsLeaf(a)) a = Step<kWalk>(s, a, row_a);
      while (!IsLeaf(b)) b = Step<kWalk>(s, b, row_b);
      const float* va = leaf_vectors_.data() + size_t{a->left} * groups;
      const float* vb = leaf_vectors_.data() + size_t{b->left} * groups;
      for (int32_t g = 0; g < groups; ++g) {
        margins[r * groups + g] += va[g];
        margins[(r + 1) * groups + g] += vb[g];
      }
    }
    for (; r < num_rows; ++r) {
      const float* row = rows + r * width;
      const Node* n = root;
      while (!IsLeaf(n)) n = Step<kWalk>(s, n, row);
      const float* v = leaf_vectors_.data() + size_t{n->left} * groups;
      for (int32_t g = 0; g < groups; ++g) margins[r * groups + g] += v[g];
    }
  }
}

// libxgboost's PredTransform, in float.
void TreeModel::TransformRow(float* row, float* dest, int64_t) const {
  const int64_t groups = num_groups_;
  // onnxruntime's ComputeLogistic.
  auto logistic = [](float x) {
    const float v = 1 / (1 + std::exp(-std::abs(x)));
    return x < 0 ? 1 - v : v;
  };
  switch (transform_) {
    case Transform::kOnnxLogistic:
      for (int64_t g = 0; g < groups; ++g) dest[g] = logistic(row[g]);
      break;
    case Transform::kOnnxSoftmax: {
      float wmax = -std::numeric_limits<float>::max();
      for (int64_t g = 0; g < groups; ++g) wmax = row[g] > wmax ? row[g] : wmax;
      float sum = 0;
      for (int64_t g = 0; g < groups; ++g) {
        dest[g] = std::exp(row[g] - wmax);
        sum += dest[g];
      }
      for (int64_t g = 0; g < groups; ++g) dest[g] /= sum;
      break;
    }
    case Transform::kOnnxBinaryComplement:
      dest[0] = 1.f - row[0];
      dest[1] = row[0];
      break;
    case Transform::kOnnxBinaryLogistic:
      dest[0] = logistic(-row[0]);
      dest[1] = logistic(row[0]);
      break;
    default:
      break;
  }
  switch (transform_) {
    case Transform::kIdentity:
    case Transform::kSignedSquare:
      std::copy(row, row + groups, dest);
      break;
    case Transform::kSigmoid:
      for (int64_t g = 0; g < groups; ++g) dest[g] = 1.0f / (1.0f + expf(-row[g]));
      break;
    case Transform::kExp:
      for (int64_t g = 0; g < groups; ++g) dest[g] = expf(row[g]);
      break;
    case Transform::kSoftmax: {
      float wmax = row[0];
      for (int64_t g = 1; g < groups; ++g) wmax = fmaxf(row[g], wmax);
      double wsum = 0;
      for (int64_t g = 0; g < groups; ++g) {
        dest[g] = expf(row[g] - wmax);
        wsum += dest[g];
      }
      for (int64_t g = 0; g < groups; ++g) dest[g] /= static_cast<float>(wsum);
      break;
    }
    case Transform::kArgmax:
      dest[0] = static_cast<float>(std::max_element(row, row + groups) - row);
      break;
    default:  // kOnnx*, above
      break;
  }
}

// LightGBM's GBDT::Predict after the sums: the random forest average, then the
// objective's ConvertOutput, in double; the result cast to float.
void TreeModel::TransformRow(double* row, float* dest, int64_t iterations) const {
  const int64_t groups = num_groups_;
  if (average_output_) {
    for (int64_t g = 0; g < groups; ++g) row[g] /= static_cast<double>(iterations);
  }
  switch (transform_) {
    case Transform::kIdentity:
    case Transform::kArgmax:
    default:
      break;
    case Transform::kSignedSquare:
      for (int64_t g = 0; g < groups; ++g) {
        const double sign = (row[g] > 0) - (row[g] < 0);
        row[g] = sign * row[g] * row[g];
      }
      break;
    case Transform::kSigmoid:
      for (int64_t g = 0; g < groups; ++g) row[g] = 1.0 / (1.0 + std::exp(-sigmoid_ * row[g]));
      break;
    case Transform::kExp:
      for (int64_t g = 0; g < groups; ++g) row[g] = std::exp(row[g]);
      break;
    case Transform::kSoftmax: {
      double wmax = row[0];
      for (int64_t g = 1; g < groups; ++g) wmax = std::max(row[g], wmax);
      double wsum = 0;
      for (int64_t g = 0; g < groups; ++g) {
        row[g] = std::exp(row[g] - wmax);
        wsum += row[g];
      }
      for (int64_t g = 0; g < groups; ++g) row[g] /= wsum;
      break;
    }
  }
  for (int64_t g = 0; g < groups; ++g) dest[g] = static_cast<float>(row[g]);
}

Status TreeModel::TreeRange(const PredictOptions& options, int64_t num_rows, size_t* first_tree,
                            size_t* last_tree) const {
  const int64_t iterations = info_.num_iterations;
  const int64_t begin = options.iteration_begin;
  const int64_t end = options.iteration_end == 0 ? iterations : options.iteration_end;
  if (begin < 0 || end > iterations || begin >= end) {
    return InvalidArgument("iteration_range [" + std::to_string(begin) + ", " +
                           std::to_string(options.iteration_end) +
                           ") must lie within the model's " + std::to_string(iterations) +
                           " rounds, begin before end (end 0: all)");
  }
  *first_tree = static_cast<size_t>(begin * trees_per_iteration_);
  *last_tree = static_cast<size_t>(end * trees_per_iteration_);
  const size_t margins = options.base_margin.size();
  if (margins == 0) return Status::Ok();
  if (in_double_) return InvalidArgument("base_margin is XGBoost's: a LightGBM model has none");
  if (margins != static_cast<size_t>(num_rows) * num_groups_) {
    return InvalidArgument("base_margin has " + std::to_string(margins) + " values for " +
                           std::to_string(num_rows) + " rows of " + std::to_string(num_groups_) +
                           " margins each");
  }
  return Status::Ok();
}

template <typename Acc>
Status TreeModel::PredictAs(const float* rows, int64_t num_rows, const PredictOptions& options,
                            std::vector<float>* out) const {
  const OutputKind kind = options.kind;
  const int64_t groups = num_groups_;
  const bool argmax = kind == OutputKind::kProbability && transform_ == Transform::kArgmax;
  if (kind == OutputKind::kMargin && transform_ == Transform::kArgmax) {
    return InvalidArgument("a multi:softmax model has no margin output; use multi:softprob");
  }
  size_t first_tree = 0, last_tree = roots_.size();
  if (!options.plain()) RETURN_IF_ERROR(TreeRange(options, num_rows, &first_tree, &last_tree));
  const int64_t iterations = static_cast<int64_t>(last_tree - first_tree) / trees_per_iteration_;
  const int64_t width = argmax                                                 ? 1
                        : kind == OutputKind::kMargin || outputs_per_row_ == 0 ? groups
                                                                               : outputs_per_row_;
  out->resize(static_cast<size_t>(num_rows * width));
  Acc margins[kBlockRows * 64];
  const int64_t block = groups <= 64 ? kBlockRows : 1;
  std::vector<Acc> wide;  // margins of one row for models of more than 64 classes
  Acc* m = margins;
  if (groups > 64) {
    wide.resize(static_cast<size_t>(groups));
    m = wide.data();
  }
  for (int64_t begin = 0; begin < num_rows; begin += block) {
    const int64_t n = std::min(block, num_rows - begin);
    if (options.base_margin.empty()) {
      std::fill(m, m + n * groups, static_cast<Acc>(base_margin_));
    } else {
      std::copy_n(options.base_margin.data() + begin * groups, n * groups, m);
    }
    const float* block = rows + begin * info_.num_features;
    const Walk walk = general_                                    ? Walk::kGeneral
                      : AnyMissing(block, n * info_.num_features) ? Walk::kMissing
                                                                  : Walk::kNoMissing;
    if (leaf_width_ > 1) {
      if constexpr (std::is_same_v<Acc, float>) {  // vector leaves: ONNX models, in float
        if (walk == Walk::kGeneral) {
          AddVectorTrees<Walk::kGeneral>(block, n, first_tree, last_tree, m);
        } else if (walk == Walk::kMissing) {
          AddVectorTrees<Walk::kMissing>(block, n, first_tree, last_tree, m);
        } else {
          AddVectorTrees<Walk::kNoMissing>(block, n, first_tree, last_tree, m);
        }
      }
    } else if (walk == Walk::kGeneral) {
      AddTrees<Acc, Walk::kGeneral>(block, n, first_tree, last_tree, m);
    } else if (walk == Walk::kMissing) {
      AddTrees<Acc, Walk::kMissing>(block, n, first_tree, last_tree, m);
    } else if (!walk_nodes_.empty()) {
      AddTreesPlain<Acc>(block, n, first_tree, last_tree, m);
    } else {
      AddTrees<Acc, Walk::kNoMissing>(block, n, first_tree, last_tree, m);
    }
    for (int64_t r = 0; r < n; ++r) {
      Acc* row = m + r * groups;
      float* dest = out->data() + (begin + r) * width;
      if (onnx_) {
        // onnxruntime's aggregator: the average over trees, then the base values.
        for (int64_t g = 0; g < groups; ++g) {
          if (onnx_average_trees_ > 0) row[g] /= static_cast<Acc>(onnx_average_trees_);
          if (!onnx_base_values_.empty()) row[g] += onnx_base_values_[g];
        }
      }
      if (kind == OutputKind::kMargin) {
        for (int64_t g = 0; g < groups; ++g) dest[g] = static_cast<float>(row[g]);
      } else {
        TransformRow(row, dest, iterations);
      }
    }
  }
  return Status::Ok();
}

Status TreeModel::Predict(const float* rows, int64_t num_rows, OutputKind kind,
                          std::vector<float>* out) const {
  return PredictWith(rows, num_rows, PredictOptions{.kind = kind}, out);
}

Status TreeModel::PredictWith(const float* rows, int64_t num_rows, const PredictOptions& options,
                              std::vector<float>* out) const {
  return in_double_ ? PredictAs<double>(rows, num_rows, options, out)
                    : PredictAs<float>(rows, num_rows, options, out);
}

Status TreeModel::Leaves(const float* rows, int64_t num_rows, const PredictOptions& options,
                         std::vector<int32_t>* out) const {
  size_t first_tree = 0, last_tree = 0;
  RETURN_IF_ERROR(TreeRange(options, num_rows, &first_tree, &last_tree));
  const size_t trees = last_tree - first_tree;
  out->resize(static_cast<size_t>(num_rows) * trees);
  const Splits s{nodes_.data(), bitsets_.data(),
                 reinterpret_cast<const uint32_t*>(categories_.data())};
  for (int64_t r = 0; r < num_rows; ++r) {
    const float* row = rows + r * info_.num_features;
    int32_t* dest = out->data() + r * trees;
    for (size_t t = first_tree; t < last_tree; ++t) {
      const Node* n = nodes_.data() + roots_[t];
      while (!IsLeaf(n)) n = Step<Walk::kGeneral>(s, n, row);
      dest[t - first_tree] = leaves_[n->left].id;
    }
  }
  return Status::Ok();
}

namespace {

// Path-dependent TreeSHAP (Lundberg et al., arXiv:1802.03888) as libxgboost
// (RegTree::TreeShap, in float) and LightGBM (Tree::TreeSHAP, in double) write
// it: the same operations in the same order, in T.
template <typename T>
struct PathElement {
  int feature;
  T zero;
  T one;
  T pweight;
};

template <typename T>
void ExtendPath(PathElement<T>* path, unsigned depth, T zero, T one, int feature) {
  path[depth] = {feature, zero, one, depth == 0 ? T(1) : T(0)};
  for (int i = static_cast<int>(depth) - 1; i >= 0; i--) {
    path[i + 1].pweight += one * path[i].pweight * (i + 1) / static_cast<T>(depth + 1);
    path[i].pweight = zero * path[i].pweight * (depth - i) / static_cast<T>(depth + 1);
  }
}

template <typename T>
void UnwindPath(PathElement<T>* path, unsigned depth, unsigned path_index) {
  const T one = path[path_index].one;
  const T zero = path[path_index].zero;
  T next_one_portion = path[depth].pweight;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    if (one != 0) {
      const T tmp = path[i].pweight;
      path[i].pweight = next_one_portion * (depth + 1) / static_cast<T>((i + 1) * one);
      next_one_portion = tmp - path[i].pweight * zero * (depth - i) / static_cast<T>(depth + 1);
    } else {
      path[i].pweight = (path[i].pweight * (depth + 1)) / static_cast<T>(zero * (depth - i));
    }
  }
  for (unsigned i = path_index; i < depth; ++i) {
    path[i].feature = path[i + 1].feature;
    path[i].zero = path[i + 1].zero;
    path[i].one = path[i + 1].one;
  }
}

template <typename T>
T UnwoundPathSum(const PathElement<T>* path, unsigned depth, unsigned path_index) {
  const T one = path[path_index].one;
  const T zero = path[path_index].zero;
  T next_one_portion = path[depth].pweight;
  T total = 0;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    if (one != 0) {
      const T tmp = next_one_portion * (depth + 1) / static_cast<T>((i + 1) * one);
      total += tmp;
      next_one_portion = path[i].pweight - tmp * zero * ((depth - i) / static_cast<T>(depth + 1));
    } else if (zero != 0) {
      total += (path[i].pweight / zero) / ((depth - i) / static_cast<T>(depth + 1));
    }
  }
  return total;
}

template <typename T>
struct Shap {
  const Splits& s;
  const std::vector<double>& covers;
  const TreeModel::Leaf* leaves;
  const float* row;
  T* phi;

  void Recurse(const TreeModel::Node* n, unsigned depth, PathElement<T>* parent_path, T zero, T one,
               int feature) const {
    PathElement<T>* path = parent_path + depth + 1;
    std::copy(parent_path, parent_path + depth + 1, path);
    ExtendPath(path, depth, zero, one, feature);
    if (IsLeaf(n)) {
      // The leaf's output: the node's float for XGBoost, the double for LightGBM.
      T value;
      if constexpr (std::is_same_v<T, float>) {
        value = n->value;
      } else {
        value = leaves[n->left].value;
      }
      for (unsigned i = 1; i <= depth; ++i) {
        const T w = UnwoundPathSum(path, depth, i);
        const PathElement<T>& el = path[i];
        phi[el.feature] += w * (el.one - el.zero) * value;
      }
      return;
    }
    const TreeModel::Node* hot = Step<Walk::kGeneral>(s, n, row);
    const TreeModel::Node* left = s.nodes + n->left;
    const TreeModel::Node* cold = hot == left ? left + 1 : left;
    const T w = static_cast<T>(covers[n - s.nodes]);
    const T hot_zero = static_cast<T>(covers[hot - s.nodes]) / w;
    const T cold_zero = static_cast<T>(covers[cold - s.nodes]) / w;
    T incoming_zero = 1, incoming_one = 1;
    const int split = static_cast<int>(n->feature & kFeatureMask);
    // A feature split on before is unwound, to be redone here.
    unsigned path_index = 0;
    for (; path_index <= depth; ++path_index) {
      if (path[path_index].feature == split) break;
    }
    if (path_index != depth + 1) {
      incoming_zero = path[path_index].zero;
      incoming_one = path[path_index].one;
      UnwindPath(path, depth, path_index);
      depth -= 1;
    }
    Recurse(hot, depth + 1, path, hot_zero * incoming_zero, incoming_one, split);
    Recurse(cold, depth + 1, path, cold_zero * incoming_zero, 0, split);
  }
};

}  // namespace

template <typename T>
void TreeModel::ContributionsOfRows(const float* rows, int64_t num_rows, size_t first_tree,
                                    size_t last_tree, std::span<const float> base_margin,
                                    float* out) const {
  const int64_t width = info_.num_features + 1;
  const int64_t row_width = num_groups_ * width;
  const Splits s{nodes_.data(), bitsets_.data(),
                 reinterpret_cast<const uint32_t*>(categories_.data())};
  Shap<T> shap{s, covers_, leaves_.data(), nullptr, nullptr};
  const size_t levels = static_cast<size_t>(max_depth_) + 2;
  std::vector<PathElement<T>> paths((levels + 1) * (levels + 2) / 2);
  std::vector<T> tree_phi(width);
  std::vector<T> row_phi(row_width);
  for (int64_t r = 0; r < num_rows; ++r) {
    shap.row = rows + r * info_.num_features;
    // libxgboost sums into the float output itself; LightGBM in double.
    T* phi = std::is_same_v<T, float> ? reinterpret_cast<T*>(out + r * row_width) : row_phi.data();
    std::fill(phi, phi + row_width, T(0));
    for (size_t t = first_tree; t < last_tree; ++t) {
      T* group_phi = phi + groups_[t] * width;
      if constexpr (std::is_same_v<T, float>) {
        // libxgboost: each tree into a zeroed buffer, its mean output as bias,
        // then added to the row's.
        std::fill(tree_phi.begin(), tree_phi.end(), T(0));
        tree_phi[width - 1] += static_cast<T>(tree_bias_[t]);
        shap.phi = tree_phi.data();
        shap.Recurse(nodes_.data() + roots_[t], 0, paths.data(), 1, 1, -1);
        for (int64_t c = 0; c < width; ++c) group_phi[c] += tree_phi[c];
      } else {
        // LightGBM: straight into the row's, the tree's expected value first.
        group_phi[width - 1] += tree_bias_[t];
        if (IsLeaf(nodes_.data() + roots_[t])) continue;
        shap.phi = group_phi;
        shap.Recurse(nodes_.data() + roots_[t], 0, paths.data(), 1, 1, -1);
      }
    }
    if constexpr (std::is_same_v<T, float>) {
      for (int32_t g = 0; g < num_groups_; ++g) {
        phi[g * width + width - 1] +=
            base_margin.empty() ? base_margin_ : base_margin[r * num_groups_ + g];
      }
    } else {
      for (int64_t c = 0; c < row_width; ++c) out[r * row_width + c] = static_cast<float>(phi[c]);
    }
  }
}

Status TreeModel::Contributions(const float* rows, int64_t num_rows, const PredictOptions& options,
                                std::vector<float>* out) const {
  size_t first_tree = 0, last_tree = 0;
  RETURN_IF_ERROR(TreeRange(options, num_rows, &first_tree, &last_tree));
  // TreeSHAP recurses once per level and keeps a path per level: a degenerate
  // tree (a chain of splits) would exhaust the stack.
  if (max_depth_ > kMaxShapDepth) {
    return Unimplemented("contributions of trees deeper than " + std::to_string(kMaxShapDepth) +
                         " levels (this model has " + std::to_string(max_depth_) + ")");
  }
  for (uint32_t root : roots_) {
    if (!(covers_[root] > 0)) {
      return Unimplemented(
          "contributions: the model file has no node covers (XGBoost's "
          "sum_hessian, LightGBM's counts)");
    }
  }
  out->resize(static_cast<size_t>(num_rows * (info_.num_features + 1) * num_groups_));
  if (in_double_) {
    ContributionsOfRows<double>(rows, num_rows, first_tree, last_tree, {}, out->data());
  } else {
    ContributionsOfRows<float>(rows, num_rows, first_tree, last_tree, options.base_margin,
                               out->data());
  }
  return Status::Ok();
}

}  // namespace inferd::model
