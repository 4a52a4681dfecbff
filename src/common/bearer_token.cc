#include "common/bearer_token.h"

#include <string>

namespace inferd {

bool BearerMatches(std::string_view token, std::string_view authorization) {
  if (token.empty()) return false;
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view given =
      authorization.starts_with(kBearer) ? authorization.substr(kBearer.size()) : "";
  unsigned char diff = given.size() != token.size();
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(token[i]) ^
            static_cast<unsigned char>(i < given.size() ? given[i] : 0);
  }
  return diff == 0;
}

Status CheckBearerToken(std::string_view expected, std::string_view authorization,
                        std::string_view what, std::string_view header) {
  if (expected.empty() || BearerMatches(expected, authorization)) return Status::Ok();
  if (authorization.empty()) {
    return Unauthenticated("this " + std::string(what) + " needs an admin token: " +
                           std::string(header) + ": Bearer <token>");
  }
  return PermissionDenied("the admin token is not valid");
}

Status CheckReadToken(std::string_view read_token, std::string_view admin_token,
                      std::string_view authorization, std::string_view what,
                      std::string_view header) {
  // Both comparisons always run, so the time taken does not tell which matched.
  const bool reader = BearerMatches(read_token, authorization);
  const bool admin = BearerMatches(admin_token, authorization);
  if (read_token.empty() || reader || admin) return Status::Ok();
  if (authorization.empty()) {
    return Unauthenticated("this " + std::string(what) + " needs a read token: " +
                           std::string(header) + ": Bearer <token>");
  }
  return PermissionDenied("the token is not valid for reading");
}

}  // namespace inferd
