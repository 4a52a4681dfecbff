#include "registry/registry.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "common/json_fields.h"
#include "common/json_writer.h"
#include "common/names.h"
#include "registry/documents.h"
#include "registry/search_filter.h"

namespace inferd::registry {
namespace {

using internal::ReadPairs;
using internal::RetryOnConflict;
using internal::WritePairs;

// MLflow's limits on one page of results.
constexpr int64_t kMaxModelResults = 1000;
constexpr int64_t kMaxVersionResults = 200000;
constexpr int kVersionIdDigits = 10;
constexpr std::string_view kArtifactScheme = "mlflow-artifacts:";

std::string VersionId(const std::string& name, int64_t version) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%0*lld", kVersionIdDigits,
                static_cast<long long>(version));
  return name + "/" + digits;
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

// `revision`, when given, receives the document's store revision.
StatusOr<RegisteredModel> ModelFromDoc(const std::string& text, int64_t* revision = nullptr) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS) {
    return Internal("registered model document is not JSON");
  }
  if (revision) *revision = JsonInt(doc, store::kRevisionField);
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
  if (!v.model_id.empty()) json.Key("model_id").String(v.model_id);
  if (!v.storage_location.empty()) json.Key("storage_location").String(v.storage_location);
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

StatusOr<ModelVersion> VersionFromDoc(const std::string& text, int64_t* revision = nullptr) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS) {
    return Internal("model version document is not JSON");
  }
  if (revision) *revision = JsonInt(doc, store::kRevisionField);
  ModelVersion v;
  v.name = JsonString(doc, "name");
  v.version = JsonInt(doc, "version");
  v.source = JsonString(doc, "source");
  v.model_id = JsonString(doc, "model_id");
  v.storage_location = JsonString(doc, "storage_location");
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
  RETURN_IF_ERROR(CheckMaxResults(search.max_results, max_results));
  ASSIGN_OR_RETURN(SearchFilter filter, SearchFilter::Parse(search.filter));
  std::erase_if(items, [&](const T& item) { return !filter.Matches(item); });
  ASSIGN_OR_RETURN(auto order, ParseOrderBy(
                                   search.order_by.empty() ? default_order : search.order_by));
  std::stable_sort(items.begin(), items.end(),
                   [&](const T& a, const T& b) { return CompareForOrder(a, b, order) < 0; });
  return TakePage(std::move(items), search.page_token, search.max_results);
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

StatusOr<RegisteredModel> Registry::ReadModel(const std::string& name, int64_t* revision) {
  auto doc = store_->Get(store::kRegisteredModels, name);
  if (doc.status().code() == StatusCode::kNotFound) return ModelNotFound(name);
  if (!doc.ok()) return doc.status();
  return ModelFromDoc(*doc, revision);
}

StatusOr<RegisteredModel> Registry::ChangeModel(
    const std::string& name, const std::function<Status(RegisteredModel&)>& change) {
  return RetryOnConflict("registered model '" + name + "'", [&]() -> StatusOr<RegisteredModel> {
    int64_t revision = 0;
    ASSIGN_OR_RETURN(RegisteredModel model, ReadModel(name, &revision));
    RETURN_IF_ERROR(change(model));
    model.last_updated_timestamp = clock_->NowMillis();
    Status st = store_->UpdateIf(store::kRegisteredModels, {name, ModelToDoc(model)}, revision);
    if (st.code() == StatusCode::kNotFound) return ModelNotFound(name);
    RETURN_IF_ERROR(st);
    return model;
  });
}

StatusOr<ModelVersion> Registry::ChangeVersion(const std::string& name, int64_t version,
                                               const std::function<Status(ModelVersion&)>& change) {
  const std::string id = VersionId(name, version);
  // Why a version read a moment ago is absent: NotFound for the version or its
  // model, or FailedPrecondition (read again) when it is back.
  auto absent = [&]() -> Status {
    Status st = CheckVersionExists(name, version);
    return st.ok() ? FailedPrecondition("model version '" + id + "' reappeared") : st;
  };
  return RetryOnConflict("model version '" + id + "'", [&]() -> StatusOr<ModelVersion> {
    auto doc = store_->Get(store::kModelVersions, id);
    if (doc.status().code() == StatusCode::kNotFound) return absent();
    if (!doc.ok()) return doc.status();
    int64_t revision = 0;
    ASSIGN_OR_RETURN(ModelVersion v, VersionFromDoc(*doc, &revision));
    RETURN_IF_ERROR(change(v));
    v.last_updated_timestamp = clock_->NowMillis();
    Status st = store_->UpdateIf(store::kModelVersions, {id, VersionToDoc(v)}, revision);
    if (st.code() == StatusCode::kNotFound) return absent();
    RETURN_IF_ERROR(st);
    return v;
  });
}

