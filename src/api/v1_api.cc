// KServe V1 protocol routes: model status and `:predict` with "instances"
// given as arrays of numbers or as objects keyed by feature name.
#include <simdjson.h>

#include <algorithm>
#include <limits>

#include "api/http_status.h"
#include "api/json_body.h"
#include "api/service.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "common/url.h"

namespace inferd::api {
namespace od = simdjson::ondemand;
namespace {

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

// Reads one number-or-null cell; `where` names it in errors.
Status ReadCell(od::value value, const std::string& where, float* out) {
  od::json_type type;
  if (value.type().get(type)) return InvalidArgument("invalid JSON at " + where);
  if (type == od::json_type::null) {
    *out = kMissing;
    return Status::Ok();
  }
  double d;
  if (type != od::json_type::number || value.get_double().get(d)) {
    return InvalidArgument(where + " is not a number or null");
  }
  *out = static_cast<float>(d);
  return Status::Ok();
}

// Appends one instance (array or object) as a row of `width` cells.
Status AppendInstance(od::value instance, size_t row, const model::Servable& servable,
                      std::vector<float>* rows) {
  const int64_t width = servable.model->info().num_features;
  const std::string where = "instance " + std::to_string(row);
  od::json_type type;
  if (instance.type().get(type)) return InvalidArgument("invalid JSON in " + where);
  const size_t base = rows->size();
  rows->resize(base + width, kMissing);
  if (type == od::json_type::array) {
    int64_t column = 0;
    bool extra = false;
    for (auto cell : instance.get_array()) {
      od::value value;
      if (cell.get(value)) return InvalidArgument("invalid JSON in " + where);
      if (column == width) {
        extra = true;
        break;
      }
      RETURN_IF_ERROR(
          ReadCell(value, where + " column " + std::to_string(column), &(*rows)[base + column]));
      ++column;
    }
    if (extra || column != width) {
      return InvalidArgument(where + " has " + (extra ? "more than " : "") +
                             std::to_string(column) + " values; model '" + servable.name +
                             "' takes " + std::to_string(width));
    }
    return Status::Ok();
  }
  if (type == od::json_type::object) {
    if (servable.feature_index.empty()) {
      return InvalidArgument("model '" + servable.name +
                             "' has no feature names; send instances as arrays, or add "
                             "feature_names to its config.json");
    }
    for (auto field : instance.get_object()) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return InvalidArgument("invalid JSON in " + where);
      auto it = servable.feature_index.find(key);
      if (it == servable.feature_index.end()) {
        return InvalidArgument(where + " has unknown feature '" + std::string(key) + "'");
      }
      od::value value;
      if (field.value().get(value)) return InvalidArgument("invalid JSON in " + where);
      RETURN_IF_ERROR(ReadCell(value, where + " feature '" + std::string(key) + "'",
                               &(*rows)[base + it->second]));
    }
    return Status::Ok();
  }
  return InvalidArgument(where + " must be an array of numbers or an object of features");
}

// The request's instances as one FP32 input of [rows, features] for the
// servable; `num_rows` is how many there are.
StatusOr<serving::InferRequest> ParseInstances(const http::Request& request,
                                               const model::Servable& servable, size_t* num_rows) {
  thread_local od::parser parser;
  simdjson::padded_string copy;
  od::document doc;
  simdjson::error_code err =
      IterateJson(parser, request.body, request.body.size(), &copy, &doc);
  od::object root;
  if (err || doc.get_object().get(root)) {
    return InvalidArgument("request body must be a JSON object with \"instances\"");
  }
  std::vector<float> rows;
  bool found = false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return InvalidArgument("invalid JSON in request body");
    if (key != "instances" && key != "inputs") continue;
    found = true;
    od::array instances;
    if (field.value().get_array().get(instances)) {
      return InvalidArgument("\"" + std::string(key) + "\" must be an array");
    }
    for (auto element : instances) {
      od::value instance;
      if (element.get(instance)) return InvalidArgument("invalid JSON in instances");
      RETURN_IF_ERROR(AppendInstance(instance, *num_rows, servable, &rows));
      ++*num_rows;
    }
  }
  if (!found) return InvalidArgument("request body has no \"instances\"");
  if (!AtEnd(doc)) return InvalidArgument("trailing content after the JSON request body");
  serving::InferRequest infer;
  serving::InferInput& input = infer.inputs.emplace_back();
  input.name = servable.config.input_name;
  input.datatype = "FP32";
  input.shape = {static_cast<int64_t>(*num_rows), servable.model->info().num_features};
  input.data = std::move(rows);
  return infer;
}

