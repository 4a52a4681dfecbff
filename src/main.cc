// inferd: flags, wiring and signals. Nothing else lives here.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <algorithm>
#include <condition_variable>
#include <tuple>
#include <mutex>

#include "api/service.h"
#include "cli/models_command.h"
#include "common/json_writer.h"
#include "common/logging.h"
#include "cli/train_command.h"
#include "http/server.h"
#include "model/directory_source.h"
#include "model/repository.h"
#include "registry/registry.h"
#include "registry/registry_source.h"
#include "store/store.h"
#include "train/dataset.h"

namespace {

namespace store = inferd::store;

struct ServeFlags {
  inferd::http::Server::Options server;
  std::string model_repository;
  int64_t poll_interval_ms = 10'000;
  uint16_t metrics_port = 0;
  inferd::monitor::PredictionLog::Options prediction_log;
  std::string spool_dir = "./inferd-data/spool";
  int64_t max_batch_size = 4096;
  int64_t idle_timeout_ms = 60'000;
  int64_t read_timeout_ms = 30'000;
  int64_t shutdown_grace_ms = 20'000;
  std::string log_level = "info";
  double access_log_sample_rate = 1;
  inferd::monitor::DriftOptions drift;
  inferd::monitor::LivePerformance::Options performance;
};

void AddServeFlags(CLI::App* serve, ServeFlags* f) {
  f->server.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  serve->add_option("--host", f->server.host, "Address to listen on")
      ->envname("INFERD_HOST")->capture_default_str();
  serve->add_option("--port", f->server.port, "Port to listen on (0: any free port)")
      ->envname("INFERD_PORT")->capture_default_str();
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
  serve->add_option("--max-connections", f->server.limits.max_connections,
                    "Open connections; further ones get 503 and are closed")
      ->envname("INFERD_MAX_CONNECTIONS")->check(CLI::Range(1u, 1u << 20))->capture_default_str();
  serve->add_option("--max-batch-size", f->max_batch_size,
                    "Rows per inference request unless a model's config.json says otherwise")
      ->envname("INFERD_MAX_BATCH_SIZE")->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
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
  serve->add_option("--log-level", f->log_level, "trace, debug, info, warn, error")
      ->envname("INFERD_LOG_LEVEL")->capture_default_str();
}

// Blocks SIGTERM and SIGINT in this and every later thread, so that only the
// waiter thread (sigwait) sees them.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Prints "inferd: <message>" on stderr and returns exit code 1.
int Fail(const inferd::Status& status) {
  std::fprintf(stderr, "inferd: %s\n", status.message().c_str());
  return 1;
}

// Calls `fn` every `interval` until Stop(). Thread-safe.
class Poller {
 public:
  Poller(std::chrono::milliseconds interval, std::function<void()> fn)
      : thread_([this, interval, fn = std::move(fn)] {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
            lock.unlock();
            fn();
            lock.lock();
          }
        }) {}
  ~Poller() { Stop(); }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// Gauges read at scrape time: model readiness, prediction-log health, readiness.
void AddServingMetrics(inferd::monitor::MetricsRegistry* registry,
                       inferd::model::ModelRepository* models,
                       inferd::monitor::PredictionLog* log, inferd::api::Health* health) {
  using Samples = std::vector<std::pair<std::vector<std::string>, double>>;
  registry->AddCallback("inferd_model_ready", "1 when the model version is loaded and serving",
                        {"model", "version"}, false, [models] {
                          Samples out;
                          for (const auto& e : models->Index()) {
                            out.push_back({{e.name, e.version}, e.state == "READY" ? 1.0 : 0.0});
                          }
                          return out;
                        });
  registry->AddCallback("inferd_model_load_duration_seconds",
                        "How long the model's last (re)load took", {"model", "version"}, false,
                        [models] {
                          Samples out;
                          for (const auto& e : models->Index()) {
                            if (e.state == "READY") out.push_back({{e.name, e.version}, e.load_seconds});
                          }
                          return out;
                        });
  registry->AddCallback("inferd_ready", "1 when /v2/health/ready answers 200", {}, false,
                        [health] { return Samples{{{}, health->ready() ? 1.0 : 0.0}}; });
  if (log == nullptr) return;
  struct Field {
    const char* name;
    const char* help;
    bool counter;
    int64_t inferd::monitor::PredictionLogStats::*member;
  };
  for (const Field& field : std::initializer_list<Field>{
           {"inferd_prediction_log_queue_depth", "Prediction records waiting in memory", false,
            &inferd::monitor::PredictionLogStats::queued},
           {"inferd_prediction_log_written_total", "Prediction records stored directly", true,
            &inferd::monitor::PredictionLogStats::written},
           {"inferd_prediction_log_spooled_total", "Prediction records written to the spool", true,
            &inferd::monitor::PredictionLogStats::spooled},
           {"inferd_prediction_log_replayed_total", "Spooled records moved to the store", true,
            &inferd::monitor::PredictionLogStats::replayed},
           {"inferd_prediction_log_dropped_total", "Prediction records lost to full buffers", true,
            &inferd::monitor::PredictionLogStats::dropped},
           {"inferd_prediction_log_write_errors_total", "Failed writes to the store", true,
            &inferd::monitor::PredictionLogStats::write_errors},
           {"inferd_prediction_log_spool_bytes", "Size of the spool file", false,
            &inferd::monitor::PredictionLogStats::spool_bytes}}) {
    registry->AddCallback(field.name, field.help, {}, field.counter, [log, field] {
      return Samples{{{}, static_cast<double>(log->stats().*field.member)}};
    });
  }
}

inferd::monitor::FeatureReference FromProfile(const inferd::train::ColumnProfile& column) {
  if (column.type == "categorical") {
    inferd::monitor::FeatureReference ref{.name = column.name, .count = column.count,
                                          .missing_share = column.missing_share};
    for (const auto& [value, n] : column.categories) {
      ref.categories.push_back(value);
      ref.category_proportions.push_back(static_cast<double>(n) / column.count);
    }
    return ref;
  }
  inferd::monitor::FeatureReference ref{.name = column.name,
                                        .count = column.count,
                                        .missing_share = column.missing_share,
                                        .decile_edges = column.histogram_edges,
                                        .percentiles = column.percentiles};
  for (int64_t n : column.histogram_counts) {
    ref.decile_proportions.push_back(static_cast<double>(n) / column.count);
  }
  return ref;
}

// The reference of a registered version's predictions: the profile of its
// holdout predictions recorded at training. Empty when there is none.
std::vector<inferd::monitor::FeatureReference> LoadPredictionReference(
    inferd::registry::Registry& registry, const std::string& model, int64_t version) {
  auto v = registry.GetVersion(model, version);
  if (!v.ok() || v->prediction_profile.empty()) return {};
  auto profile = inferd::train::ColumnProfileFromJson(v->prediction_profile);
  if (!profile.ok() || profile->count == 0) return {};
  return {FromProfile(*profile)};
}

// Drift references: the profile of the dataset a registered version was
// trained on, in the model's feature order. Empty when there is none.
std::vector<inferd::monitor::FeatureReference> LoadReference(
    inferd::registry::Registry& registry, inferd::train::Datasets& datasets,
    const std::string& model, int64_t version, const std::vector<std::string>& features,
    const std::string& configured) {
  if (features.empty()) return {};
  std::string name;
  int64_t dataset_version = 0;
  if (!configured.empty()) {
    auto ref = inferd::train::ParseDatasetRef(configured);
    if (!ref.ok()) {
      spdlog::warn("no drift reference for {}: {}", model, ref.status().message());
      return {};
    }
    std::tie(name, dataset_version) = *ref;
  } else {
    auto v = registry.GetVersion(model, version);
    if (!v.ok() || !v->dataset) return {};
    name = v->dataset->name;
    dataset_version = v->dataset->version;
  }
  auto dataset = datasets.Get(name, dataset_version);
  if (!dataset.ok()) {
    spdlog::warn("no drift reference for {} version {}: {}", model, version,
                 dataset.status().message());
    return {};
  }
  std::vector<inferd::monitor::FeatureReference> out;
  for (const std::string& name : features) {
    auto column = std::find_if(dataset->columns.begin(), dataset->columns.end(),
                               [&](const auto& c) { return c.name == name; });
    if (column == dataset->columns.end() || column->type != "numeric" || column->count == 0) {
      spdlog::warn("no drift reference for {} version {}: feature {} is not a numeric column "
                   "of dataset {}", model, version, name, dataset->name);
      return {};
    }
    out.push_back(FromProfile(*column));
  }
  return out;
}

void AddDriftMetrics(inferd::monitor::MetricsRegistry* registry,
                     inferd::monitor::DriftMonitor* drift,
                     inferd::monitor::DriftMonitor* prediction_drift) {
  using Samples = std::vector<std::pair<std::vector<std::string>, double>>;
  using Field = double inferd::monitor::FeatureDrift::*;
  for (auto [name, help, field] : std::initializer_list<std::tuple<const char*, const char*, Field>>{
           {"inferd_drift_psi", "Population stability index of a feature's live window",
            &inferd::monitor::FeatureDrift::psi},
           {"inferd_drift_ks", "Kolmogorov-Smirnov statistic of a feature's live window",
            &inferd::monitor::FeatureDrift::ks},
           {"inferd_drift_ks_p_value", "KS p-value of a feature's live window",
            &inferd::monitor::FeatureDrift::ks_p_value}}) {
    registry->AddCallback(name, help, {"model", "version", "feature"}, false, [drift, field] {
      Samples out;
      drift->ForEach([&](const std::string& model, int64_t version, const auto& window) {
        for (const auto& f : window.Report().features) {
          out.push_back({{model, std::to_string(version), f.name}, f.*field});
        }
      });
      return out;
    });
  }
  registry->AddCallback("inferd_prediction_drift_psi",
                        "PSI of the live predictions against the training holdout's",
                        {"model", "version"}, false, [prediction_drift] {
                          Samples out;
                          prediction_drift->ForEach([&](const std::string& model, int64_t version,
                                                        const auto& window) {
                            out.push_back({{model, std::to_string(version)},
                                           window.Report().features.at(0).psi});
                          });
                          return out;
                        });
  registry->AddCallback("inferd_drift_detected",
                        "1 when at least the configured share of features drift",
                        {"model", "version"}, false, [drift] {
                          Samples out;
                          drift->ForEach([&](const std::string& model, int64_t version,
                                             const auto& window) {
                            out.push_back({{model, std::to_string(version)},
                                           window.Report().dataset_drift ? 1.0 : 0.0});
                          });
                          return out;
                        });
}

int Serve(ServeFlags& f, const std::string& store_uri) {
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  spdlog::default_logger()->set_level(spdlog::level::from_str(f.log_level));
  f.server.limits.idle_timeout = std::chrono::milliseconds(f.idle_timeout_ms);
  f.server.limits.read_timeout = std::chrono::milliseconds(f.read_timeout_ms);
  const sigset_t signals = BlockShutdownSignals();

  auto opened = store::OpenStore(store_uri);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<store::Store> store = std::move(opened).value();
  inferd::registry::Registry registry(store.get(), inferd::SystemClock::Get());
  std::unique_ptr<inferd::model::ModelSource> source;
  if (f.model_repository.empty()) {
    source = std::make_unique<inferd::registry::RegistrySource>(&registry);
  } else {
    source = std::make_unique<inferd::model::DirectorySource>(f.model_repository);
  }
  std::unique_ptr<inferd::monitor::PredictionLog> prediction_log;
  if (f.prediction_log.sample_rate > 0) {
    f.prediction_log.spool_path = f.spool_dir + "/predictions.spool";
    auto created = inferd::monitor::PredictionLog::Create(store.get(), f.prediction_log);
    if (!created.ok()) return Fail(created.status());
    prediction_log = std::move(created).value();
  }
  auto models = inferd::model::ModelRepository::Create(
      {.source = source.get(), .default_max_batch_size = f.max_batch_size});
  const char* admin_token = std::getenv("INFERD_ADMIN_TOKEN");
  inferd::monitor::MetricsRegistry metrics_registry;
  inferd::monitor::ServerMetrics metrics(&metrics_registry);
  inferd::monitor::AddProcessMetrics(&metrics_registry, INFERD_VERSION);
  inferd::train::Datasets datasets(store.get(), inferd::SystemClock::Get());
  inferd::monitor::DriftMonitor drift(
      [&](const std::string& model, int64_t version, const std::vector<std::string>& features,
          const std::string& dataset) {
        return LoadReference(registry, datasets, model, version, features, dataset);
      },
      f.drift, inferd::SystemClock::Get());
  inferd::monitor::DriftMonitor prediction_drift(
      [&](const std::string& model, int64_t version, const auto&, const auto&) {
        return LoadPredictionReference(registry, model, version);
      },
      f.drift, inferd::SystemClock::Get());
  AddDriftMetrics(&metrics_registry, &drift, &prediction_drift);
  inferd::monitor::LivePerformance performance(store.get(), f.performance);
  metrics_registry.AddCallback(
      "inferd_live_metric", "Live model quality on joined ground truth (metric: auc, logloss, "
      "accuracy, rmse, mae)", {"model", "version", "metric"}, false, [&performance] {
        std::vector<std::pair<std::vector<std::string>, double>> out;
        for (const auto& r : performance.Reports()) {
          for (const auto& [name, value] : r.metrics) {
            out.push_back({{r.model, std::to_string(r.version), name}, value});
          }
        }
        return out;
      });
  metrics_registry.AddCallback(
      "inferd_live_labelled_rows", "Rows with ground truth in the live window",
      {"model", "version"}, false, [&performance] {
        std::vector<std::pair<std::vector<std::string>, double>> out;
        for (const auto& r : performance.Reports()) {
          out.push_back({{r.model, std::to_string(r.version)}, static_cast<double>(r.rows)});
        }
        return out;
      });
  inferd::api::Health health;
  AddServingMetrics(&metrics_registry, models.get(), prediction_log.get(), &health);
  inferd::api::Service service({
      .models = models.get(),
      .health = &health,
      .server_version = INFERD_VERSION,
      .store = store.get(),
      .registry = &registry,
      .admin_token = admin_token ? admin_token : "",
      .prediction_log = prediction_log.get(),
      .metrics = &metrics,
      .drift = &drift,
      .prediction_drift = &prediction_drift,
      .performance = &performance,
      .access_log_sample_rate = f.access_log_sample_rate,
      .on_registry_change =
          [&](const std::string&) {
            if (f.model_repository.empty()) (void)models->Refresh();
          },
  });
  auto server = inferd::http::Server::Create(
      f.server, [&service](inferd::http::Request& request) { return service.Handle(request); });
  if (!server.ok()) return Fail(server.status());
  std::unique_ptr<inferd::http::Server> metrics_server;
  if (f.metrics_port != 0) {
    inferd::http::Server::Options options = f.server;
    options.port = f.metrics_port;
    options.threads = 1;
    auto created = inferd::http::Server::Create(options, [&service](inferd::http::Request& r) {
      if (r.Path() == "/metrics" || r.Path() == "/metrics/triton") return service.Handle(r);
      inferd::http::Response response;
      response.status = 404;
      response.body = inferd::JsonError("the metrics port serves /metrics and /metrics/triton");
      return response;
    });
    if (!created.ok()) return Fail(created.status());
    metrics_server = std::move(created).value();
  }
  if (auto st = models->LoadAll(); !st.ok()) return Fail(st);
  health.SetLoaded();
  for (const auto& entry : models->Index()) {
    spdlog::info("model {} version {} {}", entry.name, entry.version, entry.state);
  }
  std::optional<Poller> poller;
  if (f.poll_interval_ms > 0) {
    poller.emplace(std::chrono::milliseconds(f.poll_interval_ms), [&] {
      if (auto st = models->Refresh(); !st.ok()) spdlog::warn("refresh: {}", st.message());
    });
  }

  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    spdlog::info("received {}, draining (grace {} ms)", strsignal(signal), f.shutdown_grace_ms);
    health.SetDraining();
    (*server)->Shutdown(std::chrono::milliseconds(f.shutdown_grace_ms));
    if (metrics_server) metrics_server->Shutdown(std::chrono::milliseconds(f.shutdown_grace_ms));
  });
  std::thread metrics_thread;
  if (metrics_server) {
    spdlog::info("metrics on {}:{}", f.server.host, metrics_server->port());
    metrics_thread = std::thread([&] { metrics_server->Run(); });
  }
  spdlog::info("inferd {} listening on {}:{} with {} threads, store {}", INFERD_VERSION,
               f.server.host, (*server)->port(), f.server.threads, store::RedactUri(store_uri));
  (*server)->Run();
  waiter.join();
  if (metrics_thread.joinable()) metrics_thread.join();
  if (poller) poller->Stop();
  if (prediction_log) {
    prediction_log->WaitIdle(std::chrono::milliseconds(f.shutdown_grace_ms));
    const auto stats = prediction_log->stats();
    spdlog::info("prediction log: {} written, {} spooled, {} replayed, {} dropped, {} queued, "
                 "{} write errors", stats.written, stats.spooled, stats.replayed, stats.dropped,
                 stats.queued, stats.write_errors);
  }
  spdlog::info("inferd stopped");
  return 0;
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
  reg->add_option("--file", f->file, "XGBoost model (.json or .ubj)")->required();
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
                        std::string* show_ref) {
  datasets->require_subcommand(1);
  auto* add = datasets->add_subcommand("add", "Record a CSV file as a new dataset version");
  add->add_option("file", add_options->file, "The CSV file (or give --dvc)");
  add->add_option("--name", add_options->name, "Dataset name (default: the file name)");
  add->add_option("--dvc", add_options->dvc_file, "A .dvc pointer the data must match");
  auto* show = datasets->add_subcommand("show", "Show a dataset version and its profile");
  show->add_option("dataset", *show_ref, "NAME or NAME@VERSION")->required();
}

