// `inferd models ...`: the registry from the command line, against the same
// store URI the server uses. Each function prints to stdout and returns a
// Status; main.cc turns a failure into one line on stderr and exit code 1.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "registry/registry.h"
#include "registry/tracking.h"
#include "store/store.h"

namespace inferd::cli {

Status ListModels(registry::Registry& registry);
Status ShowModel(registry::Registry& registry, const std::string& name);

struct RegisterOptions {
  std::string name;
  std::string file;   // a model file (model.json, model.ubj, model.txt, ...) or an MLflow
                      // model folder to upload
  std::string alias;  // optional alias to point at the new version
  std::string description;
};
// Uploads the file into the store's artifacts, creates the model if needed,
// adds a version whose source is the uploaded artifact, and sets the alias.
StatusOr<registry::ModelVersion> RegisterModel(registry::Registry& registry,
                                               store::Store& store,
                                               const RegisterOptions& options);

// A file to upload: its path inside the version's artifact folder, its bytes.
using ArtifactFile = std::pair<std::string, std::string>;

// Uploads `files` into a new artifact folder and, when the registry can read a
// model from it (a model file, or an MLflow model folder of the xgboost or
// lightgbm flavor), creates the model if needed and adds a version with
// `details` (name and source are filled in), pointing `alias` at it if given.
// A folder it cannot read is removed again and its error returned.
StatusOr<registry::ModelVersion> RegisterModelFiles(registry::Registry& registry,
                                                    store::Store& store,
                                                    const std::vector<ArtifactFile>& files,
                                                    registry::NewVersion details,
                                                    const std::string& alias);

// Creates the model if needed and adds a version with `details` (source set),
// pointing `alias` at it if given. With `tracking`, a source models:/<model_id>
// is registered as MLflow 3's server does (registry::RegisterVersion).
StatusOr<registry::ModelVersion> RegisterSource(registry::Registry& registry,
                                                registry::Tracking* tracking,
                                                const registry::NewVersion& details,
                                                const std::string& alias);

Status SetAlias(registry::Registry& registry, const std::string& name, const std::string& alias,
                int64_t version);
// Deletes one version, or the whole model when `version` is 0.
Status DeleteModel(registry::Registry& registry, const std::string& name, int64_t version);

}  // namespace inferd::cli
