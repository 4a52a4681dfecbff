// KServe V2 / Open Inference Protocol routes and Triton's model repository
// extension.
#include <simdjson.h>

#include <chrono>

#include "api/http_status.h"
#include "api/service.h"
#include "api/v2_codec.h"
#include "common/json_writer.h"

namespace inferd::api {
namespace {

constexpr char kServerName[] = "inferd";

class V2Api {
 public:
  explicit V2Api(const ServiceContext& context) : context_(context) {}

  http::Response Live() const {
    return JsonResponse(R"({"live":true})");
  }

  http::Response Ready() const {
    if (!context_.health->ready()) {
      return ErrorResponse(Unavailable(context_.health->draining()
                                           ? "server is shutting down"
                                           : "server is loading its models"));
    }
    return JsonResponse(R"({"ready":true})");
  }

  http::Response ServerMetadata() const {
    std::string body;
    JsonWriter json(&body);
    json.BeginObject();
    json.Key("name").String(kServerName);
    json.Key("version").String(context_.server_version);
    json.Key("extensions").BeginArray().String("binary_tensor_data").String("model_repository");
    json.EndArray().EndObject();
    return JsonResponse(std::move(body));
  }

  http::Response ModelMetadata(const PathParams& params) const {
    auto servable = context_.models->Get(params.model, params.version);
    if (!servable.ok()) return ErrorResponse(servable.status());
    auto versions = context_.models->Versions(params.model);
    if (!versions.ok()) return ErrorResponse(versions.status());
    const model::Servable& s = **servable;
    const model::ModelInfo& info = s.model->info();
    std::string body;
    JsonWriter json(&body);
    json.BeginObject();
    json.Key("name").String(s.name);
    json.Key("versions").BeginArray();
    for (int64_t v : *versions) json.String(std::to_string(v));
    json.EndArray();
    json.Key("platform").String("xgboost");  // the model format, as Triton's FIL backend
    json.Key("inputs").BeginArray().BeginObject();
    json.Key("name").String(s.config.input_name).Key("datatype").String("FP32");
    json.Key("shape").BeginArray().Int(-1).Int(info.num_features).EndArray();
    json.EndObject().EndArray();
    json.Key("outputs").BeginArray().BeginObject();
    json.Key("name").String(s.config.output_name).Key("datatype").String("FP32");
    json.Key("shape").BeginArray().Int(-1);
    if (info.num_outputs > 1) json.Int(info.num_outputs);
    json.EndArray().EndObject().EndArray();
    json.Key("parameters").BeginObject();
    json.Key("version").String(std::to_string(s.version));
    json.Key("objective").String(info.objective);
    json.Key("runtime").String(info.runtime);  // "native" or "xgboost" (libxgboost)
    json.Key("output_kind")
        .String(s.config.output_kind == model::OutputKind::kMargin ? "margin" : "probability");
    json.Key("max_batch_size").Int(s.max_batch_size);
    json.Key("feature_names").BeginArray();
    for (const auto& name : s.feature_names) json.String(name);
    json.EndArray().EndObject();
    json.EndObject();
    return JsonResponse(std::move(body));
  }

  http::Response ModelReady(const PathParams& params) const {
    auto servable = context_.models->Get(params.model, params.version);
    if (!servable.ok()) return ErrorResponse(servable.status());
    std::string body;
    JsonWriter(&body).BeginObject().Key("name").String((*servable)->name).Key("ready").Bool(true)
        .EndObject();
    return JsonResponse(std::move(body));
  }

