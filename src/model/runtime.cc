#include "model/runtime.h"

#include <fstream>
#include <sstream>

#include "model/tree_model.h"
#include "model/xgboost_model.h"

namespace inferd::model {
namespace {

StatusOr<std::string> ReadBytes(const VersionFile& file) {
  if (file.path.empty()) return file.bytes;
  std::ifstream in(file.path, std::ios::binary);
  if (!in) return InvalidArgument("cannot open " + file.path);
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

// LightGBM and ONNX models: the native engine only.
StatusOr<LoadedModel> LoadNativeOnly(const VersionFile& file, Runtime runtime) {
  const bool lightgbm = file.format == ModelFormat::kLightgbm;
  if (runtime == Runtime::kXgboost) {
    return InvalidArgument(std::string(lightgbm ? "a LightGBM" : "an ONNX") +
                           " model cannot run on libxgboost: runtime must be \"native\" or "
                           "\"auto\"");
  }
  ASSIGN_OR_RETURN(std::string bytes, ReadBytes(file));
  auto model = lightgbm ? TreeModel::FromLightgbmText(bytes) : TreeModel::FromOnnx(bytes);
  if (!model.ok()) {
    return Status(model.status().code(),
                  "the native runtime cannot serve this model: " + model.status().message());
  }
  return LoadedModel{std::move(model).value(), ""};
}

}  // namespace

StatusOr<LoadedModel> LoadModel(const VersionFile& file, Runtime runtime) {
  if (file.format == ModelFormat::kLightgbm || file.format == ModelFormat::kOnnx) {
    return LoadNativeOnly(file, runtime);
  }
  // libxgboost reads a file's format from its extension: a file named
  // otherwise goes through a temporary file named for its format.
  const std::string canonical = file.format == ModelFormat::kXgboostJson  ? "model.json"
                                : file.format == ModelFormat::kXgboostUbj ? "model.ubj"
                                                                          : "model.bin";
  StatusOr<std::unique_ptr<XgboostModel>> xgboost = InvalidArgument("not loaded");
  if (!file.path.empty() && file.filename == canonical) {
    xgboost = XgboostModel::Load(file.path);
  } else {
    ASSIGN_OR_RETURN(std::string bytes, ReadBytes(file));
    xgboost = XgboostModel::LoadBytes(bytes, canonical);
  }
  if (!xgboost.ok()) return xgboost.status();
  if (runtime == Runtime::kXgboost) return LoadedModel{std::move(xgboost).value(), ""};
  ASSIGN_OR_RETURN(std::string json, (*xgboost)->SaveJson());
  auto native = TreeModel::FromXgboostJson(json, (*xgboost)->info());
  if (native.ok()) return LoadedModel{std::move(native).value(), ""};
  if (runtime == Runtime::kNative || native.status().code() != StatusCode::kUnimplemented) {
    return Status(native.status().code(),
                  "the native runtime cannot serve this model: " + native.status().message());
  }
  return LoadedModel{std::move(xgboost).value(),
                     native.status().message() + " is not supported by the native runtime"};
}

}  // namespace inferd::model
