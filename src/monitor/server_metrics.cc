#include "monitor/server_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace inferd::monitor {

ServerMetrics::ServerMetrics(MetricsRegistry* r) : registry_(r) {
  const std::vector<std::string> mv = {"model", "version"};
  success_ = r->AddCounter("inferd_inference_requests_total",
                           "Successful inference requests (Triton: nv_inference_request_success)",
                           mv);
  failure_ = r->AddCounter("inferd_inference_failures_total",
                           "Failed inference requests by reason (REJECTED: invalid input; "
                           "BACKEND: the model failed)", {"model", "version", "reason"});
  inference_count_ = r->AddCounter("inferd_inference_rows_total",
                                   "Rows inferred (Triton: nv_inference_count)", mv);
  exec_count_ = r->AddCounter("inferd_inference_executions_total",
                              "Model executions, batches (Triton: nv_inference_exec_count)", mv);
  struct Seconds {
    const char* name;
    const char* help;
    Counter* ModelSeries::*counter;
  };
  for (const Seconds& seconds : std::initializer_list<Seconds>{
           {"inferd_inference_request_duration_seconds_total", "Cumulative inference request time",
            &ModelSeries::request_duration_us},
           {"inferd_inference_queue_duration_seconds_total",
            "Cumulative time inference requests waited in a queue", &ModelSeries::queue_duration_us},
           {"inferd_inference_compute_duration_seconds_total", "Cumulative model compute time",
            &ModelSeries::compute_duration_us}}) {
    r->AddCallback(seconds.name, seconds.help, mv, /*counter=*/true, [this, seconds] {
      std::vector<std::pair<std::vector<std::string>, double>> out;
      std::lock_guard lock(mu_);
      for (const ModelSeries& s : models_) {
        out.push_back({{s.model, s.version},
                       static_cast<double>((s.*seconds.counter)->value()) / 1e6});
      }
      return out;
    });
  }
  duration_ = r->AddHistogram("inferd_inference_duration_seconds",
                              "Inference request latency in seconds",
                              {"model", "version", "protocol"}, LatencyBoundsSeconds());
  batch_size_ = r->AddHistogram("inferd_inference_batch_size", "Rows per inference request", mv,
                                BatchSizeBounds());
  http_requests_ = r->AddCounter("inferd_http_requests_total",
                                 "HTTP requests by route pattern and status code",
                                 {"route", "code"});
  in_flight_ = r->AddGauge("inferd_http_in_flight_requests", "HTTP requests being handled", {})
                   ->Series({});
  Family<Counter>* shed = r->AddCounter(
      "inferd_shed_requests_total", "Requests refused with 503 because the server was behind",
      {"reason"});
  shed_late_ = shed->Series({"late"});
  shed_workers_ = shed->Series({"workers"});
}

ModelSeries* ServerMetrics::Model(std::string_view name, int64_t version) {
  return model_cache_.Get(NameNumberView(name, version), [&] {
    std::lock_guard lock(mu_);
    auto [it, inserted] = model_index_.try_emplace(NameNumber(name, version), nullptr);
    if (!inserted) return it->second;
    const std::vector<std::string> labels = {std::string(name), std::to_string(version)};
    auto with = [&](const char* extra) {
      std::vector<std::string> v = labels;
      v.emplace_back(extra);
      return v;
    };
    it->second = &models_.emplace_back(ModelSeries{
        labels[0], labels[1], success_->Series(labels), failure_->Series(with("REJECTED")),
        failure_->Series(with("BACKEND")), inference_count_->Series(labels),
        exec_count_->Series(labels), request_duration_.Series(labels),
        queue_duration_.Series(labels), compute_duration_.Series(labels),
        {duration_->Series(with(ProtocolName(Protocol::kRestV2))),
         duration_->Series(with(ProtocolName(Protocol::kRestV1))),
         duration_->Series(with(ProtocolName(Protocol::kGrpc)))},
        batch_size_->Series(labels)});
    return it->second;
  });
}

Counter* ServerMetrics::Http(std::string_view route, int code) {
  // Family::Series is itself a locked find-or-create.
  return http_cache_.Get(NameNumberView(route, code), [&] {
    return http_requests_->Series({std::string(route), std::to_string(code)});
  });
}

