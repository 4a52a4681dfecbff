// Tracking: MLflow's experiments, runs (params, tags, metrics with their
// history, dataset inputs, model outputs) and MLflow 3's logged models, kept
// in a Store — what a training script's mlflow.start_run / log_* /
// log_model calls write, and what `inferd train` records of its own runs.
//
// Semantics and limits are MLflow's (its tracking server with a SQL store):
// experiment names are unique, also against deleted experiments; a param once
// logged keeps its value (logging another is InvalidArgument); identical metric
// points are stored once; a run's latest value of a metric is the one with the
// highest (step, timestamp, value); deleting an experiment deletes its active
// runs and restoring it restores them; a deleted run or experiment is read
// back but takes no writes. Key and value lengths and batch sizes are the
// constants below (MLflow's), and a run's stored document (params, tags,
// latest metrics, inputs) is bounded by kMaxRunDocumentBytes.
//
// Artifacts are not stored here: an experiment's artifact_location is
// mlflow-artifacts:/<experiment_id>, a run's artifact_uri
// <artifact_location>/<run_id>/artifacts and a logged model's
// <artifact_location>/models/<model_id>/artifacts, as MLflow's server hands
// them out, and the mlflow-artifacts proxy stores the files as blobs.
//
// Documents: `experiments` by experiment id, `experiment_names` by name (the
// insert that claims a name), `runs` by run id (indexed experiment_id),
// `metric_history` one per point (indexed `series` = "<run_id>/<key>"),
// `logged_models` by model id (indexed experiment_id); docs/store.md lists
// their fields.
//
// Thread-safety: all methods are thread-safe and any number of Tracking
// objects (threads, servers) may share one store. Changes to an existing
// document are optimistic read-modify-writes (Store::UpdateIf) retried on
// conflict, as in registry.h, so concurrent log calls on one run never lose
// each other's params, tags or latest metrics.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "registry/registry.h"
#include "store/store.h"

