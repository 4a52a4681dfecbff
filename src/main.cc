// inferd: the command line — flags and their environment variables — and the
// dispatch to the commands in src/cli/. Nothing else lives here.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <thread>

#include "cli/healthcheck_command.h"
#include "cli/models_command.h"
#include "cli/predictions_command.h"
#include "cli/serve_command.h"
#include "cli/train_command.h"
#include "common/logging.h"
#include "registry/registry.h"
#include "store/store.h"

namespace {

namespace store = inferd::store;

using inferd::cli::Fail;
using inferd::cli::ServeFlags;

void AddServeFlags(CLI::App* serve, ServeFlags* f) {
  f->server.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  serve->add_option("--host", f->server.host, "Address to listen on")
      ->envname("INFERD_HOST")->capture_default_str();
  serve->add_option("--port", f->server.port, "Port to listen on (0: any free port)")
      ->envname("INFERD_PORT")->capture_default_str();
  serve->add_option("--grpc-port", f->grpc_port,
                    "KServe V2 gRPC port (0: any free port, -1: no gRPC)")
      ->envname("INFERD_GRPC_PORT")->check(CLI::Range(-1, 65535))->capture_default_str();
  serve->add_option("--model-repository", f->model_repository,
                    "Serve a folder of <model>/<version>/model.json (Triton layout) instead of "
                    "the registry in --store")
      ->envname("INFERD_MODEL_REPOSITORY");
  serve->add_option("--metrics-port", f->metrics_port,
                    "Also serve /metrics and /metrics/triton on this port (0: only on --port)")
      ->envname("INFERD_METRICS_PORT")->capture_default_str();
  serve->add_option("--poll-interval-ms", f->poll_interval_ms,
                    "How often to look for new versions and alias moves (0: never)")
      ->envname("INFERD_POLL_INTERVAL_MS")->check(CLI::Range(int64_t{0}, int64_t{86'400'000}))
      ->capture_default_str();
  serve->add_option("--threads", f->server.threads, "I/O and inference threads (default: cores)")
      ->envname("INFERD_THREADS")->check(CLI::Range(1, 1024))->capture_default_str();
  serve->add_option("--max-body-bytes", f->server.limits.max_body_bytes,
                    "Largest request body; larger ones get 413 before being read")
      ->envname("INFERD_MAX_BODY_BYTES")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 34))
      ->capture_default_str();
  serve->add_option("--max-header-bytes", f->server.limits.max_header_bytes,
                    "Largest request line + headers; larger ones get 431")
      ->envname("INFERD_MAX_HEADER_BYTES")->check(CLI::Range(1024u, 1u << 20))
      ->capture_default_str();
  serve->add_option("--max-target-bytes", f->server.limits.max_target_bytes,
                    "Longest request target (path and query); longer ones get 414")
      ->envname("INFERD_MAX_TARGET_BYTES")->check(CLI::Range(256u, 1u << 20))
      ->capture_default_str();
  serve->add_option("--max-connections", f->server.limits.max_connections,
                    "Open connections; further ones get 503 and are closed")
      ->envname("INFERD_MAX_CONNECTIONS")->check(CLI::Range(1u, 1u << 20))->capture_default_str();
  serve->add_option("--max-batch-size", f->max_batch_size,
                    "Rows per inference request unless a model's config.json says otherwise")
      ->envname("INFERD_MAX_BATCH_SIZE")->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
      ->capture_default_str();
  serve->add_option("--worker-threads", f->workers.threads,
                    "Threads for work that waits (store I/O, model loads, artifact transfers, "
                    "batching delays), kept off the I/O threads")
      ->envname("INFERD_WORKER_THREADS")->check(CLI::Range(1, 1024))->capture_default_str();
  serve->add_option("--worker-queue", f->workers.max_queued,
                    "Requests waiting for a worker thread; past it they get 503 with Retry-After")
      ->envname("INFERD_WORKER_QUEUE")->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  serve->add_option("--max-queue-ms", f->max_queue_ms,
                    "Inference requests that waited longer than this to run (from their arrival "
                    "in the kernel) get 503 with Retry-After instead; 0: never shed")
      ->envname("INFERD_MAX_QUEUE_MS")->check(CLI::Range(int64_t{0}, int64_t{3'600'000}))
      ->capture_default_str();
  serve->add_option("--idle-timeout-ms", f->idle_timeout_ms,
                    "Close a connection that sends no complete request headers for this long")
      ->envname("INFERD_IDLE_TIMEOUT_MS")->check(CLI::Range(int64_t{1}, int64_t{86'400'000}))
      ->capture_default_str();
  serve->add_option("--read-timeout-ms", f->read_timeout_ms,
                    "Time for a request body to arrive, and for a reply to be taken")
      ->envname("INFERD_READ_TIMEOUT_MS")->check(CLI::Range(int64_t{1}, int64_t{86'400'000}))
      ->capture_default_str();
  serve->add_option("--shutdown-grace-ms", f->shutdown_grace_ms,
                    "On SIGTERM, how long in-flight requests may take before exit")
      ->envname("INFERD_SHUTDOWN_GRACE_MS")->check(CLI::Range(int64_t{0}, int64_t{3'600'000}))
      ->capture_default_str();
  serve->add_option("--log-sample-rate", f->prediction_log.sample_rate,
                    "Share of inferences recorded in the prediction log (0 turns it off)")
      ->envname("INFERD_LOG_SAMPLE_RATE")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  serve->add_option("--log-queue-size", f->prediction_log.queue_capacity,
                    "Prediction records held in memory; more are dropped and counted")
      ->envname("INFERD_LOG_QUEUE_SIZE")->check(CLI::Range(size_t{1}, size_t{1} << 26))
      ->capture_default_str();
  serve->add_option("--log-queue-bytes", f->prediction_log.queue_max_bytes,
                    "Memory the prediction records held in memory may take; more are dropped "
                    "and counted")
      ->envname("INFERD_LOG_QUEUE_BYTES")->check(CLI::Range(uint64_t{1} << 16, uint64_t{1} << 34))
      ->capture_default_str();
  serve->add_option("--prediction-retention", f->prediction_retention,
                    "Delete prediction records older than this (30d, 12h; 0: keep them): a TTL "
                    "index on MongoDB, batched deletes on SQLite and FerretDB")
      ->envname("INFERD_PREDICTION_RETENTION")->capture_default_str();
  serve->add_option("--prediction-max-bytes", f->prediction_max_bytes,
                    "Delete the oldest prediction records beyond this many bytes in the store "
                    "(0: no bound)")
      ->envname("INFERD_PREDICTION_MAX_BYTES")->check(CLI::Range(int64_t{0}, int64_t{1} << 50))
      ->capture_default_str();
  serve->add_option("--spool-dir", f->spool_dir,
                    "Where prediction records wait while the store is down")
      ->envname("INFERD_SPOOL_DIR")->capture_default_str();
  serve->add_option("--spool-max-bytes", f->prediction_log.spool_max_bytes,
                    "Largest spool; past it records are dropped and counted")
      ->envname("INFERD_SPOOL_MAX_BYTES")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  serve->add_option("--access-log-sample-rate", f->access_log_sample_rate,
                    "Share of successful requests written to the access log; errors always are "
                    "(0: no access log)")
      ->envname("INFERD_ACCESS_LOG_SAMPLE_RATE")->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  serve->add_option("--drift-window-rows", f->drift.window_rows,
                    "Live rows per model version that drift compares to the reference")
      ->envname("INFERD_DRIFT_WINDOW_ROWS")->check(CLI::Range(int64_t{10}, int64_t{1} << 30))
      ->capture_default_str();
  serve->add_option("--drift-window-seconds", f->drift.window_seconds,
                    "Also forget rows older than this (0: by rows only)")
      ->envname("INFERD_DRIFT_WINDOW_SECONDS")->check(CLI::Range(int64_t{0}, int64_t{1} << 30))
      ->capture_default_str();
  serve->add_option("--drift-psi-threshold", f->drift.psi_threshold,
                    "A feature drifts when its PSI reaches this")
      ->envname("INFERD_DRIFT_PSI_THRESHOLD")->check(CLI::PositiveNumber)->capture_default_str();
  serve->add_option("--drift-js-threshold", f->drift.js_threshold,
                    "A categorical feature drifts when its Jensen-Shannon distance reaches this")
      ->envname("INFERD_DRIFT_JS_THRESHOLD")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  serve->add_option("--drift-ks-alpha", f->drift.ks_alpha,
                    "KS significance level, divided by the number of features (Bonferroni)")
      ->envname("INFERD_DRIFT_KS_ALPHA")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  serve->add_option("--drift-dataset-share", f->drift.dataset_drift_share,
                    "The dataset drifts when this share of features drift")
      ->envname("INFERD_DRIFT_DATASET_SHARE")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  serve->add_option("--drift-min-rows", f->drift.min_rows,
                    "Rows needed in the window before any verdict")
      ->envname("INFERD_DRIFT_MIN_ROWS")->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->capture_default_str();
  serve->add_option("--performance-window-rows", f->performance.window_rows,
                    "Labelled rows per model version that live accuracy is computed on")
      ->envname("INFERD_PERFORMANCE_WINDOW_ROWS")->check(CLI::Range(size_t{1}, size_t{1} << 24))
      ->capture_default_str();
  serve->add_option("--performance-window-seconds", f->performance.window_seconds,
                    "Also forget ground truth older than this (0: by rows only)")
      ->envname("INFERD_PERFORMANCE_WINDOW_SECONDS")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30))->capture_default_str();
  serve->add_option("--performance-history-interval-seconds",
                    f->performance.history_interval_seconds,
                    "One point of each live window's history per interval, the last 1,440 kept "
                    "(0: no history)")
      ->envname("INFERD_PERFORMANCE_HISTORY_INTERVAL_SECONDS")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30))->capture_default_str();
  serve->add_option("--feedback-cache-size", f->performance.capacity,
                    "Predictions kept in memory for /v1/feedback; older ones are read from the "
                    "store's prediction log (0: none)")
      ->envname("INFERD_FEEDBACK_CACHE_SIZE")->check(CLI::Range(size_t{0}, size_t{1} << 26))
      ->capture_default_str();
  serve->add_option("--log-level", f->log_level, "trace, debug, info, warn, error")
      ->envname("INFERD_LOG_LEVEL")->capture_default_str();
}

