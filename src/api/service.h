// Service: the whole HTTP API as one function, Request -> Response.
//
// It owns the route table (V2, V1, repository extension, docs) and nothing
// else; the routes' logic lives in v2_api.cc, v1_api.cc and docs.cc. Handle is
// thread-safe and never touches a socket, so tests call it directly.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "api/router.h"
#include "http/message.h"
#include "model/repository.h"
#include "monitor/drift.h"
#include "monitor/live_performance.h"
#include "monitor/prediction_log.h"
#include "monitor/server_metrics.h"
#include "registry/registry.h"
#include "store/store.h"

namespace inferd::api {

// Liveness and readiness, as the health routes report them. Thread-safe.
class Health {
 public:
  // Models are loaded: ready unless draining.
  void SetLoaded() { loaded_.store(true, std::memory_order_release); }
  // Shutdown began: never ready again.
  void SetDraining() { draining_.store(true, std::memory_order_release); }
  bool ready() const { return loaded_.load(std::memory_order_acquire) && !draining(); }
  bool draining() const { return draining_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> loaded_{false};
  std::atomic<bool> draining_{false};
};

// What the routes need; not owned, must outlive the Service.
struct ServiceContext {
  model::ModelRepository* models = nullptr;
  Health* health = nullptr;
  std::string server_version;
  store::Store* store = nullptr;           // registry routes are off when null
  registry::Registry* registry = nullptr;  // likewise
  // When set, mutating routes (registry, artifacts, repository load/unload)
  // require `Authorization: Bearer <admin_token>`.
  std::string admin_token;
  monitor::PredictionLog* prediction_log = nullptr;  // inferences are not logged when null
  monitor::ServerMetrics* metrics = nullptr;         // nothing is counted, no /metrics, when null
  monitor::DriftMonitor* drift = nullptr;  // no drift windows when null
  // Windows of single-output models' predictions against the training
  // holdout's prediction profile (one feature, "prediction").
  monitor::DriftMonitor* prediction_drift = nullptr;
  monitor::LivePerformance* performance = nullptr;  // feedback is only stored when null
  // Share of successful requests written to the access log (errors always are); 0: none.
  double access_log_sample_rate = 0;
  // Called after a registry change that may alter what is served (may be empty).
  std::function<void(const std::string& model)> on_registry_change;
};

// OK when no admin token is configured or the request carries it;
// Unauthenticated without credentials, PermissionDenied with wrong ones.
Status CheckAdmin(const ServiceContext& context, const http::Request& request);

class Service {
 public:
  explicit Service(const ServiceContext& context);
  // Thread-safe. Counts the request by route and status when metrics are on,
  // and writes the access log line when it is sampled.
  http::Response Handle(http::Request& request) const;

 private:
  Router router_;
  monitor::ServerMetrics* metrics_;
  double access_log_sample_rate_;
};

// "binary", "multiclass" or "regression": how a model's outputs are scored.
std::string KindOf(const model::ModelInfo& info);

// Records one inference: its rows in the model version's drift window (if
// any) and the prediction log (if any, and if sampled). Returns its prediction
// id, which the caller returns to the client.
std::string LogPrediction(const ServiceContext& context, const model::Servable& servable,
                          const float* rows, int64_t num_rows, const std::vector<float>& outputs,
                          int64_t latency_us);

// Route groups, each in its own file.
void AddV2Routes(const ServiceContext& context, Router* router);
void AddV1Routes(const ServiceContext& context, Router* router);
void AddDocsRoutes(Router* router);
void AddMlflowRoutes(const ServiceContext& context, Router* router);
void AddMetricsRoutes(const ServiceContext& context, Router* router);

}  // namespace inferd::api
