// The one place where a Status becomes an HTTP reply.
#pragma once

#include "common/status.h"
#include "http/message.h"

namespace inferd::api {

// The HTTP status code for a Status code (OK -> 200, InvalidArgument -> 400,
// NotFound -> 404, ResourceExhausted -> 413, Unavailable -> 503, ...).
int HttpStatusFor(StatusCode code);

// `{"error": status.message()}` with the matching HTTP status.
http::Response ErrorResponse(const Status& status);

// A 200 JSON reply with `body`.
http::Response JsonResponse(std::string body);

}  // namespace inferd::api
