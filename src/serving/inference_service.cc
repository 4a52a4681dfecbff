#include "serving/inference_service.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <span>

#include "common/clock.h"

namespace inferd::serving {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t MicrosecondsBetween(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
}

}  // namespace

Status Health::CheckReady() const {
  if (ready()) return Status::Ok();
  return Unavailable(draining() ? "server is shutting down" : "server is loading its models");
}

StatusOr<std::shared_ptr<const model::Servable>> InferenceService::Find(
    std::string_view model, std::string_view version) const {
  return options_.models->Get(model, version);
}

Status InferenceService::Reject(const model::Servable& servable, Status status) const {
  if (options_.metrics) {
    options_.metrics->RecordFailure(servable.name, servable.version,
                                    IsCallerError(status.code()));
  }
  return status;
}

bool InferenceService::MayBlock(std::string_view model, std::string_view version) const {
  auto servable = Find(model, version);
  if (!servable.ok()) return false;
  const model::Servable& s = **servable;
  if (s.batcher) return true;
  for (monitor::DriftMonitor* drift : {options_.drift, options_.prediction_drift}) {
    if (drift != nullptr && !drift->Peek(s.name, s.version).has_value()) return true;
  }
  return false;
}

void InferenceService::Prepare(const model::Servable& servable) const {
  if (options_.drift != nullptr) {
    options_.drift->For(servable.name, servable.version, servable.feature_names,
                        servable.config.reference_dataset);
  }
  if (options_.prediction_drift != nullptr) {
    options_.prediction_drift->For(servable.name, servable.version, {"prediction"});
  }
}

StatusOr<InferResponse> InferenceService::Infer(const InferRequest& request,
                                                Protocol protocol) const {
  ASSIGN_OR_RETURN(auto servable, Find(request.model_name, request.model_version));
  return Infer(*servable, request, protocol);
}

