// ModelRepository: the models a server serves, loaded from a ModelSource and
// swapped in and out without dropping requests.
//
// Thread-safety: every method may be called from any thread. Get returns a
// shared_ptr to an immutable Servable, so a request that holds one keeps
// predicting on it while Load swaps in a fresh set of versions; the old set is
// freed when its last request finishes. Load reads and builds every version
// before it takes the lock, so readers never wait on I/O, and it serializes
// with other loads so two reloads of one model cannot interleave.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/batcher.h"
#include "model/model.h"
#include "model/model_config.h"
#include "model/source.h"

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
  std::shared_ptr<DynamicBatcher> batcher;  // set when the config turns batching on

  // Predicts `num_rows` rows (row-major, model->info().num_features wide) with
  // the configured output kind. InvalidArgument when num_rows exceeds
  // max_batch_size; `out` then is left empty. Thread-safe.
  // `executions` (optional) gets the model calls made for it: 1 without dynamic
  // batching; with it, 1 for the request that ran its batch and 0 for the others.
  Status Predict(const float* rows, int64_t num_rows, std::vector<float>* out,
                 int64_t* executions = nullptr) const;
  // As above with per-request options: options other than the configured
  // output kind with every round and no base margin skip dynamic batching.
  Status Predict(const float* rows, int64_t num_rows, const PredictOptions& options,
                 std::vector<float>* out, int64_t* executions = nullptr) const;
};

// A row of the repository index (Triton's POST /v2/repository/index).
struct IndexEntry {
  std::string name;
  std::string version;  // empty when no version is loaded
  std::string state;    // "READY" or "UNAVAILABLE"
  std::string reason;   // why it is unavailable
  double load_seconds = 0;  // how long the model's last (re)load took
};

class ModelRepository {
 public:
  struct Options {
    ModelSource* source = nullptr;  // not owned; must outlive the repository
    int64_t default_max_batch_size = 4096;
    // Called for every version a load built, on the loading thread, before the
    // version is served: the place to warm what its first request would
    // otherwise load (drift references). May block. Optional.
    std::function<void(const Servable&)> on_built;
  };

  // Does no I/O; call LoadAll to read the source.
  static std::unique_ptr<ModelRepository> Create(const Options& options);

  // Loads every model the source offers. Fails (leaving the models that did
  // load in place) with the first model's error, naming the model.
  Status LoadAll();

  // (Re)loads one model: all its versions, atomically. On failure the versions
  // served before stay served. NotFound when the source has no such model.
  Status Load(std::string_view name);

  // Stops serving a model. NotFound when it is not loaded.
  Status Unload(std::string_view name);

  // Polls the source: reloads models whose fingerprint changed, loads new ones
  // and unloads those the source no longer offers. Returns the first error
  // (others are still attempted); failed models keep their previous versions.
  Status Refresh();

  // The servable for `version` ("" = the model's default version).
  // NotFound for an unknown model or version; InvalidArgument for a version
  // that is not a positive integer.
  StatusOr<std::shared_ptr<const Servable>> Get(std::string_view name,
                                                std::string_view version) const;

  // Loaded versions of a model, ascending. NotFound when not loaded.
  StatusOr<std::vector<int64_t>> Versions(std::string_view name) const;

  // Every model offered by the source or loaded, with its state.
  std::vector<IndexEntry> Index() const;
  // Index() with the models the source offered at the last LoadAll or Refresh:
  // does no I/O, so that a metrics scrape never waits for a store that is down.
  std::vector<IndexEntry> LastIndex() const;

  // Names of loaded models, sorted.
  std::vector<std::string> LoadedNames() const;

 private:
  struct Loaded {
    std::map<int64_t, std::shared_ptr<const Servable>> versions;
    int64_t default_version = 0;
    std::string fingerprint;
    double load_seconds = 0;
  };

  explicit ModelRepository(Options options) : options_(std::move(options)) {}
  StatusOr<std::shared_ptr<const Loaded>> Build(const std::string& name,
                                                const ModelSpec& spec) const;
  Status LoadLocked(const std::string& name);  // requires load_mu_
  std::vector<IndexEntry> IndexOf(std::set<std::string> offered) const;

  const Options options_;
  std::mutex load_mu_;  // serializes Load/Unload/Refresh
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const Loaded>, std::less<>> models_;  // guarded by mu_
  std::map<std::string, std::string, std::less<>> failures_;  // name -> reason; guarded by mu_
  std::map<std::string, std::string> failed_fingerprints_;    // guarded by mu_
  std::set<std::string> offered_;  // guarded by mu_: the source's list at the last poll
};

}  // namespace inferd::model
