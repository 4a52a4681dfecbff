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

void Router::Add(std::string method, std::string_view pattern, RouteFn fn) {
  Route route{std::move(method), std::string(pattern), {}, std::move(fn)};
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

bool Router::Match(const Route& route, const std::vector<std::string_view>& parts,
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

http::Response Router::Dispatch(http::Request& request, std::string_view* matched,
                                PathParams* matched_params) const {
  if (matched) *matched = "unmatched";
  const std::vector<std::string_view> parts = SplitPath(request.Path());
  std::string allowed;
  for (const Route& route : routes_) {
    PathParams params;
    if (!Match(route, parts, &params)) continue;
    if (matched) *matched = route.pattern;
    if (matched_params) *matched_params = params;
    if (route.method == request.method) return route.fn(request, params);
    if (allowed.find(route.method) == std::string::npos) {
      allowed += allowed.empty() ? route.method : ", " + route.method;
    }
  }
  if (!allowed.empty()) {
    http::Response response = ErrorResponse(
        InvalidArgument("method " + request.method + " is not allowed on " +
                        std::string(request.Path()) + "; use " + allowed));
    response.status = 405;
    response.headers.emplace_back("Allow", allowed);
    return response;
  }
  return ErrorResponse(NotFound("no route for " + request.method + " " +
                                std::string(request.Path())));
}

}  // namespace inferd::api
