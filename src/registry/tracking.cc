#include "registry/tracking.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <random>
#include <set>

#include "common/json_fields.h"
#include "common/json_writer.h"
#include "registry/documents.h"
#include "registry/search_filter.h"

namespace inferd::registry {
namespace {

using internal::ReadPairs;
using internal::RetryOnConflict;
using internal::WritePairs;

constexpr char kActive[] = "active";
constexpr char kDeleted[] = "deleted";
constexpr char kRunNameTag[] = "mlflow.runName";
constexpr char kDatasetContextTag[] = "mlflow.data.context";
constexpr char kArtifactRoot[] = "mlflow-artifacts:/";
constexpr int kExperimentIdDigits = 18;
constexpr int kRunNameSuffixes = 1000;
constexpr const char* kRunStatuses[] = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};
constexpr const char* kLoggedModelStatuses[] = {"LOGGED_MODEL_STATUS_UNSPECIFIED",
                                                "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY",
                                                "LOGGED_MODEL_UPLOAD_FAILED"};
// Words for generated run and model names, as MLflow's "<adjective>-<noun>-<n>".
constexpr const char* kAdjectives[] = {"amber", "bold",   "brisk",  "calm",  "clever", "crisp",
                                       "eager", "gentle", "keen",   "lucid", "nimble", "quiet",
                                       "rapid", "silent", "steady", "vivid"};
constexpr const char* kNouns[] = {"badger", "crane", "falcon", "fox",   "heron", "lynx",
                                  "otter",  "owl",   "panda",  "raven", "seal",  "stag",
                                  "swan",   "tiger", "whale",  "wolf"};

std::mt19937_64& Random() {
  thread_local std::mt19937_64 random(std::random_device{}());
  return random;
}

std::string HexId() {
  char out[33];
  std::snprintf(out, sizeof(out), "%016llx%016llx", static_cast<unsigned long long>(Random()()),
                static_cast<unsigned long long>(Random()()));
  return out;
}

// A random decimal id of kExperimentIdDigits digits (MLflow's file store does
// the same), so that no counter needs a transaction.
std::string NewExperimentId() {
  std::string id(1, static_cast<char>('1' + Random()() % 9));
  while (id.size() < kExperimentIdDigits) id.push_back(static_cast<char>('0' + Random()() % 10));
  return id;
}

std::string GeneratedName() {
  auto& r = Random();
  return std::string(kAdjectives[r() % std::size(kAdjectives)]) + "-" +
         kNouns[r() % std::size(kNouns)] + "-" + std::to_string(r() % kRunNameSuffixes);
}

// ---- validation (MLflow's rules) -------------------------------------------

Status TooLong(const std::string& what, size_t limit) {
  return InvalidArgument("'" + what + "' exceeds the maximum length of " + std::to_string(limit) +
                         " characters");
}

// Param, metric and tag keys: 1-250 of letters, digits, _ - . / : and space,
// and not a path that normalizes to something else ("a//b", "../x", "/x").
Status CheckKey(const char* kind, const std::string& key) {
  if (key.empty()) return InvalidArgument(std::string(kind) + " key must not be empty");
  if (key.size() > kMaxEntityKeyLength)
    return TooLong(std::string(kind) + " key", kMaxEntityKeyLength);
  for (unsigned char c : key) {
    if (!(std::isalnum(c) || c >= 0x80 || std::strchr("_-./: ", c))) {
      return InvalidArgument("invalid " + std::string(kind) + " key '" + key +
                             "': names may only contain alphanumerics, underscores (_), dashes "
                             "(-), periods (.), spaces ( ), colon(:) and slashes (/)");
    }
  }
  bool bad_path = key.starts_with('/') || key.ends_with('/') || key == "." || key == ".." ||
                  key.find("//") != std::string::npos || key.starts_with("./") ||
                  key.starts_with("../") || key.find("/./") != std::string::npos ||
                  key.find("/../") != std::string::npos || key.ends_with("/.") ||
                  key.ends_with("/..");
  if (bad_path) {
    return InvalidArgument("invalid " + std::string(kind) + " key '" + key +
                           "': names may be treated as files and must not resolve to other names");
  }
  return Status::Ok();
}

Status CheckTag(const std::string& key, const std::string& value) {
  RETURN_IF_ERROR(CheckKey("tag", key));
  if (value.size() > kMaxTagValueLength) return TooLong("tag value of " + key, kMaxTagValueLength);
  return Status::Ok();
}

Status CheckParam(const std::string& key, const std::string& value) {
  RETURN_IF_ERROR(CheckKey("param", key));
  if (value.size() > kMaxParamValueLength) {
    return TooLong("param value of " + key, kMaxParamValueLength);
  }
  return Status::Ok();
}

Status CheckExperimentName(const std::string& name) {
  if (name.empty()) return InvalidArgument("experiment name must be a non-empty string");
  if (name.size() > kMaxExperimentNameLength) return TooLong("name", kMaxExperimentNameLength);
  return Status::Ok();
}

Status CheckExperimentTag(const std::string& key, const std::string& value) {
  if (key.empty()) return InvalidArgument("experiment tag key must not be empty");
  if (key.size() > kMaxEntityKeyLength) return TooLong("key", kMaxEntityKeyLength);
  if (value.size() > kMaxExperimentTagValueLength) {
    return TooLong("value", kMaxExperimentTagValueLength);
  }
  return Status::Ok();
}

// A run id or experiment id as MLflow accepts them: a letter or digit, then
// up to 255 (run) / 63 (experiment) letters, digits, _ or -.
bool IsIdText(const std::string& id, size_t max_length) {
  if (id.empty() || id.size() > max_length || !std::isalnum(static_cast<unsigned char>(id[0]))) {
    return false;
  }
  return std::all_of(id.begin(), id.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

Status ExperimentNotFound(const std::string& id) {
  return NotFound("No Experiment with id=" + id + " exists");
}
Status RunNotFound(const std::string& id) { return NotFound("Run with id=" + id + " not found"); }
Status LoggedModelNotFound(const std::string& id) {
  return NotFound("Logged model with ID '" + id + "' not found");
}

// ---- documents -------------------------------------------------------------

// A stored document's root object, and its revision when asked.
StatusOr<simdjson::dom::element> OpenDoc(simdjson::dom::parser& parser, const std::string& text,
                                         int64_t* revision = nullptr) {
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return Internal("tracking document is not a JSON object");
  }
  if (revision) *revision = JsonInt(doc, store::kRevisionField);
  return doc;
}

// Metric values may be NaN or infinite, which JSON cannot hold: those are
// stored as the strings MLflow's JSON uses ("NaN", "Infinity", "-Infinity").
constexpr auto kNonFinite = JsonWriter::NonFinite::kStrings;

double ReadValue(simdjson::dom::element e) {
  double d = 0;
  if (e.get(d) == simdjson::SUCCESS) return d;
  int64_t i = 0;
  if (e.get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  std::string_view s;
  if (e.get(s) == simdjson::SUCCESS) {
    if (s == "Infinity") return INFINITY;
    if (s == "-Infinity") return -INFINITY;
  }
  return NAN;
}

void WriteMetric(JsonWriter& json, const Metric& m) {
  json.BeginObject().Key("key").String(m.key).Key("value").Double(m.value, kNonFinite);
  json.Key("timestamp").Int(m.timestamp).Key("step").Int(m.step);
  if (!m.model_id.empty()) json.Key("model_id").String(m.model_id);
  if (!m.dataset_name.empty()) json.Key("dataset_name").String(m.dataset_name);
  if (!m.dataset_digest.empty()) json.Key("dataset_digest").String(m.dataset_digest);
  json.EndObject();
}

Metric ReadMetric(simdjson::dom::element e) {
  Metric m;
  m.key = JsonString(e, "key");
  simdjson::dom::element value;
  m.value = e["value"].get(value) == simdjson::SUCCESS ? ReadValue(value) : NAN;
  m.timestamp = JsonInt(e, "timestamp");
  m.step = JsonInt(e, "step");
  m.model_id = JsonString(e, "model_id");
  m.dataset_name = JsonString(e, "dataset_name");
  m.dataset_digest = JsonString(e, "dataset_digest");
  return m;
}

std::string ExperimentToDoc(const Experiment& e) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject().Key("name").String(e.name);
  json.Key("artifact_location").String(e.artifact_location);
  json.Key("lifecycle_stage").String(e.lifecycle_stage);
  json.Key("creation_time").Int(e.creation_time).Key("last_update_time").Int(e.last_update_time);
  WritePairs(json, "tags", e.tags);
  json.EndObject();
  return out;
}

StatusOr<Experiment> ExperimentFromDoc(const std::string& id, const std::string& text,
                                       int64_t* revision) {
  simdjson::dom::parser parser;
  ASSIGN_OR_RETURN(simdjson::dom::element doc, OpenDoc(parser, text, revision));
  Experiment e;
  e.experiment_id = id;
  e.name = JsonString(doc, "name");
  e.artifact_location = JsonString(doc, "artifact_location");
  e.lifecycle_stage = JsonString(doc, "lifecycle_stage");
  e.creation_time = JsonInt(doc, "creation_time");
  e.last_update_time = JsonInt(doc, "last_update_time");
  e.tags = ReadPairs(doc, "tags");
  return e;
}

std::string RunToDoc(const Run& r) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject().Key("experiment_id").String(r.experiment_id);
  json.Key("run_name").String(r.run_name).Key("user_id").String(r.user_id);
  json.Key("status").String(r.status).Key("start_time").Int(r.start_time);
  json.Key("end_time");
  if (r.end_time) {
    json.Int(*r.end_time);
  } else {
    json.Null();
  }
  json.Key("artifact_uri").String(r.artifact_uri);
  json.Key("lifecycle_stage").String(r.lifecycle_stage).Key("deleted_time").Int(r.deleted_time);
  WritePairs(json, "params", r.params);
  WritePairs(json, "tags", r.tags);
  json.Key("metrics").BeginArray();
  for (const auto& [key, m] : r.metrics) WriteMetric(json, m);
  json.EndArray();
  json.Key("datasets").BeginArray();
  for (const auto& d : r.datasets) {
    json.BeginObject().Key("name").String(d.name).Key("digest").String(d.digest);
    json.Key("source_type").String(d.source_type).Key("source").String(d.source);
    json.Key("schema").String(d.schema).Key("profile").String(d.profile);
    WritePairs(json, "tags", d.tags);
    json.EndObject();
  }
  json.EndArray();
  json.Key("model_inputs").BeginArray();
  for (const auto& id : r.model_inputs) json.String(id);
  json.EndArray();
  json.Key("model_outputs").BeginArray();
  for (const auto& o : r.model_outputs) {
    json.BeginObject().Key("model_id").String(o.model_id).Key("step").Int(o.step).EndObject();
  }
  json.EndArray().EndObject();
  return out;
}

StatusOr<Run> RunFromDoc(const std::string& id, const std::string& text, int64_t* revision) {
  simdjson::dom::parser parser;
  ASSIGN_OR_RETURN(simdjson::dom::element doc, OpenDoc(parser, text, revision));
  Run r;
  r.run_id = id;
  r.experiment_id = JsonString(doc, "experiment_id");
  r.run_name = JsonString(doc, "run_name");
  r.user_id = JsonString(doc, "user_id");
  r.status = JsonString(doc, "status");
  r.start_time = JsonInt(doc, "start_time");
  int64_t end = 0;
  if (doc["end_time"].get(end) == simdjson::SUCCESS) r.end_time = end;
  r.artifact_uri = JsonString(doc, "artifact_uri");
  r.lifecycle_stage = JsonString(doc, "lifecycle_stage");
  r.deleted_time = JsonInt(doc, "deleted_time");
  r.params = ReadPairs(doc, "params");
  r.tags = ReadPairs(doc, "tags");
  simdjson::dom::array array;
  if (doc["metrics"].get(array) == simdjson::SUCCESS) {
    for (auto m : array) {
      Metric metric = ReadMetric(m);
      r.metrics[metric.key] = std::move(metric);
    }
  }
  if (doc["datasets"].get(array) == simdjson::SUCCESS) {
    for (auto d : array) {
      r.datasets.push_back({JsonString(d, "name"), JsonString(d, "digest"),
                            JsonString(d, "source_type"), JsonString(d, "source"),
                            JsonString(d, "schema"), JsonString(d, "profile"),
                            ReadPairs(d, "tags")});
    }
  }
  if (doc["model_inputs"].get(array) == simdjson::SUCCESS) {
    for (auto m : array) {
      std::string_view s;
      if (m.get(s) == simdjson::SUCCESS) r.model_inputs.emplace_back(s);
    }
  }
  if (doc["model_outputs"].get(array) == simdjson::SUCCESS) {
    for (auto o : array) r.model_outputs.push_back({JsonString(o, "model_id"), JsonInt(o, "step")});
  }
  return r;
}

std::string LoggedModelToDoc(const LoggedModel& m) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject().Key("experiment_id").String(m.experiment_id).Key("name").String(m.name);
  json.Key("artifact_location").String(m.artifact_location);
  json.Key("status").String(m.status).Key("status_message").String(m.status_message);
  json.Key("model_type").String(m.model_type).Key("source_run_id").String(m.source_run_id);
  json.Key("creation_timestamp_ms").Int(m.creation_timestamp_ms);
  json.Key("last_updated_timestamp_ms").Int(m.last_updated_timestamp_ms);
  json.Key("deleted").Bool(m.deleted);
  WritePairs(json, "tags", m.tags);
  WritePairs(json, "params", m.params);
  json.Key("metrics").BeginArray();
  for (const auto& metric : m.metrics) WriteMetric(json, metric);
  json.EndArray().EndObject();
  return out;
}

