// ModelSource: where the model repository learns which models and versions to
// serve, and reads their files (TensorFlow Serving's "source" role). The
// repository (repository.h) decides when to load; a source only describes.
//
//   DirectorySource  a Triton-style folder (directory_source.h)
//   RegistrySource   the model registry in the store (registry/registry_source.h)
//
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/model_config.h"
#include "model/model_format.h"

namespace inferd::model {

struct VersionFile {
  int64_t version = 0;
  std::string filename;  // the file's own name (model.json, model.txt, xgboost.model, ...)
  ModelFormat format = ModelFormat::kXgboostJson;
  std::string path;      // a file to load, or
  std::string bytes;     // the model itself, when `path` is empty
};

struct ModelSpec {
  ModelConfig config;
  std::vector<VersionFile> versions;
  std::optional<int64_t> default_version;  // unset: the highest
};

class ModelSource {
 public:
  virtual ~ModelSource() = default;

  // Names of the models the source offers, sorted.
  virtual StatusOr<std::vector<std::string>> ListModels() = 0;

  // Everything needed to load one model. NotFound when the source has no such
  // model; InvalidArgument when it is there but unusable (the message says why).
  virtual StatusOr<ModelSpec> ReadModel(const std::string& name) = 0;

  // A cheap value that changes whenever ReadModel's answer would.
  virtual StatusOr<std::string> Fingerprint(const std::string& name) = 0;
};

}  // namespace inferd::model
