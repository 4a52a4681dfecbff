#include "model/xgboost_model.h"

#include <xgboost/c_api.h>

#include <cstdint>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cerrno>

#include <unistd.h>
#include <simdjson.h>

#include <fstream>
#include <iterator>

#include "model/ubjson_check.h"

namespace inferd::model {
namespace {

Status XgbError(const std::string& what) {
  return InvalidArgument(what + ": " + XGBGetLastError());
}

// In-place prediction configuration; libxgboost 1.7 requires cache_id.
constexpr char kPredictValueConfig[] =
    R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": false, "missing": NaN, "cache_id": 0})";
constexpr char kPredictMarginConfig[] =
    R"({"type": 1, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": false, "missing": NaN, "cache_id": 0})";

// libxgboost's error without the stack trace it appends.
std::string FirstLine(const char* error) {
  std::string line(error);
  return line.substr(0, line.find('\n'));
}

}  // namespace

StatusOr<std::unique_ptr<XgboostModel>> XgboostModel::Load(const std::string& path) {
  if (path.ends_with(".ubj")) {
    // libxgboost trusts the lengths in a UBJSON file (ubjson_check.h).
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) return InvalidArgument("cannot read XGBoost model '" + path + "'");
    if (Status st = CheckUbjson(bytes); !st.ok()) {
      return InvalidArgument("cannot load XGBoost model '" + path + "': " + st.message());
    }
  }
  BoosterHandle handle = nullptr;
  if (XGBoosterCreate(nullptr, 0, &handle) != 0) return Internal(XGBGetLastError());
  std::unique_ptr<XgboostModel> model(new XgboostModel(handle));
  if (XGBoosterLoadModel(handle, path.c_str()) != 0) {
    return XgbError("cannot load XGBoost model '" + path + "'");
  }
  if (XGBoosterSetParam(handle, "nthread", "1") != 0) return XgbError("nthread");
  RETURN_IF_ERROR(model->ReadInfo());
  return model;
}

StatusOr<std::unique_ptr<XgboostModel>> XgboostModel::LoadBytes(std::string_view bytes,
                                                                std::string_view filename) {
  std::string_view suffix = filename.ends_with(".ubj")    ? ".ubj"
                            : filename.ends_with(".json") ? ".json"
                                                          : ".bin";
  const char* tmpdir = std::getenv("TMPDIR");
  std::string path = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/inferd-model-XXXXXX" +
                     std::string(suffix);
  int fd = mkstemps(path.data(), static_cast<int>(suffix.size()));
  if (fd < 0) return Unavailable("cannot create a temporary file " + path + ": " + strerror(errno));
  bool written = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  auto model = written ? Load(path) : Unavailable("cannot write the temporary file " + path);
  ::unlink(path.c_str());
  return model;
}

XgboostModel::~XgboostModel() { XGBoosterFree(booster_); }

StatusOr<std::string> XgboostModel::SaveJson() const {
  bst_ulong length = 0;
  const char* bytes = nullptr;
  if (XGBoosterSaveModelToBuffer(booster_, R"({"format": "json"})", &length, &bytes) != 0) {
    return XgbError("cannot serialize the model");
  }
  return std::string(bytes, length);
}