StatusOr<LoggedModel> LoggedModelFromDoc(const std::string& id, const std::string& text,
                                         int64_t* revision) {
  simdjson::dom::parser parser;
  ASSIGN_OR_RETURN(simdjson::dom::element doc, OpenDoc(parser, text, revision));
  LoggedModel m;
  m.model_id = id;
  m.experiment_id = JsonString(doc, "experiment_id");
  m.name = JsonString(doc, "name");
  m.artifact_location = JsonString(doc, "artifact_location");
  m.status = JsonString(doc, "status");
  m.status_message = JsonString(doc, "status_message");
  m.model_type = JsonString(doc, "model_type");
  m.source_run_id = JsonString(doc, "source_run_id");
  m.creation_timestamp_ms = JsonInt(doc, "creation_timestamp_ms");
  m.last_updated_timestamp_ms = JsonInt(doc, "last_updated_timestamp_ms");
  bool deleted = false;
  m.deleted = doc["deleted"].get(deleted) == simdjson::SUCCESS && deleted;
  m.tags = ReadPairs(doc, "tags");
  m.params = ReadPairs(doc, "params");
  simdjson::dom::array array;
  if (doc["metrics"].get(array) == simdjson::SUCCESS) {
    for (auto e : array) m.metrics.push_back(ReadMetric(e));
  }
  return m;
}

// One logged point of a metric. Its id holds everything that makes it
// distinct (MLflow's primary key), so a replayed point is stored once.
store::Document PointDoc(const std::string& run_id, const Metric& m) {
  const std::string series = run_id + "/" + m.key;
  uint64_t bits = 0;
  std::memcpy(&bits, &m.value, sizeof(bits));
  if (std::isnan(m.value)) bits = 0x7ff8000000000000ULL;
  char tail[96];
  std::snprintf(tail, sizeof(tail), "/%lld/%lld/%016llx", static_cast<long long>(m.step),
                static_cast<long long>(m.timestamp), static_cast<unsigned long long>(bits));
  std::string json;
  JsonWriter w(&json);
  w.BeginObject().Key("series").String(series).Key("run_id").String(run_id);
  w.Key("metric");
  WriteMetric(w, m);
  w.EndObject();
  return {series + tail, std::move(json)};
}

// MLflow's rule for which value is a run's latest.
bool IsLater(const Metric& a, const Metric& b) {
  return a.step > b.step || (a.step == b.step && a.timestamp > b.timestamp) ||
         (a.step == b.step && a.timestamp == b.timestamp && a.value > b.value);
}

// ---- search ----------------------------------------------------------------

bool IsEntity(const std::string& entity, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (entity == n) return true;
  }
  return false;
}

bool IsMetricEntity(const std::string& e) { return IsEntity(e, {"metric", "metrics"}); }
bool IsParamEntity(const std::string& e) {
  return IsEntity(e, {"param", "params", "parameter", "parameters"});
}
bool IsTagEntity(const std::string& e) { return IsEntity(e, {"tag", "tags"}); }
bool IsAttributeEntity(const std::string& e) {
  return IsEntity(e, {"", "attribute", "attributes", "attr", "run"});
}
bool IsDatasetEntity(const std::string& e) { return IsEntity(e, {"dataset", "datasets"}); }

bool IsStringOp(const std::string& op) {
  return op == "=" || op == "!=" || op == "LIKE" || op == "ILIKE";
}
bool IsListOp(const std::string& op) { return op == "IN" || op == "NOT IN"; }
bool IsNullOp(const std::string& op) { return op == "IS NULL" || op == "IS NOT NULL"; }
bool IsNumberOp(const std::string& op) {
  return op == "=" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
}

Status BadClause(const std::string& text, const FilterClause& c, const std::string& what) {
  return FilterError(text, c.position, what);
}

