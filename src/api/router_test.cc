#include "api/router.h"

#include <gtest/gtest.h>

namespace inferd::api {
namespace {

http::Response Echo(const PathParams& p) {
  http::Response r;
  r.body = std::string(p.model) + "|" + std::string(p.version);
  return r;
}

http::Request Make(std::string method, std::string target) {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/v2/models/{model}", [](auto&, auto& p) { return Echo(p); });
    router_.Add("POST", "/v2/models/{model}/versions/{version}/infer",
                [](auto&, auto& p) { return Echo(p); });
    router_.Add("POST", "/v1/models/{model}:predict", [](auto&, auto& p) { return Echo(p); });
  }
  Router router_;
};

TEST_F(RouterTest, CapturesParameters) {
  auto r = Make("GET", "/v2/models/iris?x=1");
  EXPECT_EQ(router_.Dispatch(r).body, "iris|");
  r = Make("POST", "/v2/models/iris/versions/3/infer");
  EXPECT_EQ(router_.Dispatch(r).body, "iris|3");
  r = Make("POST", "/v1/models/iris:predict");
  EXPECT_EQ(router_.Dispatch(r).body, "iris|");
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  auto r = Make("DELETE", "/v2/models/iris");
  http::Response res = router_.Dispatch(r);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers.at(0).second, "GET");
  EXPECT_NE(res.body.find("\"error\""), std::string::npos);
}

TEST_F(RouterTest, UnknownPathIs404) {
  for (const char* target : {"/v2/models", "/v2/models/iris/extra", "/v1/models/:predict",
                             "/v1/models/iris:predic", "/", ""}) {
    auto r = Make("GET", target);
    EXPECT_EQ(router_.Dispatch(r).status, 404) << target;
  }
}

}  // namespace
}  // namespace inferd::api
