// gRPC ModelInferRequest messages (KServe V2 / Triton), as the server receives
// them: protobuf parse, decode (typed contents and raw_input_contents), then
// the one inference path on a model named by the message when it exists.
#include <cstddef>
#include <cstdint>

#include "fuzz_service.h"
#include "grpc/grpc_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inference::ModelInferRequest message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto request = inferd::grpcapi::DecodeInferRequest(message);
  if (!request.ok()) return 0;
  auto response = inferd::fuzz::FuzzService::Get().inference().Infer(
      *request, inferd::serving::Protocol::kGrpc);
  if (response.ok()) {
    inference::ModelInferResponse out;
    inferd::grpcapi::EncodeInferResponse(*response, &out);
  } else if (response.status().code() == inferd::StatusCode::kInternal) {
    __builtin_trap();  // Internal: a bug, never the input's fault
  }
  return 0;
}
