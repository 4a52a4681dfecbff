// ServerMetrics: every metric family the server records, declared once and
// handed to the API (Envoy's "stats struct" pattern).
//
// Two views of the same counters: GET /metrics uses Prometheus' naming rules
// (`inferd_*`, `_total`, base units; `promtool check metrics` is silent), and
// GET /metrics/triton renders Triton's names (`nv_inference_*`, labels model
// and version, microseconds) so existing Triton dashboards work. Triton's
// names break promtool's naming lints (`_count` suffixes, `_us` units, no
// `_total`), which is why they have their own path.
//
// Model() and Http() find or create a series under a mutex, so each (model,
// version) and (route, code) has exactly one; a per-thread memo in front
// (common/thread_cache.h) makes every later call from that thread lock-free,
// and recording is atomic adds.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/thread_cache.h"
#include "monitor/metrics.h"

namespace inferd::monitor {

// The protocol that carried an inference: the `protocol` label of
// inferd_inference_duration_seconds ("v2", "v1", "grpc").
enum class Protocol { kRestV2, kRestV1, kGrpc };
inline constexpr int kProtocols = 3;
const char* ProtocolName(Protocol protocol);

struct ModelSeries {
  std::string model;
  std::string version;
  Counter* success;              // nv_inference_request_success
  Counter* failure_rejected;     // nv_inference_request_failure{reason="REJECTED"}: bad input
  Counter* failure_backend;      // nv_inference_request_failure{reason="BACKEND"}: model failed
  Counter* inference_count;      // nv_inference_count: rows
  Counter* exec_count;           // nv_inference_exec_count: model executions
  Counter* request_duration_us;  // nv_inference_request_duration_us
  Counter* queue_duration_us;    // nv_inference_queue_duration_us
  Counter* compute_duration_us;  // nv_inference_compute_infer_duration_us
  // inferd_inference_duration_seconds{protocol=...}, indexed by Protocol.
  std::array<Histogram*, kProtocols> duration;
  Histogram* batch_size;         // inferd_inference_batch_size
};

class ServerMetrics {
 public:
  explicit ServerMetrics(MetricsRegistry* registry);

  // The one series of a model version (created on first use); valid for the
  // lifetime of this object.
  ModelSeries* Model(std::string_view name, int64_t version);
  // The request counter of a route pattern and status code.
  Counter* Http(std::string_view route, int code);
  Gauge* in_flight() { return in_flight_; }
  // inferd_shed_requests_total{reason}: requests refused with 503 because the
  // server was behind: "late" (they waited past --max-queue-ms before they
  // could run), "workers" (the worker queue was full).
  Counter* shed_late() { return shed_late_; }
  Counter* shed_workers() { return shed_workers_; }
  MetricsRegistry* registry() { return registry_; }

  // Triton's families (nv_inference_*) in Prometheus text format.
  std::string RenderTriton();

  // Records a failed inference of a known model: REJECTED for the caller's
  // error (bad input), BACKEND when the model or the server failed.
  void RecordFailure(std::string_view model, int64_t version, bool rejected);

  // Records one inference that reached a model; `executions` is the model calls
  // it made (0 when dynamic batching carried it in another request's call).
  void RecordInference(ModelSeries* series, Protocol protocol, int64_t rows, int64_t total_us,
                       int64_t compute_us, int64_t executions = 1);

 private:
  MetricsRegistry* registry_;
  Family<Counter>* success_;
  Family<Counter>* failure_;
  Family<Counter>* inference_count_;
  Family<Counter>* exec_count_;
  // Kept in integer microseconds for lock-free adds; /metrics shows them as
  // seconds through scrape-time callbacks, /metrics/triton as microseconds.
  Family<Counter> request_duration_{"request_duration_us", "", {"model", "version"}};
  Family<Counter> queue_duration_{"queue_duration_us", "", {"model", "version"}};
  Family<Counter> compute_duration_{"compute_duration_us", "", {"model", "version"}};
  Family<Histogram>* duration_;
  Family<Histogram>* batch_size_;
  Family<Counter>* http_requests_;
  Gauge* in_flight_;
  Counter* shed_late_;
  Counter* shed_workers_;

  std::mutex mu_;
  std::deque<ModelSeries> models_;  // guarded by mu_; never moves; in creation order
  std::map<NameNumber, ModelSeries*> model_index_;  // guarded by mu_
  NameNumberCache<ModelSeries*> model_cache_;
  NameNumberCache<Counter*> http_cache_;
};

// Registers process metrics (CPU seconds, resident memory, open fds, start
// time) and inferd_build_info.
void AddProcessMetrics(MetricsRegistry* registry, const std::string& version);

}  // namespace inferd::monitor
