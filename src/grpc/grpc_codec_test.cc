#include "grpc/grpc_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "grpc/grpc_status.h"

namespace inferd::grpcapi {
namespace {

inference::ModelInferRequest Request(const std::string& datatype, std::vector<int64_t> shape) {
  inference::ModelInferRequest request;
  request.set_model_name("m");
  request.set_model_version("2");
  request.set_id("req-1");
  auto* input = request.add_inputs();
  input->set_name("input__0");
  input->set_datatype(datatype);
  for (int64_t d : shape) input->add_shape(d);
  return request;
}

TEST(GrpcCodec, TypedFp32IsUsedWhereItLies) {
  auto request = Request("FP32", {1, 3});
  for (float v : {1.5f, std::numeric_limits<float>::quiet_NaN(), -2.0f}) {
    request.mutable_inputs(0)->mutable_contents()->add_fp32_contents(v);
  }
  auto decoded = DecodeInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->model_name, "m");
  EXPECT_EQ(decoded->model_version, "2");
  EXPECT_EQ(decoded->id, "req-1");
  const serving::InferInput& input = decoded->inputs.at(0);
  EXPECT_EQ(input.view, request.inputs(0).contents().fp32_contents().data());
  ASSERT_EQ(input.count(), 3u);
  EXPECT_EQ(input.values()[0], 1.5f);
  EXPECT_TRUE(std::isnan(input.values()[1]));  // missing
  EXPECT_EQ(input.shape, (std::vector<int64_t>{1, 3}));
}

TEST(GrpcCodec, TypedIntegerAndDoubleContentsBecomeFloats) {
  auto fp64 = Request("FP64", {1, 2});
  fp64.mutable_inputs(0)->mutable_contents()->add_fp64_contents(0.25);
  fp64.mutable_inputs(0)->mutable_contents()->add_fp64_contents(-8);
  auto int32 = Request("INT32", {2, 1});
  int32.mutable_inputs(0)->mutable_contents()->add_int_contents(7);
  int32.mutable_inputs(0)->mutable_contents()->add_int_contents(-3);
  auto int64 = Request("INT64", {1, 1});
  int64.mutable_inputs(0)->mutable_contents()->add_int64_contents(1ll << 40);
  for (auto& [request, expected] :
       std::vector<std::pair<inference::ModelInferRequest, std::vector<float>>>{
           {fp64, {0.25f, -8.0f}}, {int32, {7.0f, -3.0f}}, {int64, {1099511627776.0f}}}) {
    auto decoded = DecodeInferRequest(request);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    const auto& input = decoded->inputs.at(0);
    EXPECT_EQ(std::vector<float>(input.values(), input.values() + input.count()), expected);
  }
}

TEST(GrpcCodec, RawContentsOfEachType) {
  auto fp32 = Request("FP32", {1, 2});
  const float floats[] = {3.0f, 4.5f};
  fp32.add_raw_input_contents(std::string(reinterpret_cast<const char*>(floats), sizeof floats));
  auto decoded = DecodeInferRequest(fp32);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->inputs[0].values()[1], 4.5f);

  auto int64 = Request("INT64", {1, 2});
  const int64_t ints[] = {-5, 9};
  int64.add_raw_input_contents(std::string(reinterpret_cast<const char*>(ints), sizeof ints));
  decoded = DecodeInferRequest(int64);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->inputs[0].values()[0], -5.0f);
  EXPECT_EQ(decoded->inputs[0].values()[1], 9.0f);
}

TEST(GrpcCodec, ErrorsNameTheInputAsRestDoes) {
  auto short_data = Request("FP32", {2, 30});
  for (int i = 0; i < 59; ++i) short_data.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1);
  auto decoded = DecodeInferRequest(short_data);
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(decoded.status().message(),
            "input 'input__0': shape [2,30] needs 60 values, data has 59");

  auto raw = Request("FP32", {1, 2});
  raw.add_raw_input_contents(std::string(4, '\0'));
  decoded = DecodeInferRequest(raw);
  EXPECT_EQ(decoded.status().message(),
            "input 'input__0': shape [1,2] of FP32 needs 8 bytes, raw_input_contents holds 4");

  auto bytes = Request("BYTES", {1});
  EXPECT_EQ(DecodeInferRequest(bytes).status().message(),
            "input 'input__0': datatype 'BYTES' is not supported; use FP32, FP64, INT32 or INT64");

  auto negative = Request("FP32", {-1, 2});
  EXPECT_EQ(DecodeInferRequest(negative).status().message(),
            "input 'input__0': shape must hold non-negative integers");

  auto both = Request("FP32", {1, 1});
  both.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1);
  both.add_raw_input_contents(std::string(4, '\0'));
  EXPECT_EQ(DecodeInferRequest(both).status().code(), StatusCode::kInvalidArgument);

  auto uneven = Request("FP32", {1, 1});
  uneven.add_inputs()->CopyFrom(uneven.inputs(0));
  uneven.add_raw_input_contents(std::string(4, '\0'));
  EXPECT_EQ(DecodeInferRequest(uneven).status().message(),
            "raw_input_contents holds 1 tensors for 2 inputs; give one per input, in order");

  inference::ModelInferRequest empty;
  EXPECT_EQ(DecodeInferRequest(empty).status().message(), "request has no \"inputs\"");
}

