// Registry: registered models, their versions, aliases and tags, kept in a
// Store — the model registry that MLflow clients and `inferd models` use and
// that `inferd serve --store` serves from.
//
// A version records where its model file is (`source`, an artifact URI such
// as mlflow-artifacts:/models/iris/abc/model.json), what produced it (params,
// metrics, dataset lineage) and its tags. Version numbers count up from 1 per
// model and are never reused while the model exists.
//
// Documents: `registered_models` keyed by name; `model_versions` keyed by
// "<name>/<version as 10 digits>" with a `name` field (indexed). docs/store.md
// lists their fields.
//
// Thread-safety: all methods are thread-safe, and any number of registries
// (threads, servers, `inferd models`) may share one store: state lives only in
// the Store. Every change to an existing document is a read-modify-write that
// the Store applies only if the document's revision is still the one read
// (Store::UpdateIf); otherwise it reads again and retries, with a short random
// pause, up to a bound, after which it returns Unavailable. So concurrent
// alias moves, tags, descriptions, stages and new versions never overwrite one
// another; a version number is claimed by inserting its document (unique id),
// so each is handed out once. Without transactions (MongoDB's are not used,
// FerretDB has none), multi-document changes (rename, delete) are ordered so
// that an interruption leaves no dangling version: a model document is written
// before and removed after its versions, and removed only if it did not change
// meanwhile. Renaming a model while others write to its new name may lose
// those writes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "model/model_format.h"
#include "store/store.h"

namespace inferd::registry {

struct RegisteredModel {
  std::string name;
  std::string description;
  int64_t creation_timestamp = 0;  // ms since the epoch
  int64_t last_updated_timestamp = 0;
  std::map<std::string, std::string> tags;
  std::map<std::string, int64_t> aliases;  // alias -> version
  int64_t last_version = 0;  // highest version number handed out; never reused
};

struct DatasetRef {
  std::string name;
  int64_t version = 0;
  std::string md5;
};

struct ModelVersion {
  std::string name;
  int64_t version = 0;
  std::string source;  // artifact URI of the model file (or of a folder holding it)
  std::string run_id;
  // MLflow 3: the logged model it was registered from (source models:/<model_id>)
  // and where that model's files are (its artifact location); "" otherwise.
  std::string model_id;
  std::string storage_location;
  std::string status = "READY";  // MLflow's PENDING_REGISTRATION / FAILED_REGISTRATION / READY
  std::string status_message;
  std::string description;
  std::string current_stage = "None";
  int64_t creation_timestamp = 0;
  int64_t last_updated_timestamp = 0;
  std::map<std::string, std::string> tags;
  std::map<std::string, std::string> params;  // training parameters
  std::map<std::string, double> metrics;      // holdout metrics
  std::optional<DatasetRef> dataset;          // lineage: the data it was trained on
  std::string prediction_profile;             // JSON profile of holdout predictions, or ""
  std::vector<std::string> aliases;           // filled on read from the model
};

// What CreateVersion needs; the rest is assigned.
struct NewVersion {
  std::string name;
  std::string source;
  std::string run_id;
  std::string model_id;          // see ModelVersion
  std::string storage_location;  // see ModelVersion
  std::string description;
  std::map<std::string, std::string> tags;
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;
  std::optional<DatasetRef> dataset;
  std::string prediction_profile;  // a JSON object, or ""
};

// MLflow's search arguments. `filter` follows MLflow's grammar: clauses
// `<field> <op> '<value>'` joined by AND, fields name, tags.<key>, run_id,
// source_path, version_number; ops =, !=, LIKE, ILIKE. order_by: "name",
// "version_number", "creation_timestamp", "last_updated_timestamp", each with
// optional ASC/DESC. page_token is the opaque token of the previous page.
struct Search {
  std::string filter;
  int64_t max_results = 100;
  std::vector<std::string> order_by;
  std::string page_token;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
};

class Registry {
 public:
  Registry(store::Store* store, const Clock* clock) : store_(store), clock_(clock) {}