struct ModelsFlags {
  std::string name;
  std::string alias;
  std::string file;
  std::string description;
  int64_t version = 0;
};

int RunModels(CLI::App* models, ModelsFlags& f, const std::string& store_uri) {
  auto opened = store::OpenStore(store_uri);
  if (!opened.ok()) return Fail(opened.status());
  inferd::registry::Registry registry(opened->get(), inferd::SystemClock::Get());
  inferd::Status st;
  const std::string command = models->get_subcommands().front()->get_name();
  if (command == "list") {
    st = inferd::cli::ListModels(registry);
  } else if (command == "show") {
    st = inferd::cli::ShowModel(registry, f.name);
  } else if (command == "register") {
    st = inferd::cli::RegisterModel(registry, **opened,
                                    {f.name, f.file, f.alias, f.description}).status();
  } else if (command == "alias") {
    st = inferd::cli::SetAlias(registry, f.name, f.alias, f.version);
  } else if (command == "delete") {
    st = inferd::cli::DeleteModel(registry, f.name, f.version);
  }
  return st.ok() ? 0 : Fail(st);
}

void AddModelsCommands(CLI::App* models, ModelsFlags* f) {
  models->require_subcommand(1);
  models->add_subcommand("list", "List registered models");
  auto* show = models->add_subcommand("show", "Show a model's versions, aliases and lineage");
  show->add_option("name", f->name)->required();
  auto* reg = models->add_subcommand("register", "Upload a model file as a new version");
  reg->add_option("name", f->name)->required();
  reg->add_option("--file", f->file,
                  "Model file (XGBoost .json/.ubj/.xgb, LightGBM .txt/.lgb) or MLflow model "
                  "folder")
      ->required();
  reg->add_option("--alias", f->alias, "Point this alias (e.g. production) at the new version");
  reg->add_option("--description", f->description);
  auto* alias = models->add_subcommand("alias", "Point an alias at a version");
  alias->add_option("name", f->name)->required();
  alias->add_option("alias", f->alias)->required();
  alias->add_option("version", f->version)->required()->check(CLI::PositiveNumber);
  auto* del = models->add_subcommand("delete", "Delete a model, or one version of it");
  del->add_option("name", f->name)->required();
  del->add_option("--version", f->version, "Only this version")->check(CLI::PositiveNumber);
}

}  // namespace