std::string ServerMetrics::RenderTriton() {
  struct Column {
    const char* name;
    const char* help;
    Counter* ModelSeries::*counter;
  };
  static constexpr Column kColumns[] = {
      {"nv_inference_request_success", "Number of successful inference requests",
       &ModelSeries::success},
      {"nv_inference_count", "Number of inferences performed", &ModelSeries::inference_count},
      {"nv_inference_exec_count", "Number of model executions performed",
       &ModelSeries::exec_count},
      {"nv_inference_request_duration_us", "Cumulative inference request duration in microseconds",
       &ModelSeries::request_duration_us},
      {"nv_inference_queue_duration_us", "Cumulative inference queuing duration in microseconds",
       &ModelSeries::queue_duration_us},
      {"nv_inference_compute_infer_duration_us",
       "Cumulative compute inference duration in microseconds",
       &ModelSeries::compute_duration_us},
  };
  std::lock_guard lock(mu_);
  std::string out;
  auto line = [&](const char* name, const ModelSeries& s, const char* reason, uint64_t value) {
    out.append(name).append("{model=\"").append(s.model).append("\",version=\"").append(s.version);
    if (reason) out.append("\",reason=\"").append(reason);
    out.append("\"} ").append(std::to_string(value)).append("\n");
  };
  out.append("# HELP nv_inference_request_failure Number of failed inference requests\n"
             "# TYPE nv_inference_request_failure counter\n");
  for (const ModelSeries& s : models_) {
    line("nv_inference_request_failure", s, "REJECTED", s.failure_rejected->value());
    line("nv_inference_request_failure", s, "BACKEND", s.failure_backend->value());
  }
  for (const Column& column : kColumns) {
    out.append("# HELP ").append(column.name).append(" ").append(column.help).append("\n");
    out.append("# TYPE ").append(column.name).append(" counter\n");
    for (const ModelSeries& s : models_) line(column.name, s, nullptr, (s.*column.counter)->value());
  }
  return out;
}

const char* ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kRestV2: return "v2";
    case Protocol::kRestV1: return "v1";
    case Protocol::kGrpc: return "grpc";
  }
  return "unknown";
}

void ServerMetrics::RecordFailure(std::string_view model, int64_t version, bool rejected) {
  ModelSeries* series = Model(model, version);
  (rejected ? series->failure_rejected : series->failure_backend)->Add();
}

void ServerMetrics::RecordInference(ModelSeries* s, Protocol protocol, int64_t rows, int64_t total_us,
                                    int64_t compute_us, int64_t executions) {
  s->success->Add();
  s->inference_count->Add(static_cast<uint64_t>(rows));
  if (executions > 0) s->exec_count->Add(static_cast<uint64_t>(executions));
  s->request_duration_us->Add(static_cast<uint64_t>(total_us));
  s->compute_duration_us->Add(static_cast<uint64_t>(compute_us));
  s->duration[static_cast<int>(protocol)]->Observe(static_cast<double>(total_us) / 1e6);
  s->batch_size->Observe(static_cast<double>(rows));
}

void AddProcessMetrics(MetricsRegistry* registry, const std::string& version) {
  const double start = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  registry->AddCallback("process_start_time_seconds", "Start time since the Unix epoch", {},
                        false, [start] { return std::vector<std::pair<std::vector<std::string>, double>>{{{}, start}}; });
  registry->AddCallback("process_cpu_seconds_total", "User and system CPU time", {}, true, [] {
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 1; i <= 13 && rest >> field; ++i) {
      if (i == 12) utime = std::stod(field);
      if (i == 13) stime = std::stod(field);
    }
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    return std::vector<std::pair<std::vector<std::string>, double>>{{{}, (utime + stime) / ticks}};
  });
  registry->AddCallback("process_resident_memory_bytes", "Resident memory size", {}, false, [] {
    std::ifstream statm("/proc/self/statm");
    double size = 0, resident = 0;
    statm >> size >> resident;
    return std::vector<std::pair<std::vector<std::string>, double>>{
        {{}, resident * static_cast<double>(sysconf(_SC_PAGESIZE))}};
  });
  registry->AddCallback("process_open_fds", "Open file descriptors", {}, false, [] {
    double n = 0;
    if (DIR* dir = opendir("/proc/self/fd")) {
      while (readdir(dir) != nullptr) ++n;
      closedir(dir);
      n -= 3;  // ".", ".." and the descriptor of the listing itself
    }
    return std::vector<std::pair<std::vector<std::string>, double>>{{{}, n}};
  });
  registry->AddCallback("inferd_build_info", "Always 1; labels name the build", {"version"},
                        false, [version] {
                          return std::vector<std::pair<std::vector<std::string>, double>>{
                              {{version}, 1}};
                        });
}

}  // namespace inferd::monitor
