// Loading one model version with the runtime its config asks for (Runtime in
// model_config.h), in the file's format (VersionFile::format). An XGBoost file is
// first loaded by libxgboost, which reads all of XGBoost's formats; the native
// engine is then built from libxgboost's JSON of it. With kAuto, a model the
// native engine cannot evaluate exactly stays on libxgboost and `fallback` says
// why, for the caller to log. A LightGBM model runs on the native engine only.
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

// InvalidArgument for an unreadable model file (or a LightGBM one with
// kXgboost); Unimplemented when the native engine is needed (kNative, or a
// LightGBM model) and cannot evaluate the model, naming what it lacks.
StatusOr<LoadedModel> LoadModel(const VersionFile& file, Runtime runtime);

}  // namespace inferd::model
