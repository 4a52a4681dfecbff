#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
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

// Text that is not UTF-8 (a Latin-1 CSV's categories, a request's bytes
// echoed in an error) still makes JSON: each stray byte becomes U+FFFD, and
// well-formed UTF-8, up to four bytes, passes as it is. Found by fuzz_csv.
TEST(JsonWriterTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  auto quoted = [](std::string_view s) {
    std::string out;
    AppendJsonString(&out, s);
    return out;
  };
  EXPECT_EQ(quoted("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(quoted("4.4\xff"), "\"4.4\\ufffd\"");
  EXPECT_EQ(quoted("caf\xe9!"), "\"caf\\ufffd!\"");                  // Latin-1
  EXPECT_EQ(quoted("\xc0\xaf"), "\"\\ufffd\\ufffd\"");                // overlong '/'
  EXPECT_EQ(quoted("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");      // a surrogate
  EXPECT_EQ(quoted("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // past U+10FFFF
  EXPECT_EQ(quoted("\xe2\x82"), "\"\\ufffd\\ufffd\"");                // cut short
}

// Numbers at 2^63 and past keep an exponent: the shortest text of some is
// digits alone, an integer too big for simdjson, which refused the whole
// document (a dataset's column profile; found by fuzz_csv).
TEST(JsonWriterTest, HugeNumbersKeepAnExponent) {
  for (double v : {30222687744966500352.0, -1.5e19, 9223372036854775808.0, 1e300}) {
    std::string out;
    JsonWriter(&out).Double(v);
    EXPECT_NE(out.find('e'), std::string::npos) << out;
    EXPECT_EQ(std::strtod(out.c_str(), nullptr), v) << out;
  }
  std::string out;
  JsonWriter(&out).BeginArray().Float(3.0e19f).Double(9007199254740993.0).EndArray();
  EXPECT_EQ(out, "[3e+19,9007199254740992]");
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