void AddDatasetCommands(CLI::App* datasets, inferd::cli::DatasetAddOptions* add_options,
                        inferd::cli::DatasetMergeOptions* merge_options, std::string* show_ref) {
  datasets->require_subcommand(1);
  auto* add = datasets->add_subcommand(
      "add", "Record CSV data (a file, a folder, globs or files) as a new dataset version");
  add->add_option("data", add_options->inputs,
                  "CSV file, folder, glob patterns or files (or give --dvc)");
  add->add_option("--name", add_options->name, "Dataset name (default: the file name)");
  add->add_option("--dvc", add_options->dvc_file, "A .dvc pointer the data must match");
  add->add_option("--shard", add_options->shard,
                  "I/N: process shard I of N (the last shard to finish merges them)");
  add->add_option("--run", add_options->run,
                  "Ties the shards of one run together (default: from the file listing)")
      ->envname("INFERD_DATASET_RUN");
  add->add_option("--columnar-dir", add_options->columnar_dir,
                  "Write columnar copies of the files here, for fast training")
      ->envname("INFERD_COLUMNAR_DIR");
  add->add_option("--from-predictions", add_options->from_predictions,
                  "MODEL: record the prediction log's rows with ground truth (feedback) instead");
  add->add_option("--version", add_options->version,
                  "With --from-predictions: only this model version")
      ->check(CLI::PositiveNumber);
  add->add_option("--since", add_options->since,
                  "With --from-predictions: from this time (epoch ms, RFC 3339, or 7d ago)");
  add->add_option("--until", add_options->until, "With --from-predictions: before this time");
  add->add_option("--target", add_options->target,
                  "With --from-predictions: the label column (default: the model's own)");
  add->add_option("--with-data", add_options->with_data,
                  "With --from-predictions: a CSV of the same columns (the training data) whose "
                  "rows come first; without labelled predictions the version is just its rows");
  add->add_option("--output", add_options->output,
                  "With --from-predictions: the CSV file to write "
                  "(default ./inferd-data/datasets/<name>/<time>.csv)");
  auto* merge = datasets->add_subcommand("merge", "Merge the recorded shards of a run");
  merge->add_option("name", merge_options->name, "Dataset name")->required();
  merge->add_option("--run", merge_options->run, "The shards' run")->required();
  merge->add_option("--shards", merge_options->shards, "How many shards the run has")
      ->required()->check(CLI::Range(1, 100000));
  merge->add_option("--dvc", merge_options->dvc_file, "A .dvc pointer the data must match");
  auto* show = datasets->add_subcommand("show", "Show a dataset version and its profile");
  show->add_option("dataset", *show_ref, "NAME or NAME@VERSION")->required();
}