TEST(GrpcCodec, RequestedOutputsAreKept) {
  auto request = Request("FP32", {0, 30});
  request.add_outputs()->set_name("output__0");
  auto decoded = DecodeInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->outputs.size(), 1u);
  EXPECT_EQ(decoded->outputs[0].name, "output__0");
}

TEST(GrpcCodec, ResponseCarriesRawOutputsAndThePredictionId) {
  serving::InferResponse response;
  response.model_name = "m";
  response.model_version = 3;
  response.id = "req-1";
  response.prediction_id = "p-42";
  response.values = {0.25f, 0.5f, 0.75f, 1.0f};
  response.outputs.push_back({"output__0", {2, 2}, 0, true});
  inference::ModelInferResponse proto;
  EncodeInferResponse(response, &proto);
  EXPECT_EQ(proto.model_name(), "m");
  EXPECT_EQ(proto.model_version(), "3");
  EXPECT_EQ(proto.id(), "req-1");
  EXPECT_EQ(proto.parameters().at("prediction_id").string_param(), "p-42");
  ASSERT_EQ(proto.outputs_size(), 1);
  EXPECT_EQ(proto.outputs(0).datatype(), "FP32");
  EXPECT_EQ(proto.outputs(0).shape_size(), 2);
  ASSERT_EQ(proto.raw_output_contents_size(), 1);
  ASSERT_EQ(proto.raw_output_contents(0).size(), 16u);
  float out[4];
  std::memcpy(out, proto.raw_output_contents(0).data(), sizeof out);
  EXPECT_EQ(out[2], 0.75f);
}

TEST(GrpcCodec, PredictionParametersAndInt32Outputs) {
  auto request = Request("FP32", {0, 30});
  auto& params = *request.mutable_parameters();
  params["output_kind"].set_string_param("margin");
  params["base_margin"].set_string_param("[0.5, -1]");
  params["iteration_range"].set_string_param("2, 10");
  auto decoded = DecodeInferRequest(request);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->output_kind, model::OutputKind::kMargin);
  EXPECT_EQ(decoded->base_margin, (std::vector<float>{0.5f, -1.0f}));
  EXPECT_EQ(decoded->iteration_begin, 2);
  EXPECT_EQ(decoded->iteration_end, 10);
  params["iteration_range"].set_string_param("[1]");
  EXPECT_EQ(DecodeInferRequest(request).status().code(), StatusCode::kInvalidArgument);
  params["iteration_range"].set_string_param("[1, 2]");
  params["base_margin"].set_string_param("[x]");
  EXPECT_EQ(DecodeInferRequest(request).status().code(), StatusCode::kInvalidArgument);

  serving::InferResponse response;
  response.int_values = {4, 9};
  serving::OutputTensor leaves{.name = "leaves", .shape = {1, 2}, .binary = true};
  leaves.datatype = "INT32";
  response.outputs.push_back(leaves);
  inference::ModelInferResponse proto;
  EncodeInferResponse(response, &proto);
  EXPECT_EQ(proto.outputs(0).datatype(), "INT32");
  int32_t out[2];
  ASSERT_EQ(proto.raw_output_contents(0).size(), sizeof out);
  std::memcpy(out, proto.raw_output_contents(0).data(), sizeof out);
  EXPECT_EQ(out[1], 9);
}

TEST(GrpcStatus, EveryCodeMapsToItsGrpcTwin) {
  EXPECT_EQ(GrpcCodeFor(StatusCode::kInvalidArgument), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kNotFound), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kResourceExhausted), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kUnavailable), ::grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kUnauthenticated), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kPermissionDenied), ::grpc::StatusCode::PERMISSION_DENIED);
  const ::grpc::Status converted = ToGrpcStatus(NotFound("unknown model 'x'"));
  EXPECT_EQ(converted.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(converted.error_message(), "unknown model 'x'");
  EXPECT_TRUE(ToGrpcStatus(Status::Ok()).ok());
}

}  // namespace
}  // namespace inferd::grpcapi
