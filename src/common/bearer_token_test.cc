#include "common/bearer_token.h"

#include <gtest/gtest.h>

namespace inferd {
namespace {

TEST(BearerTokenTest, MatchesOnlyTheWholeToken) {
  EXPECT_TRUE(BearerMatches("s3cret", "Bearer s3cret"));
  EXPECT_FALSE(BearerMatches("s3cret", "Bearer s3cre"));
  EXPECT_FALSE(BearerMatches("s3cret", "Bearer s3cretX"));
  EXPECT_FALSE(BearerMatches("s3cret", "s3cret"));
  EXPECT_FALSE(BearerMatches("s3cret", "Basic s3cret"));
  EXPECT_FALSE(BearerMatches("", "Bearer "));  // no token configured matches nothing
  EXPECT_FALSE(BearerMatches("", ""));
}

TEST(BearerTokenTest, AdminCheck) {
  EXPECT_TRUE(CheckBearerToken("", "", "route", "Authorization").ok());
  EXPECT_TRUE(CheckBearerToken("a", "Bearer a", "route", "Authorization").ok());
  Status missing = CheckBearerToken("a", "", "route", "Authorization");
  EXPECT_EQ(missing.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(missing.message(), "this route needs an admin token: Authorization: Bearer <token>");
  Status wrong = CheckBearerToken("a", "Bearer b", "route", "Authorization");
  EXPECT_EQ(wrong.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(wrong.message().find('b'), std::string::npos) << "the given token is not echoed";
}

TEST(BearerTokenTest, ReadCheckTakesTheReadOrTheAdminToken) {
  // No read token: reads are open, whatever the admin token.
  EXPECT_TRUE(CheckReadToken("", "admin", "", "route", "Authorization").ok());
  EXPECT_TRUE(CheckReadToken("reader", "admin", "Bearer reader", "route", "Authorization").ok());
  EXPECT_TRUE(CheckReadToken("reader", "admin", "Bearer admin", "route", "Authorization").ok());
  EXPECT_TRUE(CheckReadToken("reader", "", "Bearer reader", "route", "Authorization").ok());
  // An empty admin token is not a token anyone can present.
  EXPECT_EQ(CheckReadToken("reader", "", "Bearer ", "route", "Authorization").code(),
            StatusCode::kPermissionDenied);
  Status missing = CheckReadToken("reader", "admin", "", "route", "Authorization");
  EXPECT_EQ(missing.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(missing.message(), "this route needs a read token: Authorization: Bearer <token>");
  EXPECT_EQ(CheckReadToken("reader", "admin", "Bearer x", "route", "Authorization").code(),
            StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace inferd
