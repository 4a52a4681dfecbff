#include "registry/search_filter.h"

#include <gtest/gtest.h>

namespace inferd::registry {
namespace {

TEST(LikeMatchTest, Wildcards) {
  EXPECT_TRUE(LikeMatch("iris-prod", "iris%", false));
  EXPECT_TRUE(LikeMatch("iris-prod", "%prod", false));
  EXPECT_TRUE(LikeMatch("iris-prod", "%s-p%", false));
  EXPECT_TRUE(LikeMatch("iris", "ir_s", false));
  EXPECT_FALSE(LikeMatch("iris", "IRIS", false));
  EXPECT_TRUE(LikeMatch("iris", "IRIS", true));
  EXPECT_FALSE(LikeMatch("iris", "iri", false));
  EXPECT_TRUE(LikeMatch("", "%", false));
}

TEST(SearchFilterTest, MatchesModelsAndVersions) {
  RegisteredModel m;
  m.name = "fraud-detector";
  m.tags = {{"team", "risk"}, {"mlflow.source", "x"}};
  auto f = SearchFilter::Parse("name LIKE 'fraud%' AND tags.team = 'risk'");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->Matches(m));
  EXPECT_TRUE(SearchFilter::Parse("tags.`mlflow.source` = \"x\"")->Matches(m));
  EXPECT_FALSE(SearchFilter::Parse("tags.team != 'risk'")->Matches(m));
  EXPECT_TRUE(SearchFilter::Parse("tags.absent != 'x'")->Matches(m));
  EXPECT_TRUE(SearchFilter::Parse("")->Matches(m));

  ModelVersion v;
  v.name = "iris";
  v.version = 3;
  v.run_id = "r1";
  EXPECT_TRUE(SearchFilter::Parse("name='iris' and version_number = 3")->Matches(v));
  EXPECT_FALSE(SearchFilter::Parse("run_id = 'r2'")->Matches(v));
}

TEST(SearchFilterTest, ErrorsSayWhere) {
  for (const char* bad : {"name", "name = ", "name = 'x", "colour = 'red'", "name = 'a' OR name = 'b'",
                          "name ~ 'x'"}) {
    auto f = SearchFilter::Parse(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_NE(f.status().message().find("invalid filter at position"), std::string::npos)
        << f.status().message();
  }
}

TEST(OrderByTest, ParsesAndOrders) {
  auto order = ParseOrderBy({"last_updated_timestamp DESC", "name"});
  ASSERT_TRUE(order.ok());
  RegisteredModel a, b;
  a.name = "a";
  b.name = "b";
  a.last_updated_timestamp = 1;
  b.last_updated_timestamp = 2;
  EXPECT_GT(CompareForOrder(a, b, *order), 0);
  EXPECT_FALSE(ParseOrderBy({"colour"}).ok());
  EXPECT_FALSE(ParseOrderBy({"name SIDEWAYS"}).ok());
}

}  // namespace
}  // namespace inferd::registry
