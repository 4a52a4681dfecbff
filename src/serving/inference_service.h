// InferenceService: the one inference path every protocol shares.
//
// REST V2, REST V1 and gRPC decode their requests into serving::InferRequest
// and encode the InferResponse they get back; everything in between happens
// here, once: model lookup, input and output checks, prediction, the request's
// metrics (by protocol), and what is recorded after a prediction (the drift
// windows, the feedback cache, the prediction log). A protocol never repeats
// any of it, so all of them count, log and fail alike.
//
// Threading: every method is thread-safe. Infer usually runs inline on the
// thread that decoded the request; MayBlock says when it could wait (dynamic
// batching's queue delay, a drift reference still to be read from the store),
// so that an event-loop caller hands it to a worker instead.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "model/repository.h"
#include "monitor/drift.h"
#include "monitor/live_performance.h"
#include "monitor/prediction_log.h"
#include "monitor/server_metrics.h"
#include "serving/inference.h"

namespace inferd::serving {

// Liveness and readiness, as every protocol's health checks report them.
// Thread-safe.
class Health {
 public:
  // Models are loaded: ready unless draining.
  void SetLoaded() { loaded_.store(true, std::memory_order_release); }
  // Shutdown began: never ready again.
  void SetDraining() { draining_.store(true, std::memory_order_release); }
  bool ready() const { return loaded_.load(std::memory_order_acquire) && !draining(); }
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  // OK when ready; Unavailable saying why not.
  Status CheckReady() const;

 private:
  std::atomic<bool> loaded_{false};
  std::atomic<bool> draining_{false};
};

class InferenceService {
 public:
  // Not owned; each must outlive the service. Only `models` is required.
  struct Options {
    model::ModelRepository* models = nullptr;
    monitor::ServerMetrics* metrics = nullptr;  // nothing is counted when null
    monitor::DriftMonitor* drift = nullptr;     // no input drift windows when null
    // Windows of the predictions against the training holdout's predictions.
    monitor::DriftMonitor* prediction_drift = nullptr;
    monitor::LivePerformance* performance = nullptr;  // no feedback cache when null
    monitor::PredictionLog* prediction_log = nullptr;  // inferences not logged when null
  };

  explicit InferenceService(const Options& options) : options_(options) {}

  // Runs one inference: finds the model version, checks the request's inputs
  // (one FP32-convertible input named as the model's, shape [rows, features])
  // and requested outputs, predicts, counts it under `protocol` and records it.
  // Errors: NotFound (model or version), InvalidArgument (inputs, outputs,
  // more rows than the model's max batch size), Unavailable or Internal when
  // the model fails. Every failure of a known model is counted (REJECTED for
  // the caller's errors, BACKEND for the model's).
  StatusOr<InferResponse> Infer(const InferRequest& request, Protocol protocol) const;

  // As Infer, on a servable the caller already looked up (V1 decodes named
  // features with its schema); the request's model name and version are ignored.
  StatusOr<InferResponse> Infer(const model::Servable& servable, const InferRequest& request,
                                Protocol protocol) const;

  // The model version for a name and version ("" = default). NotFound or
  // InvalidArgument as ModelRepository::Get.
  StatusOr<std::shared_ptr<const model::Servable>> Find(std::string_view model,
                                                        std::string_view version) const;

  // Counts a failed inference of a known model (REJECTED when the status is the
  // caller's fault, BACKEND otherwise) and returns `status`, for protocol
  // decoders that fail after looking the model up.
  Status Reject(const model::Servable& servable, Status status) const;

  // True when Infer on this model version may wait: its dynamic batcher holds
  // requests for a queue delay, or its drift references are not loaded yet (the
  // first inference reads them from the store). Unknown models do not block.
  // Cheap and non-blocking.
  bool MayBlock(std::string_view model, std::string_view version) const;

  // Loads what the first inference of a version would otherwise load (its
  // drift references). Call from a worker or loader thread when a version is
  // loaded; may read the store.
  void Prepare(const model::Servable& servable) const;

  // V2 model metadata: NotFound for an unknown model or version.
  StatusOr<ModelMetadata> Metadata(std::string_view model, std::string_view version) const;

  model::ModelRepository* models() const { return options_.models; }

 private:
  // Records a successful inference: drift windows, feedback cache, prediction
  // log. Returns the prediction id.
  std::string Record(const model::Servable& servable, const float* rows, int64_t num_rows,
                     const std::vector<float>& outputs, int64_t latency_us) const;

  const Options options_;
};

}  // namespace inferd::serving
