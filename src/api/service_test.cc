// The whole API through Service::Handle: real models, no network.
#include "api/service.h"

#include "model/directory_source.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace inferd::api {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    models_ = model::ModelRepository::Create({.source = &source_, .default_max_batch_size = 64});
    ASSERT_TRUE(models_->LoadAll().ok());
    inference_ = std::make_unique<serving::InferenceService>(
        serving::InferenceService::Options{.models = models_.get()});
    service_ = std::make_unique<Service>(ServiceContext{.models = models_.get(),
                                                        .health = &health_,
                                                        .server_version = "test",
                                                        .inference = inference_.get()});
  }

  http::Response Call(std::string method, std::string target, std::string body = "") {
    http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    return service_->Handle(r);
  }

  model::DirectorySource source_{std::string(INFERD_TEST_DATA) + "/models"};
  std::unique_ptr<model::ModelRepository> models_;
  Health health_;
  std::unique_ptr<serving::InferenceService> inference_;
  std::unique_ptr<Service> service_;
};

TEST_F(ServiceTest, HealthFollowsLoadingAndDraining) {
  EXPECT_EQ(Call("GET", "/v2/health/live").status, 200);
  EXPECT_EQ(Call("GET", "/v2/health/ready").status, 503);
  health_.SetLoaded();
  EXPECT_EQ(Call("GET", "/v2/health/ready").body, R"({"ready":true})");
  health_.SetDraining();
  http::Response r = Call("GET", "/v2/health/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"error":"server is shutting down"})");
  EXPECT_EQ(Call("GET", "/v2/health/live").status, 200);
}

TEST_F(ServiceTest, LateInferenceIsShedButHealthNeverIs) {
  monitor::MetricsRegistry registry;
  monitor::ServerMetrics metrics(&registry);
  Service service(ServiceContext{.models = models_.get(),
                                 .health = &health_,
                                 .server_version = "test",
                                 .metrics = &metrics,
                                 .inference = inference_.get(),
                                 .max_queue_time = std::chrono::milliseconds(100)});
  health_.SetLoaded();
  auto call = [&](std::string method, std::string target, std::string body,
                  std::chrono::milliseconds waited) {
    http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.arrived = std::chrono::system_clock::now() - waited;
    return service.Handle(r);
  };
  const std::string v2 = R"({"inputs": [{"name": "input__0", "shape": [1, 4],
      "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]})";
  const std::string v1 = R"({"instances": [[5.1, 3.5, 1.4, 0.2]]})";
  using std::chrono::milliseconds;
  EXPECT_EQ(call("POST", "/v2/models/iris/infer", v2, milliseconds(20)).status, 200);
  http::Response shed = call("POST", "/v2/models/iris/infer", v2, milliseconds(400));
  EXPECT_EQ(shed.status, 503);
  EXPECT_NE(shed.body.find("--max-queue-ms"), std::string::npos) << shed.body;
  ASSERT_EQ(shed.headers.size(), 1u);
  EXPECT_EQ(shed.headers[0].first, "Retry-After");
  EXPECT_EQ(call("POST", "/v1/models/iris:predict", v1, milliseconds(400)).status, 503);
  EXPECT_EQ(metrics.shed_late()->value(), 2u);
  // Probes, metadata and metrics answer however late they are.
  for (const char* path : {"/v2/health/ready", "/v2/models/iris", "/metrics"}) {
    EXPECT_EQ(call("GET", path, "", milliseconds(400)).status, 200) << path;
  }
  // A request whose arrival the transport did not know is never shed.
  EXPECT_EQ(Call("POST", "/v2/models/iris/infer", v2).status, 200);
}

