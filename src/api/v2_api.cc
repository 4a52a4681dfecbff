// KServe V2 / Open Inference Protocol routes and Triton's model repository
// extension.
#include <simdjson.h>

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
    if (Status st = context_.health->CheckReady(); !st.ok()) return ErrorResponse(st);
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
    auto metadata = inference().Metadata(params.model, params.version);
    if (!metadata.ok()) return ErrorResponse(metadata.status());
    const serving::ModelMetadata& m = *metadata;
    std::string body;
    JsonWriter json(&body);
    auto tensors = [&json](const std::vector<serving::TensorMetadata>& list) {
      json.BeginArray();
      for (const auto& t : list) {
        json.BeginObject().Key("name").String(t.name).Key("datatype").String(t.datatype);
        json.Key("shape").BeginArray();
        for (int64_t d : t.shape) json.Int(d);
        json.EndArray().EndObject();
      }
      json.EndArray();
    };
    json.BeginObject();
    json.Key("name").String(m.name);
    json.Key("versions").BeginArray();
    for (const auto& v : m.versions) json.String(v);
    json.EndArray();
    json.Key("platform").String(m.platform);
    json.Key("inputs");
    tensors(m.inputs);
    json.Key("outputs");
    tensors(m.outputs);
    json.Key("parameters").BeginObject();
    for (const auto& [key, value] : m.parameters) json.Key(key).String(value);
    json.Key("max_batch_size").Int(m.max_batch_size);
    json.Key("feature_names").BeginArray();
    for (const auto& name : m.feature_names) json.String(name);
    json.EndArray().EndObject();
    json.EndObject();
    return JsonResponse(std::move(body));
  }

  http::Response ModelReady(const PathParams& params) const {
    auto servable = inference().Find(params.model, params.version);
    if (!servable.ok()) return ErrorResponse(servable.status());
    std::string body;
    JsonWriter(&body).BeginObject().Key("name").String((*servable)->name).Key("ready").Bool(true)
        .EndObject();
    return JsonResponse(std::move(body));
  }

  // Decodes, runs the one inference path, encodes. Errors of a known model
  // are counted by the inference service.
  http::Response Infer(const http::Request& request, const PathParams& params) const {
    auto servable = inference().Find(params.model, params.version);
    if (!servable.ok()) return ErrorResponse(servable.status());
    auto parsed = ParseInferRequest(request);
    if (!parsed.ok()) return ErrorResponse(inference().Reject(**servable, parsed.status()));
    auto response = inference().Infer(**servable, *parsed, serving::Protocol::kRestV2);
    if (!response.ok()) return ErrorResponse(response.status());
    return EncodeInferResponse(*response);
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
  const serving::InferenceService& inference() const { return *context_.inference; }

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
    // Inline unless the version may wait (dynamic batching, a drift reference
    // still to be read from the store).
    router->Add(
        "POST", prefix + "/infer", [api](auto& request, auto& p) { return api->Infer(request, p); },
        [inference = context.inference](const PathParams& p) {
          return inference->MayBlock(p.model, p.version);
        },
        Shed::kWhenLate);
  }
  router->Add("POST", "/v2/repository/index",
              [api](auto& request, auto&) { return api->RepositoryIndex(request); });
  router->Add("POST", "/v2/repository/models/{model}/load",
              [api](auto& request, auto& p) { return api->Load(request, p); }, Runs::kOnWorker);
  router->Add("POST", "/v2/repository/models/{model}/unload",
              [api](auto& request, auto& p) { return api->Unload(request, p); },
              Runs::kOnWorker);
}

}  // namespace inferd::api
