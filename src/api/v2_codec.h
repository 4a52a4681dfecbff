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

namespace inferd::api {

struct InferInput {
  std::string name;
  std::string datatype;  // FP32, FP64, INT32 or INT64
  std::vector<int64_t> shape;
  std::vector<float> data;  // converted to float; JSON null becomes NaN (missing)
  // FP32 binary data that sits 4-byte aligned in the request body is used where
  // it lies, without a copy: `view` points at it (valid while the request
  // lives) and `data` stays empty. Read the values through values()/count().
  const float* view = nullptr;
  size_t view_count = 0;

  const float* values() const { return view ? view : data.data(); }
  size_t count() const { return view ? view_count : data.size(); }
};

struct RequestedOutput {
  std::string name;
  bool binary = false;
};

struct InferRequest {
  std::string id;
  std::vector<InferInput> inputs;
  std::vector<RequestedOutput> outputs;  // empty: every output
  bool binary_data_output = false;       // request-level default for outputs
};

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
};

// Encodes a response; any binary output switches to the binary layout and sets
// the Inference-Header-Content-Length header. A non-empty `prediction_id` goes
// into the response's parameters and an X-Prediction-Id header.
http::Response EncodeInferResponse(std::string_view model_name, int64_t model_version,
                                   std::string_view id,
                                   const std::vector<InferOutput>& outputs,
                                   std::string_view prediction_id = "");

// "[2,30]", for messages.
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace inferd::api
