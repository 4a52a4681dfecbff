// MLflow's tracking REST API (/api/2.0/mlflow/experiments/..., runs/...,
// metrics/get-history, logged-models/...) over registry::Tracking, so that a
// training script's mlflow.set_experiment / start_run / log_* / log_model
// lands in inferd unchanged. Field names, enums as names, error bodies and
// page tokens follow MLflow's server; MLflow's own client is the test.
#include <simdjson.h>

#include <cmath>

#include "api/http_status.h"
#include "api/mlflow_common.h"
#include "api/service.h"
#include "common/json_writer.h"
#include "common/url.h"

namespace inferd::api {
namespace {

using registry::Experiment;
using registry::LoggedModel;
using registry::Metric;
using registry::Run;

constexpr std::string_view kPrefix = "/api/2.0/mlflow/";
// Which page sizes a request gets when it names none (MLflow's defaults).
constexpr int64_t kDefaultRunResults = 1000;
constexpr int64_t kDefaultExperimentResults = 1000;
constexpr int64_t kDefaultLoggedModelResults = 50;
constexpr const char* kRunStatusNames[] = {"",         "RUNNING", "SCHEDULED",
                                           "FINISHED", "FAILED",  "KILLED"};
constexpr const char* kViewTypeNames[] = {"", "ACTIVE_ONLY", "DELETED_ONLY", "ALL"};

StatusOr<double> ReadDouble(simdjson::dom::element e, const char* what) {
  double d;
  if (e.get(d) == simdjson::SUCCESS) return d;
  int64_t i;
  if (e.get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  std::string_view s;
  if (e.get(s) == simdjson::SUCCESS) {
    if (s == "NaN" || s == "nan") return NAN;
    if (s == "Infinity" || s == "inf") return INFINITY;
    if (s == "-Infinity" || s == "-inf") return -INFINITY;
    char* end = nullptr;
    std::string text(s);
    double v = std::strtod(text.c_str(), &end);
    if (!text.empty() && *end == '\0') return v;
  }
  return InvalidArgument(std::string("'") + what + "' must be a number");
}

StatusOr<int64_t> ReadInt(simdjson::dom::element e, const char* key, int64_t fallback) {
  simdjson::dom::element v;
  if (e[key].get(v) != simdjson::SUCCESS || v.is_null()) return fallback;
  int64_t i;
  if (v.get(i) == simdjson::SUCCESS) return i;
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) {
    std::string text(s);
    char* end = nullptr;
    long long parsed = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && *end == '\0') return static_cast<int64_t>(parsed);
  }
  return InvalidArgument(std::string("'") + key + "' must be an integer");
}

// An enum as MLflow's JSON carries it: its name, or its number (index into `names`).
template <size_t N>
std::string EnumName(const std::string& text, const char* const (&names)[N]) {
  if (text.size() == 1 && text[0] >= '1' && static_cast<size_t>(text[0] - '0') < N) {
    return names[text[0] - '0'];
  }
  return text;
}

void WriteMetric(JsonWriter& json, const Metric& m, const std::string& run_id) {
  json.BeginObject().Key("key").String(m.key).Key("value");
  json.Double(m.value, JsonWriter::NonFinite::kStrings);
  json.Key("timestamp").Int(m.timestamp).Key("step").Int(m.step);
  if (!m.model_id.empty()) json.Key("model_id").String(m.model_id);
  if (!m.dataset_name.empty()) json.Key("dataset_name").String(m.dataset_name);
  if (!m.dataset_digest.empty()) json.Key("dataset_digest").String(m.dataset_digest);
  if (!run_id.empty()) json.Key("run_id").String(run_id);
  json.EndObject();
}

void WriteExperiment(JsonWriter& json, const Experiment& e) {
  json.BeginObject();
  json.Key("experiment_id").String(e.experiment_id).Key("name").String(e.name);
  json.Key("artifact_location").String(e.artifact_location);
  json.Key("lifecycle_stage").String(e.lifecycle_stage);
  json.Key("last_update_time").Int(e.last_update_time);
  json.Key("creation_time").Int(e.creation_time);
  WriteKeyValues(json, "tags", e.tags);
  json.EndObject();
}

void WriteRunInfo(JsonWriter& json, const Run& r) {
  json.BeginObject();
  json.Key("run_id").String(r.run_id).Key("run_uuid").String(r.run_id);
  json.Key("run_name").String(r.run_name).Key("experiment_id").String(r.experiment_id);
  json.Key("user_id").String(r.user_id).Key("status").String(r.status);
  json.Key("start_time").Int(r.start_time);
  if (r.end_time) json.Key("end_time").Int(*r.end_time);
  json.Key("artifact_uri").String(r.artifact_uri);
  json.Key("lifecycle_stage").String(r.lifecycle_stage);
  json.EndObject();
}

void WriteRun(JsonWriter& json, const Run& r) {
  json.BeginObject().Key("info");
  WriteRunInfo(json, r);
  json.Key("data").BeginObject().Key("metrics").BeginArray();
  for (const auto& [key, m] : r.metrics) WriteMetric(json, m, "");
  json.EndArray();
  WriteKeyValues(json, "params", r.params);
  WriteKeyValues(json, "tags", r.tags);
  json.EndObject();
  json.Key("inputs").BeginObject().Key("dataset_inputs").BeginArray();
  for (const auto& d : r.datasets) {
    json.BeginObject();
    WriteKeyValues(json, "tags", d.tags);
    json.Key("dataset").BeginObject();
    json.Key("name").String(d.name).Key("digest").String(d.digest);
    json.Key("source_type").String(d.source_type).Key("source").String(d.source);
    if (!d.schema.empty()) json.Key("schema").String(d.schema);
    if (!d.profile.empty()) json.Key("profile").String(d.profile);
    json.EndObject().EndObject();
  }
  json.EndArray().Key("model_inputs").BeginArray();
  for (const auto& id : r.model_inputs) json.BeginObject().Key("model_id").String(id).EndObject();
  json.EndArray().EndObject();
  json.Key("outputs").BeginObject().Key("model_outputs").BeginArray();
  for (const auto& o : r.model_outputs) {
    json.BeginObject().Key("model_id").String(o.model_id).Key("step").Int(o.step).EndObject();
  }
  json.EndArray().EndObject();
  json.EndObject();
}

void WriteLoggedModel(JsonWriter& json, const LoggedModel& m) {
  json.BeginObject().Key("info").BeginObject();
  json.Key("model_id").String(m.model_id).Key("experiment_id").String(m.experiment_id);
  json.Key("name").String(m.name);
  json.Key("creation_timestamp_ms").Int(m.creation_timestamp_ms);
  json.Key("last_updated_timestamp_ms").Int(m.last_updated_timestamp_ms);
  json.Key("artifact_uri").String(m.artifact_location).Key("status").String(m.status);
  if (!m.model_type.empty()) json.Key("model_type").String(m.model_type);
  if (!m.source_run_id.empty()) json.Key("source_run_id").String(m.source_run_id);
  if (!m.status_message.empty()) json.Key("status_message").String(m.status_message);
  WriteKeyValues(json, "tags", m.tags);
  json.EndObject();
  json.Key("data").BeginObject();
  WriteKeyValues(json, "params", m.params);
  json.Key("metrics").BeginArray();
  for (const Metric& metric : m.metrics) WriteMetric(json, metric, m.source_run_id);
  json.EndArray().EndObject().EndObject();
}

template <typename Fn>
std::string Json(Fn write) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  write(json);
  json.EndObject();
  return out;
}