TEST_F(ServiceTest, V2InferReturnsLibxgboostPredictions) {
  http::Response r = Call("POST", "/v2/models/iris/versions/1/infer", R"({"id": "q",
      "inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
      "data": [5.1, 3.5, 1.4, 0.2]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::parser parser;
  auto doc = parser.parse(r.body);
  EXPECT_EQ(std::string_view(doc["id"]), "q");
  EXPECT_EQ(std::string_view(doc["model_version"]), "1");
  auto output = doc["outputs"].at(0);
  EXPECT_EQ(std::string_view(output["name"]), "output__0");
  EXPECT_EQ(int64_t(output["shape"].at(1)), 3);
  // First iris row; tests/data/expected/iris.txt line 1.
  EXPECT_FLOAT_EQ(float(double(output["data"].at(0))), 0.9918511509895325f);
}

TEST_F(ServiceTest, V2RejectsWhatTheModelCannotTake) {
  struct Case {
    const char* target;
    const char* body;
    int status;
    const char* says;
  } cases[] = {
      {"/v2/models/nope/infer", "{}", 404, "unknown model 'nope'"},
      {"/v2/models/iris/versions/9/infer", "{}", 404, "no version 9"},
      {"/v2/models/iris/infer",
       R"({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1,2,3,4]}]})",
       400, "unknown input 'x'"},
      {"/v2/models/iris/infer",
       R"({"inputs": [{"name": "input__0", "shape": [1, 3], "datatype": "FP32", "data": [1,2,3]}]})",
       400, "must be [rows, 4]"},
      {"/v2/models/iris/infer",
       R"({"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
           "data": [1,2,3,4]}], "outputs": [{"name": "proba"}]})",
       400, "unknown output 'proba'"},
      {"/v2/models/iris/infer",
       R"({"inputs": [{"name": "input__0", "shape": [65, 4], "datatype": "FP32",
           "data": [[1,2,3,4]]}]})",
       400, "needs 260 values"},
  };
  for (const auto& c : cases) {
    http::Response r = Call("POST", c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(c.says), std::string::npos) << r.body;
  }
}

TEST_F(ServiceTest, V1PredictTakesArraysAndNamedObjects) {
  http::Response r = Call("POST", "/v1/models/iris:predict",
                          R"({"instances": [[5.1, 3.5, 1.4, 0.2]]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.rfind(R"({"predictions":[[0.99185115,)", 0), 0u) << r.body;

  r = Call("POST", "/v1/models/diabetes:predict",
           R"({"instances": [{"age": 0.038, "sex": 0.05, "bmi": null}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = Call("POST", "/v1/models/diabetes:predict", R"({"instances": [{"height": 1}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("instance 0 has unknown feature 'height'"), std::string::npos) << r.body;
  r = Call("POST", "/v1/models/iris:predict", R"({"instances": [[1, 2, 3, 4, 5]]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("more than 4 values"), std::string::npos) << r.body;
  r = Call("POST", "/v1/models/iris:predict", R"({"instances": [[1, 2, "x", 4]]})");
  EXPECT_NE(r.body.find("instance 0 column 2 is not a number"), std::string::npos) << r.body;
}

TEST_F(ServiceTest, MetadataAndRepository) {
  http::Response r = Call("GET", "/v2/models/breast_cancer");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("inputs":[{"name":"input__0","datatype":"FP32","shape":[-1,30]}])"),
            std::string::npos) << r.body;
  r = Call("POST", "/v2/repository/index", "");
  EXPECT_NE(r.body.find(R"({"name":"iris","version":"1","state":"READY"})"), std::string::npos);
  EXPECT_EQ(Call("POST", "/v2/repository/models/iris/unload").status, 200);
  EXPECT_EQ(Call("GET", "/v2/models/iris/ready").status, 404);
  EXPECT_EQ(Call("POST", "/v2/repository/models/iris/load").status, 200);
  EXPECT_EQ(Call("GET", "/v2/models/iris/ready").status, 200);
  EXPECT_EQ(Call("GET", "/v2/repository/index").status, 405);
  EXPECT_EQ(Call("GET", "/openapi.json").body.rfind("{\n  \"openapi\"", 0), 0u);
  EXPECT_NE(Call("GET", "/docs").body.find("SwaggerUIBundle"), std::string::npos);
}

TEST_F(ServiceTest, ConsoleIsServedFromTheBinary) {
  http::Response page = Call("GET", "/ui");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script src=\"/ui/pages.js\"></script>"), std::string::npos);
  auto header = [](const http::Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return std::string();
  };
  EXPECT_EQ(header(page, "Content-Security-Policy").rfind("default-src 'self';", 0), 0u);
  EXPECT_EQ(Call("GET", "/ui/").body, page.body);
  for (const char* asset : {"/ui/console.js", "/ui/charts.js", "/ui/pages.js",
                            "/ui/experiments.js"}) {
    http::Response r = Call("GET", asset);
    EXPECT_EQ(r.status, 200) << asset;
    EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(r.body.rfind("// inferd console", 0), 0u) << asset;
    EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  }
  http::Response uplot = Call("GET", "/ui/uPlot.iife.min.js");
  EXPECT_NE(uplot.body.find("uPlot"), std::string::npos);
  EXPECT_EQ(header(uplot, "Cache-Control"), "public, max-age=86400");
  EXPECT_EQ(Call("GET", "/ui/console.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Call("GET", "/ui/missing.js").status, 404);
  EXPECT_EQ(Call("POST", "/ui").status, 405);
}

}  // namespace
}  // namespace inferd::api