Status XgboostModel::ReadInfo() {
  info_.format = "xgboost";
  info_.runtime = "xgboost";
  bst_ulong num_features = 0;
  if (XGBoosterGetNumFeature(booster_, &num_features) != 0) return XgbError("num_feature");
  info_.num_features = static_cast<int64_t>(num_features);

  bst_ulong names_len = 0;
  const char** names = nullptr;
  if (XGBoosterGetStrFeatureInfo(booster_, "feature_name", &names_len, &names) != 0) {
    return XgbError("feature_name");
  }
  info_.feature_names.assign(names, names + names_len);

  bst_ulong config_len = 0;
  const char* config = nullptr;
  if (XGBoosterSaveJsonConfig(booster_, &config_len, &config) != 0) return XgbError("config");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(config, config_len).get(doc) != simdjson::SUCCESS) {
    return Internal("libxgboost returned an unparsable configuration");
  }
  std::string_view objective, num_class;
  if (doc["learner"]["objective"]["name"].get(objective) != simdjson::SUCCESS ||
      doc["learner"]["learner_model_param"]["num_class"].get(num_class) !=
          simdjson::SUCCESS) {
    return Internal("libxgboost configuration lacks objective or num_class");
  }
  info_.objective = std::string(objective);
  std::string_view booster;
  if (doc["learner"]["gradient_booster"]["name"].get(booster) == simdjson::SUCCESS) {
    inplace_ = booster != "gblinear";
  }
  int64_t classes = std::atoll(std::string(num_class).c_str());
  // multi:softmax yields one label per row; multi:softprob one value per class.
  info_.num_outputs = (classes > 1 && info_.objective != "multi:softmax") ? classes : 1;
  // Per-tree outputs for tree boosters (gbtree, dart): rounds x groups x parallel trees.
  int rounds = 0;
  if (inplace_ && XGBoosterBoostedRounds(booster_, &rounds) == 0 && rounds > 0) {
    std::string_view parallel;
    auto gbtree = doc["learner"]["gradient_booster"];
    if (booster == "dart") gbtree = gbtree["gbtree"];
    int64_t trees_per_round = 1;
    if (gbtree["gbtree_model_param"]["num_parallel_tree"].get(parallel) == simdjson::SUCCESS) {
      trees_per_round = std::max<int64_t>(1, std::atoll(std::string(parallel).c_str()));
    }
    info_.num_groups = std::max<int64_t>(1, classes);
    info_.num_iterations = rounds;
    info_.num_trees = rounds * info_.num_groups * trees_per_round;
  }
  return Status::Ok();
}

StatusOr<std::vector<float>> XgboostModel::PredictFromDMatrix(const float* rows, int64_t num_rows,
                                                              int type,
                                                              const PredictOptions& options,
                                                              size_t per_row) const {
  if (info_.num_trees > 0) {
    const int64_t end = options.iteration_end == 0 ? info_.num_iterations : options.iteration_end;
    if (options.iteration_begin < 0 || end > info_.num_iterations ||
        options.iteration_begin >= end) {
      return InvalidArgument(
          "iteration_range [" + std::to_string(options.iteration_begin) + ", " +
          std::to_string(options.iteration_end) + ") must lie within the model's " +
          std::to_string(info_.num_iterations) + " rounds, begin before end (end 0: all)");
    }
  }
  if ((type == 2 || type == 6) && options.iteration_begin > 0) {
    return InvalidArgument(
        "libxgboost computes contributions and leaves from round 0 only: on "
        "the xgboost runtime iteration_range must start at 0");
  }
  const size_t groups = static_cast<size_t>(std::max<int64_t>(1, info_.num_groups));
  if (!options.base_margin.empty() && options.base_margin.size() != num_rows * groups) {
    return InvalidArgument("base_margin has " + std::to_string(options.base_margin.size()) +
                           " values for " + std::to_string(num_rows) + " rows of " +
                           std::to_string(groups) + " margins each");
  }
  std::lock_guard<std::mutex> lock(dmatrix_mutex_);
  DMatrixHandle handle = nullptr;
  if (XGDMatrixCreateFromMat(rows, static_cast<bst_ulong>(num_rows),
                             static_cast<bst_ulong>(info_.num_features),
                             std::numeric_limits<float>::quiet_NaN(), &handle) != 0) {
    // libxgboost refuses infinities in a DMatrix.
    return InvalidArgument("libxgboost refuses the rows: " + FirstLine(XGBGetLastError()));
  }
  std::unique_ptr<void, int (*)(DMatrixHandle)> dmatrix(handle, XGDMatrixFree);
  if (!options.base_margin.empty() &&
      XGDMatrixSetFloatInfo(handle, "base_margin", options.base_margin.data(),
                            options.base_margin.size()) != 0) {
    return XgbError("base_margin");
  }
  const std::string config =
      "{\"type\": " + std::to_string(type) +
      ", \"training\": false, \"iteration_begin\": " + std::to_string(options.iteration_begin) +
      ", \"iteration_end\": " + std::to_string(options.iteration_end) +
      ", \"strict_shape\": false}";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDMatrix(booster_, handle, config.c_str(), &shape, &dims, &result) != 0) {
    return InvalidArgument("libxgboost prediction failed: " + FirstLine(XGBGetLastError()));
  }
  size_t total = 1;
  for (bst_ulong i = 0; i < dims; ++i) total *= shape[i];
  if (per_row > 0 && total != static_cast<size_t>(num_rows) * per_row) {
    return Internal("libxgboost returned " + std::to_string(total) + " values for " +
                    std::to_string(num_rows) + " rows");
  }
  return std::vector<float>(result, result + total);
}