class V1Api {
 public:
  explicit V1Api(const ServiceContext& context) : context_(context) {}

  http::Response List() const {
    std::string body;
    JsonWriter json(&body);
    json.BeginObject().Key("models").BeginArray();
    for (const auto& name : context_.models->LoadedNames()) json.String(name);
    json.EndArray().EndObject();
    return JsonResponse(std::move(body));
  }

  http::Response ModelStatus(const PathParams& params) const {
    auto servable = context_.models->Get(params.model, "");
    if (!servable.ok()) return ErrorResponse(servable.status());
    std::string body;
    JsonWriter(&body).BeginObject().Key("name").String((*servable)->name).Key("ready").Bool(true)
        .EndObject();
    return JsonResponse(std::move(body));
  }

  // A V1 request run: the model that answered, the number of instances and
  // the inference's answer.
  struct Ran {
    std::shared_ptr<const model::Servable> servable;
    size_t num_rows = 0;
    serving::InferResponse inferred;
  };

  // Finds the model, reads the request's instances and runs them, with the
  // extra `outputs` requested (e.g. contributions).
  StatusOr<Ran> Run(const http::Request& request, const PathParams& params,
                    std::vector<serving::RequestedOutput> outputs = {}) const {
    Ran ran;
    ASSIGN_OR_RETURN(ran.servable, inference().Find(params.model, ""));
    const model::Servable& s = *ran.servable;
    auto infer = ParseInstances(request, s, &ran.num_rows);
    if (!infer.ok()) return inference().Reject(s, infer.status());
    for (auto& output : outputs) infer->outputs.push_back(std::move(output));
    ASSIGN_OR_RETURN(ran.inferred, inference().Infer(s, *infer, serving::Protocol::kRestV1));
    return ran;
  }

  http::Response Predict(const http::Request& request, const PathParams& params) const {
    auto ran = Run(request, params);
    if (!ran.ok()) return ErrorResponse(ran.status());
    const model::Servable& s = *ran->servable;
    const size_t num_rows = ran->num_rows;
    const serving::InferResponse& inferred = ran->inferred;
    const std::vector<float>& predictions = inferred.values;
    const std::string& prediction_id = inferred.prediction_id;
    const int64_t per_row = s.model->info().num_outputs;
    std::string body;
    body.reserve(32 + predictions.size() * 12);
    JsonWriter json(&body);
    json.BeginObject().Key("predictions").BeginArray();
    for (size_t r = 0; r < num_rows; ++r) {
      if (per_row == 1) {
        json.Float(predictions[r]);
        continue;
      }
      json.BeginArray();
      for (int64_t c = 0; c < per_row; ++c) json.Float(predictions[r * per_row + c]);
      json.EndArray();
    }
    json.EndArray().Key("prediction_id").String(prediction_id).EndObject();
    http::Response response = JsonResponse(std::move(body));
    response.headers.emplace_back("X-Prediction-Id", prediction_id);
    return response;
  }

