// ModelRepository: the models a server can serve, read from a Triton-style
// directory tree, and swapped in and out without dropping requests.
//
//   ROOT/<model>/config.json           optional, see model_config.h
//   ROOT/<model>/<version>/model.json  XGBoost JSON   (or model.ubj, UBJSON)
//
// Version folders are positive integers; the highest is a model's default.
// Thread-safety: every method may be called from any thread. Get returns a
// shared_ptr to an immutable Servable, so a request that holds one keeps
// predicting on it while Load swaps in a fresh set of versions; the old set is
// freed when its last request finishes. Load reads and builds every version
// before it takes the lock, so readers never wait on file I/O.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/model.h"
#include "model/model_config.h"

namespace inferd::model {

// One model version, ready to serve. Immutable once built.
struct Servable {
  std::string name;
  int64_t version = 0;
  ModelConfig config;
  std::shared_ptr<const Model> model;
  std::vector<std::string> feature_names;  // config's, else the model file's
  std::map<std::string, int64_t, std::less<>> feature_index;  // name -> column
  int64_t max_batch_size = 0;  // resolved: config's, else the server's

  // Predicts `num_rows` rows (row-major, model->info().num_features wide) with
  // the configured output kind. InvalidArgument when num_rows exceeds
  // max_batch_size; `out` then is left empty. Thread-safe.
  Status Predict(const float* rows, int64_t num_rows, std::vector<float>* out) const;
};

// A row of the repository index (Triton's POST /v2/repository/index).
struct IndexEntry {
  std::string name;
  std::string version;  // empty when no version is loaded
  std::string state;    // "READY" or "UNAVAILABLE"
  std::string reason;   // why it is unavailable
};

class ModelRepository {
 public:
  struct Options {
    std::string root;
    int64_t default_max_batch_size = 4096;
  };

  // Does no I/O; call LoadAll to read the tree.
  static std::unique_ptr<ModelRepository> Create(const Options& options);

  // Loads every model folder under the root. Fails (leaving the models that did
  // load in place) with the first model's error, naming the model.
  Status LoadAll();

  // (Re)loads one model from disk: all its versions, atomically. On failure the
  // versions served before stay served. NotFound when ROOT/<name> is absent.
  Status Load(std::string_view name);

  // Stops serving a model. NotFound when it is not loaded.
  Status Unload(std::string_view name);

  // The servable for `version` ("" = the default, the highest loaded).
  // NotFound for an unknown model or version; InvalidArgument for a version
  // that is not a positive integer.
  StatusOr<std::shared_ptr<const Servable>> Get(std::string_view name,
                                                std::string_view version) const;

  // Loaded versions of a model, ascending. NotFound when not loaded.
  StatusOr<std::vector<int64_t>> Versions(std::string_view name) const;

  // Every model on disk or loaded, with its state.
  std::vector<IndexEntry> Index() const;

  // Names of loaded models, sorted.
  std::vector<std::string> LoadedNames() const;

 private:
  using VersionMap = std::map<int64_t, std::shared_ptr<const Servable>>;

  explicit ModelRepository(Options options) : options_(std::move(options)) {}
  StatusOr<std::shared_ptr<const VersionMap>> ReadModel(const std::string& name) const;

  const Options options_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const VersionMap>, std::less<>> models_;  // guarded by mu_
  std::map<std::string, std::string, std::less<>> failures_;  // guarded by mu_
};

}  // namespace inferd::model
