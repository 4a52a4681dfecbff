// The KServe V2 gRPC messages to and from inferd's protocol-neutral inference
// types (serving/inference.h): decoding ModelInferRequest, encoding
// ModelInferResponse and ModelMetadataResponse.
//
// Inputs are FP32, FP64, INT32 or INT64, as over REST, given either as typed
// `contents` (fp32_contents, fp64_contents, int_contents, int64_contents) or
// as `raw_input_contents` (one little-endian buffer per input). Outputs always
// go out as `raw_output_contents`, as Triton answers over gRPC and as
// tritonclient's InferResult.as_numpy reads them.
//
// Pure functions; thread-safe; no model knowledge (the inference service checks
// inputs against the model), so they are tested without a server.
#pragma once

#include "common/status.h"
#include "grpc/grpc_service.pb.h"
#include "serving/inference.h"

namespace inferd::grpcapi {

// Decodes `proto`. FP32 values that lie 4-byte aligned in `proto` (typed
// fp32_contents, or raw contents) are used where they lie: the result points
// into `proto`, which must outlive it. Every error is InvalidArgument and
// names the input, with REST V2's wording where both protocols can fail alike
// (e.g. "input 'input__0': shape [2,30] needs 60 values, data has 59").
StatusOr<serving::InferRequest> DecodeInferRequest(const inference::ModelInferRequest& proto);

// Fills `proto` (expected empty) from `response`: names, version, id, the
// prediction id as parameters["prediction_id"] (string_param), and each
// output's FP32 values in raw_output_contents.
void EncodeInferResponse(const serving::InferResponse& response,
                         inference::ModelInferResponse* proto);

void EncodeModelMetadata(const serving::ModelMetadata& metadata,
                         inference::ModelMetadataResponse* proto);

}  // namespace inferd::grpcapi
