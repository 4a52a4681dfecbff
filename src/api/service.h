// Service: the whole HTTP API as one function, Request -> Response.
//
// It owns the route table (V2, V1, the prediction log, repository extension,
// docs, console, MLflow, metrics) and nothing else; the routes' logic lives in
// v2_api.cc, v1_api.cc, predictions_api.cc, mlflow_api.cc, docs.cc and
// console.cc, and inference itself in serving/. Handle is
// thread-safe and never touches a socket, so tests call it directly.
//
// Where work runs: routes that wait (store I/O, model loads, artifact
// transfers, a batching model's queue delay) are marked so when added, and
// HandleAsync runs them on the executor, answering through the transport's
// Responder; everything else runs inline on the I/O thread that read the
// request.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "api/router.h"
#include "http/message.h"
#include "http/server.h"
#include "model/repository.h"
#include "monitor/drift.h"
#include "monitor/live_performance.h"
#include "monitor/server_metrics.h"
#include "registry/registry.h"
#include "registry/tracking.h"
#include "serving/executor.h"
#include "serving/inference_service.h"
#include "store/store.h"

namespace inferd::api {

using serving::Health;

// What the routes need; not owned, must outlive the Service.
struct ServiceContext {
  model::ModelRepository* models = nullptr;
  Health* health = nullptr;
  std::string server_version;
  store::Store* store = nullptr;           // registry routes are off when null
  registry::Registry* registry = nullptr;  // likewise
  // MLflow's experiments, runs and logged models; the tracking routes are off when null.
  registry::Tracking* tracking = nullptr;
  // When set, mutating routes (registry, artifacts, repository load/unload)
  // require `Authorization: Bearer <admin_token>`.
  std::string admin_token;
  // When set, routes that read the registry, its artifacts and the monitoring
  // reports (drift, live performance) require `Authorization: Bearer
  // <read_token>` or the admin token. Inference, feedback, health, metadata
  // and /metrics stay open.
  std::string read_token;
  monitor::ServerMetrics* metrics = nullptr;         // nothing is counted, no /metrics, when null
  monitor::DriftMonitor* drift = nullptr;  // no drift windows when null
  // Windows of single-output models' predictions against the training
  // holdout's prediction profile (one feature, "prediction").
  monitor::DriftMonitor* prediction_drift = nullptr;
  monitor::LivePerformance* performance = nullptr;  // feedback is only stored when null
  // The one inference path (required for the inference routes).
  serving::InferenceService* inference = nullptr;
  // Runs the routes that wait; when null they run inline (tests, tools).
  serving::Executor* executor = nullptr;
  // An inference request that waited longer than this before it could run
  // (in the kernel's queue, the I/O loop's or the workers', counted from its
  // arrival) gets 503 with Retry-After instead of being run; zero: never.
  std::chrono::milliseconds max_queue_time{0};
  // Share of successful requests written to the access log (errors always are); 0: none.
  double access_log_sample_rate = 0;
  // Called after a registry change that may alter what is served (may be empty).
  std::function<void(const std::string& model)> on_registry_change;
};

// OK when no admin token is configured or the request carries it;
// Unauthenticated without credentials, PermissionDenied with wrong ones.
Status CheckAdmin(const ServiceContext& context, const http::Request& request);
// OK when no read token is configured or the request carries it or the admin
// token; Unauthenticated without credentials, PermissionDenied with wrong ones.
Status CheckReader(const ServiceContext& context, const http::Request& request);
// For the prediction log's records (production inputs): as CheckReader, but
// with no read token configured they need the admin token, when one is.
Status CheckRecordReader(const ServiceContext& context, const http::Request& request);

class Service {
 public:
  explicit Service(const ServiceContext& context);
  // Runs the request's route inline, whatever it is. Thread-safe. Counts the
  // request by route and status when metrics are on, and writes the access log
  // line when it is sampled.
  http::Response Handle(http::Request& request) const;

  // The transport's entry point: as Handle for inline routes; a route that
  // waits is queued on the executor (the request moves there) and answered
  // through `responder`, and std::nullopt is returned. A full executor queue
  // answers 503 with Retry-After at once.
  std::optional<http::Response> HandleAsync(http::Request& request,
                                            http::Responder& responder) const;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  // Runs a matched route, turning an escaping exception into a 500; sheds it
  // (503) when it may be and has waited past max_queue_time.
  http::Response Run(const Router::Match& match, http::Request& request) const;
  // Counts and access-logs a finished request.
  void Finish(const http::Request& request, const Router::Match& match,
              const http::Response& response, TimePoint start) const;

  Router router_;
  monitor::ServerMetrics* metrics_;
  serving::Executor* executor_;
  std::chrono::milliseconds max_queue_time_;
  double access_log_sample_rate_;
};

// Route groups, each in its own file.
void AddV2Routes(const ServiceContext& context, Router* router);
void AddV1Routes(const ServiceContext& context, Router* router);
void AddPredictionRoutes(const ServiceContext& context, Router* router);
void AddDocsRoutes(Router* router);
void AddConsoleRoutes(Router* router);
void AddMlflowRoutes(const ServiceContext& context, Router* router);
void AddMlflowTrackingRoutes(const ServiceContext& context, Router* router);
void AddMetricsRoutes(const ServiceContext& context, Router* router);

}  // namespace inferd::api