  http::Response Infer(const http::Request& request, const PathParams& params) const {
    const auto start = std::chrono::steady_clock::now();
    auto servable = context_.models->Get(params.model, params.version);
    if (!servable.ok()) return ErrorResponse(servable.status());
    const model::Servable& s = **servable;
    auto parsed = ParseInferRequest(request);
    if (!parsed.ok()) return Reject(s, parsed.status());
    InferRequest& infer = *parsed;

    const model::ModelInfo& info = s.model->info();
    if (infer.inputs.size() != 1) {
      return Reject(s, InvalidArgument(
          "model '" + s.name + "' takes 1 input ('" + s.config.input_name + "'), got " +
          std::to_string(infer.inputs.size())));
    }
    const InferInput& input = infer.inputs[0];
    if (input.name != s.config.input_name) {
      return Reject(s, InvalidArgument("unknown input '" + input.name + "': model '" +
                                           s.name + "' expects '" + s.config.input_name + "'"));
    }
    if (input.shape.size() != 2 || input.shape[1] != info.num_features) {
      return Reject(s, InvalidArgument(
          "input '" + input.name + "': shape " + ShapeToString(input.shape) + " must be [rows, " +
          std::to_string(info.num_features) + "]"));
    }
    const int64_t rows = input.shape[0];
    std::vector<float> predictions;
    const auto compute_start = std::chrono::steady_clock::now();
    int64_t executions = 0;
    if (Status st = s.Predict(input.values(), rows, &predictions, &executions); !st.ok()) {
      CountFailure(s, st);
      return ErrorResponse(st);
    }
    const auto compute_end = std::chrono::steady_clock::now();

    std::vector<int64_t> shape = {rows};
    if (info.num_outputs > 1) shape.push_back(info.num_outputs);
    std::vector<InferOutput> outputs;
    if (infer.outputs.empty()) {
      outputs.push_back({s.config.output_name, shape, predictions.data(), infer.binary_data_output});
    }
    for (const RequestedOutput& requested : infer.outputs) {
      if (requested.name != s.config.output_name) {
        return Reject(s, InvalidArgument("unknown output '" + requested.name +
                                             "': model '" + s.name + "' has '" +
                                             s.config.output_name + "'"));
      }
      outputs.push_back({requested.name, shape, predictions.data(), requested.binary});
    }
    const int64_t latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count();
    if (context_.metrics) {
      context_.metrics->RecordInference(
          context_.metrics->Model(s.name, s.version), /*v2=*/true, rows, latency_us,
          std::chrono::duration_cast<std::chrono::microseconds>(compute_end - compute_start)
              .count(),
          executions);
    }
    std::string prediction_id =
        LogPrediction(context_, s, input.values(), rows, predictions, latency_us);
    return EncodeInferResponse(s.name, s.version, infer.id, outputs, prediction_id);
  }

  http::Response RepositoryIndex(const http::Request& request) const {
    bool ready_only = false;
    if (!request.body.empty()) {
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      if (parser.parse(request.body).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
        return ErrorResponse(InvalidArgument("repository index body must be a JSON object"));
      }
      bool ready;
      if (doc["ready"].get(ready) == simdjson::SUCCESS) ready_only = ready;
    }
    std::string body;
    JsonWriter json(&body);
    json.BeginArray();
    for (const auto& entry : context_.models->Index()) {
      if (ready_only && entry.state != "READY") continue;
      json.BeginObject().Key("name").String(entry.name);
      if (!entry.version.empty()) json.Key("version").String(entry.version);
      json.Key("state").String(entry.state);
      if (!entry.reason.empty()) json.Key("reason").String(entry.reason);
      json.EndObject();
    }
    json.EndArray();
    return JsonResponse(std::move(body));
  }

  http::Response Load(const http::Request& request, const PathParams& params) const {
    if (Status st = CheckAdmin(context_, request); !st.ok()) return ErrorResponse(st);
    if (Status st = context_.models->Load(params.model); !st.ok()) return ErrorResponse(st);
    return JsonResponse("{}");
  }

  http::Response Unload(const http::Request& request, const PathParams& params) const {
    if (Status st = CheckAdmin(context_, request); !st.ok()) return ErrorResponse(st);
    if (Status st = context_.models->Unload(params.model); !st.ok()) return ErrorResponse(st);
    return JsonResponse("{}");
  }

 private:
  // Counts a failed inference of a known model: REJECTED for bad input,
  // BACKEND when the model itself failed.
  void CountFailure(const model::Servable& s, const Status& status) const {
    if (context_.metrics) {
      context_.metrics->RecordFailure(s.name, s.version, HttpStatusFor(status.code()));
    }
  }
  http::Response Reject(const model::Servable& s, const Status& status) const {
    CountFailure(s, status);
    return ErrorResponse(status);
  }

  ServiceContext context_;
};

}  // namespace

void AddV2Routes(const ServiceContext& context, Router* router) {
  auto api = std::make_shared<const V2Api>(context);
  router->Add("GET", "/v2/health/live", [api](auto&, auto&) { return api->Live(); });
  router->Add("GET", "/v2/health/ready", [api](auto&, auto&) { return api->Ready(); });
  router->Add("GET", "/v2", [api](auto&, auto&) { return api->ServerMetadata(); });
  for (std::string prefix : {"/v2/models/{model}", "/v2/models/{model}/versions/{version}"}) {
    router->Add("GET", prefix, [api](auto&, auto& p) { return api->ModelMetadata(p); });
    router->Add("GET", prefix + "/ready", [api](auto&, auto& p) { return api->ModelReady(p); });
    router->Add("POST", prefix + "/infer",
                [api](auto& request, auto& p) { return api->Infer(request, p); });
  }
  router->Add("POST", "/v2/repository/index",
              [api](auto& request, auto&) { return api->RepositoryIndex(request); });
  router->Add("POST", "/v2/repository/models/{model}/load",
              [api](auto& request, auto& p) { return api->Load(request, p); });
  router->Add("POST", "/v2/repository/models/{model}/unload",
              [api](auto& request, auto& p) { return api->Unload(request, p); });
}

}  // namespace inferd::api
