#include "grpc/grpc_status.h"

namespace inferd::grpcapi {

::grpc::StatusCode GrpcCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return ::grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument: return ::grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound: return ::grpc::StatusCode::NOT_FOUND;
    case StatusCode::kAlreadyExists: return ::grpc::StatusCode::ALREADY_EXISTS;
    case StatusCode::kFailedPrecondition: return ::grpc::StatusCode::FAILED_PRECONDITION;
    case StatusCode::kResourceExhausted: return ::grpc::StatusCode::RESOURCE_EXHAUSTED;
    case StatusCode::kUnavailable: return ::grpc::StatusCode::UNAVAILABLE;
    case StatusCode::kUnauthenticated: return ::grpc::StatusCode::UNAUTHENTICATED;
    case StatusCode::kPermissionDenied: return ::grpc::StatusCode::PERMISSION_DENIED;
    case StatusCode::kUnimplemented: return ::grpc::StatusCode::UNIMPLEMENTED;
    case StatusCode::kInternal: return ::grpc::StatusCode::INTERNAL;
  }
  return ::grpc::StatusCode::INTERNAL;
}

::grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return ::grpc::Status::OK;
  return ::grpc::Status(GrpcCodeFor(status.code()), status.message());
}

}  // namespace inferd::grpcapi
