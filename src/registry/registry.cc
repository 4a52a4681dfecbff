#include "registry/registry.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "common/json_fields.h"
#include "common/json_writer.h"
#include "common/names.h"
#include "registry/search_filter.h"

namespace inferd::registry {
namespace {

// MLflow's limits on one page of results.
constexpr int64_t kMaxModelResults = 1000;
constexpr int64_t kMaxVersionResults = 200000;
constexpr int kVersionIdDigits = 10;
constexpr int kCreateVersionAttempts = 8;
constexpr std::string_view kArtifactScheme = "mlflow-artifacts:";

std::string VersionId(const std::string& name, int64_t version) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%0*lld", kVersionIdDigits,
                static_cast<long long>(version));
  return name + "/" + digits;
}

void WritePairs(JsonWriter& json, const char* key, const std::map<std::string, std::string>& m) {
  json.Key(key).BeginArray();
  for (const auto& [k, v] : m) json.BeginObject().Key("key").String(k).Key("value").String(v).EndObject();
  json.EndArray();
}

// Maps are stored as [{key, value}] arrays: tag keys such as "mlflow.source.type"
// hold dots, which MongoDB field names should not.
std::map<std::string, std::string> ReadPairs(simdjson::dom::element doc, const char* key) {
  std::map<std::string, std::string> out;
  simdjson::dom::array array;
  if (doc[key].get(array) != simdjson::SUCCESS) return out;
  for (auto item : array) {
    std::string_view k, v;
    if (item["key"].get(k) == simdjson::SUCCESS && item["value"].get(v) == simdjson::SUCCESS) {
      out.emplace(k, v);
    }
  }
  return out;
}

std::string ModelToDoc(const RegisteredModel& m) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("name").String(m.name).Key("description").String(m.description);
  json.Key("creation_timestamp").Int(m.creation_timestamp);
  json.Key("last_updated_timestamp").Int(m.last_updated_timestamp);
  json.Key("last_version").Int(m.last_version);
  WritePairs(json, "tags", m.tags);
  json.Key("aliases").BeginArray();
  for (const auto& [alias, version] : m.aliases) {
    json.BeginObject().Key("alias").String(alias).Key("version").Int(version).EndObject();
  }
  json.EndArray().EndObject();
  return out;
}

StatusOr<RegisteredModel> ModelFromDoc(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS) {
    return Internal("registered model document is not JSON");
  }
  RegisteredModel m;
  m.name = JsonString(doc, "name");
  m.description = JsonString(doc, "description");
  m.creation_timestamp = JsonInt(doc, "creation_timestamp");
  m.last_updated_timestamp = JsonInt(doc, "last_updated_timestamp");
  m.last_version = JsonInt(doc, "last_version");
  m.tags = ReadPairs(doc, "tags");
  simdjson::dom::array aliases;
  if (doc["aliases"].get(aliases) == simdjson::SUCCESS) {
    for (auto a : aliases) m.aliases[JsonString(a, "alias")] = JsonInt(a, "version");
  }
  return m;
}

std::string VersionToDoc(const ModelVersion& v) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("name").String(v.name).Key("version").Int(v.version);
  json.Key("source").String(v.source).Key("run_id").String(v.run_id);
  json.Key("status").String(v.status).Key("status_message").String(v.status_message);
  json.Key("description").String(v.description).Key("current_stage").String(v.current_stage);
  json.Key("creation_timestamp").Int(v.creation_timestamp);
  json.Key("last_updated_timestamp").Int(v.last_updated_timestamp);
  WritePairs(json, "tags", v.tags);
  WritePairs(json, "params", v.params);
  json.Key("metrics").BeginArray();
  for (const auto& [k, value] : v.metrics) {
    json.BeginObject().Key("key").String(k).Key("value").Double(value).EndObject();
  }
  json.EndArray();
  if (v.dataset) {
    json.Key("dataset").BeginObject().Key("name").String(v.dataset->name);
    json.Key("version").Int(v.dataset->version).Key("md5").String(v.dataset->md5).EndObject();
  }
  if (!v.prediction_profile.empty()) json.Key("prediction_profile").Raw(v.prediction_profile);
  json.EndObject();
  return out;
}

