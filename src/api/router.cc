#include "api/router.h"

#include "api/http_status.h"

namespace inferd::api {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = path.starts_with('/') ? 1 : 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

void Router::Add(std::string method, std::string_view pattern, RouteFn fn,
                 OnWorkerIf on_worker, Shed shed) {
  Add(std::move(method), pattern, std::move(fn), Runs::kInline);
  routes_.back().on_worker = std::move(on_worker);
  routes_.back().shed = shed;
}

void Router::Add(std::string method, std::string_view pattern, RouteFn fn, Runs runs) {
  Route route{std::move(method), std::string(pattern), {}, std::move(fn), runs, nullptr,
              Shed::kNever};
  for (std::string_view part : SplitPath(pattern)) {
    Segment segment{Segment::Kind::kLiteral, std::string(part)};
    if (part == "{path...}") segment = {Segment::Kind::kRest, ""};
    for (auto [name, kind] : {std::pair{"{model}", Segment::Kind::kModel},
                              std::pair{"{version}", Segment::Kind::kVersion}}) {
      if (part.starts_with(name)) {
        segment.kind = kind;
        segment.literal = std::string(part.substr(std::string_view(name).size()));
      }
    }
    route.segments.push_back(std::move(segment));
  }
  routes_.push_back(std::move(route));
}

bool Router::Matches(const Route& route, const std::vector<std::string_view>& parts,
                   PathParams* params) {
  const bool rest = !route.segments.empty() && route.segments.back().kind == Segment::Kind::kRest;
  if (rest ? parts.size() < route.segments.size() : route.segments.size() != parts.size()) {
    return false;
  }
  for (size_t i = 0; i < route.segments.size(); ++i) {
    const Segment& segment = route.segments[i];
    std::string_view part = parts[i];
    if (segment.kind == Segment::Kind::kRest) {
      const char* end = parts.back().data() + parts.back().size();
      params->path = std::string_view(part.data(), end - part.data());
      return !params->path.empty();
    }
    if (segment.kind == Segment::Kind::kLiteral) {
      if (part != segment.literal) return false;
      continue;
    }
    if (!part.ends_with(segment.literal) || part.size() == segment.literal.size()) return false;
    std::string_view value = part.substr(0, part.size() - segment.literal.size());
    (segment.kind == Segment::Kind::kModel ? params->model : params->version) = value;
  }
  return true;
}

Router::Match Router::Find(const http::Request& request) const {
  Match found;
  const std::vector<std::string_view> parts = SplitPath(request.Path());
  for (const Route& route : routes_) {
    PathParams params;
    if (!Matches(route, parts, &params)) continue;
    found.pattern = route.pattern;
    found.params = params;
    if (route.method == request.method) {
      found.route = &route;
      return found;
    }
    if (found.allowed.find(route.method) == std::string::npos) {
      found.allowed += found.allowed.empty() ? route.method : ", " + route.method;
    }
  }
  return found;
}

bool Router::OnWorker(const Match& match) const {
  if (match.route == nullptr) return false;
  if (match.route->on_worker) return match.route->on_worker(match.params);
  return match.route->runs == Runs::kOnWorker;
}

http::Response Router::Run(const Match& match, http::Request& request) const {
  if (match.route != nullptr) return match.route->fn(request, match.params);
  if (!match.allowed.empty()) {
    http::Response response = ErrorResponse(
        InvalidArgument("method " + request.method + " is not allowed on " +
                        std::string(request.Path()) + "; use " + match.allowed));
    response.status = 405;
    response.headers.emplace_back("Allow", match.allowed);
    return response;
  }
  return ErrorResponse(NotFound("no route for " + request.method + " " +
                                std::string(request.Path())));
}

http::Response Router::Dispatch(http::Request& request, std::string_view* route,
                                PathParams* params) const {
  const Match match = Find(request);
  if (route) *route = match.pattern;
  if (params) *params = match.params;
  return Run(match, request);
}

}  // namespace inferd::api
