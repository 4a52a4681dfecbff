// The web console at /ui: a page of plain HTML, CSS and JavaScript
// (src/api/console/) that reads the same REST API as every other client, with
// uPlot (npm's uplot, fetched by scripts/install-deps.sh) for its charts. All
// of it is embedded in the binary at build time, so the console works offline
// and in a bare container, on the server's port, under its admin-token rules
// (the pages send the token only with the changes they make).
#include <string_view>

#include "api/embed.h"
#include "api/service.h"

INFERD_EMBED(inferd_console_html, INFERD_CONSOLE_DIR "/index.html")
INFERD_EMBED(inferd_console_css, INFERD_CONSOLE_DIR "/console.css")
INFERD_EMBED(inferd_console_js, INFERD_CONSOLE_DIR "/console.js")
INFERD_EMBED(inferd_console_charts_js, INFERD_CONSOLE_DIR "/charts.js")
INFERD_EMBED(inferd_console_pages_js, INFERD_CONSOLE_DIR "/pages.js")
INFERD_EMBED(inferd_console_experiments_js, INFERD_CONSOLE_DIR "/experiments.js")
INFERD_EMBED(inferd_uplot_js, INFERD_UPLOT_DIR "/uPlot.iife.min.js")
INFERD_EMBED(inferd_uplot_css, INFERD_UPLOT_DIR "/uPlot.min.css")

namespace inferd::api {
namespace {

// The console's own files change with the binary: revalidated on every load.
// uPlot's are a pinned release.
constexpr char kRevalidate[] = "no-cache";
constexpr char kCacheForADay[] = "public, max-age=86400";
constexpr char kPolicy[] =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'";
constexpr char kHtml[] = "text/html; charset=utf-8";
constexpr char kJs[] = "text/javascript; charset=utf-8";
constexpr char kCss[] = "text/css; charset=utf-8";

struct ConsoleFile {
  const char* path;
  const char* begin;
  const char* end;
  const char* content_type;
  const char* cache_control;
};

}  // namespace

void AddConsoleRoutes(Router* router) {
  const ConsoleFile files[] = {
      {"/ui", inferd_console_html, inferd_console_html_end, kHtml, kRevalidate},
      {"/ui/", inferd_console_html, inferd_console_html_end, kHtml, kRevalidate},
      {"/ui/console.css", inferd_console_css, inferd_console_css_end, kCss, kRevalidate},
      {"/ui/console.js", inferd_console_js, inferd_console_js_end, kJs, kRevalidate},
      {"/ui/charts.js", inferd_console_charts_js, inferd_console_charts_js_end, kJs, kRevalidate},
      {"/ui/pages.js", inferd_console_pages_js, inferd_console_pages_js_end, kJs, kRevalidate},
      {"/ui/experiments.js", inferd_console_experiments_js, inferd_console_experiments_js_end, kJs,
       kRevalidate},
      {"/ui/uPlot.iife.min.js", inferd_uplot_js, inferd_uplot_js_end, kJs, kCacheForADay},
      {"/ui/uPlot.min.css", inferd_uplot_css, inferd_uplot_css_end, kCss, kCacheForADay},
  };
  for (const ConsoleFile& f : files) {
    router->Add("GET", f.path, [f](auto&, auto&) {
      http::Response response = EmbeddedAsset(f.begin, f.end, f.content_type, f.cache_control);
      response.headers.emplace_back("X-Content-Type-Options", "nosniff");
      // The page loads nothing from elsewhere; a browser refuses if it tries.
      if (std::string_view(f.content_type) == kHtml) {
        response.headers.emplace_back("Content-Security-Policy", kPolicy);
      }
      return response;
    });
  }
}

}  // namespace inferd::api