void AddTrainFlags(CLI::App* train, inferd::cli::TrainCommandOptions* o) {
  auto* data = train->add_option("--data", o->data, "CSV file to train on");
  auto* dataset = train->add_option("--dataset", o->dataset, "Recorded dataset NAME[@VERSION]");
  data->excludes(dataset);
  train->add_option("--dataset-name", o->dataset_name, "Record --data under this dataset name");
  train->add_option("--target", o->train.target, "Label column (required unless --tracker)");
  train->add_option("--register", o->register_name,
                    "Registered model name (required unless --tracker)");
  train->add_option("--alias", o->alias, "Point this alias at the new version");
  train->add_option("--experiment", o->experiment,
                    "MLflow experiment to record the run in (default: the --register name)");
  train->add_option("--objective", o->train.objective,
                    "XGBoost objective (default: from the target)");
  train->add_option("--num-rounds", o->train.num_rounds)->capture_default_str()
      ->check(CLI::Range(1, 100000));
  train->add_option("--max-depth", o->train.max_depth)->capture_default_str()
      ->check(CLI::Range(1, 64));
  train->add_option("--eta", o->train.eta)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  train->add_option("--valid-fraction", o->train.valid_fraction)->capture_default_str();
  train->add_option("--seed", o->train.seed)->capture_default_str();
  train->add_option("--threads", o->train.threads)->capture_default_str()
      ->check(CLI::Range(1, 1024));
  train->add_option("--tree-method", o->train.tree_method,
                    "XGBoost tree method (default: libxgboost's; hist with --workers)");
  train->add_option("--device", o->train.device, "cpu, or cuda (a CUDA build of libxgboost)")
      ->capture_default_str()->check(CLI::IsMember({"cpu", "cuda"}));
  // Distributed training (docs/training.md).
  train->add_option("--workers", o->workers,
                    "Train as one of N workers through XGBoost's collective (needs --dataset)")
      ->check(CLI::Range(1, 4096));
  train->add_option("--worker-index", o->worker_index, "This worker's index, 0..N-1")
      ->capture_default_str()->check(CLI::Range(0, 4095));
  train->add_option("--tracker-address", o->tracker_address,
                    "HOST:PORT of the job's tracker (worker 0 hosts it on PORT; 0 = any)")
      ->capture_default_str();
  train->add_flag("--tracker", o->tracker_only, "Run only the tracker of a job of --workers N");
  train->add_flag("--external-tracker", o->external_tracker,
                  "Worker 0 does not host the tracker (one runs with --tracker)");
  train->add_option("--rendezvous-timeout", o->rendezvous_timeout_s,
                    "Seconds for every worker to connect to the tracker")
      ->capture_default_str()->check(CLI::Range(1, 86400));
  train->add_option("--heartbeat-timeout", o->heartbeat_timeout_s,
                    "Seconds of silence after which a worker (or the tracker) counts as lost")
      ->capture_default_str()->check(CLI::Range(1, 86400));
  train->add_option("--wait-for-dataset", o->wait_for_dataset_s,
                    "Seconds to wait for --dataset to be recorded (by a job started alongside)")
      ->capture_default_str()->check(CLI::Range(0, 86400));
  train->add_option("--columnar-dir", o->columnar_dir,
                    "Where the dataset's columnar copies are (default: where it recorded them)")
      ->envname("INFERD_COLUMNAR_DIR");
}

