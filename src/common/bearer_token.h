// The admin token check that every protocol shares (REST's Authorization
// header, gRPC's `authorization` metadata): one comparison, in constant time.
#pragma once

#include <string_view>

#include "common/status.h"

namespace inferd {

// OK when `expected` is empty (no token configured) or `authorization` is
// "Bearer <expected>". Unauthenticated when `authorization` is empty ("this
// <what> needs an admin token: <header>: Bearer <token>"), PermissionDenied
// when it holds anything else. The time taken does not depend on where the
// given token differs, so it does not reveal the token.
Status CheckBearerToken(std::string_view expected, std::string_view authorization,
                        std::string_view what, std::string_view header);

}  // namespace inferd