// Checks a clause's operator and value kind against MLflow's rules for its
// kind of field: numbers (metrics, timestamps), strings with optional IN
// lists (attributes, datasets) or with IS [NOT] NULL (params, tags).
enum class FieldKind { kNumber, kString, kStringOrList, kStringOrNull };

Status CheckClause(const std::string& text, const FilterClause& c, FieldKind kind) {
  const std::string field = (c.entity.empty() ? "" : c.entity + ".") + c.key;
  switch (kind) {
    case FieldKind::kNumber:
      if (!IsNumberOp(c.op)) {
        return BadClause(
            text, c,
            "operator " + c.op + " cannot compare '" + field + "' (use =, !=, <, <=, >, >=)");
      }
      if (c.quoted) return BadClause(text, c, "expected a number for '" + field + "'");
      return ClauseNumber(c).status();
    case FieldKind::kString:
    case FieldKind::kStringOrList:
    case FieldKind::kStringOrNull:
      if (IsStringOp(c.op) || (kind == FieldKind::kStringOrList && IsListOp(c.op)) ||
          (kind == FieldKind::kStringOrNull && IsNullOp(c.op))) {
        if (!IsNullOp(c.op) && !c.quoted) {
          return BadClause(text, c, "expected a quoted string for '" + field + "'");
        }
        return Status::Ok();
      }
      return BadClause(text, c, "operator " + c.op + " is not supported on '" + field + "'");
  }
  return Status::Ok();
}

// A string field that may be absent: IS NULL / IS NOT NULL test presence;
// other operators are false when it is absent (as MLflow's SQL joins).
bool OptionalStringHolds(const FilterClause& c, const std::string* actual) {
  if (c.op == "IS NULL") return actual == nullptr;
  if (c.op == "IS NOT NULL") return actual != nullptr;
  return actual != nullptr && StringClauseHolds(c, *actual);
}

const std::string* Find(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

bool IsRunNumberAttribute(const std::string& key) {
  return key == "start_time" || key == "end_time" || key == "created" || key == "Created";
}
bool IsRunStringAttribute(const std::string& key) {
  return key == "run_id" || key == "run_name" || key == "status" || key == "user_id" ||
         key == "artifact_uri" || key == "lifecycle_stage";
}

Status CheckRunClause(const std::string& text, const FilterClause& c) {
  if (IsMetricEntity(c.entity)) return CheckClause(text, c, FieldKind::kNumber);
  if (IsParamEntity(c.entity) || IsTagEntity(c.entity)) {
    return CheckClause(text, c, FieldKind::kStringOrNull);
  }
  if (IsDatasetEntity(c.entity)) {
    if (c.key != "name" && c.key != "digest" && c.key != "context") {
      return BadClause(text, c,
                       "invalid dataset attribute '" + c.key + "' (valid: name, digest, context)");
    }
    return CheckClause(text, c, FieldKind::kStringOrList);
  }
  if (IsAttributeEntity(c.entity)) {
    if (IsRunNumberAttribute(c.key)) return CheckClause(text, c, FieldKind::kNumber);
    if (IsRunStringAttribute(c.key)) return CheckClause(text, c, FieldKind::kStringOrList);
    return BadClause(text, c,
                     "invalid attribute key '" + c.key +
                         "' (valid: run_id, run_name, status, user_id, artifact_uri, "
                         "start_time, end_time, created)");
  }
  return BadClause(
      text, c,
      "invalid entity type '" + c.entity + "' (valid: metric, parameter, tag, attribute, dataset)");
}

bool RunMatches(const Run& r, const std::vector<FilterClause>& clauses) {
  for (const FilterClause& c : clauses) {
    bool holds = false;
    if (IsMetricEntity(c.entity)) {
      auto it = r.metrics.find(c.key);
      holds = it != r.metrics.end() && NumberClauseHolds(c, it->second.value);
    } else if (IsParamEntity(c.entity)) {
      holds = OptionalStringHolds(c, Find(r.params, c.key));
    } else if (IsTagEntity(c.entity)) {
      holds = OptionalStringHolds(c, Find(r.tags, c.key));
    } else if (IsDatasetEntity(c.entity)) {
      for (const DatasetInput& d : r.datasets) {
        const std::string* actual = c.key == "name"     ? &d.name
                                    : c.key == "digest" ? &d.digest
                                                        : Find(d.tags, kDatasetContextTag);
        holds = holds || (actual != nullptr && StringClauseHolds(c, *actual));
      }
    } else if (IsRunNumberAttribute(c.key)) {
      const bool end = c.key == "end_time";
      holds = (!end || r.end_time) &&
              NumberClauseHolds(c, static_cast<double>(end ? *r.end_time : r.start_time));
    } else {
      const std::string& actual = c.key == "run_id"         ? r.run_id
                                  : c.key == "run_name"     ? r.run_name
                                  : c.key == "status"       ? r.status
                                  : c.key == "user_id"      ? r.user_id
                                  : c.key == "artifact_uri" ? r.artifact_uri
                                                            : r.lifecycle_stage;
      holds = StringClauseHolds(c, actual);
    }
    if (!holds) return false;
  }
  return true;
}

// A value to order by: absent values sort last whichever the direction.
struct SortValue {
  bool present = false;
  bool number = false;
  double n = 0;
  std::string s;
};

SortValue Num(double v) { return {true, true, v, {}}; }
SortValue Str(const std::string& v) { return {true, false, 0, v}; }
SortValue Opt(const std::string* v) { return v ? Str(*v) : SortValue{}; }

// <0, 0, >0; absent last, NaN after numbers.
int CompareValues(const SortValue& a, const SortValue& b, bool ascending) {
  if (!a.present || !b.present) return a.present == b.present ? 0 : a.present ? -1 : 1;
  int c = 0;
  if (a.number) {
    const bool an = std::isnan(a.n), bn = std::isnan(b.n);
    if (an || bn) return an == bn ? 0 : an ? 1 : -1;
    c = a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
  } else {
    c = a.s.compare(b.s);
    c = c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return ascending ? c : -c;
}

// Sorts `items` by `terms` (each turned into a SortValue by `value`).
template <typename T, typename ValueFn>
void SortBy(std::vector<T>& items, const std::vector<OrderTerm>& terms, ValueFn value) {
  std::stable_sort(items.begin(), items.end(), [&](const T& a, const T& b) {
    for (const OrderTerm& t : terms) {
      int c = CompareValues(value(a, t), value(b, t), t.ascending);
      if (c != 0) return c < 0;
    }
    return false;
  });
}

SortValue RunSortValue(const Run& r, const OrderTerm& t) {
  if (IsMetricEntity(t.entity)) {
    auto it = r.metrics.find(t.key);
    return it == r.metrics.end() ? SortValue{} : Num(it->second.value);
  }
  if (IsParamEntity(t.entity)) return Opt(Find(r.params, t.key));
  if (IsTagEntity(t.entity)) return Opt(Find(r.tags, t.key));
  if (t.key == "start_time" || t.key == "created" || t.key == "Created") {
    return Num(static_cast<double>(r.start_time));
  }
  if (t.key == "end_time") {
    return r.end_time ? Num(static_cast<double>(*r.end_time)) : SortValue{};
  }
  if (t.key == "run_id") return Str(r.run_id);
  if (t.key == "run_name") return Str(r.run_name);
  if (t.key == "status") return Str(r.status);
  if (t.key == "user_id") return Str(r.user_id);
  return Str(r.artifact_uri);
}

StatusOr<std::vector<OrderTerm>> RunOrder(const std::vector<std::string>& order_by) {
  std::vector<OrderTerm> terms;
  bool has_start_time = false;
  for (const std::string& item : order_by) {
    ASSIGN_OR_RETURN(OrderTerm t, ParseOrderTerm(item));
    if (IsAttributeEntity(t.entity)) {
      if (!IsRunNumberAttribute(t.key) && !IsRunStringAttribute(t.key)) {
        return InvalidArgument("invalid order_by attribute '" + t.key + "' in '" + item + "'");
      }
      has_start_time =
          has_start_time || t.key == "start_time" || t.key == "created" || t.key == "Created";
    } else if (!IsMetricEntity(t.entity) && !IsParamEntity(t.entity) && !IsTagEntity(t.entity)) {
      return InvalidArgument("invalid order_by entity '" + t.entity + "' in '" + item + "'");
    }
    terms.push_back(std::move(t));
  }
  if (!has_start_time) terms.push_back({"", "start_time", false});
  terms.push_back({"", "run_id", true});
  return terms;
}

bool InView(const std::string& lifecycle_stage, ViewType view) {
  if (view == ViewType::kAll) return true;
  return (lifecycle_stage == kDeleted) == (view == ViewType::kDeletedOnly);
}

}  // namespace

StatusOr<ViewType> ParseViewType(const std::string& text) {
  if (text.empty() || text == "ACTIVE_ONLY" || text == "1") return ViewType::kActiveOnly;
  if (text == "DELETED_ONLY" || text == "2") return ViewType::kDeletedOnly;
  if (text == "ALL" || text == "3") return ViewType::kAll;
  return InvalidArgument("invalid view type '" + text + "' (ACTIVE_ONLY, DELETED_ONLY or ALL)");
}

// ---- experiments -----------------------------------------------------------

Status Tracking::EnsureDefaultExperiment() {
  auto existing = store_->Get(store::kExperiments, kDefaultExperimentId);
  if (existing.ok()) return Status::Ok();
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  Experiment e;
  e.experiment_id = kDefaultExperimentId;
  e.name = kDefaultExperimentName;
  e.artifact_location = std::string(kArtifactRoot) + kDefaultExperimentId;
  e.creation_time = e.last_update_time = clock_->NowMillis();
  Status st = store_->Insert(store::kExperiments, {e.experiment_id, ExperimentToDoc(e)});
  if (!st.ok() && st.code() != StatusCode::kAlreadyExists) return st;
  std::string claim;
  JsonWriter(&claim).BeginObject().Key("experiment_id").String(kDefaultExperimentId).EndObject();
  st = store_->Insert(store::kExperimentNames, {kDefaultExperimentName, claim});
  return st.code() == StatusCode::kAlreadyExists ? Status::Ok() : st;
}

StatusOr<std::string> Tracking::CreateExperiment(const std::string& name,
                                                 const std::string& artifact_location,
                                                 const std::map<std::string, std::string>& tags) {
  RETURN_IF_ERROR(CheckExperimentName(name));
  for (const auto& [k, v] : tags) RETURN_IF_ERROR(CheckExperimentTag(k, v));
  RETURN_IF_ERROR(EnsureDefaultExperiment());
  auto taken = [&]() -> Status {
    auto existing = GetExperimentByName(name);
    if (existing.ok() && existing->lifecycle_stage == kDeleted) {
      return AlreadyExists("Experiment '" + name +
                           "' already exists in deleted state. You can restore the experiment, "
                           "or permanently delete the experiment to create a new one.");
    }
    return AlreadyExists("Experiment(name=" + name + ") already exists.");
  };
  if (store_->Get(store::kExperimentNames, name).ok()) return taken();
  Experiment e;
  e.experiment_id = NewExperimentId();
  e.name = name;
  e.artifact_location =
      artifact_location.empty() ? kArtifactRoot + e.experiment_id : artifact_location;
  e.creation_time = e.last_update_time = clock_->NowMillis();
  e.tags = tags;
  // The experiment first, then its name: a failed claim removes the experiment
  // again, so a name never points at nothing.
  RETURN_IF_ERROR(store_->Insert(store::kExperiments, {e.experiment_id, ExperimentToDoc(e)}));
  std::string claim;
  JsonWriter(&claim).BeginObject().Key("experiment_id").String(e.experiment_id).EndObject();
  Status st = store_->Insert(store::kExperimentNames, {name, claim});
  if (!st.ok()) {
    (void)store_->Delete(store::kExperiments, e.experiment_id);
    return st.code() == StatusCode::kAlreadyExists ? taken() : st;
  }
  return e.experiment_id;
}

StatusOr<Experiment> Tracking::ReadExperiment(const std::string& id, int64_t* revision) {
  if (id == kDefaultExperimentId) RETURN_IF_ERROR(EnsureDefaultExperiment());
  auto doc = store_->Get(store::kExperiments, id);
  if (doc.status().code() == StatusCode::kNotFound) return ExperimentNotFound(id);
  if (!doc.ok()) return doc.status();
  return ExperimentFromDoc(id, *doc, revision);
}

StatusOr<Experiment> Tracking::GetExperiment(const std::string& experiment_id) {
  if (!IsIdText(experiment_id, 64)) {
    return InvalidArgument("invalid experiment ID '" + experiment_id + "'");
  }
  return ReadExperiment(experiment_id, nullptr);
}

StatusOr<Experiment> Tracking::GetExperimentByName(const std::string& name) {
  if (name == kDefaultExperimentName) RETURN_IF_ERROR(EnsureDefaultExperiment());
  auto claim = store_->Get(store::kExperimentNames, name);
  auto not_found = [&] { return NotFound("Could not find experiment with name '" + name + "'"); };
  if (claim.status().code() == StatusCode::kNotFound) return not_found();
  if (!claim.ok()) return claim.status();
  simdjson::dom::parser parser;
  ASSIGN_OR_RETURN(simdjson::dom::element doc, OpenDoc(parser, *claim));
  auto e = ReadExperiment(JsonString(doc, "experiment_id"), nullptr);
  if (e.status().code() == StatusCode::kNotFound) return not_found();
  return e;
}

StatusOr<Experiment> Tracking::ChangeExperiment(const std::string& id,
                                                const std::function<Status(Experiment&)>& change) {
  return RetryOnConflict("experiment " + id, [&]() -> StatusOr<Experiment> {
    int64_t revision = 0;
    ASSIGN_OR_RETURN(Experiment e, ReadExperiment(id, &revision));
    RETURN_IF_ERROR(change(e));
    e.last_update_time = clock_->NowMillis();
    Status st = store_->UpdateIf(store::kExperiments, {id, ExperimentToDoc(e)}, revision);
    if (st.code() == StatusCode::kNotFound) return ExperimentNotFound(id);
    RETURN_IF_ERROR(st);
    return e;
  });
}

namespace {
Status RequireActive(const Experiment& e) {
  if (e.lifecycle_stage != kActive) {
    return InvalidArgument("The experiment " + e.experiment_id +
                           " must be in the 'active' state. Current state is " + e.lifecycle_stage +
                           ".");
  }
  return Status::Ok();
}
}  // namespace

Status Tracking::RenameExperiment(const std::string& experiment_id, const std::string& new_name) {
  RETURN_IF_ERROR(CheckExperimentName(new_name));
  ASSIGN_OR_RETURN(Experiment current, GetExperiment(experiment_id));
  if (current.lifecycle_stage != kActive) {
    return InvalidArgument("Cannot rename a non-active experiment.");
  }
  if (current.name == new_name) return Status::Ok();
  std::string claim;
  JsonWriter(&claim).BeginObject().Key("experiment_id").String(experiment_id).EndObject();
  Status st = store_->Insert(store::kExperimentNames, {new_name, claim});
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("Experiment(name=" + new_name + ") already exists.");
  }
  RETURN_IF_ERROR(st);
  std::string old_name;
  auto renamed = ChangeExperiment(experiment_id, [&](Experiment& e) {
    RETURN_IF_ERROR(RequireActive(e));
    old_name = e.name;
    e.name = new_name;
    return Status::Ok();
  });
  if (!renamed.ok()) {
    (void)store_->Delete(store::kExperimentNames, new_name);
    return renamed.status();
  }
  (void)store_->Delete(store::kExperimentNames, old_name);
  return Status::Ok();
}

