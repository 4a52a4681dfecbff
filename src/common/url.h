// URL helpers: percent-decoding and query strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace inferd {

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query
// strings). Malformed escapes are kept as they are.
std::string PercentDecode(std::string_view text, bool plus_is_space);

// Every decoded value of `name` in a query string ("a=1&b=2&a=3"), in order.
std::vector<std::string> QueryValues(std::string_view query, std::string_view name);

}  // namespace inferd
