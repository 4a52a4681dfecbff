// Loading one model version with the runtime its config asks for (Runtime in
// model_config.h). Every file is first loaded by libxgboost, which reads all of
// XGBoost's formats; the native engine is then built from libxgboost's JSON of
// it. With kAuto, a model the native engine cannot evaluate exactly stays on
// libxgboost and `fallback` says why, for the caller to log.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "model/model.h"
#include "model/model_config.h"
#include "model/source.h"

namespace inferd::model {

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::string fallback;  // why kAuto kept libxgboost; empty otherwise
};

// InvalidArgument for an unreadable model file; Unimplemented when kNative is
// asked for and the native engine cannot evaluate the model.
StatusOr<LoadedModel> LoadModel(const VersionFile& file, Runtime runtime);

}  // namespace inferd::model