Status Tracking::DeleteExperiment(const std::string& experiment_id) {
  if (experiment_id == kDefaultExperimentId) {
    return InvalidArgument(
        "Cannot delete the default experiment '0'. This is an internally "
        "reserved experiment.");
  }
  ASSIGN_OR_RETURN(Experiment e, ChangeExperiment(experiment_id, [](Experiment& e) {
                     RETURN_IF_ERROR(RequireActive(e));
                     e.lifecycle_stage = kDeleted;
                     return Status::Ok();
                   }));
  // Its active runs are deleted with it, stamped with its deletion time so
  // that a restore brings back exactly those.
  ASSIGN_OR_RETURN(auto runs, RunsOf({experiment_id}));
  for (const Run& run : runs) {
    if (run.lifecycle_stage != kActive) continue;
    RETURN_IF_ERROR(ChangeRun(run.run_id, false, [&](Run& r) {
                      if (r.lifecycle_stage == kActive) {
                        r.lifecycle_stage = kDeleted;
                        r.deleted_time = e.last_update_time;
                      }
                      return Status::Ok();
                    }).status());
  }
  return Status::Ok();
}

Status Tracking::RestoreExperiment(const std::string& experiment_id) {
  int64_t deleted_at = 0;
  RETURN_IF_ERROR(ChangeExperiment(experiment_id, [&](Experiment& e) {
                    if (e.lifecycle_stage != kDeleted) {
                      return InvalidArgument("Cannot restore an active experiment.");
                    }
                    deleted_at = e.last_update_time;
                    e.lifecycle_stage = kActive;
                    return Status::Ok();
                  }).status());
  ASSIGN_OR_RETURN(auto runs, RunsOf({experiment_id}));
  for (const Run& run : runs) {
    if (run.lifecycle_stage != kDeleted || run.deleted_time != deleted_at) continue;
    RETURN_IF_ERROR(ChangeRun(run.run_id, false, [&](Run& r) {
                      r.lifecycle_stage = kActive;
                      r.deleted_time = 0;
                      return Status::Ok();
                    }).status());
  }
  return Status::Ok();
}

