// GET /v1/predictions: the prediction log as NDJSON, one page a request.
//
//   ?model=M&version=N&since=T&until=T&limit=K&cursor=C
//
// Records by ascending time (id); `since` inclusive, `until` exclusive, each
// epoch ms, RFC 3339 or a duration before now ("24h"). A page holds at most
// `limit` records (default kDefaultPage, at most kMaxPage) and about
// kMaxPageBytes of JSON; when more may follow, the X-Next-Cursor header names
// the cursor of the next page. Each line carries the record's ground truth
// when feedback exists. When an admin token is configured the route needs it:
// records hold production inputs.
#include <algorithm>
#include <charconv>

#include "api/http_status.h"
#include "api/service.h"
#include "common/clock.h"
#include "common/time_text.h"
#include "common/url.h"
#include "monitor/prediction_export.h"

namespace inferd::api {
namespace {

constexpr int64_t kDefaultPage = 100;
constexpr int64_t kMaxPage = 1000;
constexpr size_t kMaxPageBytes = 4 << 20;
constexpr size_t kMaxCursor = 64;

// The single value of query parameter `name`, or "" when absent.
StatusOr<std::string> OneValue(std::string_view query, std::string_view name) {
  auto values = QueryValues(query, name);
  if (values.size() > 1) {
    return InvalidArgument("query parameter '" + std::string(name) + "' given more than once");
  }
  return values.empty() ? std::string() : values.front();
}

StatusOr<int64_t> ParseCount(const std::string& text, std::string_view name, int64_t max) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > max) {
    return InvalidArgument("'" + std::string(name) + "' must be an integer from 1 to " +
                           std::to_string(max) + ", not '" + text + "'");
  }
  return value;
}

StatusOr<store::PredictionQuery> ParseQuery(std::string_view query) {
  store::PredictionQuery q{.limit = kDefaultPage, .with_ground_truth = true};
  const int64_t now = SystemClock::Get()->NowMillis();
  ASSIGN_OR_RETURN(q.model, OneValue(query, "model"));
  ASSIGN_OR_RETURN(std::string version, OneValue(query, "version"));
  if (!version.empty()) {
    ASSIGN_OR_RETURN(q.version, ParseCount(version, "version", int64_t{1} << 53));
  }
  ASSIGN_OR_RETURN(std::string since, OneValue(query, "since"));
  if (!since.empty()) {
    ASSIGN_OR_RETURN(q.since_ms, ParseTimeMs(since, now));
  }
  ASSIGN_OR_RETURN(std::string until, OneValue(query, "until"));
  if (!until.empty()) {
    ASSIGN_OR_RETURN(q.until_ms, ParseTimeMs(until, now));
  }
  ASSIGN_OR_RETURN(std::string limit, OneValue(query, "limit"));
  if (!limit.empty()) {
    ASSIGN_OR_RETURN(q.limit, ParseCount(limit, "limit", kMaxPage));
  }
  ASSIGN_OR_RETURN(q.after_id, OneValue(query, "cursor"));
  const bool hex = std::all_of(q.after_id.begin(), q.after_id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (!hex || q.after_id.size() > kMaxCursor) {
    return InvalidArgument("'cursor' must be the X-Next-Cursor of an earlier page");
  }
  if (q.until_ms > 0 && q.until_ms <= q.since_ms) {
    return InvalidArgument("'until' must come after 'since'");
  }
  return q;
}

http::Response ListPredictions(const ServiceContext& context, const http::Request& request) {
  if (Status st = CheckRecordReader(context, request); !st.ok()) return ErrorResponse(st);
  if (context.store == nullptr) return ErrorResponse(Unavailable("no store configured"));
  auto query = ParseQuery(request.Query());
  if (!query.ok()) return ErrorResponse(query.status());
  auto page = context.store->ListPredictions(*query);
  if (!page.ok()) return ErrorResponse(page.status());
  http::Response response;
  response.content_type = "application/x-ndjson";
  bool more = static_cast<int64_t>(page->size()) == query->limit;
  std::string last;
  for (const store::PredictionRecord& record : *page) {
    monitor::AppendPredictionNdjson(record, &response.body);
    last = record.id;
    if (response.body.size() >= kMaxPageBytes && record.id != page->back().id) {
      more = true;  // the rest of this page comes with the next one
      break;
    }
  }
  if (more && !last.empty()) response.headers.emplace_back("X-Next-Cursor", last);
  return response;
}

}  // namespace

void AddPredictionRoutes(const ServiceContext& context, Router* router) {
  router->Add(
      "GET", "/v1/predictions",
      [context](auto& request, auto&) { return ListPredictions(context, request); },
      Runs::kOnWorker);
}

}  // namespace inferd::api
