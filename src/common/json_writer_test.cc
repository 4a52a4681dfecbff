#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace inferd {
namespace {

TEST(JsonWriterTest, NestedValuesAndCommas) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject().Key("a").Int(-3).Key("b").BeginArray().Bool(true).Null().Uint(7).EndArray();
  json.Key("c").BeginObject().EndObject().Key("d").String("x").EndObject();
  EXPECT_EQ(out, R"({"a":-3,"b":[true,null,7],"c":{},"d":"x"})");
}

TEST(JsonWriterTest, EscapesStrings) {
  std::string out;
  JsonWriter(&out).String("q\"b\\n\n\x01");
  EXPECT_EQ(out, R"("q\"b\\n\n\u0001")");
}

TEST(JsonWriterTest, ShortestRoundTripFloats) {
  std::string out;
  JsonWriter json(&out);
  json.BeginArray().Float(0.1f).Float(0.97333336f).Double(0.1).Float(1e-7f).EndArray();
  EXPECT_EQ(out, "[0.1,0.97333336,0.1,1e-07]");
  EXPECT_EQ(std::strtof("0.97333336", nullptr), 0.97333336f);
}

TEST(JsonWriterTest, NonFiniteBecomesNull) {
  std::string out;
  JsonWriter(&out).BeginArray().Float(std::nanf("")).Double(
      std::numeric_limits<double>::infinity()).EndArray();
  EXPECT_EQ(out, "[null,null]");
}

TEST(JsonWriterTest, NonFiniteAsTritonTokens) {
  std::string out;
  constexpr auto kTokens = JsonWriter::NonFinite::kTritonTokens;
  const float inf = std::numeric_limits<float>::infinity();
  JsonWriter(&out)
      .BeginArray()
      .Float(std::nanf(""), kTokens)
      .Float(inf, kTokens)
      .Float(-inf, kTokens)
      .Float(-std::nanf(""), kTokens)
      .Float(0.5f, kTokens)
      .EndArray();
  EXPECT_EQ(out, "[NaN,Infinity,-Infinity,NaN,0.5]");
}

TEST(JsonWriterTest, ErrorBody) {
  EXPECT_EQ(JsonError("bad \"x\""), R"({"error":"bad \"x\""})");
}

}  // namespace
}  // namespace inferd
