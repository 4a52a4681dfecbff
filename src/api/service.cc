#include "api/service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "api/http_status.h"
#include "common/bearer_token.h"
#include "common/logging.h"

namespace inferd::api {

Service::Service(const ServiceContext& context)
    : metrics_(context.metrics),
      executor_(context.executor),
      max_queue_time_(context.max_queue_time),
      access_log_sample_rate_(context.access_log_sample_rate) {
  AddV2Routes(context, &router_);
  if (context.metrics != nullptr) AddMetricsRoutes(context, &router_);
  AddV1Routes(context, &router_);
  AddPredictionRoutes(context, &router_);
  AddDocsRoutes(&router_);
  AddConsoleRoutes(&router_);
  if (context.registry != nullptr && context.store != nullptr) {
    AddMlflowRoutes(context, &router_);
    if (context.tracking != nullptr) AddMlflowTrackingRoutes(context, &router_);
  }
}

http::Response Service::Handle(http::Request& request) const {
  const TimePoint start = std::chrono::steady_clock::now();
  if (metrics_) metrics_->in_flight()->Add(1);
  const Router::Match match = router_.Find(request);
  http::Response response = Run(match, request);
  Finish(request, match, response, start);
  return response;
}

std::optional<http::Response> Service::HandleAsync(http::Request& request,
                                                   http::Responder& responder) const {
  const TimePoint start = std::chrono::steady_clock::now();
  if (metrics_) metrics_->in_flight()->Add(1);
  const Router::Match match = router_.Find(request);
  if (executor_ == nullptr || !router_.OnWorker(match)) {
    http::Response response = Run(match, request);
    Finish(request, match, response, start);
    return response;
  }
  // The match points into the request, which moves: the worker matches again.
  auto owned = std::make_shared<http::Request>(std::move(request));
  Status queued = executor_->Submit([this, owned, responder, start] {
    const Router::Match match = router_.Find(*owned);
    http::Response response = Run(match, *owned);
    Finish(*owned, match, response, start);
    responder.Send(std::move(response));
  });
  if (queued.ok()) return std::nullopt;
  http::Response response = ErrorResponse(queued);
  response.headers.emplace_back("Retry-After", "1");
  if (metrics_) metrics_->shed_workers()->Add();
  Finish(*owned, router_.Find(*owned), response, start);
  return response;
}

http::Response Service::Run(const Router::Match& match, http::Request& request) const {
  if (max_queue_time_.count() > 0 && Router::Sheddable(match) &&
      request.arrived.time_since_epoch().count() != 0) {
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now() - request.arrived);
    if (waited > max_queue_time_) {
      if (metrics_) metrics_->shed_late()->Add();
      http::Response response = ErrorResponse(Unavailable(
          "the server is overloaded: the request waited " + std::to_string(waited.count()) +
          " ms before it could run (limit " + std::to_string(max_queue_time_.count()) +
          " ms, --max-queue-ms); retry later"));
      response.headers.emplace_back("Retry-After", "1");
      return response;
    }
  }
  try {
    return router_.Run(match, request);
  } catch (const std::exception& e) {
    spdlog::error("route {} failed: {}", match.pattern, e.what());
  } catch (...) {
    spdlog::error("route {} failed: unknown exception", match.pattern);
  }
  return ErrorResponse(Internal("internal error"));
}

void Service::Finish(const http::Request& request, const Router::Match& match,
                     const http::Response& response, TimePoint start) const {
  if (metrics_) {
    metrics_->in_flight()->Add(-1);
    metrics_->Http(match.pattern, response.status)->Add();
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
               .model = match.params.model,
               .version = match.params.version});
  }
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
  return CheckBearerToken(context.admin_token, request.Header("Authorization"), "route",
                          "Authorization");
}

Status CheckReader(const ServiceContext& context, const http::Request& request) {
  return CheckReadToken(context.read_token, context.admin_token, request.Header("Authorization"),
                        "route", "Authorization");
}

Status CheckRecordReader(const ServiceContext& context, const http::Request& request) {
  const std::string& reader = context.read_token.empty() ? context.admin_token : context.read_token;
  return CheckReadToken(reader, context.admin_token, request.Header("Authorization"), "route",
                        "Authorization");
}

}  // namespace inferd::api