StatusOr<ModelVersion> VersionFromDoc(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS) {
    return Internal("model version document is not JSON");
  }
  ModelVersion v;
  v.name = JsonString(doc, "name");
  v.version = JsonInt(doc, "version");
  v.source = JsonString(doc, "source");
  v.run_id = JsonString(doc, "run_id");
  v.status = JsonString(doc, "status");
  v.status_message = JsonString(doc, "status_message");
  v.description = JsonString(doc, "description");
  v.current_stage = JsonString(doc, "current_stage");
  v.creation_timestamp = JsonInt(doc, "creation_timestamp");
  v.last_updated_timestamp = JsonInt(doc, "last_updated_timestamp");
  v.tags = ReadPairs(doc, "tags");
  v.params = ReadPairs(doc, "params");
  simdjson::dom::array metrics;
  if (doc["metrics"].get(metrics) == simdjson::SUCCESS) {
    for (auto m : metrics) {
      double value = 0;
      if (m["value"].get(value) != simdjson::SUCCESS) value = 0;
      v.metrics[JsonString(m, "key")] = value;
    }
  }
  simdjson::dom::element dataset;
  if (doc["dataset"].get(dataset) == simdjson::SUCCESS) {
    v.dataset = DatasetRef{JsonString(dataset, "name"), JsonInt(dataset, "version"),
                           JsonString(dataset, "md5")};
  }
  simdjson::dom::element profile;
  if (doc["prediction_profile"].get(profile) == simdjson::SUCCESS) {
    v.prediction_profile = simdjson::minify(profile);
  }
  return v;
}

Status CheckName(const std::string& name) {
  if (!IsValidName(name)) {
    return InvalidArgument("invalid model name '" + name +
                           "': use 1-128 of A-Z a-z 0-9 _ . - (not starting with '.')");
  }
  return Status::Ok();
}

Status ModelNotFound(const std::string& name) {
  return NotFound("registered model '" + name + "' not found");
}

Status VersionNotFound(const std::string& name, int64_t version) {
  return NotFound("model version '" + name + "' version " + std::to_string(version) +
                  " not found");
}

// Applies a search's ordering, filter and paging to `items`.
template <typename T>
StatusOr<Page<T>> Paginate(std::vector<T> items, const Search& search,
                           const std::vector<std::string>& default_order, int64_t max_results) {
  if (search.max_results < 1 || search.max_results > max_results) {
    return InvalidArgument("max_results must be between 1 and " + std::to_string(max_results));
  }
  ASSIGN_OR_RETURN(SearchFilter filter, SearchFilter::Parse(search.filter));
  std::erase_if(items, [&](const T& item) { return !filter.Matches(item); });
  ASSIGN_OR_RETURN(auto order, ParseOrderBy(
                                   search.order_by.empty() ? default_order : search.order_by));
  std::stable_sort(items.begin(), items.end(),
                   [&](const T& a, const T& b) { return CompareForOrder(a, b, order) < 0; });
  int64_t offset = 0;
  if (!search.page_token.empty()) {
    auto [end, ec] = std::from_chars(search.page_token.data(),
                                     search.page_token.data() + search.page_token.size(), offset);
    if (ec != std::errc() || end != search.page_token.data() + search.page_token.size() ||
        offset < 0) {
      return InvalidArgument("invalid page_token '" + search.page_token + "'");
    }
  }
  Page<T> page;
  for (int64_t i = offset; i < static_cast<int64_t>(items.size()) &&
                           i < offset + search.max_results;
       ++i) {
    page.items.push_back(std::move(items[i]));
  }
  if (offset + search.max_results < static_cast<int64_t>(items.size())) {
    page.next_page_token = std::to_string(offset + search.max_results);
  }
  return page;
}

}  // namespace

StatusOr<int64_t> ParseVersionNumber(std::string_view text) {
  auto v = ParseVersionNumberText(text);
  if (!v) return InvalidArgument("version '" + std::string(text) + "' is not a positive integer");
  return *v;
}

std::string ArtifactBlobId(std::string_view artifact_path) {
  return "artifacts/" + std::string(artifact_path);
}

StatusOr<std::string> ArtifactPathOfUri(std::string_view uri) {
  if (!uri.starts_with(kArtifactScheme)) {
    return InvalidArgument("source '" + std::string(uri) +
                           "' is not an mlflow-artifacts: URI; upload the model first");
  }
  std::string_view rest = uri.substr(kArtifactScheme.size());
  if (rest.starts_with("//")) {  // mlflow-artifacts://host:port/path
    size_t slash = rest.find('/', 2);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  while (rest.starts_with('/')) rest.remove_prefix(1);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find("..") != std::string_view::npos) {
    return InvalidArgument("source '" + std::string(uri) + "' names no artifact path");
  }
  return std::string(rest);
}