StatusOr<std::string> RunIdArg(const Args& a) {
  ASSIGN_OR_RETURN(std::string id, a.Str("run_id", false));
  if (id.empty()) {
    ASSIGN_OR_RETURN(id, a.Str("run_uuid", false));
  }
  if (id.empty()) return InvalidArgument("missing value for parameter 'run_id'");
  return id;
}

StatusOr<Metric> ReadMetric(simdjson::dom::element e) {
  Metric m;
  m.key = MemberString(e, "key");
  simdjson::dom::element value;
  if (e["value"].get(value) != simdjson::SUCCESS) {
    return InvalidArgument("missing value for parameter 'value' of metric '" + m.key + "'");
  }
  ASSIGN_OR_RETURN(m.value, ReadDouble(value, "value"));
  ASSIGN_OR_RETURN(m.timestamp, ReadInt(e, "timestamp", 0));
  ASSIGN_OR_RETURN(m.step, ReadInt(e, "step", 0));
  m.model_id = MemberString(e, "model_id");
  m.dataset_name = MemberString(e, "dataset_name");
  m.dataset_digest = MemberString(e, "dataset_digest");
  return m;
}

class TrackingApi {
 public:
  explicit TrackingApi(const ServiceContext& context)
      : context_(context), tracking_(*context.tracking) {}

