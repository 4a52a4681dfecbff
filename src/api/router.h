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

// Where a route's work runs: on the I/O thread that read the request (fast
// work that never waits) or on a worker (store I/O, model loads, artifact
// transfers). A predicate decides per request for routes that usually run
// inline but sometimes wait (inference on a batching model).
enum class Runs { kInline, kOnWorker };
using OnWorkerIf = std::function<bool(const PathParams&)>;
// Whether a route's requests may be refused (503) when they waited too long to
// run, which means the server is behind: inference may; health, metrics,
// metadata and admin routes never are.
enum class Shed { kNever, kWhenLate };

class Router {
 public:
  using RouteFn = std::function<http::Response(http::Request&, const PathParams&)>;

  void Add(std::string method, std::string_view pattern, RouteFn fn, Runs runs = Runs::kInline);
  void Add(std::string method, std::string_view pattern, RouteFn fn, OnWorkerIf on_worker,
           Shed shed = Shed::kNever);

  struct Route;
  // What a request matched. `params` point into the request's target.
  struct Match {
    const Route* route = nullptr;  // null: no route (Run answers 404 or 405)
    std::string_view pattern = "unmatched";  // valid for the router's lifetime
    PathParams params;
    std::string allowed;  // methods allowed on the path when none matched
  };
  Match Find(const http::Request& request) const;
  // Whether the matched route's work belongs on a worker thread.
  bool OnWorker(const Match& match) const;
  // Whether the matched route's requests may be shed when late.
  static bool Sheddable(const Match& match) {
    return match.route != nullptr && match.route->shed == Shed::kWhenLate;
  }
  // Runs the matched route, or answers 404 / 405 (with Allow).
  http::Response Run(const Match& match, http::Request& request) const;

  // Find and Run. `route`, when given, receives the matched pattern
  // ("/v2/models/{model}/infer"), or "unmatched"; it stays valid for the
  // router's lifetime. `params`, when given, receives the path parameters.
  http::Response Dispatch(http::Request& request, std::string_view* route = nullptr,
                          PathParams* params = nullptr) const;

  struct Segment {
    enum class Kind { kLiteral, kModel, kVersion, kRest } kind;
    std::string literal;  // the literal, or a parameter's required suffix
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    RouteFn fn;
    Runs runs = Runs::kInline;
    OnWorkerIf on_worker;  // when set, decides instead of `runs`
    Shed shed = Shed::kNever;
  };

 private:
  static bool Matches(const Route& route, const std::vector<std::string_view>& parts,
                    PathParams* params);

  std::vector<Route> routes_;
};

}  // namespace inferd::api
