// MLflow-compatible Model Registry REST API (/api/2.0/mlflow/...) and the
// mlflow-artifacts proxy (/api/2.0/mlflow-artifacts/artifacts/...), so that
// MlflowClient works against inferd unchanged. Field names, error bodies
// ({"error_code", "message"}) and status codes follow MLflow's server.
#include <simdjson.h>
#include <strings.h>

#include <algorithm>

#include "api/http_status.h"
#include "api/mlflow_common.h"
#include "api/service.h"
#include "common/json_writer.h"
#include "common/url.h"

namespace inferd::api {
namespace {

using registry::ModelVersion;
using registry::RegisteredModel;

constexpr std::string_view kPrefix = "/api/2.0/mlflow/";
constexpr std::string_view kArtifacts = "/api/2.0/mlflow-artifacts/artifacts";
constexpr int64_t kDefaultModelResults = 100;
constexpr int64_t kDefaultVersionResults = 10000;
constexpr const char* kStages[] = {"None", "Staging", "Production", "Archived"};

StatusOr<int64_t> VersionArg(const Args& a) {
  ASSIGN_OR_RETURN(std::string v, a.Str("version"));
  return registry::ParseVersionNumber(v);
}

void WriteVersion(JsonWriter& json, const ModelVersion& v) {
  json.BeginObject();
  json.Key("name").String(v.name).Key("version").String(std::to_string(v.version));
  json.Key("creation_timestamp").Int(v.creation_timestamp);
  json.Key("last_updated_timestamp").Int(v.last_updated_timestamp);
  json.Key("current_stage").String(v.current_stage).Key("description").String(v.description);
  json.Key("source").String(v.source).Key("run_id").String(v.run_id);
  if (!v.model_id.empty()) json.Key("model_id").String(v.model_id);
  json.Key("status").String(v.status).Key("status_message").String(v.status_message);
  WriteKeyValues(json, "tags", v.tags);
  json.Key("aliases").BeginArray();
  for (const auto& alias : v.aliases) json.String(alias);
  json.EndArray().EndObject();
}

// The latest version in each stage, as MLflow's latest_versions.
std::vector<ModelVersion> LatestPerStage(const std::vector<ModelVersion>& versions,
                                         const std::vector<std::string>& stages) {
  std::vector<ModelVersion> out;
  for (const char* stage : kStages) {
    if (!stages.empty() && std::find_if(stages.begin(), stages.end(), [&](const auto& s) {
                             return strcasecmp(s.c_str(), stage) == 0;
                           }) == stages.end()) {
      continue;
    }
    const ModelVersion* latest = nullptr;
    for (const auto& v : versions) {
      if (v.current_stage == stage && (!latest || v.version > latest->version)) latest = &v;
    }
    if (latest) out.push_back(*latest);
  }
  return out;
}

void WriteModel(JsonWriter& json, const RegisteredModel& m,
                const std::vector<ModelVersion>& versions) {
  json.BeginObject();
  json.Key("name").String(m.name).Key("description").String(m.description);
  json.Key("creation_timestamp").Int(m.creation_timestamp);
  json.Key("last_updated_timestamp").Int(m.last_updated_timestamp);
  json.Key("latest_versions").BeginArray();
  for (ModelVersion v : LatestPerStage(versions, {})) {
    v.aliases.clear();
    WriteVersion(json, v);
  }
  json.EndArray();
  WriteKeyValues(json, "tags", m.tags);
  json.Key("aliases").BeginArray();
  for (const auto& [alias, version] : m.aliases) {
    json.BeginObject().Key("alias").String(alias).Key("version").String(std::to_string(version));
    json.EndObject();
  }
  json.EndArray().EndObject();
}

class MlflowApi {
 public:
  explicit MlflowApi(const ServiceContext& context)
      : context_(context), registry_(*context.registry) {}

  using Handler = StatusOr<std::string> (MlflowApi::*)(const Args&);

  // Runs `handler` (mlflow_common.h's CallMlflow): the admin token for `mutating`
  // routes, the read token for the others.
  http::Response Call(const http::Request& request, Handler handler, bool mutating) {
    return CallMlflow(context_, request, mutating,
                      [&](const Args& args) { return (this->*handler)(args); });
  }

  StatusOr<std::string> ModelJson(const RegisteredModel& m) {
    ASSIGN_OR_RETURN(auto versions, registry_.ListVersions(m.name));
    std::string out;
    JsonWriter json(&out);
    json.BeginObject().Key("registered_model");
    WriteModel(json, m, versions);
    json.EndObject();
    return out;
  }

  static std::string VersionJson(const ModelVersion& v) {
    std::string out;
    JsonWriter json(&out);
    json.BeginObject().Key("model_version");
    WriteVersion(json, v);
    json.EndObject();
    return out;
  }