Status Tracking::SetExperimentTag(const std::string& experiment_id, const std::string& key,
                                  const std::string& value) {
  RETURN_IF_ERROR(CheckExperimentTag(key, value));
  return ChangeExperiment(experiment_id,
                          [&](Experiment& e) {
                            RETURN_IF_ERROR(RequireActive(e));
                            e.tags[key] = value;
                            return Status::Ok();
                          })
      .status();
}

Status Tracking::DeleteExperimentTag(const std::string& experiment_id, const std::string& key) {
  return ChangeExperiment(experiment_id,
                          [&](Experiment& e) {
                            RETURN_IF_ERROR(RequireActive(e));
                            if (e.tags.erase(key) == 0) {
                              return NotFound("No tag with name: " + key +
                                              " in experiment with id " + experiment_id);
                            }
                            return Status::Ok();
                          })
      .status();
}

StatusOr<Page<Experiment>> Tracking::SearchExperiments(const ExperimentSearch& search) {
  RETURN_IF_ERROR(CheckMaxResults(search.max_results, kMaxExperimentsPerPage));
  ASSIGN_OR_RETURN(auto clauses, ParseFilter(search.filter));
  for (const FilterClause& c : clauses) {
    if (IsTagEntity(c.entity)) {
      RETURN_IF_ERROR(CheckClause(search.filter, c, FieldKind::kStringOrNull));
    } else if (IsAttributeEntity(c.entity) && c.key == "name") {
      RETURN_IF_ERROR(CheckClause(search.filter, c, FieldKind::kString));
    } else if (IsAttributeEntity(c.entity) && c.key == "experiment_id") {
      RETURN_IF_ERROR(CheckClause(search.filter, c, FieldKind::kStringOrList));
    } else if (IsAttributeEntity(c.entity) &&
               (c.key == "creation_time" || c.key == "last_update_time")) {
      RETURN_IF_ERROR(CheckClause(search.filter, c, FieldKind::kNumber));
    } else {
      return FilterError(search.filter, c.position,
                         "invalid field '" + c.key +
                             "' (valid: name, experiment_id, creation_time, last_update_time, "
                             "tags.<key>)");
    }
  }
  std::vector<OrderTerm> terms;
  for (const std::string& item : search.order_by) {
    ASSIGN_OR_RETURN(OrderTerm t, ParseOrderTerm(item));
    if (!IsAttributeEntity(t.entity) || (t.key != "name" && t.key != "experiment_id" &&
                                         t.key != "creation_time" && t.key != "last_update_time")) {
      return InvalidArgument("invalid order_by clause '" + item +
                             "' (valid: name, experiment_id, creation_time, last_update_time)");
    }
    terms.push_back(std::move(t));
  }
  if (terms.empty()) terms.push_back({"", "creation_time", false});
  terms.push_back({"", "experiment_id", true});

  RETURN_IF_ERROR(EnsureDefaultExperiment());
  ASSIGN_OR_RETURN(auto docs, store_->List(store::kExperiments, {}));
  std::vector<Experiment> items;
  for (const auto& doc : docs) {
    ASSIGN_OR_RETURN(Experiment e, ExperimentFromDoc(doc.id, doc.json, nullptr));
    if (!InView(e.lifecycle_stage, search.view)) continue;
    bool match = true;
    for (const FilterClause& c : clauses) {
      if (IsTagEntity(c.entity)) {
        match = OptionalStringHolds(c, Find(e.tags, c.key));
      } else if (c.key == "name") {
        match = StringClauseHolds(c, e.name);
      } else if (c.key == "experiment_id") {
        match = StringClauseHolds(c, e.experiment_id);
      } else {
        match = NumberClauseHolds(
            c,
            static_cast<double>(c.key == "creation_time" ? e.creation_time : e.last_update_time));
      }
      if (!match) break;
    }
    if (match) items.push_back(std::move(e));
  }
  SortBy(items, terms, [](const Experiment& e, const OrderTerm& t) {
    if (t.key == "name") return Str(e.name);
    if (t.key == "experiment_id") return Str(e.experiment_id);
    return Num(
        static_cast<double>(t.key == "creation_time" ? e.creation_time : e.last_update_time));
  });
  return TakePage(std::move(items), search.page_token, search.max_results);
}

// ---- runs ------------------------------------------------------------------

StatusOr<Run> Tracking::ReadRun(const std::string& run_id, int64_t* revision) {
  if (!IsIdText(run_id, 256)) return InvalidArgument("invalid run ID '" + run_id + "'");
  auto doc = store_->Get(store::kRuns, run_id);
  if (doc.status().code() == StatusCode::kNotFound) return RunNotFound(run_id);
  if (!doc.ok()) return doc.status();
  return RunFromDoc(run_id, *doc, revision);
}

StatusOr<Run> Tracking::ChangeRun(const std::string& run_id, bool active_only,
                                  const std::function<Status(Run&)>& change) {
  return RetryOnConflict("run " + run_id, [&]() -> StatusOr<Run> {
    int64_t revision = 0;
    ASSIGN_OR_RETURN(Run run, ReadRun(run_id, &revision));
    if (active_only && run.lifecycle_stage != kActive) {
      return InvalidArgument("The run " + run_id +
                             " must be in the 'active' state. Current state is " +
                             run.lifecycle_stage + ".");
    }
    RETURN_IF_ERROR(change(run));
    std::string doc = RunToDoc(run);
    if (doc.size() > kMaxRunDocumentBytes) {
      return InvalidArgument("run " + run_id + " would hold more than " +
                             std::to_string(kMaxRunDocumentBytes) +
                             " bytes of params, tags, metrics and inputs (inferd's limit)");
    }
    Status st = store_->UpdateIf(store::kRuns, {run_id, std::move(doc)}, revision);
    if (st.code() == StatusCode::kNotFound) return RunNotFound(run_id);
    RETURN_IF_ERROR(st);
    return run;
  });
}

StatusOr<Run> Tracking::CreateRun(const NewRun& request) {
  const std::string experiment_id =
      request.experiment_id.empty() ? kDefaultExperimentId : request.experiment_id;
  ASSIGN_OR_RETURN(Experiment e, GetExperiment(experiment_id));
  RETURN_IF_ERROR(RequireActive(e));
  for (const auto& [k, v] : request.tags) RETURN_IF_ERROR(CheckTag(k, v));
  Run run;
  run.run_id = HexId();
  run.experiment_id = experiment_id;
  run.user_id = request.user_id;
  run.start_time = request.start_time != 0 ? request.start_time : clock_->NowMillis();
  run.artifact_uri = e.artifact_location + "/" + run.run_id + "/artifacts";
  run.tags = request.tags;
  const std::string* tag_name = Find(request.tags, kRunNameTag);
  if (!request.run_name.empty() && tag_name && *tag_name != request.run_name) {
    return InvalidArgument(
        "Both 'run_name' argument and 'mlflow.runName' tag are specified, "
        "but with different values (run_name='" +
        request.run_name + "', mlflow.runName='" + *tag_name + "').");
  }
  run.run_name = !request.run_name.empty() ? request.run_name
                 : tag_name                ? *tag_name
                                           : GeneratedName();
  if (run.run_name.size() > kMaxTagValueLength) return TooLong("run_name", kMaxTagValueLength);
  run.tags[kRunNameTag] = run.run_name;
  RETURN_IF_ERROR(store_->Insert(store::kRuns, {run.run_id, RunToDoc(run)}));
  return run;
}

StatusOr<Run> Tracking::GetRun(const std::string& run_id) { return ReadRun(run_id, nullptr); }

StatusOr<Run> Tracking::UpdateRun(const std::string& run_id, const RunUpdate& update) {
  if (update.status && std::find(std::begin(kRunStatuses), std::end(kRunStatuses),
                                 *update.status) == std::end(kRunStatuses)) {
    return InvalidArgument("invalid run status '" + *update.status + "'");
  }
  if (update.run_name && update.run_name->size() > kMaxTagValueLength) {
    return TooLong("run_name", kMaxTagValueLength);
  }
  return ChangeRun(run_id, true, [&](Run& r) {
    if (update.status) r.status = *update.status;
    if (update.end_time) r.end_time = *update.end_time;
    if (update.run_name && !update.run_name->empty()) {
      r.run_name = *update.run_name;
      r.tags[kRunNameTag] = r.run_name;
    }
    return Status::Ok();
  });
}

Status Tracking::DeleteRun(const std::string& run_id) {
  const int64_t now = clock_->NowMillis();
  return ChangeRun(run_id, false,
                   [&](Run& r) {
                     r.lifecycle_stage = kDeleted;
                     r.deleted_time = now;
                     return Status::Ok();
                   })
      .status();
}