Status Registry::CheckVersionExists(const std::string& name, int64_t version) {
  auto doc = store_->Get(store::kModelVersions, VersionId(name, version));
  if (doc.ok()) return Status::Ok();
  if (doc.status().code() != StatusCode::kNotFound) return doc.status();
  RETURN_IF_ERROR(GetModel(name).status());
  return VersionNotFound(name, version);
}

StatusOr<ModelVersion> Registry::WithAliases(ModelVersion version) {
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(version.name));
  version.aliases.clear();
  for (const auto& [alias, target] : model.aliases) {
    if (target == version.version) version.aliases.push_back(alias);
  }
  return version;
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
  return ReadModel(name, nullptr);
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
  return ChangeModel(name, [&](RegisteredModel& model) {
    model.description = description;
    return Status::Ok();
  });
}

Status Registry::MoveVersion(const std::string& from_id, const std::string& to_name) {
  return RetryOnConflict("model version '" + from_id + "'", [&]() -> Status {
    auto doc = store_->Get(store::kModelVersions, from_id);
    if (doc.status().code() == StatusCode::kNotFound) return Status::Ok();  // deleted meanwhile
    if (!doc.ok()) return doc.status();
    int64_t revision = 0;
    ASSIGN_OR_RETURN(ModelVersion v, VersionFromDoc(*doc, &revision));
    v.name = to_name;
    const store::Document moved{VersionId(to_name, v.version), VersionToDoc(v)};
    Status st = store_->Insert(store::kModelVersions, moved);
    if (st.code() == StatusCode::kAlreadyExists) {
      // An earlier attempt copied it, and then the original changed: copy again.
      auto copied = store_->Get(store::kModelVersions, moved.id);
      if (!copied.ok()) return copied.status();
      int64_t copied_revision = 0;
      RETURN_IF_ERROR(VersionFromDoc(*copied, &copied_revision).status());
      st = store_->UpdateIf(store::kModelVersions, moved, copied_revision);
    }
    RETURN_IF_ERROR(st);
    // The original goes only if unchanged since it was copied.
    st = store_->DeleteIf(store::kModelVersions, from_id, revision);
    return st.code() == StatusCode::kNotFound ? Status::Ok() : st;
  });
}

StatusOr<RegisteredModel> Registry::RenameModel(const std::string& name,
                                                const std::string& new_name) {
  RETURN_IF_ERROR(CheckName(new_name));
  ASSIGN_OR_RETURN(RegisteredModel model, GetModel(name));
  model.name = new_name;
  model.last_updated_timestamp = clock_->NowMillis();
  Status st = store_->Insert(store::kRegisteredModels, {new_name, ModelToDoc(model)});
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("registered model '" + new_name + "' already exists");
  }
  RETURN_IF_ERROR(st);
  // Until the old model is removed, writers may still change it and its
  // versions; each attempt carries the old model over as it then is, moves
  // the versions it then has, and removes it only if nothing changed since.
  return RetryOnConflict("registered model '" + name + "'", [&]() -> StatusOr<RegisteredModel> {
    int64_t revision = 0;
    ASSIGN_OR_RETURN(RegisteredModel old, ReadModel(name, &revision));
    auto carry_over = [&](RegisteredModel& m) {
      m = old;
      m.name = new_name;
      return Status::Ok();
    };
    ASSIGN_OR_RETURN(RegisteredModel renamed, ChangeModel(new_name, carry_over));
    ASSIGN_OR_RETURN(auto versions, store_->List(store::kModelVersions, {"name", name}));
    for (const auto& version : versions) RETURN_IF_ERROR(MoveVersion(version.id, new_name));
    Status removed = store_->DeleteIf(store::kRegisteredModels, name, revision);
    if (removed.code() == StatusCode::kNotFound) return ModelNotFound(name);
    RETURN_IF_ERROR(removed);
    return renamed;
  });
}

Status Registry::DeleteModel(const std::string& name) {
  // The model is removed only if unchanged while its versions were: a version
  // created meanwhile changes it (last_version), and the next attempt removes
  // that version too.
  return RetryOnConflict("registered model '" + name + "'", [&]() -> Status {
    int64_t revision = 0;
    RETURN_IF_ERROR(ReadModel(name, &revision).status());
    ASSIGN_OR_RETURN(auto versions, store_->List(store::kModelVersions, {"name", name}));
    for (const auto& version : versions) {
      Status st = store_->Delete(store::kModelVersions, version.id);
      if (st.code() != StatusCode::kNotFound) RETURN_IF_ERROR(st);
    }
    Status st = store_->DeleteIf(store::kRegisteredModels, name, revision);
    return st.code() == StatusCode::kNotFound ? ModelNotFound(name) : st;
  });
}

