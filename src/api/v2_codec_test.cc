#include "api/v2_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace inferd::api {
namespace {

http::Request Body(std::string body) {
  http::Request r;
  r.method = "POST";
  r.body = std::move(body);
  return r;
}

std::string Bytes(const void* p, size_t n) { return std::string(static_cast<const char*>(p), n); }

TEST(V2CodecTest, ParsesNestedAndFlatJson) {
  for (const char* data : {"[[1, 2], [3, null]]", "[1, 2, 3, null]"}) {
    auto req = ParseInferRequest(Body(std::string(R"({"id": "a1", "inputs": [{"name": "x",
        "shape": [2, 2], "datatype": "FP64", "data": )") + data + "}]}"));
    ASSERT_TRUE(req.ok()) << req.status().ToString();
    EXPECT_EQ(req->id, "a1");
    ASSERT_EQ(req->inputs.size(), 1u);
    const auto& in = req->inputs[0];
    EXPECT_EQ(in.shape, (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(in.data[2], 3.0f);
    EXPECT_TRUE(std::isnan(in.data[3]));
  }
}

TEST(V2CodecTest, KeysInAnyOrderAndRequestedOutputs) {
  auto req = ParseInferRequest(Body(R"({"outputs": [{"name": "o", "parameters":
      {"binary_data": false}}, {"name": "p"}], "inputs": [{"data": [1], "datatype": "INT32",
      "shape": [1, 1], "name": "x"}], "parameters": {"binary_data_output": true}})"));
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  ASSERT_EQ(req->outputs.size(), 2u);
  EXPECT_FALSE(req->outputs[0].binary);  // explicit choice wins
  EXPECT_TRUE(req->outputs[1].binary);   // request-level default
}

TEST(V2CodecTest, ParsesBinaryTensors) {
  const float a[4] = {1.5f, NAN, -2.0f, 3.25f};
  const int64_t b[2] = {7, -9};
  std::string header = R"({"inputs": [{"name": "a", "shape": [2, 2], "datatype": "FP32",
      "parameters": {"binary_data_size": 16}}, {"name": "b", "shape": [2], "datatype": "INT64",
      "parameters": {"binary_data_size": 16}}]})";
  for (size_t pad : {0, 1, 2, 3}) {  // the FP32 bytes land aligned in one of these
    std::string padded = header + std::string(pad, ' ');
    http::Request r = Body(padded + Bytes(a, sizeof(a)) + Bytes(b, sizeof(b)));
    r.headers.emplace_back("inference-header-content-length", std::to_string(padded.size()));
    auto req = ParseInferRequest(r);
    ASSERT_TRUE(req.ok()) << req.status().ToString();
    const InferInput& in = req->inputs[0];
    ASSERT_EQ(in.count(), 4u);
    EXPECT_EQ(in.values()[0], 1.5f);
    EXPECT_TRUE(std::isnan(in.values()[1]));
    EXPECT_EQ(in.values()[3], 3.25f);
    EXPECT_EQ(req->inputs[1].data, (std::vector<float>{7.0f, -9.0f}));
    // Aligned FP32 bytes are used in place, not copied.
    const char* bytes = r.body.data() + padded.size();
    if (reinterpret_cast<uintptr_t>(bytes) % alignof(float) == 0) {
      EXPECT_EQ(static_cast<const void*>(in.values()), static_cast<const void*>(bytes));
      EXPECT_TRUE(in.data.empty());
    } else {
      EXPECT_EQ(in.data.size(), 4u);
    }
  }
}

TEST(V2CodecTest, RejectsBadRequestsWithWhereAndWhat) {
  struct Case {
    std::string body;
    const char* says;
  } cases[] = {
      {"", "invalid JSON"},
      {"{", "invalid JSON"},
      {"[]", "must be a JSON object"},
      {"{}", "no \"inputs\""},
      {R"({"inputs": []})", "no \"inputs\""},
      {R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})", "needs a \"name\""},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": [1]}]})",
       "'BYTES' is not supported"},
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "data": [1]}]})", "\"shape\" is required"},
      {R"({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1]}]})",
       "shape [2] needs 2 values, data has 1"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ["a"]}]})",
       "non-numeric value at element 0"},
      {R"({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]})",
       "non-negative integers"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]})",
       "needs \"data\" or binary_data_size"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]} x)",
       "invalid JSON"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1e999]}]})",
       "invalid JSON"},
      {R"({"id": 5, "inputs": []})", "\"id\" must be a string"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
           "outputs": [{"parameters": {}}]})", "needs a \"name\""},
  };
  for (const auto& c : cases) {
    auto req = ParseInferRequest(Body(c.body));
    ASSERT_FALSE(req.ok()) << c.body;
    EXPECT_EQ(req.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(req.status().message().find(c.says), std::string::npos)
        << c.body << " -> " << req.status().message();
  }
}