  void Changed(const std::string& name) {
    if (context_.on_registry_change) context_.on_registry_change(name);
  }

  StatusOr<std::string> CreateModel(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(std::string description, a.Str("description", false));
    ASSIGN_OR_RETURN(RegisteredModel m, registry_.CreateModel(name, description, a.Pairs()));
    return ModelJson(m);
  }
  StatusOr<std::string> GetModel(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(RegisteredModel m, registry_.GetModel(name));
    return ModelJson(m);
  }
  StatusOr<std::string> SearchModels(const Args& a) {
    ASSIGN_OR_RETURN(registry::Search search, SearchArgs(a, kDefaultModelResults));
    ASSIGN_OR_RETURN(auto page, registry_.SearchModels(search));
    std::string out;
    JsonWriter json(&out);
    json.BeginObject().Key("registered_models").BeginArray();
    for (const auto& m : page.items) {
      ASSIGN_OR_RETURN(auto versions, registry_.ListVersions(m.name));
      WriteModel(json, m, versions);
    }
    json.EndArray();
    if (!page.next_page_token.empty()) json.Key("next_page_token").String(page.next_page_token);
    json.EndObject();
    return out;
  }
  StatusOr<std::string> UpdateModel(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(std::string description, a.Str("description", false));
    ASSIGN_OR_RETURN(RegisteredModel m, registry_.UpdateModel(name, description));
    return ModelJson(m);
  }
  StatusOr<std::string> RenameModel(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(std::string new_name, a.Str("new_name"));
    ASSIGN_OR_RETURN(RegisteredModel m, registry_.RenameModel(name, new_name));
    Changed(name);
    Changed(new_name);
    return ModelJson(m);
  }
  StatusOr<std::string> DeleteModel(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    RETURN_IF_ERROR(registry_.DeleteModel(name));
    Changed(name);
    return std::string("{}");
  }
  StatusOr<std::string> SetModelTag(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(std::string key, a.Str("key"));
    ASSIGN_OR_RETURN(std::string value, a.Str("value", false));
    RETURN_IF_ERROR(registry_.SetModelTag(name, key, value));
    return std::string("{}");
  }
  StatusOr<std::string> DeleteModelTag(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(std::string key, a.Str("key"));
    RETURN_IF_ERROR(registry_.DeleteModelTag(name, key));
    return std::string("{}");
  }
  StatusOr<std::string> SetAlias(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(std::string alias, a.Str("alias"));
    ASSIGN_OR_RETURN(int64_t version, VersionArg(a));
    RETURN_IF_ERROR(registry_.SetAlias(name, alias, version));
    Changed(name);
    return std::string("{}");
  }
  StatusOr<std::string> DeleteAlias(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(std::string alias, a.Str("alias"));
    RETURN_IF_ERROR(registry_.DeleteAlias(name, alias));
    Changed(name);
    return std::string("{}");
  }
  StatusOr<std::string> GetByAlias(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(std::string alias, a.Str("alias"));
    ASSIGN_OR_RETURN(ModelVersion v, registry_.GetVersionByAlias(name, alias));
    return VersionJson(v);
  }
  StatusOr<std::string> LatestVersions(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    RETURN_IF_ERROR(registry_.GetModel(name).status());
    ASSIGN_OR_RETURN(auto versions, registry_.ListVersions(name));
    std::string out;
    JsonWriter json(&out);
    json.BeginObject().Key("model_versions").BeginArray();
    for (const auto& v : LatestPerStage(versions, a.List("stages"))) WriteVersion(json, v);
    json.EndArray().EndObject();
    return out;
  }
  StatusOr<std::string> CreateVersion(const Args& a) {
    registry::NewVersion request;
    ASSIGN_OR_RETURN(request.name, a.Str("name"));
    ASSIGN_OR_RETURN(request.source, a.Str("source"));
    ASSIGN_OR_RETURN(request.run_id, a.Str("run_id", false));
    ASSIGN_OR_RETURN(request.model_id, a.Str("model_id", false));
    ASSIGN_OR_RETURN(request.description, a.Str("description", false));
    request.tags = a.Pairs();
    ASSIGN_OR_RETURN(ModelVersion v,
                     context_.tracking
                         ? registry::RegisterVersion(registry_, *context_.tracking, request)
                         : registry_.CreateVersion(request));
    Changed(v.name);
    return VersionJson(v);
  }
  StatusOr<std::string> GetVersion(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(int64_t version, VersionArg(a));
    ASSIGN_OR_RETURN(ModelVersion v, registry_.GetVersion(name, version));
    return VersionJson(v);
  }
  StatusOr<std::string> SearchVersions(const Args& a) {
    ASSIGN_OR_RETURN(registry::Search search, SearchArgs(a, kDefaultVersionResults));
    ASSIGN_OR_RETURN(auto page, registry_.SearchVersions(search));
    std::string out;
    JsonWriter json(&out);
    json.BeginObject().Key("model_versions").BeginArray();
    for (const auto& v : page.items) WriteVersion(json, v);
    json.EndArray();
    if (!page.next_page_token.empty()) json.Key("next_page_token").String(page.next_page_token);
    json.EndObject();
    return out;
  }
  StatusOr<std::string> UpdateVersion(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(int64_t version, VersionArg(a));
    ASSIGN_OR_RETURN(std::string description, a.Str("description", false));
    ASSIGN_OR_RETURN(ModelVersion v, registry_.UpdateVersion(name, version, description));
    return VersionJson(v);
  }
  StatusOr<std::string> TransitionStage(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(int64_t version, VersionArg(a));
    ASSIGN_OR_RETURN(std::string stage, a.Str("stage"));
    ASSIGN_OR_RETURN(ModelVersion v, registry_.TransitionStage(name, version, stage));
    return VersionJson(v);
  }
  StatusOr<std::string> DeleteVersion(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(int64_t version, VersionArg(a));
    RETURN_IF_ERROR(registry_.DeleteVersion(name, version));
    Changed(name);
    return std::string("{}");
  }
  StatusOr<std::string> SetVersionTag(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(int64_t version, VersionArg(a));
    ASSIGN_OR_RETURN(std::string key, a.Str("key"));
    ASSIGN_OR_RETURN(std::string value, a.Str("value", false));
    RETURN_IF_ERROR(registry_.SetVersionTag(name, version, key, value));
    return std::string("{}");
  }
  StatusOr<std::string> DeleteVersionTag(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(int64_t version, VersionArg(a));
    ASSIGN_OR_RETURN(std::string key, a.Str("key"));
    RETURN_IF_ERROR(registry_.DeleteVersionTag(name, version, key));
    return std::string("{}");
  }
  StatusOr<std::string> DownloadUri(const Args& a) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(int64_t version, VersionArg(a));
    ASSIGN_OR_RETURN(ModelVersion v, registry_.GetVersion(name, version));
    std::string out;
    JsonWriter(&out)
        .BeginObject()
        .Key("artifact_uri")
        .String(registry::VersionLocation(v))
        .EndObject();
    return out;
  }

