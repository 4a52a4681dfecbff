#include "api/mlflow_common.h"

#include "api/http_status.h"
#include "common/url.h"

namespace inferd::api {
namespace {

// MLflow's error_code and HTTP status for a Status.
std::pair<const char*, int> MlflowCode(StatusCode code) {
  switch (code) {
    case StatusCode::kNotFound:
      return {"RESOURCE_DOES_NOT_EXIST", 404};
    case StatusCode::kAlreadyExists:
      return {"RESOURCE_ALREADY_EXISTS", 400};
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
      return {"INVALID_PARAMETER_VALUE", 400};
    case StatusCode::kUnauthenticated:
      return {"UNAUTHENTICATED", 401};
    case StatusCode::kPermissionDenied:
      return {"PERMISSION_DENIED", 403};
    case StatusCode::kResourceExhausted:
      return {"RESOURCE_EXHAUSTED", 429};
    case StatusCode::kUnimplemented:
      return {"NOT_IMPLEMENTED", 501};
    case StatusCode::kUnavailable:
      return {"TEMPORARILY_UNAVAILABLE", 503};
    default:
      return {"INTERNAL_ERROR", 500};
  }
}

StatusOr<int64_t> ParseInt(const char* key, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    return InvalidArgument(std::string("'") + key + "' must be an integer, got '" + text + "'");
  }
  return static_cast<int64_t>(v);
}

}  // namespace

http::Response MlflowError(const Status& status) {
  auto [code, http_status] = MlflowCode(status.code());
  http::Response response;
  response.status = http_status;
  JsonWriter(&response.body)
      .BeginObject()
      .Key("error_code")
      .String(code)
      .Key("message")
      .String(status.message())
      .EndObject();
  if (status.code() == StatusCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return response;
}

http::Response MlflowEndpointNotFound(const http::Request& request) {
  http::Response response;
  response.status = 404;
  JsonWriter(&response.body)
      .BeginObject()
      .Key("error_code")
      .String("ENDPOINT_NOT_FOUND")
      .Key("message")
      .String("inferd does not serve " + request.method + " " + std::string(request.Path()) +
              " (docs/mlflow.md lists the MLflow routes it serves)")
      .EndObject();
  return response;
}

void WriteKeyValues(JsonWriter& json, const char* key,
                    const std::map<std::string, std::string>& pairs) {
  json.Key(key).BeginArray();
  for (const auto& [k, v] : pairs) {
    json.BeginObject().Key("key").String(k).Key("value").String(v).EndObject();
  }
  json.EndArray();
}

StatusOr<Args> Args::From(const http::Request& request) {
  Args args;
  args.query_ = std::string(request.Query());
  if (request.method != "GET" && !request.body.empty()) {
    if (args.parser_->parse(request.body).get(args.body_) != simdjson::SUCCESS ||
        !args.body_.is_object()) {
      return InvalidArgument("request body must be a JSON object");
    }
    args.has_body_ = true;
  }
  return args;
}

StatusOr<std::string> Args::Str(const char* key, bool required) const {
  if (has_body_) {
    std::string_view s;
    if (body_[key].get(s) == simdjson::SUCCESS) return std::string(s);
    int64_t i;
    if (body_[key].get(i) == simdjson::SUCCESS) return std::to_string(i);
  } else if (auto values = QueryValues(query_, key); !values.empty()) {
    return values.front();
  }
  if (required) return InvalidArgument(std::string("missing value for parameter '") + key + "'");
  return std::string();
}

StatusOr<std::optional<int64_t>> Args::Int(const char* key) const {
  if (has_body_) {
    int64_t i;
    if (body_[key].get(i) == simdjson::SUCCESS) return std::optional<int64_t>(i);
    double d;
    if (body_[key].get(d) == simdjson::SUCCESS) {
      if (d != static_cast<double>(static_cast<int64_t>(d))) {
        return InvalidArgument(std::string("'") + key + "' must be an integer");
      }
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  ASSIGN_OR_RETURN(std::string text, Str(key, false));
  if (text.empty()) return std::optional<int64_t>();
  ASSIGN_OR_RETURN(int64_t v, ParseInt(key, text));
  return std::optional<int64_t>(v);
}

std::vector<std::string> Args::List(const char* key) const {
  std::vector<std::string> out;
  if (!has_body_) return QueryValues(query_, key);
  simdjson::dom::array array;
  if (body_[key].get(array) == simdjson::SUCCESS) {
    for (auto item : array) {
      std::string_view s;
      if (item.get(s) == simdjson::SUCCESS) out.emplace_back(s);
    }
  }
  return out;
}

std::map<std::string, std::string> Args::Pairs(const char* key) const {
  if (!has_body_) return {};
  return MemberPairs(body_, key);
}

std::optional<simdjson::dom::element> Args::Member(const char* key) const {
  simdjson::dom::element e;
  if (has_body_ && body_[key].get(e) == simdjson::SUCCESS) return e;
  return std::nullopt;
}

http::Response CallMlflow(const ServiceContext& context, const http::Request& request,
                          bool mutating,
                          const std::function<StatusOr<std::string>(const Args&)>& handler) {
  Status allowed = mutating ? CheckAdmin(context, request) : CheckReader(context, request);
  if (!allowed.ok()) return MlflowError(allowed);
  auto args = Args::From(request);
  if (!args.ok()) return MlflowError(args.status());
  auto body = handler(*args);
  if (!body.ok()) return MlflowError(body.status());
  return JsonResponse(std::move(body).value());
}

StatusOr<registry::Search> SearchArgs(const Args& a, int64_t default_max) {
  registry::Search search;
  ASSIGN_OR_RETURN(search.filter, a.Str("filter", false));
  ASSIGN_OR_RETURN(auto max, a.Int("max_results"));
  search.max_results = max.value_or(default_max);
  search.order_by = a.List("order_by");
  ASSIGN_OR_RETURN(search.page_token, a.Str("page_token", false));
  return search;
}

std::string MemberString(simdjson::dom::element object, const char* key) {
  std::string_view s;
  if (object[key].get(s) == simdjson::SUCCESS) return std::string(s);
  int64_t i;
  if (object[key].get(i) == simdjson::SUCCESS) return std::to_string(i);
  return std::string();
}

std::map<std::string, std::string> MemberPairs(simdjson::dom::element object, const char* key) {
  std::map<std::string, std::string> out;
  simdjson::dom::array array;
  if (object[key].get(array) == simdjson::SUCCESS) {
    for (auto pair : array) {
      std::string_view k, v;
      if (pair["key"].get(k) == simdjson::SUCCESS) {
        if (pair["value"].get(v) != simdjson::SUCCESS) v = "";
        out.emplace(k, v);
      }
    }
  }
  return out;
}

}  // namespace inferd::api