Status Registry::PutModel(const RegisteredModel& model) {
  return store_->Put(store::kRegisteredModels, {model.name, ModelToDoc(model)});
}

Status Registry::PutVersion(const ModelVersion& version) {
  return store_->Put(store::kModelVersions,
                     {VersionId(version.name, version.version), VersionToDoc(version)});
}

StatusOr<RegisteredModel> Registry::CreateModel(const std::string& name,
                                                const std::string& description,
                                                const std::map<std::string, std::string>& tags) {
  RETURN_IF_ERROR(CheckName(name));
  RegisteredModel model;
  model.name = name;
  model.description = description;
  model.tags = tags;
  model.creation_timestamp = model.last_updated_timestamp = clock_->NowMillis();
  Status st = store_->Insert(store::kRegisteredModels, {name, ModelToDoc(model)});
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("registered model '" + name + "' already exists");
  }
  RETURN_IF_ERROR(st);
  return model;
}

StatusOr<RegisteredModel> Registry::GetModel(const std::string& name) {
  auto doc = store_->Get(store::kRegisteredModels, name);
  if (doc.status().code() == StatusCode::kNotFound) return ModelNotFound(name);
  if (!doc.ok()) return doc.status();
  return ModelFromDoc(*doc);
}

StatusOr<Page<RegisteredModel>> Registry::SearchModels(const Search& search) {
  ASSIGN_OR_RETURN(auto docs, store_->List(store::kRegisteredModels, {}));
  std::vector<RegisteredModel> models;
  for (const auto& doc : docs) {
    ASSIGN_OR_RETURN(RegisteredModel m, ModelFromDoc(doc.json));
    models.push_back(std::move(m));
  }
  return Paginate(std::move(models), search, {"name ASC"}, kMaxModelResults);
}

StatusOr<RegisteredModel> Registry::UpdateModel(const std::string& name,
                                                const std::string& description) {
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  model.description = description;
  model.last_updated_timestamp = clock_->NowMillis();
  RETURN_IF_ERROR(PutModel(model));
  return model;
}

StatusOr<RegisteredModel> Registry::RenameModel(const std::string& name,
                                                const std::string& new_name) {
  RETURN_IF_ERROR(CheckName(new_name));
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  ASSIGN_OR_RETURN(auto versions, ListVersions(name));
  model.name = new_name;
  model.last_updated_timestamp = clock_->NowMillis();
  Status st = store_->Insert(store::kRegisteredModels, {new_name, ModelToDoc(model)});
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("registered model '" + new_name + "' already exists");
  }
  RETURN_IF_ERROR(st);
  for (ModelVersion& v : versions) {
    const int64_t number = v.version;
    v.name = new_name;
    RETURN_IF_ERROR(PutVersion(v));
    RETURN_IF_ERROR(store_->Delete(store::kModelVersions, VersionId(name, number)));
  }
  RETURN_IF_ERROR(store_->Delete(store::kRegisteredModels, name));
  return model;
}

Status Registry::DeleteModel(const std::string& name) {
  RETURN_IF_ERROR(GetModel(name).status());
  ASSIGN_OR_RETURN(auto versions, ListVersions(name));
  for (const auto& v : versions) {
    RETURN_IF_ERROR(store_->Delete(store::kModelVersions, VersionId(name, v.version)));
  }
  return store_->Delete(store::kRegisteredModels, name);
}

Status Registry::SetModelTag(const std::string& name, const std::string& key,
                             const std::string& value) {
  if (key.empty()) return InvalidArgument("tag key must not be empty");
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  model.tags[key] = value;
  model.last_updated_timestamp = clock_->NowMillis();
  return PutModel(model);
}

Status Registry::DeleteModelTag(const std::string& name, const std::string& key) {
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  if (model.tags.erase(key) == 0) {
    return NotFound("registered model '" + name + "' has no tag '" + key + "'");
  }
  model.last_updated_timestamp = clock_->NowMillis();
  return PutModel(model);
}

