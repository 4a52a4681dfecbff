#include "api/service.h"

#include "common/clock.h"

namespace inferd::api {

Service::Service(const ServiceContext& context) {
  AddV2Routes(context, &router_);
  AddV1Routes(context, &router_);
  AddDocsRoutes(&router_);
  if (context.registry != nullptr && context.store != nullptr) {
    AddMlflowRoutes(context, &router_);
  }
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

std::string LogPrediction(const ServiceContext& context, const model::Servable& servable,
                          const float* rows, int64_t num_rows, const std::vector<float>& outputs,
                          int64_t latency_us) {
  std::string id = monitor::NewPredictionId();
  monitor::PredictionLog* log = context.prediction_log;
  if (log == nullptr || !log->Sampled()) return id;
  const int64_t features = servable.model->info().num_features;
  log->Record({.id = id,
               .model = servable.name,
               .version = servable.version,
               .time_ms = SystemClock::Get()->NowMillis(),
               .latency_us = latency_us,
               .rows = num_rows,
               .inputs = std::vector<float>(rows, rows + num_rows * features),
               .outputs = outputs});
  return id;
}

}  // namespace inferd::api
