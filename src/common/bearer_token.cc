#include "common/bearer_token.h"

#include <string>

namespace inferd {

Status CheckBearerToken(std::string_view expected, std::string_view authorization,
                        std::string_view what, std::string_view header) {
  if (expected.empty()) return Status::Ok();
  if (authorization.empty()) {
    return Unauthenticated("this " + std::string(what) + " needs an admin token: " +
                           std::string(header) + ": Bearer <token>");
  }
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view token =
      authorization.starts_with(kBearer) ? authorization.substr(kBearer.size()) : "";
  unsigned char diff = token.size() != expected.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(expected[i]) ^
            static_cast<unsigned char>(i < token.size() ? token[i] : 0);
  }
  if (diff != 0) return PermissionDenied("the admin token is not valid");
  return Status::Ok();
}

}  // namespace inferd