  // POST /v1/models/{m}:explain: the same instances as :predict; per row the
  // feature contributions (TreeSHAP, margin space) by feature name and the
  // bias, which add up to the row's margin; a list of those, one per class,
  // for multi-class models.
  http::Response Explain(const http::Request& request, const PathParams& params) const {
    auto ran = Run(request, params, {{serving::kContributionsOutput}});
    if (!ran.ok()) return ErrorResponse(ran.status());
    const model::Servable& s = *ran->servable;
    const size_t num_rows = ran->num_rows;
    const serving::InferResponse& inferred = ran->inferred;
    const model::ModelInfo& info = s.model->info();
    const float* phi = inferred.data(inferred.outputs[0]);
    const int64_t features = info.num_features;
    const int64_t groups = std::max<int64_t>(1, info.num_groups);
    std::string body;
    body.reserve(64 + num_rows * groups * (features + 1) * 24);
    JsonWriter json(&body);
    json.BeginObject().Key("model_name").String(s.name).Key("explanations").BeginArray();
    for (size_t r = 0; r < num_rows; ++r) {
      if (groups > 1) json.BeginArray();
      for (int64_t g = 0; g < groups; ++g) {
        const float* row = phi + (r * groups + g) * (features + 1);
        json.BeginObject().Key("contributions").BeginObject();
        for (int64_t f = 0; f < features; ++f) {
          json.Key(s.feature_names.empty() ? "f" + std::to_string(f) : s.feature_names[f]);
          json.Float(row[f]);
        }
        json.EndObject().Key("bias").Float(row[features]).EndObject();
      }
      if (groups > 1) json.EndArray();
    }
    json.EndArray().Key("prediction_id").String(inferred.prediction_id).EndObject();
    http::Response response = JsonResponse(std::move(body));
    response.headers.emplace_back("X-Prediction-Id", inferred.prediction_id);
    return response;
  }

  // GET /v1/models/{m}/drift[?version=N]: the live window against the reference.
  http::Response Drift(const http::Request& request, const PathParams& params) const {
    if (Status st = CheckReader(context_, request); !st.ok()) return ErrorResponse(st);
    auto versions = QueryValues(request.Query(), "version");
    auto servable = context_.models->Get(params.model, versions.empty() ? "" : versions.front());
    if (!servable.ok()) return ErrorResponse(servable.status());
    const model::Servable& s = **servable;
    monitor::ModelDrift* window =
        context_.drift ? context_.drift->For(s.name, s.version, s.feature_names,
                                             s.config.reference_dataset)
                       : nullptr;
    if (window == nullptr) {
      return ErrorResponse(NotFound(
          "model '" + s.name + "' version " + std::to_string(s.version) +
          " has no reference profile: train it with `inferd train` (which records the "
          "dataset's profile) to get drift statistics"));
    }
    const monitor::DriftReport report = window->Report();
    const monitor::DriftOptions& o = window->options();
    std::string body;
    JsonWriter json(&body);
    json.BeginObject().Key("model").String(s.name).Key("version").String(std::to_string(s.version));
    json.Key("window_rows").Int(report.rows).Key("enough_rows").Bool(report.enough_rows);
    json.Key("dataset_drift").Bool(report.dataset_drift);
    json.Key("drifting_share").Double(report.drifting_share);
    json.Key("thresholds").BeginObject().Key("psi").Double(o.psi_threshold);
    json.Key("js").Double(o.js_threshold);
    json.Key("ks_alpha").Double(o.ks_alpha);
    json.Key("ks_alpha_per_feature").Double(o.ks_alpha / std::max<size_t>(1, report.features.size()));
    json.Key("dataset_drift_share").Double(o.dataset_drift_share).Key("min_rows").Int(o.min_rows);
    json.Key("window_max_rows").Int(o.window_rows).Key("window_seconds").Int(o.window_seconds);
    json.EndObject();
    auto write_feature = [&json](const monitor::FeatureDrift& f) {
      json.BeginObject().Key("name").String(f.name).Key("drift").Bool(f.drift);
      if (f.categorical) {
        json.Key("js").Double(f.js).Key("chi2").Double(f.chi2);
        json.Key("chi2_p_value").Double(f.chi2_p_value);
      } else {
        json.Key("psi").Double(f.psi).Key("ks").Double(f.ks);
        json.Key("ks_p_value").Double(f.ks_p_value);
      }
      json.Key("reference_missing_share").Double(f.reference_missing_share);
      json.Key("live_missing_share").Double(f.live_missing_share);
      json.Key("histogram").BeginObject();
      if (f.categorical) {
        json.Key("categories").BeginArray();
        for (const auto& c : f.categories) json.String(c);
      } else {
        json.Key("edges").BeginArray();
        for (double e : f.edges) json.Double(e);
      }
      json.EndArray().Key("reference").BeginArray();
      for (double p : f.reference_proportions) json.Double(p);
      json.EndArray().Key("live").BeginArray();
      for (double p : f.live_proportions) json.Double(p);
      json.EndArray().EndObject().EndObject();
    };
    json.Key("features").BeginArray();
    for (const auto& f : report.features) write_feature(f);
    json.EndArray();
    // The prediction distribution, against the training holdout's predictions.
    monitor::ModelDrift* predictions =
        context_.prediction_drift
            ? context_.prediction_drift->For(s.name, s.version, {"prediction"})
            : nullptr;
    if (predictions != nullptr) {
      json.Key("prediction");
      write_feature(predictions->Report().features.at(0));
    }
    json.EndObject();
    return JsonResponse(std::move(body));
  }