Status XgboostModel::PredictWith(const float* rows, int64_t num_rows, const PredictOptions& options,
                                 std::vector<float>* out) const {
  if (options.plain()) return Predict(rows, num_rows, options.kind, out);
  ASSIGN_OR_RETURN(
      *out, PredictFromDMatrix(rows, num_rows, options.kind == OutputKind::kMargin ? 1 : 0, options,
                               static_cast<size_t>(info_.num_outputs)));
  return Status::Ok();
}

Status XgboostModel::Contributions(const float* rows, int64_t num_rows,
                                   const PredictOptions& options, std::vector<float>* out) const {
  const size_t per_row =
      static_cast<size_t>(std::max<int64_t>(1, info_.num_groups) * (info_.num_features + 1));
  ASSIGN_OR_RETURN(*out, PredictFromDMatrix(rows, num_rows, 2, options, per_row));
  return Status::Ok();
}

Status XgboostModel::Leaves(const float* rows, int64_t num_rows, const PredictOptions& options,
                            std::vector<int32_t>* out) const {
  ASSIGN_OR_RETURN(std::vector<float> leaves, PredictFromDMatrix(rows, num_rows, 6, options, 0));
  out->assign(leaves.begin(), leaves.end());
  return Status::Ok();
}

Status XgboostModel::Predict(const float* rows, int64_t num_rows, OutputKind kind,
                             std::vector<float>* out) const {
  if (num_rows == 0) {
    out->clear();
    return Status::Ok();
  }
  char array_interface[160];
  std::snprintf(array_interface, sizeof(array_interface),
                R"({"data": [%llu, true], "shape": [%lld, %lld], "typestr": "<f4", "version": 3})",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(rows)),
                static_cast<long long>(num_rows), static_cast<long long>(info_.num_features));
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  const char* config = kind == OutputKind::kMargin ? kPredictMarginConfig : kPredictValueConfig;
  std::unique_lock<std::mutex> dmatrix_lock;
  DMatrixHandle handle = nullptr;
  // Frees the DMatrix on every way out, after `result` has been copied.
  std::unique_ptr<void, int (*)(DMatrixHandle)> dmatrix(nullptr, XGDMatrixFree);
  int failed;
  if (inplace_) {
    failed = XGBoosterPredictFromDense(booster_, array_interface, config, nullptr, &shape, &dim,
                                       &result);
  } else {
    dmatrix_lock = std::unique_lock<std::mutex>(dmatrix_mutex_);
    failed = XGDMatrixCreateFromMat(rows, static_cast<bst_ulong>(num_rows),
                                    static_cast<bst_ulong>(info_.num_features),
                                    std::numeric_limits<float>::quiet_NaN(), &handle);
    dmatrix.reset(handle);
    failed = failed || XGBoosterPredictFromDMatrix(booster_, handle, config, &shape, &dim, &result);
  }
  if (failed) return Internal(std::string("libxgboost prediction failed: ") + XGBGetLastError());
  size_t total = 1;
  for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
  if (total != static_cast<size_t>(num_rows * info_.num_outputs)) {
    return Internal("libxgboost returned " + std::to_string(total) + " values for " +
                    std::to_string(num_rows) + " rows");
  }
  out->assign(result, result + total);
  return Status::Ok();
}

}  // namespace inferd::model