  // Artifacts: PUT uploads, GET downloads (or lists, with ?path=), DELETE removes.
  static StatusOr<std::string> ArtifactPath(std::string_view encoded) {
    std::string path = PercentDecode(encoded, false);
    while (path.ends_with('/')) path.pop_back();
    if (path.empty() || path.starts_with('/') || path.find("..") != std::string::npos ||
        path.find('\0') != std::string::npos) {
      return InvalidArgument("invalid artifact path '" + path + "'");
    }
    return path;
  }

  http::Response Upload(const http::Request& request, const PathParams& params) {
    if (Status st = CheckAdmin(context_, request); !st.ok()) return MlflowError(st);
    auto path = ArtifactPath(params.path);
    if (!path.ok()) return MlflowError(path.status());
    if (Status st = context_.store->PutBlob(registry::ArtifactBlobId(*path), request.body);
        !st.ok()) {
      return MlflowError(st);
    }
    return JsonResponse("{}");
  }

  http::Response Download(const http::Request& request, const PathParams& params) {
    if (Status st = CheckReader(context_, request); !st.ok()) return MlflowError(st);
    auto path = ArtifactPath(params.path);
    if (!path.ok()) return MlflowError(path.status());
    auto bytes = context_.store->GetBlob(registry::ArtifactBlobId(*path));
    if (!bytes.ok()) return MlflowError(bytes.status());
    http::Response response;
    response.content_type = "application/octet-stream";
    response.body = std::move(bytes).value();
    return response;
  }

  http::Response DeleteArtifact(const http::Request& request, const PathParams& params) {
    if (Status st = CheckAdmin(context_, request); !st.ok()) return MlflowError(st);
    auto path = ArtifactPath(params.path);
    if (!path.ok()) return MlflowError(path.status());
    if (Status st = context_.store->DeleteBlob(registry::ArtifactBlobId(*path)); !st.ok()) {
      return MlflowError(st);
    }
    return JsonResponse("{}");
  }

