#include "model/runtime.h"

#include "model/tree_model.h"
#include "model/xgboost_model.h"

namespace inferd::model {

StatusOr<LoadedModel> LoadModel(const VersionFile& file, Runtime runtime) {
  auto xgboost = file.path.empty() ? XgboostModel::LoadBytes(file.bytes, file.filename)
                                   : XgboostModel::Load(file.path);
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