void AddPredictionsCommands(CLI::App* predictions, inferd::cli::PredictionExportOptions* o) {
  predictions->require_subcommand(1);
  auto* exp = predictions->add_subcommand(
      "export", "Write logged predictions (with ground truth) as NDJSON or CSV");
  exp->add_option("--model", o->model, "Only this model (required for CSV)");
  exp->add_option("--version", o->version, "Only this version")->check(CLI::PositiveNumber);
  exp->add_option("--since", o->since, "From this time: epoch ms, RFC 3339, or a duration ago (7d)");
  exp->add_option("--until", o->until, "Before this time");
  exp->add_option("--format", o->format)->check(CLI::IsMember({"ndjson", "csv"}))
      ->capture_default_str();
  exp->add_option("--output", o->output, "File to write (default: stdout)");
  predictions->add_subcommand(
      "migrate", "Rewrite prediction records of the JSON layout as compact float32 records");
}

int RunWithStore(const std::string& store_uri,
                 const std::function<inferd::Status(store::Store&, inferd::registry::Registry&)>&
                     command) {
  auto opened = store::OpenStore(store_uri);
  if (!opened.ok()) return Fail(opened.status());
  inferd::registry::Registry registry(opened->get(), inferd::SystemClock::Get());
  inferd::Status st = command(**opened, registry);
  return st.ok() ? 0 : Fail(st);
}

