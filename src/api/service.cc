#include "api/service.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "common/clock.h"
#include "common/logging.h"

namespace inferd::api {

Service::Service(const ServiceContext& context)
    : metrics_(context.metrics), access_log_sample_rate_(context.access_log_sample_rate) {
  AddV2Routes(context, &router_);
  if (context.metrics != nullptr) AddMetricsRoutes(context, &router_);
  AddV1Routes(context, &router_);
  AddDocsRoutes(&router_);
  if (context.registry != nullptr && context.store != nullptr) {
    AddMlflowRoutes(context, &router_);
  }
}

http::Response Service::Handle(http::Request& request) const {
  const auto start = std::chrono::steady_clock::now();
  if (metrics_) metrics_->in_flight()->Add(1);
  std::string_view route;
  PathParams params;
  http::Response response = router_.Dispatch(request, &route, &params);
  if (metrics_) {
    metrics_->in_flight()->Add(-1);
    metrics_->Http(route, response.status)->Add();
  }
  thread_local std::mt19937_64 random(std::random_device{}());
  const bool sampled = access_log_sample_rate_ >= 1 ||
                       (access_log_sample_rate_ > 0 &&
                        std::uniform_real_distribution<double>(0, 1)(random) <
                            access_log_sample_rate_);
  if (access_log_sample_rate_ > 0 && (sampled || response.status >= 400)) {
    const std::string trace_id = TraceIdFrom(request.Header("traceparent"));
    LogAccess({.method = request.method,
               .path = request.Path(),
               .status = response.status,
               .duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count(),
               .trace_id = trace_id,
               .model = params.model,
               .version = params.version});
  }
  return response;
}

void AddMetricsRoutes(const ServiceContext& context, Router* router) {
  monitor::ServerMetrics* metrics = context.metrics;
  auto text = [](std::string body) {
    http::Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = std::move(body);
    return response;
  };
  router->Add("GET", "/metrics",
              [metrics, text](auto&, auto&) { return text(metrics->registry()->Render()); });
  router->Add("GET", "/metrics/triton",
              [metrics, text](auto&, auto&) { return text(metrics->RenderTriton()); });
}

Status CheckAdmin(const ServiceContext& context, const http::Request& request) {
  if (context.admin_token.empty()) return Status::Ok();
  std::string_view header = request.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.empty()) {
    return Unauthenticated("this route needs an admin token: Authorization: Bearer <token>");
  }
  std::string_view token = header.starts_with(kBearer) ? header.substr(kBearer.size()) : "";
  // Constant-time comparison: the time taken does not reveal the token.
  unsigned char diff = token.size() != context.admin_token.size();
  for (size_t i = 0; i < context.admin_token.size(); ++i) {
    diff |= static_cast<unsigned char>(context.admin_token[i]) ^
            static_cast<unsigned char>(i < token.size() ? token[i] : 0);
  }
  if (diff != 0) return PermissionDenied("the admin token is not valid");
  return Status::Ok();
}

}  // namespace inferd::api

namespace inferd::api {

std::string KindOf(const model::ModelInfo& info) {
  if (info.num_outputs > 1 || info.objective.starts_with("multi:")) return "multiclass";
  if (info.objective.starts_with("binary:") || info.objective == "reg:logistic") return "binary";
  return "regression";
}

std::string LogPrediction(const ServiceContext& context, const model::Servable& servable,
                          const float* rows, int64_t num_rows, const std::vector<float>& outputs,
                          int64_t latency_us) {
  if (context.drift != nullptr) {
    if (monitor::ModelDrift* window =
            context.drift->For(servable.name, servable.version, servable.feature_names,
                                servable.config.reference_dataset)) {
      window->Observe(rows, num_rows);
    }
  }
  if (context.prediction_drift != nullptr) {
    if (monitor::ModelDrift* window =
            context.prediction_drift->For(servable.name, servable.version, {"prediction"})) {
      const int64_t classes = servable.model->info().num_outputs;
      if (classes == 1) {
        window->Observe(outputs.data(), num_rows);
      } else {  // multi-class: the predicted class, as a category code
        std::vector<float> predicted(num_rows);
        for (int64_t r = 0; r < num_rows; ++r) {
          const float* row = outputs.data() + r * classes;
          predicted[r] = static_cast<float>(std::max_element(row, row + classes) - row);
        }
        window->Observe(predicted.data(), num_rows);
      }
    }
  }
  std::string id = monitor::NewPredictionId();
  const std::string kind = KindOf(servable.model->info());
  if (context.performance != nullptr) {
    context.performance->Remember(id, servable.name, servable.version, kind, outputs, num_rows);
  }
  monitor::PredictionLog* log = context.prediction_log;
  if (log == nullptr || !log->Sampled()) return id;
  const int64_t features = servable.model->info().num_features;
  log->Record({.id = id,
               .model = servable.name,
               .version = servable.version,
               .time_ms = SystemClock::Get()->NowMillis(),
               .latency_us = latency_us,
               .kind = kind,
               .rows = num_rows,
               .inputs = std::vector<float>(rows, rows + num_rows * features),
               .outputs = outputs});
  return id;
}

}  // namespace inferd::api