  // POST /v1/feedback {"prediction_id": "...", "ground_truth": value or [values]}
  http::Response Feedback(const http::Request& request) const {
    if (context_.store == nullptr) return ErrorResponse(Unavailable("no store configured"));
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view id;
    simdjson::dom::element truth;
    if (parser.parse(request.body).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
      return ErrorResponse(InvalidArgument("feedback body must be a JSON object"));
    }
    if (doc["prediction_id"].get(id) != simdjson::SUCCESS || id.empty()) {
      return ErrorResponse(InvalidArgument("feedback needs \"prediction_id\" (a string)"));
    }
    if (doc["ground_truth"].get(truth) != simdjson::SUCCESS ||
        !(truth.is_number() || truth.is_array())) {
      return ErrorResponse(InvalidArgument(
          "feedback needs \"ground_truth\": a number, or an array with one per row"));
    }
    std::string stored;
    JsonWriter json(&stored);
    json.BeginObject().Key("prediction_id").String(id);
    json.Key("ground_truth").Raw(simdjson::minify(truth));
    json.Key("time").Int(SystemClock::Get()->NowMillis()).EndObject();
    if (auto st = context_.store->Put(store::kFeedback, {std::string(id), stored}); !st.ok()) {
      return ErrorResponse(st);
    }
    bool joined = false;
    if (context_.performance != nullptr) {
      std::vector<float> labels;
      if (truth.is_array()) {
        for (auto v : truth.get_array()) {
          double d = 0;
          if (v.get(d) != simdjson::SUCCESS) {
            return ErrorResponse(InvalidArgument("ground_truth values must be numbers"));
          }
          labels.push_back(static_cast<float>(d));
        }
      } else {
        labels.push_back(static_cast<float>(double(truth)));
      }
      auto st = context_.performance->AddFeedback(std::string(id), labels);
      if (st.code() == StatusCode::kInvalidArgument) return ErrorResponse(st);
      joined = st.ok();
    }
    std::string reply;
    JsonWriter(&reply).BeginObject().Key("recorded").Bool(true).Key("joined").Bool(joined)
        .EndObject();
    return JsonResponse(std::move(reply));
  }