namespace inferd::registry {

// MLflow's limits (mlflow/utils/validation.py).
inline constexpr size_t kMaxEntityKeyLength = 250;  // param, metric and tag keys
inline constexpr size_t kMaxParamValueLength = 6000;
inline constexpr size_t kMaxTagValueLength = 8000;
inline constexpr size_t kMaxExperimentNameLength = 500;
inline constexpr size_t kMaxExperimentTagValueLength = 20000;
inline constexpr size_t kMaxMetricsPerBatch = 1000;
inline constexpr size_t kMaxParamsTagsPerBatch = 100;
inline constexpr size_t kMaxDatasetNameLength = 500;
inline constexpr size_t kMaxDatasetDigestLength = 36;
inline constexpr size_t kMaxDatasetSourceLength = 65535;
inline constexpr size_t kMaxDatasetSchemaLength = 1048575;
inline constexpr int64_t kMaxRunsPerPage = 50000;         // search-runs max_results
inline constexpr int64_t kMaxExperimentsPerPage = 50000;  // search-experiments max_results
inline constexpr int64_t kMaxMetricHistoryPage = 25000;   // get-history max_results
inline constexpr int64_t kMaxLoggedModelsPerPage = 1000;  // logged-models/search max_results
// inferd's own: a run is one document, which MongoDB caps at 16 MiB.
inline constexpr size_t kMaxRunDocumentBytes = 8 << 20;

inline constexpr char kDefaultExperimentId[] = "0";
inline constexpr char kDefaultExperimentName[] = "Default";

enum class ViewType { kActiveOnly, kDeletedOnly, kAll };
// MLflow's ViewType by name (ACTIVE_ONLY, DELETED_ONLY, ALL) or number (1-3);
// "" is ACTIVE_ONLY.
StatusOr<ViewType> ParseViewType(const std::string& text);

struct Experiment {
  std::string experiment_id;
  std::string name;
  std::string artifact_location;
  std::string lifecycle_stage = "active";  // or "deleted"
  int64_t creation_time = 0;               // ms since the epoch
  int64_t last_update_time = 0;
  std::map<std::string, std::string> tags;
};

struct Metric {
  std::string key;
  double value = 0;  // NaN and the infinities are kept
  int64_t timestamp = 0;
  int64_t step = 0;
  std::string model_id;  // MLflow 3: the logged model the value is about, or ""
  std::string dataset_name;
  std::string dataset_digest;
};

// A dataset a run used (MLflow's DatasetInput).
struct DatasetInput {
  std::string name;
  std::string digest;
  std::string source_type;
  std::string source;
  std::string schema;
  std::string profile;
  std::map<std::string, std::string> tags;  // e.g. mlflow.data.context = training
};

struct ModelOutput {
  std::string model_id;
  int64_t step = 0;
};

struct Run {
  std::string run_id;
  std::string experiment_id;
  std::string run_name;
  std::string user_id;
  std::string status = "RUNNING";  // RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
  int64_t start_time = 0;
  std::optional<int64_t> end_time;
  std::string artifact_uri;
  std::string lifecycle_stage = "active";
  int64_t deleted_time = 0;  // when it was deleted; 0 while active
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::map<std::string, Metric> metrics;  // the latest value of each key
  std::vector<DatasetInput> datasets;
  std::vector<std::string> model_inputs;  // logged model ids
  std::vector<ModelOutput> model_outputs;
};

struct NewRun {
  std::string experiment_id;  // "" is the Default experiment
  std::string user_id;
  std::string run_name;    // "" takes tag mlflow.runName, else a generated name
  int64_t start_time = 0;  // 0 is now
  std::map<std::string, std::string> tags;
};

// UpdateRun's fields; absent ones stay.
struct RunUpdate {
  std::optional<std::string> status;
  std::optional<int64_t> end_time;
  std::optional<std::string> run_name;
};

struct LoggedModel {
  std::string model_id;  // "m-" and 32 hex digits
  std::string experiment_id;
  std::string name;
  std::string artifact_location;
  // LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.
  std::string status = "LOGGED_MODEL_PENDING";
  std::string status_message;
  std::string model_type;
  std::string source_run_id;
  int64_t creation_timestamp_ms = 0;
  int64_t last_updated_timestamp_ms = 0;
  bool deleted = false;
  std::map<std::string, std::string> tags;
  std::map<std::string, std::string> params;
  std::vector<Metric> metrics;  // metrics logged with this model_id (latest per key and step)
};

struct NewLoggedModel {
  std::string experiment_id;
  std::string name;  // "" gets a generated name
  std::string model_type;
  std::string source_run_id;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
};

// MLflow's search arguments (see search_filter.h for the grammar).
struct ExperimentSearch {
  std::string filter;  // name, creation_time, last_update_time, tags.<key>
  ViewType view = ViewType::kActiveOnly;
  int64_t max_results = 1000;
  std::vector<std::string> order_by;  // default: creation_time DESC, experiment_id ASC
  std::string page_token;
};

struct RunSearch {
  std::vector<std::string> experiment_ids;
  // metrics.<key> (numbers), params.<key> and tags.<key> (strings),
  // attributes.<run_id|run_name|status|user_id|artifact_uri|start_time|end_time>,
  // datasets.<name|digest|context>.
  std::string filter;
  ViewType view = ViewType::kActiveOnly;
  int64_t max_results = 1000;
  std::vector<std::string> order_by;  // default: start_time DESC, run_id ASC
  std::string page_token;
};

struct LoggedModelSearch {
  std::vector<std::string> experiment_ids;
  // name, model_id, model_type, status, source_run_id, creation_timestamp,
  // last_updated_timestamp, tags.<key>, params.<key>, metrics.<key>.
  std::string filter;
  int64_t max_results = 50;
  // field names: name, creation_timestamp, last_updated_timestamp, metrics.<key>;
  // default: creation_timestamp DESC, model_id ASC.
  std::vector<std::pair<std::string, bool>> order_by;  // (field, ascending)
  std::string page_token;
};

// What `inferd train` records of a training, so that it looks as a training
// script's MLflow run does.
struct TrainingRun {
  std::string experiment;  // its name; created when absent
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;  // holdout metrics, logged at step 0
  DatasetRef dataset;                     // the dataset version, logged as the run's input
  std::string model_filename;             // model.json
  std::string model_bytes;
  std::string model_flavor = "xgboost";  // the MLmodel flavor that names the file
};

struct RecordedTraining {
  Run run;
  LoggedModel model;
};

class Tracking {
 public:
  Tracking(store::Store* store, const Clock* clock) : store_(store), clock_(clock) {}

  // Errors throughout: NotFound for an absent experiment, run or logged model;
  // AlreadyExists for a taken experiment name; InvalidArgument for a bad
  // argument (naming it) or a write to something deleted; Unavailable when the
  // store is down or too many writers race.

  // Creates the experiment and returns its id. `artifact_location` "" is
  // mlflow-artifacts:/<id>.
  StatusOr<std::string> CreateExperiment(const std::string& name,
                                         const std::string& artifact_location,
                                         const std::map<std::string, std::string>& tags);
  // The Default experiment ("0") is created on first read.
  StatusOr<Experiment> GetExperiment(const std::string& experiment_id);
  StatusOr<Experiment> GetExperimentByName(const std::string& name);
  StatusOr<Page<Experiment>> SearchExperiments(const ExperimentSearch& search);
  Status RenameExperiment(const std::string& experiment_id, const std::string& new_name);
  Status DeleteExperiment(const std::string& experiment_id);
  Status RestoreExperiment(const std::string& experiment_id);
  Status SetExperimentTag(const std::string& experiment_id, const std::string& key,
                          const std::string& value);
  Status DeleteExperimentTag(const std::string& experiment_id, const std::string& key);