TEST(V2CodecTest, RejectsInconsistentBinaryLayouts) {
  std::string header = R"({"inputs": [{"name": "a", "shape": [2], "datatype": "FP32",
      "parameters": {"binary_data_size": 8}}]})";
  struct Case {
    std::string length;
    std::string tail;
    const char* says;
  } cases[] = {
      {std::to_string(header.size()), std::string(4, '\0'), "runs past the end"},
      {std::to_string(header.size()), std::string(12, '\0'), "4 binary bytes beyond"},
      {"abc", std::string(8, '\0'), "is not a byte count"},
      {"999999", std::string(8, '\0'), "is not a byte count"},
  };
  for (const auto& c : cases) {
    http::Request r = Body(header + c.tail);
    r.headers.emplace_back("Inference-Header-Content-Length", c.length);
    auto req = ParseInferRequest(r);
    ASSERT_FALSE(req.ok()) << c.says;
    EXPECT_NE(req.status().message().find(c.says), std::string::npos) << req.status().message();
  }
  std::string wrong = R"({"inputs": [{"name": "a", "shape": [3], "datatype": "FP32",
      "parameters": {"binary_data_size": 8}}]})";
  http::Request r = Body(wrong + std::string(8, '\0'));
  r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(wrong.size()));
  auto req = ParseInferRequest(r);
  ASSERT_FALSE(req.ok());
  EXPECT_NE(req.status().message().find("needs 12 bytes, binary_data_size is 8"),
            std::string::npos) << req.status().message();
}

TEST(V2CodecTest, EncodesJsonAndBinaryOutputs) {
  const float values[2] = {0.25f, 0.1f};
  http::Response json = EncodeInferResponse("m", 3, "id7", {{"out", {2}, values, false}});
  EXPECT_EQ(json.body, R"({"model_name":"m","model_version":"3","id":"id7","outputs":[)"
                       R"({"name":"out","datatype":"FP32","shape":[2],"data":[0.25,0.1]}]})");
  EXPECT_TRUE(json.headers.empty());

  http::Response binary = EncodeInferResponse("m", 3, "", {{"out", {2}, values, true}});
  ASSERT_EQ(binary.headers.size(), 1u);
  size_t json_size = std::stoul(binary.headers[0].second);
  EXPECT_EQ(binary.body.size(), json_size + sizeof(values));
  EXPECT_NE(binary.body.substr(0, json_size).find(R"("binary_data_size":8)"), std::string::npos);
  EXPECT_EQ(std::memcmp(binary.body.data() + json_size, values, sizeof(values)), 0);
}

TEST(V2CodecTest, EncodesInt32Outputs) {
  const int32_t leaves[3] = {7, -1, 12};
  http::Response json =
      EncodeInferResponse("m", 1, "", {{"leaves", {1, 3}, nullptr, false, leaves}});
  EXPECT_NE(json.body.find(R"({"name":"leaves","datatype":"INT32","shape":[1,3],)"
                           R"("data":[7,-1,12]})"),
            std::string::npos)
      << json.body;
  http::Response binary =
      EncodeInferResponse("m", 1, "", {{"leaves", {1, 3}, nullptr, true, leaves}});
  size_t json_size = std::stoul(binary.headers[0].second);
  EXPECT_EQ(std::memcmp(binary.body.data() + json_size, leaves, sizeof(leaves)), 0);
}

