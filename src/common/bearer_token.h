// The token checks that every protocol shares (REST's Authorization header,
// gRPC's `authorization` metadata): comparisons in constant time.
#pragma once

#include <string_view>

#include "common/status.h"

namespace inferd {

// True when `token` is not empty and `authorization` is "Bearer <token>". The
// time taken does not depend on where the given token differs, so it does not
// reveal the token.
bool BearerMatches(std::string_view token, std::string_view authorization);

// OK when `expected` is empty (no token configured) or `authorization` is
// "Bearer <expected>". Unauthenticated when `authorization` is empty ("this
// <what> needs an admin token: <header>: Bearer <token>"), PermissionDenied
// when it holds anything else.
Status CheckBearerToken(std::string_view expected, std::string_view authorization,
                        std::string_view what, std::string_view header);

// The check of routes that read the registry and the monitoring data: OK when
// no read token is configured, or `authorization` carries the read token or
// the admin token (which may do everything); otherwise Unauthenticated when
// `authorization` is empty, PermissionDenied when it holds anything else.
Status CheckReadToken(std::string_view read_token, std::string_view admin_token,
                      std::string_view authorization, std::string_view what,
                      std::string_view header);

}  // namespace inferd