StatusOr<InferResponse> InferenceService::Infer(const model::Servable& s,
                                                const InferRequest& request,
                                                Protocol protocol) const {
  const auto start = SteadyClock::now();
  const model::ModelInfo& info = s.model->info();
  if (request.inputs.size() != 1) {
    return Reject(s, InvalidArgument("model '" + s.name + "' takes 1 input ('" +
                                     s.config.input_name + "'), got " +
                                     std::to_string(request.inputs.size())));
  }
  const InferInput& input = request.inputs[0];
  if (input.name != s.config.input_name) {
    return Reject(s, InvalidArgument("unknown input '" + input.name + "': model '" + s.name +
                                     "' expects '" + s.config.input_name + "'"));
  }
  if (input.shape.size() != 2 || input.shape[1] != info.num_features) {
    return Reject(s, InvalidArgument("input '" + input.name + "': shape " +
                                     ShapeToString(input.shape) + " must be [rows, " +
                                     std::to_string(info.num_features) + "]"));
  }
  const int64_t rows = input.shape[0];
  if (input.count() != static_cast<size_t>(rows * info.num_features)) {
    return Reject(s, InvalidArgument("input '" + input.name + "': shape " +
                                     ShapeToString(input.shape) + " needs " +
                                     std::to_string(rows * info.num_features) +
                                     " values, data has " + std::to_string(input.count())));
  }
  InferResponse response;
  response.model_name = s.name;
  response.model_version = s.version;
  response.id = request.id;
  // The outputs, in the order asked for: the model's own (all when none is
  // named), contributions, leaves.
  const RequestedOutput own{s.config.output_name, request.binary_data_output};
  const std::span<const RequestedOutput> wanted =
      request.outputs.empty() ? std::span<const RequestedOutput>(&own, 1)
                              : std::span<const RequestedOutput>(request.outputs);
  bool per_tree = false;
  for (const RequestedOutput& requested : wanted) {
    if (requested.name == kContributionsOutput || requested.name == kLeavesOutput) {
      per_tree = true;
    } else if (requested.name != s.config.output_name) {
      return Reject(s, InvalidArgument("unknown output '" + requested.name + "': model '" + s.name +
                                       "' has '" + s.config.output_name + "', '" +
                                       kContributionsOutput + "' and '" + kLeavesOutput + "'"));
    }
  }
  if (per_tree && info.num_trees == 0) {
    return Reject(
        s, InvalidArgument("outputs '" + std::string(kContributionsOutput) + "' and '" +
                           kLeavesOutput + "' need a tree model; model '" + s.name +
                           "' has no trees (" + info.objective + " on " + info.runtime + ")"));
  }
  const model::PredictOptions options{.kind = request.output_kind.value_or(s.config.output_kind),
                                      .base_margin = request.base_margin,
                                      .iteration_begin = request.iteration_begin,
                                      .iteration_end = request.iteration_end};

  // A model whose config declares a missing value other than NaN sees NaN there.
  const float* values = input.values();
  std::vector<float> with_nan;
  if (s.config.missing_value) {
    const float missing = *s.config.missing_value;
    with_nan.assign(values, values + input.count());
    for (float& v : with_nan) {
      if (v == missing) v = std::numeric_limits<float>::quiet_NaN();
    }
    values = with_nan.data();
  }

  const auto compute_start = SteadyClock::now();
  int64_t executions = 0;
  // The usual request (the model's own output, as configured) predicts straight
  // into the response, which Record then reads.
  const bool only_own = wanted.size() == 1 && wanted[0].name == s.config.output_name &&
                        options.kind == s.config.output_kind;
  std::vector<float> separate;
  std::vector<float>& prediction = only_own ? response.values : separate;
  if (Status st = s.Predict(values, rows, options, &prediction, &executions); !st.ok()) {
    return Reject(s, std::move(st));
  }
  std::vector<float> contributions;
  std::vector<int32_t> leaves;
  for (const RequestedOutput& requested : wanted) {
    OutputTensor output{.name = requested.name, .shape = {rows}, .binary = requested.binary};
    if (requested.name == kContributionsOutput) {
      if (contributions.empty()) {
        if (Status st = s.model->Contributions(values, rows, options, &contributions); !st.ok()) {
          return Reject(s, std::move(st));
        }
      }
      if (info.num_groups > 1) output.shape.push_back(info.num_groups);
      output.shape.push_back(info.num_features + 1);
      output.offset = response.values.size();
      response.values.insert(response.values.end(), contributions.begin(), contributions.end());
    } else if (requested.name == kLeavesOutput) {
      if (leaves.empty()) {
        if (Status st = s.model->Leaves(values, rows, options, &leaves); !st.ok()) {
          return Reject(s, std::move(st));
        }
      }
      output.datatype = "INT32";
      output.shape.push_back(rows == 0 ? 0 : static_cast<int64_t>(leaves.size()) / rows);
      output.offset = response.int_values.size();
      response.int_values.insert(response.int_values.end(), leaves.begin(), leaves.end());
    } else {
      if (prediction.size() > static_cast<size_t>(rows)) {
        output.shape.push_back(static_cast<int64_t>(prediction.size()) /
                               std::max<int64_t>(rows, 1));
      }
      if (!only_own) {
        output.offset = response.values.size();
        response.values.insert(response.values.end(), prediction.begin(), prediction.end());
      }
    }
    response.outputs.push_back(std::move(output));
  }
  // What is recorded (drift, feedback, the log) is the configured output, as
  // every other request records it.
  if (options.kind != s.config.output_kind) {
    model::PredictOptions configured = options;
    configured.kind = s.config.output_kind;
    if (Status st = s.model->PredictWith(values, rows, configured, &prediction); !st.ok()) {
      return Reject(s, std::move(st));
    }
  }
  const auto end = SteadyClock::now();
  const int64_t latency_us = MicrosecondsBetween(start, end);
  if (options_.metrics) {
    options_.metrics->RecordInference(options_.metrics->Model(s.name, s.version), protocol, rows,
                                      latency_us, MicrosecondsBetween(compute_start, end),
                                      executions);
  }
  response.prediction_id = Record(s, values, rows, prediction, latency_us);
  return response;
}