TEST(V2CodecTest, ParsesPredictionParameters) {
  auto req = ParseInferRequest(
      Body(R"({"inputs": [{"name": "a", "shape": [2, 1], "datatype": "FP32", "data": [1, 2]}],)"
           R"( "parameters": {"output_kind": "margin", "base_margin": [0.5, -1],)"
           R"( "iteration_range": [2, 10], "unknown": 1}})"));
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->output_kind, model::OutputKind::kMargin);
  EXPECT_EQ(req->base_margin, (std::vector<float>{0.5f, -1.0f}));
  EXPECT_EQ(req->iteration_begin, 2);
  EXPECT_EQ(req->iteration_end, 10);
  for (const char* bad :
       {R"("output_kind": "logit")", R"("base_margin": 3)", R"("base_margin": ["a"])",
        R"("iteration_range": [1])", R"("iteration_range": [1, 2.5])"}) {
    auto refused = ParseInferRequest(
        Body(std::string(
                 R"({"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]}],)") +
             R"( "parameters": {)" + bad + "}}"));
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

// Triton's JSON reader (rapidjson, kParseNanAndInfFlag) takes NaN, Inf and
// Infinity, optionally after '-'; tritonclient's JSON path sends NaN for a
// missing value.
TEST(V2CodecTest, AcceptsTritonsNonFiniteTokens) {
  const float inf = std::numeric_limits<float>::infinity();
  for (const char* data : {"[NaN, Infinity, -Infinity, 1.5, -NaN, Inf, -Inf, null]",
                           "[[NaN,Infinity],[-Infinity,1.5],[-NaN,Inf],[-Inf,null]]",
                           "[ NaN ,\n Infinity\t, -Infinity\r\n,1.5,-NaN , Inf,-Inf ,null ]"}) {
    auto req = ParseInferRequest(Body(std::string(R"({"inputs": [{"name": "x", "shape": [8],
        "datatype": "FP32", "data": )") + data + "}]}"));
    ASSERT_TRUE(req.ok()) << data << " -> " << req.status().ToString();
    const std::vector<float>& v = req->inputs[0].data;
    ASSERT_EQ(v.size(), 8u) << data;
    EXPECT_TRUE(std::isnan(v[0])) << data;
    EXPECT_EQ(v[1], inf) << data;
    EXPECT_EQ(v[2], -inf) << data;
    EXPECT_EQ(v[3], 1.5f) << data;
    EXPECT_TRUE(std::isnan(v[4])) << data;
    EXPECT_EQ(v[5], inf) << data;
    EXPECT_EQ(v[6], -inf) << data;
    EXPECT_TRUE(std::isnan(v[7])) << data;
  }
  // A scalar "data", and a token before other keys of the input.
  for (const char* input :
       {R"({"name": "x", "shape": [1], "datatype": "FP64", "data": NaN})",
        R"({"data": [-Infinity], "name": "x", "shape": [1], "datatype": "FP32"})"}) {
    auto req = ParseInferRequest(Body(std::string(R"({"inputs": [)") + input + "]}"));
    ASSERT_TRUE(req.ok()) << input << " -> " << req.status().ToString();
    ASSERT_EQ(req->inputs[0].data.size(), 1u);
    EXPECT_FALSE(std::isfinite(req->inputs[0].data[0]));
  }
}

TEST(V2CodecTest, RejectsOtherNonNumericTokens) {
  for (const char* token :
       {"nan", "NAN", "Nan", "NaNa", "infinity", "Infinit", "Infinityy", "+Infinity", "+NaN",
        "--Inf", "-", "nul", "nope", "nulll", "None", "true", "\"NaN\""}) {
    auto req = ParseInferRequest(Body(std::string(R"({"inputs": [{"name": "x", "shape": [2],
        "datatype": "FP32", "data": [1, )") + token + "]}]}"));
    ASSERT_FALSE(req.ok()) << token;
    EXPECT_EQ(req.status().code(), StatusCode::kInvalidArgument) << token;
    EXPECT_NE(req.status().message().find("input 'x'"), std::string::npos)
        << token << " -> " << req.status().message();
  }
}

// As Triton writes them (rapidjson's kWriteNanAndInfFlag).
TEST(V2CodecTest, EncodesNonFiniteOutputsAsTritonDoes) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float values[5] = {nan, inf, -inf, 0.5f, -nan};
  http::Response json = EncodeInferResponse("m", 1, "", {{"out", {5}, values, false}});
  EXPECT_NE(json.body.find(R"("data":[NaN,Infinity,-Infinity,0.5,NaN]})"), std::string::npos)
      << json.body;
}

}  // namespace
}  // namespace inferd::api
