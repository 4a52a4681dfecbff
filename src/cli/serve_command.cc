#include "cli/serve_command.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include "api/service.h"
#include "common/json_writer.h"
#include "common/time_text.h"
#include "grpc/grpc_server.h"
#include "model/directory_source.h"
#include "model/repository.h"
#include "registry/registry.h"
#include "registry/registry_source.h"
#include "registry/tracking.h"
#include "store/store.h"
#include "train/dataset.h"

namespace inferd::cli {

int Fail(const Status& status) {
  std::fprintf(stderr, "inferd: %s\n", status.message().c_str());
  return 1;
}

namespace {

namespace store = inferd::store;

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
                       inferd::monitor::PredictionLog* log,
                       inferd::monitor::PredictionRetention* retention,
                       inferd::api::Health* health) {
  using Samples = std::vector<std::pair<std::vector<std::string>, double>>;
  registry->AddCallback("inferd_model_ready", "1 when the model version is loaded and serving",
                        {"model", "version"}, false, [models] {
                          Samples out;
                          for (const auto& e : models->LastIndex()) {
                            out.push_back({{e.name, e.version}, e.state == "READY" ? 1.0 : 0.0});
                          }
                          return out;
                        });
  registry->AddCallback("inferd_model_load_duration_seconds",
                        "How long the model's last (re)load took", {"model", "version"}, false,
                        [models] {
                          Samples out;
                          for (const auto& e : models->LastIndex()) {
                            if (e.state == "READY") out.push_back({{e.name, e.version}, e.load_seconds});
                          }
                          return out;
                        });
  registry->AddCallback("inferd_ready", "1 when /v2/health/ready answers 200", {}, false,
                        [health] { return Samples{{{}, health->ready() ? 1.0 : 0.0}}; });
  using Stats = inferd::monitor::RetentionStats;
  for (const auto& [name, help, counter, member] :
       std::initializer_list<std::tuple<const char*, const char*, bool, int64_t Stats::*>>{
           {"inferd_prediction_log_expired_total",
            "Prediction records deleted by inferd for their age (--prediction-retention)", true,
            &Stats::expired},
           {"inferd_prediction_log_oversize_deleted_total",
            "Prediction records deleted to keep the log within --prediction-max-bytes", true,
            &Stats::oversize},
           {"inferd_prediction_log_records", "Prediction records in the store, at the last "
            "retention pass", false, &Stats::records},
           {"inferd_prediction_log_bytes", "The prediction log's bytes in the store, at the "
            "last retention pass", false, &Stats::bytes}}) {
    registry->AddCallback(name, help, {}, counter, [retention, member] {
      return Samples{{{}, static_cast<double>(retention->stats().*member)}};
    });
  }
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

}  // namespace

int RunServe(ServeFlags& f, const std::string& store_uri) {
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  spdlog::default_logger()->set_level(spdlog::level::from_str(f.log_level));
  f.server.limits.idle_timeout = std::chrono::milliseconds(f.idle_timeout_ms);
  f.server.limits.read_timeout = std::chrono::milliseconds(f.read_timeout_ms);
  const sigset_t signals = BlockShutdownSignals();

  auto opened = store::OpenStore(store_uri);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<store::Store> store = std::move(opened).value();
  inferd::registry::Registry registry(store.get(), inferd::SystemClock::Get());
  inferd::registry::Tracking tracking(store.get(), inferd::SystemClock::Get());
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
  std::unique_ptr<inferd::monitor::PredictionRetention> retention;
  {
    auto max_age = inferd::ParseDurationMs(f.prediction_retention);
    if (!max_age.ok()) return Fail(max_age.status());
    auto created = inferd::monitor::PredictionRetention::Create(
        store.get(), {.max_age_ms = *max_age, .max_bytes = f.prediction_max_bytes},
        inferd::SystemClock::Get());
    if (!created.ok()) return Fail(created.status());
    retention = std::move(created).value();
    if (*max_age > 0 || f.prediction_max_bytes > 0) {
      spdlog::info("prediction retention: {} ({}), at most {} bytes",
                   *max_age > 0 ? f.prediction_retention : "any age",
                   retention->stats().server_expires ? "the store's TTL index"
                                                     : "deleted by inferd",
                   f.prediction_max_bytes > 0 ? std::to_string(f.prediction_max_bytes) : "any");
    }
  }
  // What the first inference of a version would read from the store is read
  // when the version loads (the inference service is set below, before any load).
  const inferd::serving::InferenceService* inference_ptr = nullptr;
  auto models = inferd::model::ModelRepository::Create(
      {.source = source.get(),
       .default_max_batch_size = f.max_batch_size,
       .on_built = [&inference_ptr](const inferd::model::Servable& servable) {
         if (inference_ptr) inference_ptr->Prepare(servable);
       }});
  const char* admin_token = std::getenv("INFERD_ADMIN_TOKEN");
  const char* read_token = std::getenv("INFERD_READ_TOKEN");
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
  AddServingMetrics(&metrics_registry, models.get(), prediction_log.get(), retention.get(),
                    &health);
  inferd::serving::InferenceService inference({.models = models.get(),
                                              .metrics = &metrics,
                                              .drift = &drift,
                                              .prediction_drift = &prediction_drift,
                                              .performance = &performance,
                                              .prediction_log = prediction_log.get()});
  inference_ptr = &inference;
  // Destroyed before the service: its last jobs still use it.
  auto workers = inferd::serving::Executor::Create(f.workers);
  if (!workers.ok()) return Fail(workers.status());
  inferd::api::Service service({
      .models = models.get(),
      .health = &health,
      .server_version = INFERD_VERSION,
      .store = store.get(),
      .registry = &registry,
      .tracking = &tracking,
      .admin_token = admin_token ? admin_token : "",
      .read_token = read_token ? read_token : "",
      .metrics = &metrics,
      .drift = &drift,
      .prediction_drift = &prediction_drift,
      .performance = &performance,
      .inference = &inference,
      .executor = workers->get(),
      .max_queue_time = std::chrono::milliseconds(f.max_queue_ms),
      .access_log_sample_rate = f.access_log_sample_rate,
      .on_registry_change =
          [&](const std::string&) {
            if (f.model_repository.empty()) (void)models->Refresh();
          },
  });
  auto server = inferd::http::Server::Create(
      f.server, [&service](inferd::http::Request& request, inferd::http::Responder& responder) {
        return service.HandleAsync(request, responder);
      });
  if (!server.ok()) return Fail(server.status());
  std::unique_ptr<inferd::http::Server> metrics_server;
  if (f.metrics_port != 0) {
    inferd::http::Server::Options options = f.server;
    options.port = f.metrics_port;
    options.threads = 1;
    auto created = inferd::http::Server::Create(
        options, [&service](inferd::http::Request& r,
                            inferd::http::Responder&) -> std::optional<inferd::http::Response> {
          if (r.Path() == "/metrics" || r.Path() == "/metrics/triton") return service.Handle(r);
          inferd::http::Response response;
          response.status = 404;
          response.body =
              inferd::JsonError("the metrics port serves /metrics and /metrics/triton");
          return response;
        });
    if (!created.ok()) return Fail(created.status());
    metrics_server = std::move(created).value();
  }
  std::unique_ptr<inferd::grpcapi::GrpcServer> grpc_server;  // uses workers: destroyed first
  if (f.grpc_port >= 0) {
    auto created = inferd::grpcapi::GrpcServer::Create(
        {.host = f.server.host,
         .port = f.grpc_port,
         .threads = f.server.threads,
         .max_message_bytes = f.server.limits.max_body_bytes,
         .server_version = INFERD_VERSION,
         .admin_token = admin_token ? admin_token : "",
         .executor = workers->get()},
        &inference, &health);
    if (!created.ok()) return Fail(created.status());
    grpc_server = std::move(created).value();
  }
  if (auto st = models->LoadAll(); !st.ok()) return Fail(st);
  health.SetLoaded();
  for (const auto& entry : models->LastIndex()) {
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
    if (grpc_server) grpc_server->Shutdown(std::chrono::milliseconds(f.shutdown_grace_ms));
  });
  std::thread metrics_thread;
  if (metrics_server) {
    spdlog::info("metrics on {}:{}", f.server.host, metrics_server->port());
    metrics_thread = std::thread([&] { metrics_server->Run(); });
  }
  if (grpc_server) spdlog::info("gRPC on {}:{}", f.server.host, grpc_server->port());
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


}  // namespace inferd::cli
