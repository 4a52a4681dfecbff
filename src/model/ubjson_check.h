// CheckUbjson: whether bytes are UBJSON (ubjson.org, draft 12: what XGBoost's
// .ubj models are) whose every length and count fits in the bytes that
// follow it, nested at most kMaxUbjsonDepth deep.
//
// libxgboost's UBJSON reader trusts lengths: it allocates a string or a typed
// array of the size a file declares before reading it, and recurses once per
// nesting level, so a damaged or hostile model.ubj of a few bytes made it
// allocate gigabytes (found by fuzz_xgboost_ubj). inferd checks a file with
// this before handing it to libxgboost. Pure function; thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"

namespace inferd::model {

// Deeper than any XGBoost model (about ten levels), shallow enough for any stack.
inline constexpr int kMaxUbjsonDepth = 64;

// OK when the bytes begin with one whole UBJSON value as above (what follows
// it is not read). InvalidArgument naming the offset and the problem otherwise.
Status CheckUbjson(std::string_view bytes);

}  // namespace inferd::model