  StatusOr<Run> CreateRun(const NewRun& run);
  StatusOr<Run> GetRun(const std::string& run_id);
  StatusOr<Run> UpdateRun(const std::string& run_id, const RunUpdate& update);
  Status DeleteRun(const std::string& run_id);
  Status RestoreRun(const std::string& run_id);
  // MLflow's log-batch (log-metric, log-parameter and set-tag are batches of
  // one): all checked before anything is written. A metric's timestamp 0 is now.
  Status LogBatch(const std::string& run_id, std::vector<Metric> metrics,
                  const std::vector<std::pair<std::string, std::string>>& params,
                  const std::map<std::string, std::string>& tags);
  Status DeleteTag(const std::string& run_id, const std::string& key);
  // Every logged value of one metric, by timestamp then step.
  StatusOr<Page<Metric>> GetMetricHistory(const std::string& run_id, const std::string& key,
                                          int64_t max_results, const std::string& page_token);
  // Records datasets (a dataset with the same name, digest and context is
  // recorded once) and logged models the run used.
  Status LogInputs(const std::string& run_id, const std::vector<DatasetInput>& datasets,
                   const std::vector<std::string>& model_ids);
  // Records logged models the run produced.
  Status LogOutputs(const std::string& run_id, const std::vector<ModelOutput>& outputs);
  StatusOr<Page<Run>> SearchRuns(const RunSearch& search);

  StatusOr<LoggedModel> CreateLoggedModel(const NewLoggedModel& model);
  // NotFound for a deleted model unless `allow_deleted`.
  StatusOr<LoggedModel> GetLoggedModel(const std::string& model_id, bool allow_deleted = false);
  StatusOr<LoggedModel> FinalizeLoggedModel(const std::string& model_id, const std::string& status);
  Status DeleteLoggedModel(const std::string& model_id);
  Status SetLoggedModelTags(const std::string& model_id,
                            const std::map<std::string, std::string>& tags);
  Status DeleteLoggedModelTag(const std::string& model_id, const std::string& key);
  Status LogLoggedModelParams(const std::string& model_id,
                              const std::map<std::string, std::string>& params);
  StatusOr<Page<LoggedModel>> SearchLoggedModels(const LoggedModelSearch& search);

  // Records a finished training (what `inferd train` does): a FINISHED run in
  // `training.experiment` with its params, metrics and dataset input, and a
  // READY logged model (the run's output) whose artifacts are the model file
  // and an MLmodel naming it, as mlflow.xgboost.log_model leaves them. A
  // failure part way leaves the run FAILED when it can.
  StatusOr<RecordedTraining> RecordTraining(const TrainingRun& training);

 private:
  StatusOr<Experiment> ReadExperiment(const std::string& id, int64_t* revision);
  StatusOr<Experiment> ChangeExperiment(const std::string& id,
                                        const std::function<Status(Experiment&)>& change);
  StatusOr<Run> ReadRun(const std::string& run_id, int64_t* revision);
  // Reads the run, applies `change`, and writes it back if no one changed it
  // meanwhile, else starts over (bounded). `active_only` refuses deleted runs.
  StatusOr<Run> ChangeRun(const std::string& run_id, bool active_only,
                          const std::function<Status(Run&)>& change);
  StatusOr<LoggedModel> ReadLoggedModel(const std::string& model_id, int64_t* revision);
  StatusOr<LoggedModel> ChangeLoggedModel(const std::string& model_id,
                                          const std::function<Status(LoggedModel&)>& change);
  // Every run of the experiments (each checked to exist).
  StatusOr<std::vector<Run>> RunsOf(const std::vector<std::string>& experiment_ids);
  Status EnsureDefaultExperiment();

  store::Store* store_;
  const Clock* clock_;
};

// Creates a model version as MLflow 3's server does: a version registered
// from a logged model (source models:/<model_id>, or `model_id` set) records
// the logged model's id, its artifact location as the version's
// storage_location (where its MLmodel and model file are, which inferd
// serves) and its source run as run_id; the logged model's tag
// mlflow.modelVersions then lists the version. Other sources are registered
// as given. NotFound when the logged model does not exist.
StatusOr<ModelVersion> RegisterVersion(Registry& registry, Tracking& tracking, NewVersion version);

}  // namespace inferd::registry
