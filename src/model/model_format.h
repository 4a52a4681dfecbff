// Model file formats: which one a file is (by its name, a declared config
// "format", or an MLflow model folder's MLmodel file), and how each is named.
//
//   xgboost_json    XGBoost JSON (model.json)
//   xgboost_ubj     XGBoost UBJSON (model.ubj)
//   xgboost         XGBoost's legacy binary format (Triton FIL's xgboost.model)
//   lightgbm        LightGBM's text model (model.txt; MLflow's model.lgb)
//   onnx            an ONNX tree ensemble (model.onnx)
//
// An MLflow model folder (what mlflow.<flavor>.log_model leaves) is read from
// its MLmodel file: the xgboost and lightgbm flavors name a data file inferd
// serves; others are refused with what to do instead (a scikit-learn pickle is
// Python code, not a model format). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace inferd::model {

enum class ModelFormat { kXgboostJson, kXgboostUbj, kXgboostBinary, kLightgbm, kOnnx };

// The config.json name: "xgboost_json", "xgboost_ubj", "xgboost", "lightgbm"
// (Triton FIL's model_type names), "onnx".
const char* FormatName(ModelFormat format);
// The library that wrote it, as V2 metadata's `platform`: "xgboost", "lightgbm", "onnx".
const char* PlatformOf(ModelFormat format);
// A config.json "format". InvalidArgument naming the known ones otherwise.
StatusOr<ModelFormat> ParseFormatName(std::string_view name);

// The format a file's name says: .json, .ubj, .txt and .lgb (LightGBM), and
// XGBoost's other extensions (.xgb, .model, .bin, .deprecated), whose bytes say
// which XGBoost format they hold (`head`: the file's first bytes, at least 2).
// nullopt for names of no known format.
std::optional<ModelFormat> FormatOfFile(std::string_view filename, std::string_view head);

// The model file an MLflow model folder serves, from its MLmodel text.
struct MlflowModel {
  std::string flavor;  // "xgboost", "lightgbm" or "onnx"
  std::string data;    // the data file's path inside the folder
};
// InvalidArgument when the folder holds no flavor inferd serves, saying what to
// do instead (scikit-learn pickles: export to ONNX; LightGBM's scikit-learn
// wrappers: log the booster).
StatusOr<MlflowModel> ReadMlmodel(std::string_view mlmodel);

}  // namespace inferd::model