int main(int argc, char** argv) {
  CLI::App app{"inferd: serve, register, train and monitor XGBoost models"};
  app.set_version_flag("--version", INFERD_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // so `inferd serve --store URI` works as well as `inferd --store URI serve`
  std::string store_uri = store::StoreUriFromEnv(store::kDefaultStoreUri);
  std::string log_format = "json";
  app.add_option("--log-format", log_format, "json (Elastic Common Schema lines) or text")
      ->envname("INFERD_LOG_FORMAT")->check(CLI::IsMember({"json", "text"}))
      ->capture_default_str();
  app.add_option("--store", store_uri,
                 "sqlite:///relative.db, sqlite:////absolute.db or mongodb://user:pass@host/db "
                 "(env INFERD_STORE, or MONGO_URL + MONGO_USERNAME + MONGO_PASSWORD + MONGO_DB)")
      ->capture_default_str();
  ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand("serve", "Serve models over KServe V2 / V1 HTTP");
  AddServeFlags(serve, &serve_flags);
  ModelsFlags models_flags;
  CLI::App* models = app.add_subcommand("models", "Manage the model registry");
  AddModelsCommands(models, &models_flags);
  inferd::cli::DatasetAddOptions dataset_add;
  inferd::cli::DatasetMergeOptions dataset_merge;
  std::string dataset_ref;
  CLI::App* datasets = app.add_subcommand("datasets", "Record and inspect versioned datasets");
  AddDatasetCommands(datasets, &dataset_add, &dataset_merge, &dataset_ref);
  inferd::cli::PredictionExportOptions prediction_export;
  CLI::App* predictions = app.add_subcommand("predictions", "Export or migrate the prediction log");
  AddPredictionsCommands(predictions, &prediction_export);
  inferd::cli::TrainCommandOptions train_options;
  CLI::App* train = app.add_subcommand("train", "Train an XGBoost model and register it");
  AddTrainFlags(train, &train_options);
  inferd::cli::HealthcheckOptions health;
  CLI::App* healthcheck = app.add_subcommand(
      "healthcheck", "Exit 0 when a running server is ready (for container health checks)");
  healthcheck->add_option("--host", health.host, "Server address")->capture_default_str();
  healthcheck->add_option("--port", health.port, "Server port")
      ->envname("INFERD_PORT")->capture_default_str();
  healthcheck->add_option("--path", health.path, "Route that must answer 2xx")
      ->capture_default_str();
  healthcheck->add_option("--timeout-ms", health.timeout_ms, "Give up after this long")
      ->check(CLI::Range(int64_t{1}, int64_t{600'000}))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  // The server logs for machines; the other commands talk to a person.
  inferd::ConfigureLogging(serve->parsed() && log_format == "json" ? inferd::LogFormat::kJson
                                                                    : inferd::LogFormat::kText,
                           serve->parsed() ? serve_flags.log_level : "info");
  if (serve->parsed()) return inferd::cli::RunServe(serve_flags, store_uri);
  if (healthcheck->parsed()) {
    inferd::Status st = inferd::cli::Healthcheck(health);
    return st.ok() ? 0 : Fail(st);
  }
  if (models->parsed()) return RunModels(models, models_flags, store_uri);
  if (datasets->parsed()) {
    return RunWithStore(store_uri, [&](store::Store& store, auto&) {
      if (datasets->got_subcommand("add")) return inferd::cli::AddDataset(store, dataset_add);
      if (datasets->got_subcommand("merge")) return inferd::cli::MergeDataset(store, dataset_merge);
      return inferd::cli::ShowDataset(store, dataset_ref);
    });
  }
  if (predictions->parsed()) {
    return RunWithStore(store_uri, [&](store::Store& store, auto& registry) {
      if (predictions->got_subcommand("migrate")) return inferd::cli::MigratePredictions(store);
      return inferd::cli::ExportPredictions(store, registry, prediction_export);
    });
  }
  if (train->parsed() && train_options.tracker_only) {
    inferd::Status st = inferd::cli::RunTracker(train_options);
    return st.ok() ? 0 : Fail(st);
  }
  if (train->parsed()) {
    return RunWithStore(store_uri, [&](store::Store& store, auto& registry) {
      return inferd::cli::TrainAndRegister(store, registry, train_options);
    });
  }
  return 0;
}