Status Registry::SetAlias(const std::string& name, const std::string& alias, int64_t version) {
  if (!IsValidName(alias)) {
    return InvalidArgument("invalid alias '" + alias + "': use A-Z a-z 0-9 _ . -");
  }
  if (alias == "latest" || (alias.size() > 1 && (alias[0] == 'v' || alias[0] == 'V') &&
                            std::all_of(alias.begin() + 1, alias.end(), ::isdigit))) {
    return InvalidArgument("alias '" + alias + "' is reserved (latest, v<number>)");
  }
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  RETURN_IF_ERROR(GetVersion(name, version).status());
  model.aliases[alias] = version;
  model.last_updated_timestamp = clock_->NowMillis();
  return PutModel(model);
}

Status Registry::DeleteAlias(const std::string& name, const std::string& alias) {
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  if (model.aliases.erase(alias) == 0) {
    return NotFound("registered model '" + name + "' has no alias '" + alias + "'");
  }
  model.last_updated_timestamp = clock_->NowMillis();
  return PutModel(model);
}

StatusOr<ModelVersion> Registry::GetVersionByAlias(const std::string& name,
                                                   const std::string& alias) {
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  auto it = model.aliases.find(alias);
  if (it == model.aliases.end()) {
    return NotFound("registered model '" + name + "' has no alias '" + alias + "'");
  }
  return GetVersion(name, it->second);
}

StatusOr<ModelVersion> Registry::CreateVersion(const NewVersion& request) {
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(request.name));
  if (request.source.empty()) return InvalidArgument("a model version needs a source");
  ModelVersion v;
  v.name = request.name;
  v.source = request.source;
  v.run_id = request.run_id;
  v.description = request.description;
  v.tags = request.tags;
  v.params = request.params;
  v.metrics = request.metrics;
  v.dataset = request.dataset;
  v.prediction_profile = request.prediction_profile;
  v.creation_timestamp = v.last_updated_timestamp = clock_->NowMillis();
  for (int attempt = 0; attempt < kCreateVersionAttempts; ++attempt) {
    ASSIGN_OR_RETURN(auto existing, store_->List(store::kModelVersions, {"name", request.name}));
    // Numbers are never reused: the model remembers the highest one handed out.
    int64_t next = model.last_version + 1;
    if (!existing.empty()) {
      ASSIGN_OR_RETURN(ModelVersion last, VersionFromDoc(existing.back().json));
      next = std::max(next, last.version + 1);
    }
    v.version = next;
    Status st = store_->Insert(store::kModelVersions,
                               {VersionId(v.name, v.version), VersionToDoc(v)});
    if (st.code() == StatusCode::kAlreadyExists) continue;  // a concurrent writer won
    RETURN_IF_ERROR(st);
    model.last_version = v.version;
    model.last_updated_timestamp = v.creation_timestamp;
    RETURN_IF_ERROR(PutModel(model));
    return v;
  }
  return Unavailable("could not allocate a version number for '" + request.name +
                     "' (too much contention); retry");
}

StatusOr<ModelVersion> Registry::GetVersion(const std::string& name, int64_t version) {
  auto doc = store_->Get(store::kModelVersions, VersionId(name, version));
  if (doc.status().code() == StatusCode::kNotFound) {
    RETURN_IF_ERROR(GetModel(name).status());
    return VersionNotFound(name, version);
  }
  if (!doc.ok()) return doc.status();
  ASSIGN_OR_RETURN(ModelVersion v, VersionFromDoc(*doc));
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  for (const auto& [alias, target] : model.aliases) {
    if (target == version) v.aliases.push_back(alias);
  }
  return v;
}

