// Base64 (RFC 4648, standard alphabet, with padding), for opaque tokens such
// as MLflow's page tokens. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace inferd {

std::string Base64Encode(std::string_view bytes);

// The decoded bytes, or nullopt when `text` is not padded standard base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace inferd
