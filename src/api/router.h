// Router: maps (method, path) to a route function, with `{model}` and
// `{version}` path parameters. A path that exists under another method gets
// 405 with an Allow header; an unknown path gets 404. Both use the V2 error
// shape. Routes are added at start-up; Dispatch is then thread-safe.
//
// Pattern segments are literals, `{model}`, `{version}`, a parameter with a
// literal suffix such as `{model}:predict` (KServe V1's verb syntax), or, last,
// `{path...}`, which takes the rest of the path (one or more segments).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace inferd::api {

struct PathParams {
  std::string_view model;
  std::string_view version;
  std::string_view path;  // `{path...}`, still percent-encoded
};

class Router {
 public:
  using RouteFn = std::function<http::Response(http::Request&, const PathParams&)>;

  void Add(std::string method, std::string_view pattern, RouteFn fn);
  // Runs the matching route. `route`, when given, receives the matched
  // pattern ("/v2/models/{model}/infer"), or "unmatched"; it stays valid for
  // the router's lifetime.
  // `params`, when given, receives the matched route's path parameters.
  http::Response Dispatch(http::Request& request, std::string_view* route = nullptr,
                          PathParams* params = nullptr) const;

 private:
  struct Segment {
    enum class Kind { kLiteral, kModel, kVersion, kRest } kind;
    std::string literal;  // the literal, or a parameter's required suffix
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    RouteFn fn;
  };
  static bool Match(const Route& route, const std::vector<std::string_view>& parts,
                    PathParams* params);

  std::vector<Route> routes_;
};

}  // namespace inferd::api
