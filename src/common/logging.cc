#include "common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <random>

#include "common/json_writer.h"

namespace inferd {
namespace {

constexpr char kService[] = "inferd";
constexpr size_t kTraceIdHex = 32;
constexpr std::chrono::seconds kAccessFlush{1};

// %* in the pattern: the message, escaped for a JSON string.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string escaped;
    AppendJsonString(&escaped, std::string_view(msg.payload.data(), msg.payload.size()));
    // Drop the quotes AppendJsonString adds; the pattern has its own.
    dest.append(escaped.data() + 1, escaped.data() + escaped.size() - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::shared_ptr<spdlog::logger>& AccessLogger() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}

LogFormat& Format() {
  static LogFormat format = LogFormat::kText;
  return format;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

void ConfigureLogging(LogFormat format, const std::string& level) {
  // One sink each: in spdlog the format belongs to the sink. Each line is one
  // fwrite into stdout's buffer, so lines of the two never interleave.
  auto main = std::make_shared<spdlog::logger>(
      kService, std::make_shared<spdlog::sinks::stdout_sink_mt>());
  auto access = std::make_shared<spdlog::logger>(
      "access", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  if (format == LogFormat::kJson) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"@timestamp":"%Y-%m-%dT%H:%M:%S.%eZ","log.level":"%l","message":"%*",)"
        R"("service.name":"inferd"})");
    main->set_formatter(std::move(formatter));
    access->set_pattern("%v", spdlog::pattern_time_type::utc);
  } else {
    main->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    access->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z access %v");
  }
  main->set_level(spdlog::level::from_str(level));
  main->flush_on(spdlog::level::info);
  // Access lines are many: they go out with stdout's buffer, at the latest
  // kAccessFlush later (and at exit), not with a write() each.
  access->flush_on(spdlog::level::off);
  spdlog::drop("access");
  spdlog::register_logger(access);
  {
    // The flusher thread must not take the process's signals (serve waits for
    // SIGTERM on a thread of its own): start it with every signal blocked.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    spdlog::flush_every(kAccessFlush);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  spdlog::set_default_logger(main);
  AccessLogger() = access;
  Format() = format;
}

void LogAccess(const AccessRecord& r) {
  auto& logger = AccessLogger();
  if (!logger) return;
  std::string line;
  line.reserve(256);
  if (Format() == LogFormat::kJson) {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    std::time_t seconds = ms.count() / 1000;
    std::tm tm;
    gmtime_r(&seconds, &tm);
    char stamp[64];
    std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms.count() % 1000));
    JsonWriter json(&line);
    json.BeginObject();
    json.Key("@timestamp").String(stamp).Key("log.level").String("info");
    json.Key("message").String(std::string(r.method) + " " + std::string(r.path) + " " +
                               std::to_string(r.status));
    json.Key("service.name").String(kService).Key("event.dataset").String("inferd.access");
    json.Key("http.request.method").String(r.method).Key("url.path").String(r.path);
    json.Key("http.response.status_code").Int(r.status).Key("event.duration").Int(r.duration_ns);
    json.Key("trace.id").String(r.trace_id);
    if (!r.model.empty()) json.Key("model").String(r.model);
    if (!r.version.empty()) json.Key("version").String(r.version);
    json.EndObject();
  } else {
    line = std::string(r.method) + " " + std::string(r.path) + " " + std::to_string(r.status) +
           " " + std::to_string(r.duration_ns / 1000) + "us trace " + std::string(r.trace_id);
  }
  logger->info(line);
}

std::string TraceIdFrom(std::string_view traceparent) {
  // version "-" trace-id "-" parent-id "-" flags
  if (traceparent.size() >= 55 && traceparent[2] == '-' && traceparent[35] == '-') {
    std::string_view id = traceparent.substr(3, kTraceIdHex);
    if (IsHex(id) && id != std::string(kTraceIdHex, '0')) return std::string(id);
  }
  thread_local std::mt19937_64 random(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(kTraceIdHex, '0');
  uint64_t a = random(), b = random();
  for (size_t i = 0; i < 16; ++i) {
    id[i] = kHex[(a >> (4 * i)) & 0xF];
    id[16 + i] = kHex[(b >> (4 * i)) & 0xF];
  }
  return id;
}

}  // namespace inferd
