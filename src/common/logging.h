// Logging: every log line on stdout, as JSON with Elastic Common Schema field
// names (for Fluent Bit / Fluentd into Elasticsearch), or as plain text for a
// terminal.
//
//   {"@timestamp":"2026-11-26T07:20:00.123Z","log.level":"info",
//    "message":"...","service.name":"inferd"}
//
// Access lines (one per HTTP request, sampled by the caller) add
// http.request.method, url.path, http.response.status_code, event.duration
// (nanoseconds), trace.id, and model/version when the route names them.
// Request bodies, headers and tokens are never logged.
//
// Configure once at start-up, before other threads log; LogAccess is
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace inferd {

enum class LogFormat { kJson, kText };

// Sets the format and level ("trace", "debug", "info", "warn", "error") of
// the process's logs.
void ConfigureLogging(LogFormat format, const std::string& level);

struct AccessRecord {
  std::string_view method;
  std::string_view path;
  int status = 0;
  int64_t duration_ns = 0;
  std::string_view trace_id;
  std::string_view model;    // empty when the route names none
  std::string_view version;  // likewise
};

void LogAccess(const AccessRecord& record);

// The trace id of a W3C `traceparent` header ("00-<32 hex>-<16 hex>-<2 hex>"),
// or a new random one when the header is absent or malformed.
std::string TraceIdFrom(std::string_view traceparent);

}  // namespace inferd