Status Registry::SetModelTag(const std::string& name, const std::string& key,
                             const std::string& value) {
  if (key.empty()) return InvalidArgument("tag key must not be empty");
  auto set = [&](RegisteredModel& model) {
    model.tags[key] = value;
    return Status::Ok();
  };
  return ChangeModel(name, set).status();
}

Status Registry::DeleteModelTag(const std::string& name, const std::string& key) {
  auto erase = [&](RegisteredModel& model) {
    if (model.tags.erase(key) == 0) {
      return NotFound("registered model '" + name + "' has no tag '" + key + "'");
    }
    return Status::Ok();
  };
  return ChangeModel(name, erase).status();
}

Status Registry::SetAlias(const std::string& name, const std::string& alias, int64_t version) {
  if (!IsValidName(alias)) {
    return InvalidArgument("invalid alias '" + alias + "': use A-Z a-z 0-9 _ . -");
  }
  if (alias == "latest" || (alias.size() > 1 && (alias[0] == 'v' || alias[0] == 'V') &&
                            std::all_of(alias.begin() + 1, alias.end(), ::isdigit))) {
    return InvalidArgument("alias '" + alias + "' is reserved (latest, v<number>)");
  }
  auto set = [&](RegisteredModel& model) -> Status {
    // Checked after the model is read: DeleteVersion changes the model after
    // removing the version, so an alias to a version deleted meanwhile fails
    // here or in the conditional write.
    RETURN_IF_ERROR(CheckVersionExists(name, version));
    model.aliases[alias] = version;
    return Status::Ok();
  };
  return ChangeModel(name, set).status();
}

