// Helpers for reading request bodies with simdjson's On-Demand API.
#pragma once

#include <simdjson.h>

#include <string>

namespace inferd::api {

// Starts iterating the first `json_size` bytes of `body`. Reads in place when
// the body has simdjson's padding as spare capacity (the server reserves it),
// else through a padded copy kept in `*copy`, which must outlive `*doc`.
inline simdjson::error_code IterateJson(simdjson::ondemand::parser& parser,
                                        const std::string& body, size_t json_size,
                                        simdjson::padded_string* copy,
                                        simdjson::ondemand::document* doc) {
  if (body.capacity() >= json_size + simdjson::SIMDJSON_PADDING) {
    return parser.iterate(body.data(), json_size, body.capacity()).get(*doc);
  }
  *copy = simdjson::padded_string(body.data(), json_size);
  return parser.iterate(*copy).get(*doc);
}

// True when the document has been read to its end (no trailing content).
inline bool AtEnd(simdjson::ondemand::document& doc) {
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

}  // namespace inferd::api