  using Handler = StatusOr<std::string> (TrackingApi::*)(const Args&, const PathParams&);

  http::Response Call(const http::Request& request, const PathParams& params, Handler handler,
                      bool mutating) {
    return CallMlflow(context_, request, mutating,
                      [&](const Args& args) { return (this->*handler)(args, params); });
  }

  // ---- experiments ----
  StatusOr<std::string> CreateExperiment(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string name, a.Str("name"));
    ASSIGN_OR_RETURN(std::string location, a.Str("artifact_location", false));
    ASSIGN_OR_RETURN(std::string id, tracking_.CreateExperiment(name, location, a.Pairs()));
    return Json([&](JsonWriter& j) { j.Key("experiment_id").String(id); });
  }
  StatusOr<std::string> GetExperiment(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, a.Str("experiment_id"));
    ASSIGN_OR_RETURN(Experiment e, tracking_.GetExperiment(id));
    return Json([&](JsonWriter& j) { WriteExperiment(j.Key("experiment"), e); });
  }
  StatusOr<std::string> GetExperimentByName(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string name, a.Str("experiment_name"));
    ASSIGN_OR_RETURN(Experiment e, tracking_.GetExperimentByName(name));
    return Json([&](JsonWriter& j) { WriteExperiment(j.Key("experiment"), e); });
  }
  StatusOr<std::string> SearchExperiments(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(registry::Search common, SearchArgs(a, kDefaultExperimentResults));
    registry::ExperimentSearch search{.filter = common.filter,
                                      .max_results = common.max_results,
                                      .order_by = common.order_by,
                                      .page_token = common.page_token};
    ASSIGN_OR_RETURN(std::string view, a.Str("view_type", false));
    ASSIGN_OR_RETURN(search.view, registry::ParseViewType(EnumName(view, kViewTypeNames)));
    ASSIGN_OR_RETURN(auto page, tracking_.SearchExperiments(search));
    return Json([&](JsonWriter& j) {
      j.Key("experiments").BeginArray();
      for (const auto& e : page.items) WriteExperiment(j, e);
      j.EndArray();
      if (!page.next_page_token.empty()) j.Key("next_page_token").String(page.next_page_token);
    });
  }
  StatusOr<std::string> DeleteExperiment(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, a.Str("experiment_id"));
    RETURN_IF_ERROR(tracking_.DeleteExperiment(id));
    return std::string("{}");
  }
  StatusOr<std::string> RestoreExperiment(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, a.Str("experiment_id"));
    RETURN_IF_ERROR(tracking_.RestoreExperiment(id));
    return std::string("{}");
  }
  StatusOr<std::string> UpdateExperiment(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, a.Str("experiment_id"));
    ASSIGN_OR_RETURN(std::string name, a.Str("new_name", false));
    if (!name.empty()) RETURN_IF_ERROR(tracking_.RenameExperiment(id, name));
    return std::string("{}");
  }
  StatusOr<std::string> SetExperimentTag(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, a.Str("experiment_id"));
    ASSIGN_OR_RETURN(std::string key, a.Str("key"));
    ASSIGN_OR_RETURN(std::string value, a.Str("value", false));
    RETURN_IF_ERROR(tracking_.SetExperimentTag(id, key, value));
    return std::string("{}");
  }
  StatusOr<std::string> DeleteExperimentTag(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, a.Str("experiment_id"));
    ASSIGN_OR_RETURN(std::string key, a.Str("key"));
    RETURN_IF_ERROR(tracking_.DeleteExperimentTag(id, key));
    return std::string("{}");
  }

  // ---- runs ----
  StatusOr<std::string> CreateRun(const Args& a, const PathParams&) {
    registry::NewRun request;
    ASSIGN_OR_RETURN(request.experiment_id, a.Str("experiment_id", false));
    ASSIGN_OR_RETURN(request.user_id, a.Str("user_id", false));
    ASSIGN_OR_RETURN(request.run_name, a.Str("run_name", false));
    ASSIGN_OR_RETURN(auto start, a.Int("start_time"));
    request.start_time = start.value_or(0);
    request.tags = a.Pairs();
    ASSIGN_OR_RETURN(Run run, tracking_.CreateRun(request));
    return Json([&](JsonWriter& j) { WriteRun(j.Key("run"), run); });
  }
  StatusOr<std::string> GetRun(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    ASSIGN_OR_RETURN(Run run, tracking_.GetRun(id));
    return Json([&](JsonWriter& j) { WriteRun(j.Key("run"), run); });
  }
  StatusOr<std::string> UpdateRun(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    registry::RunUpdate update;
    ASSIGN_OR_RETURN(std::string status, a.Str("status", false));
    if (!status.empty()) update.status = EnumName(status, kRunStatusNames);
    ASSIGN_OR_RETURN(update.end_time, a.Int("end_time"));
    ASSIGN_OR_RETURN(std::string name, a.Str("run_name", false));
    if (!name.empty()) update.run_name = name;
    ASSIGN_OR_RETURN(Run run, tracking_.UpdateRun(id, update));
    return Json([&](JsonWriter& j) { WriteRunInfo(j.Key("run_info"), run); });
  }
  StatusOr<std::string> DeleteRun(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    RETURN_IF_ERROR(tracking_.DeleteRun(id));
    return std::string("{}");
  }
  StatusOr<std::string> RestoreRun(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    RETURN_IF_ERROR(tracking_.RestoreRun(id));
    return std::string("{}");
  }
  StatusOr<std::string> LogMetric(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    Metric m;
    ASSIGN_OR_RETURN(m.key, a.Str("key"));
    auto value = a.Member("value");
    if (!value) return InvalidArgument("missing value for parameter 'value'");
    ASSIGN_OR_RETURN(m.value, ReadDouble(*value, "value"));
    ASSIGN_OR_RETURN(auto timestamp, a.Int("timestamp"));
    m.timestamp = timestamp.value_or(0);
    ASSIGN_OR_RETURN(auto step, a.Int("step"));
    m.step = step.value_or(0);
    ASSIGN_OR_RETURN(m.model_id, a.Str("model_id", false));
    ASSIGN_OR_RETURN(m.dataset_name, a.Str("dataset_name", false));
    ASSIGN_OR_RETURN(m.dataset_digest, a.Str("dataset_digest", false));
    RETURN_IF_ERROR(tracking_.LogBatch(id, {std::move(m)}, {}, {}));
    return std::string("{}");
  }
  StatusOr<std::string> LogParam(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    ASSIGN_OR_RETURN(std::string key, a.Str("key"));
    ASSIGN_OR_RETURN(std::string value, a.Str("value", false));
    RETURN_IF_ERROR(tracking_.LogBatch(id, {}, {{key, value}}, {}));
    return std::string("{}");
  }
  StatusOr<std::string> SetTag(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    ASSIGN_OR_RETURN(std::string key, a.Str("key"));
    ASSIGN_OR_RETURN(std::string value, a.Str("value", false));
    RETURN_IF_ERROR(tracking_.LogBatch(id, {}, {}, {{key, value}}));
    return std::string("{}");
  }
  StatusOr<std::string> DeleteTag(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    ASSIGN_OR_RETURN(std::string key, a.Str("key"));
    RETURN_IF_ERROR(tracking_.DeleteTag(id, key));
    return std::string("{}");
  }
  StatusOr<std::string> LogBatch(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    std::vector<Metric> metrics;
    if (auto array = a.Member("metrics")) {
      simdjson::dom::array items;
      if (array->get(items) != simdjson::SUCCESS)
        return InvalidArgument("'metrics' must be a list");
      for (auto item : items) {
        ASSIGN_OR_RETURN(Metric m, ReadMetric(item));
        metrics.push_back(std::move(m));
      }
    }
    std::vector<std::pair<std::string, std::string>> params;
    if (auto array = a.Member("params")) {
      simdjson::dom::array items;
      if (array->get(items) != simdjson::SUCCESS) return InvalidArgument("'params' must be a list");
      for (auto item : items)
        params.emplace_back(MemberString(item, "key"), MemberString(item, "value"));
    }
    RETURN_IF_ERROR(tracking_.LogBatch(id, std::move(metrics), params, a.Pairs("tags")));
    return std::string("{}");
  }
  StatusOr<std::string> LogInputs(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    std::vector<registry::DatasetInput> datasets;
    simdjson::dom::array items;
    if (auto array = a.Member("datasets"); array && array->get(items) == simdjson::SUCCESS) {
      for (auto item : items) {
        simdjson::dom::element d;
        if (item["dataset"].get(d) != simdjson::SUCCESS) {
          return InvalidArgument("each dataset input needs a 'dataset'");
        }
        datasets.push_back({MemberString(d, "name"), MemberString(d, "digest"),
                            MemberString(d, "source_type"), MemberString(d, "source"),
                            MemberString(d, "schema"), MemberString(d, "profile"),
                            MemberPairs(item, "tags")});
      }
    }
    std::vector<std::string> models;
    if (auto array = a.Member("models"); array && array->get(items) == simdjson::SUCCESS) {
      for (auto item : items) models.push_back(MemberString(item, "model_id"));
    }
    RETURN_IF_ERROR(tracking_.LogInputs(id, datasets, models));
    return std::string("{}");
  }
  StatusOr<std::string> LogOutputs(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    std::vector<registry::ModelOutput> outputs;
    simdjson::dom::array items;
    if (auto array = a.Member("models"); array && array->get(items) == simdjson::SUCCESS) {
      for (auto item : items) {
        ASSIGN_OR_RETURN(int64_t step, ReadInt(item, "step", 0));
        outputs.push_back({MemberString(item, "model_id"), step});
      }
    }
    RETURN_IF_ERROR(tracking_.LogOutputs(id, outputs));
    return std::string("{}");
  }
  StatusOr<std::string> SearchRuns(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(registry::Search common, SearchArgs(a, kDefaultRunResults));
    registry::RunSearch search{.experiment_ids = a.List("experiment_ids"),
                               .filter = common.filter,
                               .max_results = common.max_results,
                               .order_by = common.order_by,
                               .page_token = common.page_token};
    ASSIGN_OR_RETURN(std::string view, a.Str("run_view_type", false));
    ASSIGN_OR_RETURN(search.view, registry::ParseViewType(EnumName(view, kViewTypeNames)));
    ASSIGN_OR_RETURN(auto page, tracking_.SearchRuns(search));
    return Json([&](JsonWriter& j) {
      j.Key("runs").BeginArray();
      for (const auto& r : page.items) WriteRun(j, r);
      j.EndArray();
      if (!page.next_page_token.empty()) j.Key("next_page_token").String(page.next_page_token);
    });
  }
  StatusOr<std::string> GetMetricHistory(const Args& a, const PathParams&) {
    ASSIGN_OR_RETURN(std::string id, RunIdArg(a));
    ASSIGN_OR_RETURN(std::string key, a.Str("metric_key"));
    ASSIGN_OR_RETURN(auto max, a.Int("max_results"));
    ASSIGN_OR_RETURN(std::string token, a.Str("page_token", false));
    ASSIGN_OR_RETURN(auto page, tracking_.GetMetricHistory(
                                    id, key, max.value_or(registry::kMaxMetricHistoryPage), token));
    return Json([&](JsonWriter& j) {
      j.Key("metrics").BeginArray();
      for (const auto& m : page.items) WriteMetric(j, m, id);
      j.EndArray();
      if (!page.next_page_token.empty()) j.Key("next_page_token").String(page.next_page_token);
    });
  }

  // ---- logged models (MLflow 3) ----
  static std::string ModelJson(const LoggedModel& m) {
    return Json([&](JsonWriter& j) { WriteLoggedModel(j.Key("model"), m); });
  }
  StatusOr<std::string> CreateLoggedModel(const Args& a, const PathParams&) {
    registry::NewLoggedModel request;
    ASSIGN_OR_RETURN(request.experiment_id, a.Str("experiment_id"));
    ASSIGN_OR_RETURN(request.name, a.Str("name", false));
    ASSIGN_OR_RETURN(request.model_type, a.Str("model_type", false));
    ASSIGN_OR_RETURN(request.source_run_id, a.Str("source_run_id", false));
    request.params = a.Pairs("params");
    request.tags = a.Pairs("tags");
    ASSIGN_OR_RETURN(LoggedModel m, tracking_.CreateLoggedModel(request));
    return ModelJson(m);
  }
  StatusOr<std::string> GetLoggedModel(const Args& a, const PathParams& p) {
    ASSIGN_OR_RETURN(std::string allow, a.Str("allow_deleted", false));
    ASSIGN_OR_RETURN(LoggedModel m,
                     tracking_.GetLoggedModel(std::string(p.model), allow == "true"));
    return ModelJson(m);
  }
  StatusOr<std::string> FinalizeLoggedModel(const Args& a, const PathParams& p) {
    ASSIGN_OR_RETURN(std::string status, a.Str("status"));
    ASSIGN_OR_RETURN(LoggedModel m, tracking_.FinalizeLoggedModel(std::string(p.model), status));
    return ModelJson(m);
  }
  StatusOr<std::string> DeleteLoggedModel(const Args&, const PathParams& p) {
    RETURN_IF_ERROR(tracking_.DeleteLoggedModel(std::string(p.model)));
    return std::string("{}");
  }
  StatusOr<std::string> SetLoggedModelTags(const Args& a, const PathParams& p) {
    RETURN_IF_ERROR(tracking_.SetLoggedModelTags(std::string(p.model), a.Pairs("tags")));
    return std::string("{}");
  }
  StatusOr<std::string> DeleteLoggedModelTag(const Args&, const PathParams& p) {
    RETURN_IF_ERROR(
        tracking_.DeleteLoggedModelTag(std::string(p.model), PercentDecode(p.path, false)));
    return std::string("{}");
  }
  StatusOr<std::string> LogLoggedModelParams(const Args& a, const PathParams& p) {
    RETURN_IF_ERROR(tracking_.LogLoggedModelParams(std::string(p.model), a.Pairs("params")));
    return std::string("{}");
  }
  StatusOr<std::string> SearchLoggedModels(const Args& a, const PathParams&) {
    registry::LoggedModelSearch search;
    search.experiment_ids = a.List("experiment_ids");
    ASSIGN_OR_RETURN(search.filter, a.Str("filter", false));
    ASSIGN_OR_RETURN(auto max, a.Int("max_results"));
    search.max_results = max.value_or(kDefaultLoggedModelResults);
    ASSIGN_OR_RETURN(search.page_token, a.Str("page_token", false));
    if (auto order = a.Member("order_by")) {
      simdjson::dom::array items;
      if (order->get(items) == simdjson::SUCCESS) {
        for (auto item : items) {
          bool ascending = true;
          if (item["ascending"].get(ascending) != simdjson::SUCCESS) ascending = true;
          search.order_by.emplace_back(MemberString(item, "field_name"), ascending);
        }
      }
    }
    ASSIGN_OR_RETURN(auto page, tracking_.SearchLoggedModels(search));
    return Json([&](JsonWriter& j) {
      j.Key("models").BeginArray();
      for (const auto& m : page.items) WriteLoggedModel(j, m);
      j.EndArray();
      if (!page.next_page_token.empty()) j.Key("next_page_token").String(page.next_page_token);
    });
  }

 private:
  ServiceContext context_;
  registry::Tracking& tracking_;
};

}  // namespace