Status Registry::DeleteAlias(const std::string& name, const std::string& alias) {
  auto erase = [&](RegisteredModel& model) {
    if (model.aliases.erase(alias) == 0) {
      return NotFound("registered model '" + name + "' has no alias '" + alias + "'");
    }
    return Status::Ok();
  };
  return ChangeModel(name, erase).status();
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
  if (request.source.empty()) return InvalidArgument("a model version needs a source");
  ModelVersion v;
  v.name = request.name;
  v.source = request.source;
  v.run_id = request.run_id;
  v.model_id = request.model_id;
  v.storage_location = request.storage_location;
  v.description = request.description;
  v.tags = request.tags;
  v.params = request.params;
  v.metrics = request.metrics;
  v.dataset = request.dataset;
  v.prediction_profile = request.prediction_profile;
  v.creation_timestamp = v.last_updated_timestamp = clock_->NowMillis();
  // The number: one above every number handed out (the model remembers the
  // highest, so numbers are never reused) and every version stored. Inserting
  // the version claims it; when a concurrent writer took it first, the insert
  // fails and the next attempt looks again.
  auto claim_number = [&]() -> Status {
    ASSIGN_OR_RETURN(RegisteredModel model, GetModel(v.name));
    ASSIGN_OR_RETURN(auto existing, store_->List(store::kModelVersions, {"name", v.name}));
    v.version = model.last_version + 1;
    if (!existing.empty()) {
      ASSIGN_OR_RETURN(ModelVersion last, VersionFromDoc(existing.back().json));
      v.version = std::max(v.version, last.version + 1);
    }
    Status st = store_->Insert(store::kModelVersions,
                               {VersionId(v.name, v.version), VersionToDoc(v)});
    if (st.code() == StatusCode::kAlreadyExists) {
      return FailedPrecondition("version " + std::to_string(v.version) + " was taken");
    }
    return st;
  };
  RETURN_IF_ERROR(RetryOnConflict("the version numbers of '" + v.name + "'", claim_number));
  auto record_number = [&](RegisteredModel& m) {
    m.last_version = std::max(m.last_version, v.version);
    return Status::Ok();
  };
  if (auto recorded = ChangeModel(v.name, record_number); !recorded.ok()) {
    // The model was deleted meanwhile (or the store failed): take the version
    // back rather than leave it unrecorded.
    (void)store_->Delete(store::kModelVersions, VersionId(v.name, v.version));
    return recorded.status();
  }
  return v;
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
  auto describe = [&](ModelVersion& v) {
    v.description = description;
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(ModelVersion changed, ChangeVersion(name, version, describe));
  return WithAliases(std::move(changed));
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
  auto transition = [&](ModelVersion& v) {
    v.current_stage = std::string(*it);
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(ModelVersion changed, ChangeVersion(name, version, transition));
  return WithAliases(std::move(changed));
}

Status Registry::DeleteVersion(const std::string& name, int64_t version) {
  auto drop_aliases = [&](RegisteredModel& model) {
    std::erase_if(model.aliases, [&](const auto& a) { return a.second == version; });
    model.last_version = std::max(model.last_version, version);  // never handed out again
    return Status::Ok();
  };
  auto drop_aliases_of_existing = [&](RegisteredModel& model) -> Status {
    RETURN_IF_ERROR(CheckVersionExists(name, version));
    return drop_aliases(model);
  };
  // Aliases go first, so that an interruption leaves none pointing nowhere...
  RETURN_IF_ERROR(ChangeModel(name, drop_aliases_of_existing).status());
  Status st = store_->Delete(store::kModelVersions, VersionId(name, version));
  if (st.code() == StatusCode::kNotFound) return VersionNotFound(name, version);
  RETURN_IF_ERROR(st);
  // ...and again after the version is gone: this write fences out a SetAlias
  // that read the model before it (see SetAlias).
  st = ChangeModel(name, drop_aliases).status();
  return st.code() == StatusCode::kNotFound ? Status::Ok() : st;
}

Status Registry::SetVersionTag(const std::string& name, int64_t version, const std::string& key,
                               const std::string& value) {
  if (key.empty()) return InvalidArgument("tag key must not be empty");
  auto set = [&](ModelVersion& v) {
    v.tags[key] = value;
    return Status::Ok();
  };
  return ChangeVersion(name, version, set).status();
}

Status Registry::DeleteVersionTag(const std::string& name, int64_t version,
                                  const std::string& key) {
  auto erase = [&](ModelVersion& v) {
    if (v.tags.erase(key) == 0) {
      return NotFound("model version '" + name + "' version " + std::to_string(version) +
                      " has no tag '" + key + "'");
    }
    return Status::Ok();
  };
  return ChangeVersion(name, version, erase).status();
}

const std::string& VersionLocation(const ModelVersion& version) {
  return version.storage_location.empty() ? version.source : version.storage_location;
}

StatusOr<Registry::ModelFile> Registry::ReadModelFile(const ModelVersion& version) {
  const std::string& location = VersionLocation(version);
  ASSIGN_OR_RETURN(std::string path, ArtifactPathOfUri(location));
  auto file_named = [](std::string_view name, std::string bytes) -> StatusOr<ModelFile> {
    const std::string filename(name.substr(name.rfind('/') + 1));
    auto format = model::FormatOfFile(filename, std::string_view(bytes).substr(0, 2));
    if (!format) {
      return InvalidArgument("artifact '" + std::string(name) +
                             "' is not a model file (XGBoost .json, .ubj or .xgb; LightGBM "
                             ".txt or .lgb; ONNX .onnx)");
    }
    return ModelFile{filename, std::move(bytes), *format};
  };
  auto bytes = store_->GetBlob(ArtifactBlobId(path));
  if (bytes.ok()) return file_named(path, std::move(bytes).value());
  if (bytes.status().code() != StatusCode::kNotFound) return bytes.status();
  const std::string folder = ArtifactBlobId(path) + "/";
  // An MLflow model folder: its MLmodel file names the data file and flavor.
  auto mlmodel = store_->GetBlob(folder + "MLmodel");
  if (mlmodel.ok()) {
    auto flavor = model::ReadMlmodel(*mlmodel);
    if (!flavor.ok()) {
      return Status(flavor.status().code(),
                    "MLflow model at '" + location + "': " + flavor.status().message());
    }
    auto data = store_->GetBlob(folder + flavor->data);
    if (!data.ok()) {
      return Status(data.status().code(), "MLflow model at '" + location +
                                              "': its data file '" + flavor->data +
                                              "': " + data.status().message());
    }
    ASSIGN_OR_RETURN(ModelFile file, file_named(flavor->data, std::move(data).value()));
    if ((flavor->flavor == "lightgbm") != (file.format == model::ModelFormat::kLightgbm) ||
        (flavor->flavor == "onnx") != (file.format == model::ModelFormat::kOnnx)) {
      return InvalidArgument("MLflow model at '" + location + "': the " + flavor->flavor +
                             " flavor's data file '" + flavor->data + "' is not a " +
                             flavor->flavor + " model file");
    }
    return file;
  }
  if (mlmodel.status().code() != StatusCode::kNotFound) return mlmodel.status();
  // A folder: take the first model file in it.
  ASSIGN_OR_RETURN(auto files, store_->ListBlobs(folder));
  for (const std::string& file : files) {
    const std::string name = file.substr(file.rfind('/') + 1);
    // A text file is a LightGBM model only by its usual name (not requirements.txt).
    if (!model::FormatOfFile(name, "{\"") || (name.ends_with(".txt") && name != "model.txt")) {
      continue;
    }
    ASSIGN_OR_RETURN(std::string data, store_->GetBlob(file));
    return file_named(name, std::move(data));
  }
  return NotFound("no artifact at '" + location +
                  "' (an XGBoost or LightGBM model file, or an MLflow model folder)");
}

}  // namespace inferd::registry