  // Errors: AlreadyExists for a taken name, InvalidArgument for a bad name,
  // NotFound for a missing model or version, Unavailable when the store is down.
  StatusOr<RegisteredModel> CreateModel(const std::string& name, const std::string& description,
                                        const std::map<std::string, std::string>& tags);
  StatusOr<RegisteredModel> GetModel(const std::string& name);
  StatusOr<Page<RegisteredModel>> SearchModels(const Search& search);
  StatusOr<RegisteredModel> UpdateModel(const std::string& name, const std::string& description);
  StatusOr<RegisteredModel> RenameModel(const std::string& name, const std::string& new_name);
  // Deletes the model and all its versions; artifacts stay, as in MLflow.
  Status DeleteModel(const std::string& name);
  Status SetModelTag(const std::string& name, const std::string& key, const std::string& value);
  Status DeleteModelTag(const std::string& name, const std::string& key);

  // Points `alias` at an existing version (moving it if set elsewhere).
  Status SetAlias(const std::string& name, const std::string& alias, int64_t version);
  Status DeleteAlias(const std::string& name, const std::string& alias);
  StatusOr<ModelVersion> GetVersionByAlias(const std::string& name, const std::string& alias);

  // Adds the next version of an existing model.
  StatusOr<ModelVersion> CreateVersion(const NewVersion& version);
  StatusOr<ModelVersion> GetVersion(const std::string& name, int64_t version);
  // Every version of one model, ascending; cheaper than SearchVersions.
  StatusOr<std::vector<ModelVersion>> ListVersions(const std::string& name);
  StatusOr<Page<ModelVersion>> SearchVersions(const Search& search);
  StatusOr<ModelVersion> UpdateVersion(const std::string& name, int64_t version,
                                       const std::string& description);
  StatusOr<ModelVersion> TransitionStage(const std::string& name, int64_t version,
                                         const std::string& stage);
  // Deletes a version; aliases pointing at it are removed.
  Status DeleteVersion(const std::string& name, int64_t version);
  Status SetVersionTag(const std::string& name, int64_t version, const std::string& key,
                       const std::string& value);
  Status DeleteVersionTag(const std::string& name, int64_t version, const std::string& key);

  // The bytes of a version's model file, its name and format, resolved from
  // its storage_location (else its source) in the store's artifacts: a model file; an MLflow model folder
  // (its MLmodel's xgboost or lightgbm flavor; other flavors are refused with
  // InvalidArgument saying what to do, see model/model_format.h); or a folder
  // holding a model file. NotFound when there is none.
  struct ModelFile {
    std::string filename;
    std::string bytes;
    model::ModelFormat format = model::ModelFormat::kXgboostJson;
  };
  StatusOr<ModelFile> ReadModelFile(const ModelVersion& version);

 private:
  // The model and, when `revision` is given, the store revision it was read at.
  StatusOr<RegisteredModel> ReadModel(const std::string& name, int64_t* revision);
  // Reads the model, applies `change`, stamps last_updated_timestamp and
  // writes it back if no one changed it meanwhile, else starts over (bounded).
  // An error from `change` is returned and nothing is written. Returns the
  // model as written; NotFound when the model is absent.
  StatusOr<RegisteredModel> ChangeModel(const std::string& name,
                                        const std::function<Status(RegisteredModel&)>& change);
  // Likewise for a version (its `aliases` are left empty).
  StatusOr<ModelVersion> ChangeVersion(const std::string& name, int64_t version,
                                       const std::function<Status(ModelVersion&)>& change);
  // OK when the version exists; NotFound naming the model or the version.
  Status CheckVersionExists(const std::string& name, int64_t version);
  // `version` with the aliases its model points at it.
  StatusOr<ModelVersion> WithAliases(ModelVersion version);
  // Copies version document `from_id` to model `to_name` and removes it, if
  // it did not change in between (else copies it again). OK when absent.
  Status MoveVersion(const std::string& from_id, const std::string& to_name);

  store::Store* store_;
  const Clock* clock_;
};

// Parses a version number as MLflow sends it (a decimal string).
StatusOr<int64_t> ParseVersionNumber(std::string_view text);

// Where a version's files are: its storage_location, else its source.
const std::string& VersionLocation(const ModelVersion& version);

// The store blob id of an mlflow-artifacts:/ path ("artifacts/<path>"), and back.
std::string ArtifactBlobId(std::string_view artifact_path);
// InvalidArgument unless `uri` is mlflow-artifacts:/<path> (or mlflow-artifacts://host/<path>).
StatusOr<std::string> ArtifactPathOfUri(std::string_view uri);

}  // namespace inferd::registry