void AddMlflowTrackingRoutes(const ServiceContext& context, Router* router) {
  auto api = std::make_shared<TrackingApi>(context);
  struct Route {
    const char* method;
    const char* path;
    TrackingApi::Handler handler;
    bool mutating;
  };
  using T = TrackingApi;
  const Route routes[] = {
      {"POST", "experiments/create", &T::CreateExperiment, true},
      {"GET", "experiments/get", &T::GetExperiment, false},
      {"GET", "experiments/get-by-name", &T::GetExperimentByName, false},
      {"POST", "experiments/search", &T::SearchExperiments, false},
      {"GET", "experiments/search", &T::SearchExperiments, false},
      {"POST", "experiments/delete", &T::DeleteExperiment, true},
      {"POST", "experiments/restore", &T::RestoreExperiment, true},
      {"POST", "experiments/update", &T::UpdateExperiment, true},
      {"POST", "experiments/set-experiment-tag", &T::SetExperimentTag, true},
      {"POST", "experiments/delete-experiment-tag", &T::DeleteExperimentTag, true},
      {"POST", "runs/create", &T::CreateRun, true},
      {"GET", "runs/get", &T::GetRun, false},
      {"POST", "runs/update", &T::UpdateRun, true},
      {"POST", "runs/delete", &T::DeleteRun, true},
      {"POST", "runs/restore", &T::RestoreRun, true},
      {"POST", "runs/log-metric", &T::LogMetric, true},
      {"POST", "runs/log-parameter", &T::LogParam, true},
      {"POST", "runs/set-tag", &T::SetTag, true},
      {"POST", "runs/delete-tag", &T::DeleteTag, true},
      {"POST", "runs/log-batch", &T::LogBatch, true},
      {"POST", "runs/log-inputs", &T::LogInputs, true},
      {"POST", "runs/outputs", &T::LogOutputs, true},
      {"POST", "runs/search", &T::SearchRuns, false},
      {"GET", "metrics/get-history", &T::GetMetricHistory, false},
      {"POST", "logged-models", &T::CreateLoggedModel, true},
      {"POST", "logged-models/search", &T::SearchLoggedModels, false},
      {"GET", "logged-models/{model}", &T::GetLoggedModel, false},
      {"PATCH", "logged-models/{model}", &T::FinalizeLoggedModel, true},
      {"DELETE", "logged-models/{model}", &T::DeleteLoggedModel, true},
      {"PATCH", "logged-models/{model}/tags", &T::SetLoggedModelTags, true},
      {"DELETE", "logged-models/{model}/tags/{path...}", &T::DeleteLoggedModelTag, true},
      {"POST", "logged-models/{model}/params", &T::LogLoggedModelParams, true},
  };
  // Every route reads or writes the store: all run on workers.
  for (const Route& r : routes) {
    router->Add(
        r.method, std::string(kPrefix) + r.path,
        [api, r](auto& request, auto& params) {
          return api->Call(request, params, r.handler, r.mutating);
        },
        Runs::kOnWorker);
  }
  // The rest of MLflow's API (UI, traces, prompts, gateway, ...) is not
  // served: MLflow's error body, so its client says so plainly.
  for (const char* method : {"GET", "POST", "PATCH", "DELETE", "PUT"}) {
    for (const char* prefix : {"/api/2.0/mlflow/{path...}", "/api/3.0/mlflow/{path...}",
                               "/ajax-api/2.0/mlflow/{path...}"}) {
      router->Add(method, prefix,
                  [](auto& request, auto&) { return MlflowEndpointNotFound(request); });
    }
  }
}

}  // namespace inferd::api
