// What the MLflow routes share (the registry's in mlflow_api.cc, tracking's in
// mlflow_tracking_api.cc): MLflow's error body ({"error_code", "message"} with
// its HTTP status), request arguments read from a JSON body or a query, and
// the [{key, value}] arrays MLflow uses for tags and params.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/service.h"
#include "common/json_writer.h"
#include "common/status.h"
#include "http/message.h"
#include "registry/registry.h"

namespace inferd::api {

// MLflow's error response for a failed Status: RESOURCE_DOES_NOT_EXIST 404,
// RESOURCE_ALREADY_EXISTS 400, INVALID_PARAMETER_VALUE 400, and so on.
http::Response MlflowError(const Status& status);
// MLflow's ENDPOINT_NOT_FOUND (404) for an MLflow route inferd does not serve.
http::Response MlflowEndpointNotFound(const http::Request& request);

// Writes `"<key>": [{"key": k, "value": v}, ...]`.
void WriteKeyValues(JsonWriter& json, const char* key,
                    const std::map<std::string, std::string>& pairs);

// Request arguments: the JSON body (POST/PATCH/DELETE) or the query (GET).
// Integers may come as JSON numbers or strings (protobuf's JSON writes int64
// as strings). Not thread-safe; one per request.
class Args {
 public:
  static StatusOr<Args> From(const http::Request& request);

  // A string argument; `required` ones fail with InvalidArgument when absent.
  StatusOr<std::string> Str(const char* key, bool required = true) const;
  // An integer argument, or nullopt when absent; InvalidArgument when it is no integer.
  StatusOr<std::optional<int64_t>> Int(const char* key) const;
  // A list of strings (a JSON array, or a repeated query parameter).
  std::vector<std::string> List(const char* key) const;
  // [{key, value}] under `key` (tags, params); later duplicates are dropped.
  std::map<std::string, std::string> Pairs(const char* key = "tags") const;
  // The body's member `key` when the body has one (arrays of objects).
  std::optional<simdjson::dom::element> Member(const char* key) const;

 private:
  std::string query_;
  // On the heap: body_ points into the parser's document, which must not move
  // when Args does.
  std::unique_ptr<simdjson::dom::parser> parser_ = std::make_unique<simdjson::dom::parser>();
  simdjson::dom::element body_;
  bool has_body_ = false;
};

// Runs `handler` on the request's arguments and answers its JSON, or MLflow's
// error body when it fails; `mutating` routes check the admin token first, the
// others the read token.
http::Response CallMlflow(const ServiceContext& context, const http::Request& request,
                          bool mutating,
                          const std::function<StatusOr<std::string>(const Args&)>& handler);

// MLflow's common search arguments: filter, max_results (`default_max` when
// absent), order_by and page_token.
StatusOr<registry::Search> SearchArgs(const Args& a, int64_t default_max);

// A string member of a JSON object ("" when absent); integers read as text.
std::string MemberString(simdjson::dom::element object, const char* key);
// [{key, value}] under `key` of a JSON object.
std::map<std::string, std::string> MemberPairs(simdjson::dom::element object, const char* key);

}  // namespace inferd::api