Status Tracking::RestoreRun(const std::string& run_id) {
  return ChangeRun(run_id, false,
                   [&](Run& r) {
                     r.lifecycle_stage = kActive;
                     r.deleted_time = 0;
                     return Status::Ok();
                   })
      .status();
}

Status Tracking::LogBatch(const std::string& run_id, std::vector<Metric> metrics,
                          const std::vector<std::pair<std::string, std::string>>& params,
                          const std::map<std::string, std::string>& tags) {
  if (metrics.size() > kMaxMetricsPerBatch) {
    return InvalidArgument("A batch logging request can contain at most " +
                           std::to_string(kMaxMetricsPerBatch) + " metrics. Got " +
                           std::to_string(metrics.size()) + " metrics.");
  }
  if (params.size() > kMaxParamsTagsPerBatch || tags.size() > kMaxParamsTagsPerBatch) {
    return InvalidArgument(
        "A batch logging request can contain at most " + std::to_string(kMaxParamsTagsPerBatch) +
        " params and " + std::to_string(kMaxParamsTagsPerBatch) + " tags. Got " +
        std::to_string(params.size()) + " params and " + std::to_string(tags.size()) + " tags.");
  }
  const int64_t now = clock_->NowMillis();
  for (Metric& m : metrics) {
    RETURN_IF_ERROR(CheckKey("metric", m.key));
    if (m.timestamp == 0) m.timestamp = now;
  }
  std::map<std::string, std::string> new_params;
  for (const auto& [k, v] : params) {
    RETURN_IF_ERROR(CheckParam(k, v));
    if (!new_params.emplace(k, v).second) {
      return InvalidArgument("Duplicate parameter keys have been submitted: ['" + k + "']");
    }
  }
  for (const auto& [k, v] : tags) RETURN_IF_ERROR(CheckTag(k, v));

  // A conflicting param fails the batch before any metric is stored.
  auto check_params = [&](const Run& r) -> Status {
    for (const auto& [k, v] : new_params) {
      auto it = r.params.find(k);
      if (it != r.params.end() && it->second != v) {
        return InvalidArgument("Changing param values is not allowed. Param with key='" + k +
                               "' was already logged with value='" + it->second + "' for run ID='" +
                               run_id + "'. Attempted logging new value '" + v + "'.");
      }
    }
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(Run current, GetRun(run_id));
  if (current.lifecycle_stage != kActive) {
    return InvalidArgument("The run " + run_id +
                           " must be in the 'active' state. Current state is " +
                           current.lifecycle_stage + ".");
  }
  RETURN_IF_ERROR(check_params(current));
  if (!metrics.empty()) {
    std::vector<store::Document> points;
    points.reserve(metrics.size());
    for (const Metric& m : metrics) points.push_back(PointDoc(run_id, m));
    RETURN_IF_ERROR(store_->InsertMany(store::kMetricHistory, points).status());
  }
  RETURN_IF_ERROR(ChangeRun(run_id, true, [&](Run& r) {
                    RETURN_IF_ERROR(check_params(r));
                    for (const auto& [k, v] : new_params) r.params[k] = v;
                    for (const auto& [k, v] : tags) {
                      r.tags[k] = v;
                      if (k == kRunNameTag) r.run_name = v;
                    }
                    for (const Metric& m : metrics) {
                      auto it = r.metrics.find(m.key);
                      if (it == r.metrics.end() || IsLater(m, it->second)) {
                        Metric latest = m;
                        latest.model_id.clear();
                        r.metrics[m.key] = std::move(latest);
                      }
                    }
                    return Status::Ok();
                  }).status());
  // Values about a logged model are its metrics too (MLflow 3).
  std::map<std::string, std::vector<const Metric*>> by_model;
  for (const Metric& m : metrics) {
    if (!m.model_id.empty()) by_model[m.model_id].push_back(&m);
  }
  // Not a structured binding: clang before 16 cannot capture one in a lambda.
  for (const auto& entry : by_model) {
    const std::vector<const Metric*>& model_metrics = entry.second;
    RETURN_IF_ERROR(ChangeLoggedModel(entry.first, [&](LoggedModel& lm) {
                      for (const Metric* m : model_metrics) {
                        std::erase_if(lm.metrics, [&](const Metric& old) {
                          return old.key == m->key && old.step == m->step &&
                                 old.dataset_name == m->dataset_name &&
                                 old.dataset_digest == m->dataset_digest;
                        });
                        lm.metrics.push_back(*m);
                      }
                      return Status::Ok();
                    }).status());
  }
  return Status::Ok();
}

Status Tracking::DeleteTag(const std::string& run_id, const std::string& key) {
  return ChangeRun(run_id, true,
                   [&](Run& r) {
                     if (r.tags.erase(key) == 0) {
                       return NotFound("No tag with name: " + key + " in run with id " + run_id);
                     }
                     return Status::Ok();
                   })
      .status();
}

StatusOr<Page<Metric>> Tracking::GetMetricHistory(const std::string& run_id, const std::string& key,
                                                  int64_t max_results,
                                                  const std::string& page_token) {
  RETURN_IF_ERROR(CheckMaxResults(max_results, kMaxMetricHistoryPage));
  RETURN_IF_ERROR(GetRun(run_id).status());
  ASSIGN_OR_RETURN(auto docs, store_->List(store::kMetricHistory, {"series", run_id + "/" + key}));
  std::vector<Metric> points;
  points.reserve(docs.size());
  simdjson::dom::parser parser;
  for (const auto& doc : docs) {
    ASSIGN_OR_RETURN(simdjson::dom::element e, OpenDoc(parser, doc.json));
    simdjson::dom::element metric;
    if (e["metric"].get(metric) == simdjson::SUCCESS) points.push_back(ReadMetric(metric));
  }
  std::stable_sort(points.begin(), points.end(), [](const Metric& a, const Metric& b) {
    return a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.step < b.step;
  });
  return TakePage(std::move(points), page_token, max_results);
}

Status Tracking::LogInputs(const std::string& run_id, const std::vector<DatasetInput>& datasets,
                           const std::vector<std::string>& model_ids) {
  for (const DatasetInput& d : datasets) {
    if (d.name.empty()) return InvalidArgument("dataset name must not be empty");
    if (d.name.size() > kMaxDatasetNameLength) return TooLong("name", kMaxDatasetNameLength);
    if (d.digest.size() > kMaxDatasetDigestLength) {
      return TooLong("digest", kMaxDatasetDigestLength);
    }
    if (d.source.size() > kMaxDatasetSourceLength) {
      return TooLong("source", kMaxDatasetSourceLength);
    }
    if (d.schema.size() > kMaxDatasetSchemaLength) {
      return TooLong("schema", kMaxDatasetSchemaLength);
    }
  }
  return ChangeRun(run_id, true,
                   [&](Run& r) {
                     for (const DatasetInput& d : datasets) {
                       const std::string* context = Find(d.tags, kDatasetContextTag);
                       bool known =
                           std::any_of(r.datasets.begin(), r.datasets.end(), [&](const auto& o) {
                             const std::string* other = Find(o.tags, kDatasetContextTag);
                             return o.name == d.name && o.digest == d.digest &&
                                    (context == nullptr) == (other == nullptr) &&
                                    (context == nullptr || *context == *other);
                           });
                       if (!known) r.datasets.push_back(d);
                     }
                     for (const std::string& id : model_ids) {
                       if (std::find(r.model_inputs.begin(), r.model_inputs.end(), id) ==
                           r.model_inputs.end()) {
                         r.model_inputs.push_back(id);
                       }
                     }
                     return Status::Ok();
                   })
      .status();
}

Status Tracking::LogOutputs(const std::string& run_id, const std::vector<ModelOutput>& outputs) {
  for (const ModelOutput& o : outputs) RETURN_IF_ERROR(GetLoggedModel(o.model_id).status());
  return ChangeRun(run_id, true,
                   [&](Run& r) {
                     for (const ModelOutput& o : outputs) {
                       bool known =
                           std::any_of(r.model_outputs.begin(), r.model_outputs.end(),
                                       [&](const ModelOutput& x) {
                                         return x.model_id == o.model_id && x.step == o.step;
                                       });
                       if (!known) r.model_outputs.push_back(o);
                     }
                     return Status::Ok();
                   })
      .status();
}

StatusOr<std::vector<Run>> Tracking::RunsOf(const std::vector<std::string>& experiment_ids) {
  std::vector<Run> runs;
  std::set<std::string> seen;
  for (const std::string& id : experiment_ids) {
    if (!seen.insert(id).second) continue;
    ASSIGN_OR_RETURN(auto docs, store_->List(store::kRuns, {"experiment_id", id}));
    for (const auto& doc : docs) {
      ASSIGN_OR_RETURN(Run r, RunFromDoc(doc.id, doc.json, nullptr));
      runs.push_back(std::move(r));
    }
  }
  return runs;
}

StatusOr<Page<Run>> Tracking::SearchRuns(const RunSearch& search) {
  RETURN_IF_ERROR(CheckMaxResults(search.max_results, kMaxRunsPerPage));
  ASSIGN_OR_RETURN(auto clauses, ParseFilter(search.filter));
  for (const FilterClause& c : clauses) RETURN_IF_ERROR(CheckRunClause(search.filter, c));
  ASSIGN_OR_RETURN(auto terms, RunOrder(search.order_by));
  ASSIGN_OR_RETURN(auto runs, RunsOf(search.experiment_ids));
  std::erase_if(runs, [&](const Run& r) {
    return !InView(r.lifecycle_stage, search.view) || !RunMatches(r, clauses);
  });
  SortBy(runs, terms, RunSortValue);
  return TakePage(std::move(runs), search.page_token, search.max_results);
}

// ---- logged models ---------------------------------------------------------

StatusOr<LoggedModel> Tracking::CreateLoggedModel(const NewLoggedModel& request) {
  const std::string experiment_id =
      request.experiment_id.empty() ? kDefaultExperimentId : request.experiment_id;
  ASSIGN_OR_RETURN(Experiment e, GetExperiment(experiment_id));
  RETURN_IF_ERROR(RequireActive(e));
  for (const auto& [k, v] : request.params) RETURN_IF_ERROR(CheckParam(k, v));
  for (const auto& [k, v] : request.tags) RETURN_IF_ERROR(CheckTag(k, v));
  if (!request.source_run_id.empty()) RETURN_IF_ERROR(GetRun(request.source_run_id).status());
  LoggedModel m;
  m.model_id = "m-" + HexId();
  m.experiment_id = experiment_id;
  m.name = request.name.empty() ? GeneratedName() : request.name;
  m.artifact_location = e.artifact_location + "/models/" + m.model_id + "/artifacts";
  m.model_type = request.model_type;
  m.source_run_id = request.source_run_id;
  m.creation_timestamp_ms = m.last_updated_timestamp_ms = clock_->NowMillis();
  m.params = request.params;
  m.tags = request.tags;
  RETURN_IF_ERROR(store_->Insert(store::kLoggedModels, {m.model_id, LoggedModelToDoc(m)}));
  return m;
}

StatusOr<LoggedModel> Tracking::ReadLoggedModel(const std::string& model_id, int64_t* revision) {
  auto doc = store_->Get(store::kLoggedModels, model_id);
  if (doc.status().code() == StatusCode::kNotFound) return LoggedModelNotFound(model_id);
  if (!doc.ok()) return doc.status();
  return LoggedModelFromDoc(model_id, *doc, revision);
}

StatusOr<LoggedModel> Tracking::GetLoggedModel(const std::string& model_id, bool allow_deleted) {
  ASSIGN_OR_RETURN(LoggedModel m, ReadLoggedModel(model_id, nullptr));
  if (m.deleted && !allow_deleted) return LoggedModelNotFound(model_id);
  return m;
}

StatusOr<LoggedModel> Tracking::ChangeLoggedModel(
    const std::string& model_id, const std::function<Status(LoggedModel&)>& change) {
  return RetryOnConflict("logged model " + model_id, [&]() -> StatusOr<LoggedModel> {
    int64_t revision = 0;
    ASSIGN_OR_RETURN(LoggedModel m, ReadLoggedModel(model_id, &revision));
    if (m.deleted) return LoggedModelNotFound(model_id);
    RETURN_IF_ERROR(change(m));
    m.last_updated_timestamp_ms = clock_->NowMillis();
    Status st = store_->UpdateIf(store::kLoggedModels, {model_id, LoggedModelToDoc(m)}, revision);
    if (st.code() == StatusCode::kNotFound) return LoggedModelNotFound(model_id);
    RETURN_IF_ERROR(st);
    return m;
  });
}

StatusOr<LoggedModel> Tracking::FinalizeLoggedModel(const std::string& model_id,
                                                    const std::string& status) {
  std::string name = status;
  if (status.size() == 1 && status[0] >= '0' && status[0] <= '3') {
    name = kLoggedModelStatuses[status[0] - '0'];
  }
  if (name != "LOGGED_MODEL_READY" && name != "LOGGED_MODEL_UPLOAD_FAILED" &&
      name != "LOGGED_MODEL_PENDING") {
    return InvalidArgument("invalid logged model status '" + status + "'");
  }
  return ChangeLoggedModel(model_id, [&](LoggedModel& m) {
    m.status = name;
    return Status::Ok();
  });
}

Status Tracking::DeleteLoggedModel(const std::string& model_id) {
  return ChangeLoggedModel(model_id,
                           [](LoggedModel& m) {
                             m.deleted = true;
                             return Status::Ok();
                           })
      .status();
}

Status Tracking::SetLoggedModelTags(const std::string& model_id,
                                    const std::map<std::string, std::string>& tags) {
  for (const auto& [k, v] : tags) RETURN_IF_ERROR(CheckTag(k, v));
  return ChangeLoggedModel(model_id,
                           [&](LoggedModel& m) {
                             for (const auto& [k, v] : tags) m.tags[k] = v;
                             return Status::Ok();
                           })
      .status();
}

Status Tracking::DeleteLoggedModelTag(const std::string& model_id, const std::string& key) {
  return ChangeLoggedModel(
             model_id,
             [&](LoggedModel& m) {
               if (m.tags.erase(key) == 0) {
                 return NotFound("No tag with key '" + key + "' on logged model " + model_id);
               }
               return Status::Ok();
             })
      .status();
}

Status Tracking::LogLoggedModelParams(const std::string& model_id,
                                      const std::map<std::string, std::string>& params) {
  for (const auto& [k, v] : params) RETURN_IF_ERROR(CheckParam(k, v));
  return ChangeLoggedModel(model_id,
                           [&](LoggedModel& m) {
                             for (const auto& [k, v] : params) m.params[k] = v;
                             return Status::Ok();
                           })
      .status();
}

StatusOr<Page<LoggedModel>> Tracking::SearchLoggedModels(const LoggedModelSearch& search) {
  RETURN_IF_ERROR(CheckMaxResults(search.max_results, kMaxLoggedModelsPerPage));
  ASSIGN_OR_RETURN(auto clauses, ParseFilter(search.filter));
  auto is_string_attribute = [](const std::string& k) {
    return k == "name" || k == "model_id" || k == "model_type" || k == "status" ||
           k == "source_run_id";
  };
  auto is_time = [](const std::string& k) {
    return k == "creation_timestamp" || k == "last_updated_timestamp";
  };
  for (const FilterClause& c : clauses) {
    if (IsMetricEntity(c.entity)) {
      RETURN_IF_ERROR(CheckClause(search.filter, c, FieldKind::kNumber));
    } else if (IsParamEntity(c.entity) || IsTagEntity(c.entity)) {
      RETURN_IF_ERROR(CheckClause(search.filter, c, FieldKind::kStringOrNull));
    } else if (IsAttributeEntity(c.entity) && is_string_attribute(c.key)) {
      RETURN_IF_ERROR(CheckClause(search.filter, c, FieldKind::kStringOrList));
    } else if (IsAttributeEntity(c.entity) && is_time(c.key)) {
      RETURN_IF_ERROR(CheckClause(search.filter, c, FieldKind::kNumber));
    } else {
      return FilterError(search.filter, c.position, "invalid field '" + c.key + "'");
    }
  }
  std::vector<OrderTerm> terms;
  for (const auto& [field, ascending] : search.order_by) {
    ASSIGN_OR_RETURN(OrderTerm t, ParseOrderTerm(field));
    if (!(IsMetricEntity(t.entity) ||
          (IsAttributeEntity(t.entity) && (t.key == "name" || is_time(t.key))))) {
      return InvalidArgument("invalid order_by field '" + field + "'");
    }
    t.ascending = ascending;
    terms.push_back(std::move(t));
  }
  if (terms.empty()) terms.push_back({"", "creation_timestamp", false});
  terms.push_back({"", "model_id", true});

  std::vector<LoggedModel> items;
  std::set<std::string> seen;
  for (const std::string& experiment_id : search.experiment_ids) {
    if (!seen.insert(experiment_id).second) continue;
    ASSIGN_OR_RETURN(auto docs,
                     store_->List(store::kLoggedModels, {"experiment_id", experiment_id}));
    for (const auto& doc : docs) {
      ASSIGN_OR_RETURN(LoggedModel m, LoggedModelFromDoc(doc.id, doc.json, nullptr));
      if (!m.deleted) items.push_back(std::move(m));
    }
  }
  auto latest_metric = [](const LoggedModel& m, const std::string& key) -> const Metric* {
    const Metric* latest = nullptr;
    for (const Metric& x : m.metrics) {
      if (x.key == key && (!latest || IsLater(x, *latest))) latest = &x;
    }
    return latest;
  };
  std::erase_if(items, [&](const LoggedModel& m) {
    for (const FilterClause& c : clauses) {
      bool holds = false;
      if (IsMetricEntity(c.entity)) {
        const Metric* x = latest_metric(m, c.key);
        holds = x && NumberClauseHolds(c, x->value);
      } else if (IsParamEntity(c.entity)) {
        holds = OptionalStringHolds(c, Find(m.params, c.key));
      } else if (IsTagEntity(c.entity)) {
        holds = OptionalStringHolds(c, Find(m.tags, c.key));
      } else if (is_time(c.key)) {
        holds = NumberClauseHolds(
            c, static_cast<double>(c.key == "creation_timestamp" ? m.creation_timestamp_ms
                                                                 : m.last_updated_timestamp_ms));
      } else {
        const std::string& actual = c.key == "name"            ? m.name
                                    : c.key == "model_id"      ? m.model_id
                                    : c.key == "model_type"    ? m.model_type
                                    : c.key == "source_run_id" ? m.source_run_id
                                                               : m.status;
        holds = StringClauseHolds(c, actual);
      }
      if (!holds) return true;
    }
    return false;
  });
  SortBy(items, terms, [&](const LoggedModel& m, const OrderTerm& t) {
    if (IsMetricEntity(t.entity)) {
      const Metric* x = latest_metric(m, t.key);
      return x ? Num(x->value) : SortValue{};
    }
    if (t.key == "name") return Str(m.name);
    if (t.key == "model_id") return Str(m.model_id);
    return Num(static_cast<double>(t.key == "creation_timestamp" ? m.creation_timestamp_ms
                                                                 : m.last_updated_timestamp_ms));
  });
  return TakePage(std::move(items), search.page_token, search.max_results);
}

// ---- registration ----------------------------------------------------------

StatusOr<ModelVersion> RegisterVersion(Registry& registry, Tracking& tracking, NewVersion version) {
  constexpr std::string_view kModelsScheme = "models:/";
  std::string_view source = version.source;
  if (source.starts_with(kModelsScheme) && source.substr(kModelsScheme.size()).starts_with("m-") &&
      source.find('/', kModelsScheme.size()) == std::string_view::npos) {
    const std::string id(source.substr(kModelsScheme.size()));
    if (!version.model_id.empty() && version.model_id != id) {
      return InvalidArgument("source '" + version.source + "' and model_id '" + version.model_id +
                             "' name different logged models");
    }
    version.model_id = id;
  }
  if (version.model_id.empty()) return registry.CreateVersion(version);
  ASSIGN_OR_RETURN(LoggedModel model, tracking.GetLoggedModel(version.model_id));
  version.storage_location = model.artifact_location;
  if (version.run_id.empty()) version.run_id = model.source_run_id;
  ASSIGN_OR_RETURN(ModelVersion created, registry.CreateVersion(version));
  // The logged model lists its registrations, as MLflow's JSON [{name, version}].
  // The list is a tag, so it keeps within a tag's length: when one logged model
  // has been registered hundreds of times, the oldest entries give way (the
  // versions themselves keep their model_id); the registration never fails on it.
  std::deque<std::string> entries;
  {
    simdjson::dom::parser parser;
    simdjson::dom::array existing;
    auto it = model.tags.find("mlflow.modelVersions");
    if (it != model.tags.end() && parser.parse(it->second).get(existing) == simdjson::SUCCESS) {
      for (auto e : existing) entries.emplace_back(simdjson::minify(e));
    }
    std::string entry;
    JsonWriter json(&entry);
    json.BeginObject().Key("name").String(created.name);
    json.Key("version").Int(created.version).EndObject();
    entries.push_back(std::move(entry));
  }
  size_t length = 2 + entries.size() - 1;  // brackets and commas
  for (const auto& e : entries) length += e.size();
  while (length > kMaxTagValueLength && entries.size() > 1) {
    length -= entries.front().size() + 1;
    entries.pop_front();
  }
  std::string list = "[";
  for (const auto& e : entries) list += (list.size() > 1 ? "," : "") + e;
  list += "]";
  RETURN_IF_ERROR(tracking.SetLoggedModelTags(model.model_id, {{"mlflow.modelVersions", list}}));
  return created;
}

// ---- inferd's own trainings -------------------------------------------------

namespace {

// The MLmodel of a logged model holding one model file, with the keys
// mlflow.<flavor>.save_model writes that loading needs.
std::string MlmodelFor(const LoggedModel& model, const TrainingRun& training) {
  std::string out = "artifact_path: " + model.artifact_location + "\nflavors:\n";
  out += "  python_function:\n    data: " + training.model_filename +
         "\n    loader_module: mlflow." + training.model_flavor + "\n";
  out += "  " + training.model_flavor + ":\n    code: null\n    data: " + training.model_filename +
         "\n";
  if (training.model_flavor == "xgboost") {
    out += "    model_class: xgboost.core.Booster\n    model_format: json\n";
  }
  out += "model_id: " + model.model_id + "\nmodel_uuid: " + model.model_id.substr(2) +
         "\nrun_id: " + model.source_run_id + "\n";
  return out;
}

}  // namespace

StatusOr<RecordedTraining> Tracking::RecordTraining(const TrainingRun& training) {
  Tracking& tracking = *this;
  auto experiment = tracking.GetExperimentByName(training.experiment);
  if (experiment.status().code() == StatusCode::kNotFound) {
    auto created = tracking.CreateExperiment(training.experiment, "", {});
    // Another training may have created it meanwhile.
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
      return created.status();
    }
    experiment = tracking.GetExperimentByName(training.experiment);
  }
  RETURN_IF_ERROR(experiment.status());
  RecordedTraining out;
  ASSIGN_OR_RETURN(out.run, tracking.CreateRun({.experiment_id = experiment->experiment_id,
                                                .user_id = "inferd",
                                                .tags = {{"mlflow.source.name", "inferd train"},
                                                         {"mlflow.source.type", "LOCAL"},
                                                         {"mlflow.user", "inferd"}}}));
  const std::string& run_id = out.run.run_id;
  auto record = [&]() -> Status {
    std::vector<std::pair<std::string, std::string>> params(training.params.begin(),
                                                            training.params.end());
    for (size_t i = 0; i < params.size(); i += kMaxParamsTagsPerBatch) {
      std::vector<std::pair<std::string, std::string>> batch(
          params.begin() + i, params.begin() + std::min(params.size(), i + kMaxParamsTagsPerBatch));
      RETURN_IF_ERROR(tracking.LogBatch(run_id, {}, batch, {}));
    }
    std::vector<Metric> metrics;
    for (const auto& [key, value] : training.metrics) {
      metrics.push_back({.key = key, .value = value});
    }
    RETURN_IF_ERROR(tracking.LogBatch(run_id, metrics, {}, {}));
    DatasetInput input{.name = training.dataset.name,
                       .digest = training.dataset.md5.substr(0, kMaxDatasetDigestLength),
                       .source_type = "inferd",
                       .tags = {{kDatasetContextTag, "training"}}};
    JsonWriter(&input.source)
        .BeginObject()
        .Key("dataset")
        .String(training.dataset.name)
        .Key("version")
        .Int(training.dataset.version)
        .Key("md5")
        .String(training.dataset.md5)
        .EndObject();
    RETURN_IF_ERROR(tracking.LogInputs(run_id, {input}, {}));
    ASSIGN_OR_RETURN(out.model, tracking.CreateLoggedModel({.experiment_id = out.run.experiment_id,
                                                            .name = "model",
                                                            .source_run_id = run_id,
                                                            .params = training.params}));
    ASSIGN_OR_RETURN(std::string folder, ArtifactPathOfUri(out.model.artifact_location));
    RETURN_IF_ERROR(store_->PutBlob(ArtifactBlobId(folder + "/" + training.model_filename),
                                    training.model_bytes));
    RETURN_IF_ERROR(
        store_->PutBlob(ArtifactBlobId(folder + "/MLmodel"), MlmodelFor(out.model, training)));
    ASSIGN_OR_RETURN(out.model,
                     tracking.FinalizeLoggedModel(out.model.model_id, "LOGGED_MODEL_READY"));
    for (Metric& m : metrics) m.model_id = out.model.model_id;
    RETURN_IF_ERROR(tracking.LogOutputs(run_id, {{out.model.model_id, 0}}));
    return tracking.LogBatch(run_id, metrics, {}, {});
  };
  Status recorded = record();
  RunUpdate end{.status = recorded.ok() ? "FINISHED" : "FAILED", .end_time = clock_->NowMillis()};
  auto finished = tracking.UpdateRun(run_id, end);
  RETURN_IF_ERROR(recorded);
  RETURN_IF_ERROR(finished.status());
  out.run = *finished;
  ASSIGN_OR_RETURN(out.model, tracking.GetLoggedModel(out.model.model_id));
  return out;
}

}  // namespace inferd::registry