  // GET .../artifacts?path=dir: the files and folders directly inside `dir`.
  http::Response List(const http::Request& request) {
    if (Status st = CheckReader(context_, request); !st.ok()) return MlflowError(st);
    auto values = QueryValues(request.Query(), "path");
    std::string dir = values.empty() ? "" : values.front();
    while (dir.ends_with('/')) dir.pop_back();
    if (dir.starts_with('/') || dir.find("..") != std::string::npos) {
      return MlflowError(InvalidArgument("invalid artifact path '" + dir + "'"));
    }
    const std::string prefix = registry::ArtifactBlobId(dir.empty() ? "" : dir + "/");
    auto ids = context_.store->ListBlobs(prefix);
    if (!ids.ok()) return MlflowError(ids.status());
    std::string out;
    JsonWriter json(&out);
    json.BeginObject();
    if (!ids->empty()) {
      json.Key("files").BeginArray();
      std::string last_dir;
      for (const std::string& id : *ids) {
        std::string rest = id.substr(prefix.size());
        size_t slash = rest.find('/');
        if (slash != std::string::npos) {
          std::string sub = rest.substr(0, slash);
          if (sub == last_dir) continue;
          last_dir = sub;
          json.BeginObject().Key("path").String(sub).Key("is_dir").Bool(true).EndObject();
          continue;
        }
        auto blob = context_.store->GetBlob(id);
        json.BeginObject().Key("path").String(rest).Key("is_dir").Bool(false);
        if (blob.ok()) json.Key("file_size").Int(static_cast<int64_t>(blob->size()));
        json.EndObject();
      }
      json.EndArray();
    }
    json.EndObject();
    return JsonResponse(std::move(out));
  }

 private:
  ServiceContext context_;
  registry::Registry& registry_;
};

}  // namespace

void AddMlflowRoutes(const ServiceContext& context, Router* router) {
  auto api = std::make_shared<MlflowApi>(context);
  struct Route {
    const char* method;
    const char* path;
    MlflowApi::Handler handler;
    bool mutating;
  };
  const Route routes[] = {
      {"POST", "registered-models/create", &MlflowApi::CreateModel, true},
      {"GET", "registered-models/get", &MlflowApi::GetModel, false},
      {"GET", "registered-models/search", &MlflowApi::SearchModels, false},
      {"PATCH", "registered-models/update", &MlflowApi::UpdateModel, true},
      {"POST", "registered-models/rename", &MlflowApi::RenameModel, true},
      {"DELETE", "registered-models/delete", &MlflowApi::DeleteModel, true},
      {"POST", "registered-models/set-tag", &MlflowApi::SetModelTag, true},
      {"DELETE", "registered-models/delete-tag", &MlflowApi::DeleteModelTag, true},
      {"POST", "registered-models/alias", &MlflowApi::SetAlias, true},
      {"DELETE", "registered-models/alias", &MlflowApi::DeleteAlias, true},
      {"GET", "registered-models/alias", &MlflowApi::GetByAlias, false},
      {"POST", "registered-models/get-latest-versions", &MlflowApi::LatestVersions, false},
      {"GET", "registered-models/get-latest-versions", &MlflowApi::LatestVersions, false},
      {"POST", "model-versions/create", &MlflowApi::CreateVersion, true},
      {"GET", "model-versions/get", &MlflowApi::GetVersion, false},
      {"GET", "model-versions/search", &MlflowApi::SearchVersions, false},
      {"PATCH", "model-versions/update", &MlflowApi::UpdateVersion, true},
      {"POST", "model-versions/transition-stage", &MlflowApi::TransitionStage, true},
      {"DELETE", "model-versions/delete", &MlflowApi::DeleteVersion, true},
      {"POST", "model-versions/set-tag", &MlflowApi::SetVersionTag, true},
      {"DELETE", "model-versions/delete-tag", &MlflowApi::DeleteVersionTag, true},
      {"GET", "model-versions/get-download-uri", &MlflowApi::DownloadUri, false},
  };
  // Every route reads or writes the store: all run on workers.
  constexpr Runs kWorker = Runs::kOnWorker;
  for (const Route& r : routes) {
    router->Add(
        r.method, std::string(kPrefix) + r.path,
        [api, r](auto& request, auto&) { return api->Call(request, r.handler, r.mutating); },
        kWorker);
  }
  const std::string artifact = std::string(kArtifacts) + "/{path...}";
  router->Add(
      "PUT", artifact, [api](auto& request, auto& p) { return api->Upload(request, p); }, kWorker);
  router->Add(
      "GET", artifact, [api](auto& request, auto& p) { return api->Download(request, p); },
      kWorker);
  router->Add(
      "DELETE", artifact,
      [api](auto& request, auto& p) { return api->DeleteArtifact(request, p); }, kWorker);
  router->Add(
      "GET", std::string(kArtifacts), [api](auto& request, auto&) { return api->List(request); },
      kWorker);
}

}  // namespace inferd::api