  // GET /v1/models/{m}/versions/{v}/lineage: what produced a registry version
  // (its dataset, training parameters and holdout metrics, source and run).
  http::Response Lineage(const http::Request& request, const PathParams& params) const {
    if (Status st = CheckReader(context_, request); !st.ok()) return ErrorResponse(st);
    if (context_.registry == nullptr) {
      return ErrorResponse(NotFound("this server has no model registry"));
    }
    auto number = registry::ParseVersionNumber(params.version);
    if (!number.ok()) return ErrorResponse(number.status());
    auto version = context_.registry->GetVersion(std::string(params.model), *number);
    if (!version.ok()) return ErrorResponse(version.status());
    const registry::ModelVersion& v = *version;
    std::string body;
    JsonWriter json(&body);
    json.BeginObject().Key("model").String(v.name).Key("version").String(std::to_string(v.version));
    json.Key("source").String(v.source).Key("run_id").String(v.run_id);
    json.Key("dataset");
    if (v.dataset) {
      json.BeginObject().Key("name").String(v.dataset->name).Key("version").Int(v.dataset->version);
      json.Key("md5").String(v.dataset->md5).EndObject();
    } else {
      json.Null();
    }
    json.Key("params").BeginObject();
    for (const auto& [k, p] : v.params) json.Key(k).String(p);
    json.EndObject().Key("metrics").BeginObject();
    for (const auto& [k, m] : v.metrics) json.Key(k).Double(m);
    json.EndObject().EndObject();
    return JsonResponse(std::move(body));
  }

  // GET /v1/models/{m}/performance: live metrics on joined ground truth, per
  // version, with the window's history (a point an interval, oldest first).
  http::Response Performance(const http::Request& request, const PathParams& params) const {
    if (Status st = CheckReader(context_, request); !st.ok()) return ErrorResponse(st);
    auto loaded = context_.models->Versions(params.model);
    if (!loaded.ok()) return ErrorResponse(loaded.status());
    std::string body;
    JsonWriter json(&body);
    json.BeginObject().Key("model").String(params.model).Key("versions").BeginArray();
    if (context_.performance != nullptr) {
      for (const auto& r : context_.performance->Reports()) {
        if (r.model != params.model) continue;
        json.BeginObject().Key("version").String(std::to_string(r.version));
        json.Key("kind").String(r.kind).Key("rows").Int(r.rows).Key("metrics").BeginObject();
        for (const auto& [k, v] : r.metrics) json.Key(k).Double(v);
        json.EndObject().Key("history").BeginArray();
        for (const auto& point : r.history) {
          json.BeginObject().Key("time").Int(point.time_ms).Key("rows").Int(point.rows);
          json.Key("metrics").BeginObject();
          for (const auto& [k, v] : point.metrics) json.Key(k).Double(v);
          json.EndObject().EndObject();
        }
        json.EndArray().EndObject();
      }
    }
    json.EndArray().EndObject();
    return JsonResponse(std::move(body));
  }

 private:
  const serving::InferenceService& inference() const { return *context_.inference; }

  ServiceContext context_;
};

}  // namespace

void AddV1Routes(const ServiceContext& context, Router* router) {
  auto api = std::make_shared<const V1Api>(context);
  router->Add("GET", "/v1/models", [api](auto&, auto&) { return api->List(); });
  router->Add("GET", "/v1/models/{model}", [api](auto&, auto& p) { return api->ModelStatus(p); });
  // A version's first drift report may read its reference from the store.
  router->Add("GET", "/v1/models/{model}/drift",
              [api](auto& request, auto& p) { return api->Drift(request, p); }, Runs::kOnWorker);
  router->Add("GET", "/v1/models/{model}/performance",
              [api](auto& request, auto& p) { return api->Performance(request, p); });
  router->Add("GET", "/v1/models/{model}/versions/{version}/lineage",
              [api](auto& request, auto& p) { return api->Lineage(request, p); },
              Runs::kOnWorker);
  router->Add("POST", "/v1/feedback",
              [api](auto& request, auto&) { return api->Feedback(request); }, Runs::kOnWorker);
  router->Add(
      "POST", "/v1/models/{model}:predict",
      [api](auto& request, auto& p) { return api->Predict(request, p); },
      [inference = context.inference](const PathParams& p) {
        return inference->MayBlock(p.model, "");
      },
      Shed::kWhenLate);
  router->Add(
      "POST", "/v1/models/{model}:explain",
      [api](auto& request, auto& p) { return api->Explain(request, p); },
      [inference = context.inference](const PathParams& p) {
        return inference->MayBlock(p.model, "");
      },
      Shed::kWhenLate);
}

}  // namespace inferd::api