std::string InferenceService::Record(const model::Servable& servable, const float* rows,
                                     int64_t num_rows, const std::vector<float>& outputs,
                                     int64_t latency_us) const {
  const model::ModelInfo& info = servable.model->info();
  if (options_.drift != nullptr) {
    if (monitor::ModelDrift* window =
            options_.drift->For(servable.name, servable.version, servable.feature_names,
                                servable.config.reference_dataset)) {
      window->Observe(rows, num_rows);
    }
  }
  if (options_.prediction_drift != nullptr) {
    if (monitor::ModelDrift* window =
            options_.prediction_drift->For(servable.name, servable.version, {"prediction"})) {
      const int64_t classes = info.num_outputs;
      if (classes == 1) {
        window->Observe(outputs.data(), num_rows);
      } else {  // multi-class: the predicted class, as a category code
        std::vector<float> predicted(num_rows);
        for (int64_t r = 0; r < num_rows; ++r) {
          const float* row = outputs.data() + r * classes;
          predicted[r] = static_cast<float>(std::max_element(row, row + classes) - row);
        }
        window->Observe(predicted.data(), num_rows);
      }
    }
  }
  const int64_t now_ms = SystemClock::Get()->NowMillis();
  std::string id = monitor::NewPredictionId(now_ms);
  const char* kind = model::TaskName(model::TaskOf(info));
  if (options_.performance != nullptr) {
    options_.performance->Remember(id, servable.name, servable.version, kind, outputs, num_rows);
  }
  monitor::PredictionLog* log = options_.prediction_log;
  if (log == nullptr || !log->Sampled()) return id;
  log->Record({.id = id,
               .model = servable.name,
               .version = servable.version,
               .time_ms = now_ms,
               .latency_us = latency_us,
               .kind = kind,
               .rows = num_rows,
               .inputs = std::vector<float>(rows, rows + num_rows * info.num_features),
               .outputs = outputs});
  return id;
}

StatusOr<ModelMetadata> InferenceService::Metadata(std::string_view model,
                                                   std::string_view version) const {
  ASSIGN_OR_RETURN(auto servable, Find(model, version));
  ASSIGN_OR_RETURN(auto versions, options_.models->Versions(model));
  const model::Servable& s = *servable;
  const model::ModelInfo& info = s.model->info();
  ModelMetadata m;
  m.name = s.name;
  for (int64_t v : versions) m.versions.push_back(std::to_string(v));
  m.platform = info.format;  // as Triton's FIL backend names it: "xgboost", "lightgbm"
  m.inputs.push_back({s.config.input_name, "FP32", {-1, info.num_features}});
  TensorMetadata output{s.config.output_name, "FP32", {-1}};
  if (info.num_outputs > 1) output.shape.push_back(info.num_outputs);
  m.outputs.push_back(std::move(output));
  if (info.num_trees > 0) {
    TensorMetadata contributions{kContributionsOutput, "FP32", {-1}};
    if (info.num_groups > 1) contributions.shape.push_back(info.num_groups);
    contributions.shape.push_back(info.num_features + 1);
    m.outputs.push_back(std::move(contributions));
    m.outputs.push_back({kLeavesOutput, "INT32", {-1, info.num_trees}});
  }
  m.parameters = {
      {"version", std::to_string(s.version)},
      {"objective", info.objective},
      {"runtime", info.runtime},  // "native" or "xgboost" (libxgboost)
      {"output_kind",
       s.config.output_kind == model::OutputKind::kMargin ? "margin" : "probability"},
  };
  if (info.num_iterations > 0) {
    m.parameters.emplace_back("iterations", std::to_string(info.num_iterations));
  }
  m.max_batch_size = s.max_batch_size;
  m.feature_names = s.feature_names;
  return m;
}

}  // namespace inferd::serving
