// DirectorySource: models from a Triton-style folder.
//
//   ROOT/<model>/config.json           optional, see model_config.h
//   ROOT/<model>/<version>/model.json  XGBoost JSON   (or model.ubj, UBJSON;
//                                      or model.txt, a LightGBM text model; or,
//                                      when config.json declares a format, the
//                                      folder's one file, whatever its name)
//
// Version folders are positive integers; every one with a model file is
// offered, and the highest is the default. Thread-safe (reads only).
#pragma once

#include <string>

#include "model/source.h"

namespace inferd::model {

class DirectorySource final : public ModelSource {
 public:
  explicit DirectorySource(std::string root) : root_(std::move(root)) {}

  StatusOr<std::vector<std::string>> ListModels() override;
  StatusOr<ModelSpec> ReadModel(const std::string& name) override;
  // Names, sizes and modification times of the model's files.
  StatusOr<std::string> Fingerprint(const std::string& name) override;

 private:
  std::string root_;
};

}  // namespace inferd::model
