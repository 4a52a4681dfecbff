// The KServe V2 / Open Inference Protocol wire format: parsing inference
// requests and encoding inference responses, JSON and binary tensor extension.
//
// Binary extension (as Triton and tritonclient speak it): the body starts with
// a JSON header of `Inference-Header-Content-Length` bytes, followed by the raw
// little-endian tensors, in input order, of the inputs whose parameters carry
// `binary_data_size`. Responses use the same layout for outputs asked for with
// `"parameters": {"binary_data": true}` (or request-level `binary_data_output`).
//
// Pure functions over bytes; no model knowledge, so they are thread-safe and
// tested without a server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/message.h"
#include "serving/inference.h"

namespace inferd::api {

// The decoded request is protocol-neutral (serving/inference.h); the route
// fills in the model name and version from the path.
using serving::InferInput;
using serving::InferRequest;
using serving::RequestedOutput;
using serving::ShapeToString;

// Parses `request.body`. `Inference-Header-Content-Length`, when present, gives
// the size of the JSON header. Every error is InvalidArgument with a message
// that names the field (e.g. "input 'input__0': shape [2,30] needs 60 values,
// data has 59").
StatusOr<InferRequest> ParseInferRequest(const http::Request& request);

struct InferOutput {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;  // FP32, product(shape) values
  bool binary = false;
  const int32_t* int_data = nullptr;  // instead of `data`: INT32 values
};

// Encodes a response; any binary output switches to the binary layout and sets
// the Inference-Header-Content-Length header. A non-empty `prediction_id` goes
// into the response's parameters and an X-Prediction-Id header.
http::Response EncodeInferResponse(std::string_view model_name, int64_t model_version,
                                   std::string_view id,
                                   const std::vector<InferOutput>& outputs,
                                   std::string_view prediction_id = "");

// Encodes the one inference path's response (the outputs as it lists them).
http::Response EncodeInferResponse(const serving::InferResponse& response);


}  // namespace inferd::api
