// The protocol-neutral shape of an inference: what REST V2, REST V1 and gRPC
// requests become after decoding, and what the one inference path
// (inference_service.h) hands back for each protocol to encode.
//
// Plain values; not shared across threads while being filled.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"
#include "monitor/server_metrics.h"

namespace inferd::serving {

// Which protocol carried a request (kRestV2, kRestV1, kGrpc): the `protocol`
// label of the inference metrics.
using monitor::Protocol;

// Bytes per element of a V2 datatype the servers take (FP32, INT32: 4; FP64,
// INT64: 8), or 0 for any other.
size_t ElementSize(std::string_view datatype);

// Elements in a tensor of `shape`, or std::nullopt when the product overflows.
std::optional<uint64_t> ElementCount(const std::vector<int64_t>& shape);

// "[2,30]", for messages.
std::string ShapeToString(const std::vector<int64_t>& shape);

struct InferInput {
  std::string name;
  std::string datatype;  // as sent: FP32, FP64, INT32, INT64, ...; values are floats
  std::vector<int64_t> shape;
  std::vector<float> data;  // converted to float; a missing value is NaN
  // FP32 data that sits 4-byte aligned in the request's own buffer is used
  // where it lies, without a copy: `view` points at it (valid while that buffer
  // lives) and `data` stays empty. Read the values through values()/count().
  const float* view = nullptr;
  size_t view_count = 0;

  const float* values() const { return view ? view : data.data(); }
  size_t count() const { return view ? view_count : data.size(); }
};

// Outputs a request may ask for besides the model's own (named in its
// config): feature contributions, FP32 [rows, features + 1] ([rows, classes,
// features + 1] for multi-class models), the bias last; and the leaf index per
// tree, INT32 [rows, trees].
inline constexpr char kContributionsOutput[] = "contributions";
inline constexpr char kLeavesOutput[] = "leaves";

struct RequestedOutput {
  std::string name;
  bool binary = false;  // REST V2: the binary tensor extension; gRPC: raw_output_contents
};

struct InferRequest {
  std::string model_name;
  std::string model_version;  // "" = the model's default version
  std::string id;             // echoed in the response
  std::vector<InferInput> inputs;
  std::vector<RequestedOutput> outputs;  // empty: the model's own output
  bool binary_data_output = false;       // default for outputs not requested by name
  // Request parameters (model::PredictOptions):
  std::optional<model::OutputKind> output_kind;  // unset: the model config's
  std::vector<float> base_margin;  // XGBoost's, one per row (per row and class); empty: none
  int64_t iteration_begin = 0;     // boosting rounds [begin, end) to use; end 0: all
  int64_t iteration_end = 0;
};

struct OutputTensor {
  std::string name;
  std::vector<int64_t> shape;
  // product(shape) values from `offset` into InferResponse::values (FP32) or
  // InferResponse::int_values (INT32), as `datatype` says.
  size_t offset = 0;
  bool binary = false;
  std::string datatype = "FP32";
  const float* data(const std::vector<float>& values) const { return values.data() + offset; }
};

struct InferResponse {
  std::string model_name;
  int64_t model_version = 0;
  std::string id;             // the request's
  std::string prediction_id;  // under which the prediction log and feedback know it
  std::vector<float> values;  // every FP32 output's values, back to back
  std::vector<int32_t> int_values;  // every INT32 output's
  std::vector<OutputTensor> outputs;
  // The output's values; `output` is one of `outputs`, of its datatype.
  const float* data(const OutputTensor& output) const { return output.data(values); }
  const int32_t* int_data(const OutputTensor& output) const {
    return int_values.data() + output.offset;
  }
};

struct TensorMetadata {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;  // -1 for the batch dimension
};

// What V2 model metadata reports (REST GET /v2/models/{m}, gRPC ModelMetadata).
struct ModelMetadata {
  std::string name;
  std::vector<std::string> versions;
  std::string platform;  // the model format, as Triton's FIL backend names it: "xgboost",
                         // "lightgbm"
  std::vector<TensorMetadata> inputs;
  // The model's output, then (native runtime) contributions and leaves.
  std::vector<TensorMetadata> outputs;
  // Extra facts: version, objective, runtime, output_kind, iterations.
  std::vector<std::pair<std::string, std::string>> parameters;
  int64_t max_batch_size = 0;
  std::vector<std::string> feature_names;
};

}  // namespace inferd::serving
