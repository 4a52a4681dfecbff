// The one place where an inferd Status becomes a gRPC status (and so the gRPC
// twin of api/http_status.h): same message, the matching canonical code.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace inferd::grpcapi {

// INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, UNAVAILABLE, ... for the
// StatusCode of the same name; every inferd code has one.
::grpc::StatusCode GrpcCodeFor(StatusCode code);

// `status` as a gRPC status with the same message.
::grpc::Status ToGrpcStatus(const Status& status);

}  // namespace inferd::grpcapi
