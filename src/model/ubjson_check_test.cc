#include "model/ubjson_check.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "model/xgboost_model.h"

namespace inferd::model {
namespace {

using namespace std::literals;

std::string IrisUbj() {
  std::ifstream in(std::string(INFERD_TEST_DATA) + "/models/iris/1/model.ubj", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(UbjsonCheckTest, AcceptsXgboostModelsAndSmallValues) {
  const std::string model = IrisUbj();
  ASSERT_GT(model.size(), 1000u);
  EXPECT_TRUE(CheckUbjson(model).ok()) << CheckUbjson(model).ToString();
  EXPECT_TRUE(CheckUbjson("[$d#i\x02"
                          "abcdefgh")
                  .ok());  // a typed array of 2 floats
  EXPECT_TRUE(CheckUbjson("{i\x01"
                          "aSU\x02"
                          "xy}")
                  .ok());  // {"a": "xy"}
  EXPECT_TRUE(CheckUbjson("[#U\x02"
                          "TF")
                  .ok());  // counted, untyped
}

// A model.ubj whose first key claims 2^31 bytes made libxgboost allocate them
// before reading (found by fuzz_xgboost_ubj, fuzz/regressions/); inferd now
// refuses it, as every file cut short, with InvalidArgument.
TEST(UbjsonCheckTest, RefusesLengthsPastTheEndAndDeepNesting) {
  std::string model = IrisUbj();
  ASSERT_EQ(model.substr(0, 2), "{L");
  std::string hostile = model;
  hostile[2 + 4] = '\x7f';  // the big-endian int64 length of the first key
  Status st = CheckUbjson(hostile);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("past the end"), std::string::npos) << st.message();
  for (size_t cut : {size_t{1}, size_t{10}, model.size() / 2, model.size() - 1}) {
    EXPECT_EQ(CheckUbjson(model.substr(0, cut)).code(), StatusCode::kInvalidArgument) << cut;
  }
  EXPECT_FALSE(CheckUbjson("[$d#L\x00\x00\x00\x00\x10\x00\x00\x00"
                           "abcd"sv)
                   .ok());
  EXPECT_FALSE(CheckUbjson("SL\xff\xff\xff\xff\xff\xff\xff\xff").ok());  // negative
  EXPECT_TRUE(
      CheckUbjson(std::string(kMaxUbjsonDepth, '[') + std::string(kMaxUbjsonDepth, ']')).ok());
  EXPECT_FALSE(
      CheckUbjson(std::string(kMaxUbjsonDepth + 1, '[') + std::string(kMaxUbjsonDepth + 1, ']'))
          .ok());

  auto loaded = XgboostModel::LoadBytes(hostile, "model.ubj");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(XgboostModel::LoadBytes(model, "model.ubj").ok());
}

}  // namespace
}  // namespace inferd::model