void AddTrainFlags(CLI::App* train, inferd::cli::TrainCommandOptions* o) {
  auto* data = train->add_option("--data", o->data, "CSV file to train on");
  auto* dataset = train->add_option("--dataset", o->dataset, "Recorded dataset NAME[@VERSION]");
  data->excludes(dataset);
  train->add_option("--dataset-name", o->dataset_name, "Record --data under this dataset name");
  train->add_option("--target", o->train.target, "Label column")->required();
  train->add_option("--register", o->register_name, "Registered model name")->required();
  train->add_option("--alias", o->alias, "Point this alias at the new version");
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
  std::string dataset_ref;
  CLI::App* datasets = app.add_subcommand("datasets", "Record and inspect versioned datasets");
  AddDatasetCommands(datasets, &dataset_add, &dataset_ref);
  inferd::cli::TrainCommandOptions train_options;
  CLI::App* train = app.add_subcommand("train", "Train an XGBoost model and register it");
  AddTrainFlags(train, &train_options);
  CLI11_PARSE(app, argc, argv);
  // The server logs for machines; the other commands talk to a person.
  inferd::ConfigureLogging(serve->parsed() && log_format == "json" ? inferd::LogFormat::kJson
                                                                    : inferd::LogFormat::kText,
                           serve->parsed() ? serve_flags.log_level : "info");
  if (serve->parsed()) return Serve(serve_flags, store_uri);
  if (models->parsed()) return RunModels(models, models_flags, store_uri);
  if (datasets->parsed()) {
    return RunWithStore(store_uri, [&](store::Store& store, auto&) {
      if (datasets->got_subcommand("add")) return inferd::cli::AddDataset(store, dataset_add);
      return inferd::cli::ShowDataset(store, dataset_ref);
    });
  }
  if (train->parsed()) {
    return RunWithStore(store_uri, [&](store::Store& store, auto& registry) {
      return inferd::cli::TrainAndRegister(store, registry, train_options);
    });
  }
  return 0;
}
