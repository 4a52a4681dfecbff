// GET /openapi.json, and Swagger UI at /docs. The spec and the UI's assets (npm's
// swagger-ui-dist, fetched by scripts/install-deps.sh) are embedded in the
// binary at build time, so /docs works offline and in a bare container.
#include <string_view>

#include "api/embed.h"
#include "api/service.h"

INFERD_EMBED(inferd_openapi_json, INFERD_OPENAPI_JSON)
INFERD_EMBED(inferd_swagger_js, INFERD_SWAGGER_UI_DIR "/swagger-ui-bundle.js")
INFERD_EMBED(inferd_swagger_css, INFERD_SWAGGER_UI_DIR "/swagger-ui.css")

namespace inferd::api {
namespace {

constexpr std::string_view kDocsPage = R"(<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>inferd - API docs</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.onload = () => { window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"}); };
  </script>
</body>
</html>
)";

constexpr char kCacheForADay[] = "public, max-age=86400";

http::Response Asset(const char* begin, const char* end, const char* content_type) {
  return EmbeddedAsset(begin, end, content_type, kCacheForADay);
}

}  // namespace

void AddDocsRoutes(Router* router) {
  router->Add("GET", "/openapi.json", [](auto&, auto&) {
    return Asset(inferd_openapi_json, inferd_openapi_json_end, "application/json");
  });
  router->Add("GET", "/docs", [](auto&, auto&) {
    return Asset(kDocsPage.data(), kDocsPage.data() + kDocsPage.size(), "text/html; charset=utf-8");
  });
  router->Add("GET", "/docs/swagger-ui-bundle.js", [](auto&, auto&) {
    return Asset(inferd_swagger_js, inferd_swagger_js_end, "application/javascript");
  });
  router->Add("GET", "/docs/swagger-ui.css", [](auto&, auto&) {
    return Asset(inferd_swagger_css, inferd_swagger_css_end, "text/css");
  });
}

}  // namespace inferd::api