StatusOr<std::vector<ModelVersion>> Registry::ListVersions(const std::string& name) {
  ASSIGN_OR_RETURN(auto docs, store_->List(store::kModelVersions, {"name", name}));
  auto model = GetModel(name);
  std::vector<ModelVersion> out;
  for (const auto& doc : docs) {
    ASSIGN_OR_RETURN(ModelVersion v, VersionFromDoc(doc.json));
    if (model.ok()) {
      for (const auto& [alias, target] : model->aliases) {
        if (target == v.version) v.aliases.push_back(alias);
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

StatusOr<Page<ModelVersion>> Registry::SearchVersions(const Search& search) {
  ASSIGN_OR_RETURN(auto docs, store_->List(store::kModelVersions, {}));
  ASSIGN_OR_RETURN(auto model_docs, store_->List(store::kRegisteredModels, {}));
  std::map<std::string, RegisteredModel> models;
  for (const auto& doc : model_docs) {
    ASSIGN_OR_RETURN(RegisteredModel m, ModelFromDoc(doc.json));
    models.emplace(m.name, std::move(m));
  }
  std::vector<ModelVersion> versions;
  for (const auto& doc : docs) {
    ASSIGN_OR_RETURN(ModelVersion v, VersionFromDoc(doc.json));
    if (auto it = models.find(v.name); it != models.end()) {
      for (const auto& [alias, target] : it->second.aliases) {
        if (target == v.version) v.aliases.push_back(alias);
      }
    }
    versions.push_back(std::move(v));
  }
  return Paginate(std::move(versions), search,
                  {"last_updated_timestamp DESC", "name ASC", "version_number DESC"},
                  kMaxVersionResults);
}

StatusOr<ModelVersion> Registry::UpdateVersion(const std::string& name, int64_t version,
                                               const std::string& description) {
  ASSIGN_OR_RETURN(ModelVersion v, GetVersion(name, version));
  v.description = description;
  v.last_updated_timestamp = clock_->NowMillis();
  RETURN_IF_ERROR(PutVersion(v));
  return v;
}

StatusOr<ModelVersion> Registry::TransitionStage(const std::string& name, int64_t version,
                                                 const std::string& stage) {
  static constexpr std::string_view kStages[] = {"None", "Staging", "Production", "Archived"};
  auto it = std::find_if(std::begin(kStages), std::end(kStages), [&](std::string_view s) {
    return s.size() == stage.size() &&
           std::equal(s.begin(), s.end(), stage.begin(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  });
  if (it == std::end(kStages)) {
    return InvalidArgument("stage '" + stage + "' is not None, Staging, Production or Archived");
  }
  ASSIGN_OR_RETURN(ModelVersion v, GetVersion(name, version));
  v.current_stage = std::string(*it);
  v.last_updated_timestamp = clock_->NowMillis();
  RETURN_IF_ERROR(PutVersion(v));
  return v;
}

Status Registry::DeleteVersion(const std::string& name, int64_t version) {
  RETURN_IF_ERROR(GetVersion(name, version).status());
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  std::erase_if(model.aliases, [&](const auto& a) { return a.second == version; });
  model.last_updated_timestamp = clock_->NowMillis();
  RETURN_IF_ERROR(PutModel(model));
  return store_->Delete(store::kModelVersions, VersionId(name, version));
}

Status Registry::SetVersionTag(const std::string& name, int64_t version, const std::string& key,
                               const std::string& value) {
  if (key.empty()) return InvalidArgument("tag key must not be empty");
  ASSIGN_OR_RETURN(ModelVersion v, GetVersion(name, version));
  v.tags[key] = value;
  v.last_updated_timestamp = clock_->NowMillis();
  return PutVersion(v);
}

Status Registry::DeleteVersionTag(const std::string& name, int64_t version,
                                  const std::string& key) {
  ASSIGN_OR_RETURN(ModelVersion v, GetVersion(name, version));
  if (v.tags.erase(key) == 0) {
    return NotFound("model version '" + name + "' version " + std::to_string(version) +
                    " has no tag '" + key + "'");
  }
  v.last_updated_timestamp = clock_->NowMillis();
  return PutVersion(v);
}

StatusOr<Registry::ModelFile> Registry::ReadModelFile(const ModelVersion& version) {
  ASSIGN_OR_RETURN(std::string path, ArtifactPathOfUri(version.source));
  auto filename_of = [](std::string_view p) -> std::string {
    if (p.ends_with(".json")) return "model.json";
    if (p.ends_with(".ubj")) return "model.ubj";
    return "";
  };
  auto bytes = store_->GetBlob(ArtifactBlobId(path));
  if (bytes.ok()) {
    std::string filename = filename_of(path);
    if (filename.empty()) {
      return InvalidArgument("artifact '" + path + "' is not an XGBoost .json or .ubj file");
    }
    return ModelFile{filename, std::move(bytes).value()};
  }
  if (bytes.status().code() != StatusCode::kNotFound) return bytes.status();
  // A folder: take the first XGBoost model file in it.
  ASSIGN_OR_RETURN(auto files, store_->ListBlobs(ArtifactBlobId(path) + "/"));
  for (const std::string& file : files) {
    std::string filename = filename_of(file);
    if (filename.empty()) continue;
    ASSIGN_OR_RETURN(std::string data, store_->GetBlob(file));
    return ModelFile{filename, std::move(data)};
  }
  return NotFound("no artifact at '" + version.source + "' (a .json or .ubj XGBoost model)");
}

}  // namespace inferd::registry
