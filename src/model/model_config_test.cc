#include "model/model_config.h"

#include <gtest/gtest.h>

namespace inferd::model {
namespace {

TEST(ModelConfigTest, DefaultsMatchTritonFil) {
  auto config = ParseModelConfig("{}");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->input_name, "input__0");
  EXPECT_EQ(config->output_name, "output__0");
  EXPECT_EQ(config->output_kind, OutputKind::kProbability);
  EXPECT_EQ(config->max_batch_size, 0);
}

TEST(ModelConfigTest, ReadsEveryKey) {
  auto config = ParseModelConfig(R"({"input_name": "x", "output_name": "y",
      "output_kind": "margin", "feature_names": ["a", "b"], "max_batch_size": 8})");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->input_name, "x");
  EXPECT_EQ(config->output_name, "y");
  EXPECT_EQ(config->output_kind, OutputKind::kMargin);
  EXPECT_EQ(config->feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(config->max_batch_size, 8);
  config = ParseModelConfig(R"({"missing_value": -999, "format": "lightgbm"})");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->missing_value, -999.0f);
  EXPECT_EQ(config->format, ModelFormat::kLightgbm);
}

TEST(ModelConfigTest, ErrorsNameTheKey) {
  struct Case {
    const char* json;
    const char* says;
  } cases[] = {
      {"[1]", "must be a JSON object"},
      {"{", "not valid JSON"},
      {R"({"output_kind": "logit"})", "\"output_kind\""},
      {R"({"max_batch_size": -1})", "\"max_batch_size\""},
      {R"({"feature_names": [1]})", "\"feature_names\""},
      {R"({"max_batch": 3})", "\"max_batch\" is not a known key"},
      {R"({"missing_value": "NaN"})", "\"missing_value\" must be a finite number"},
      {R"({"format": "pmml"})", "\"format\" must be"},
  };
  for (const auto& c : cases) {
    auto config = ParseModelConfig(c.json);
    ASSERT_FALSE(config.ok()) << c.json;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find(c.says), std::string::npos)
        << c.json << " -> " << config.status().message();
  }
}

}  // namespace
}  // namespace inferd::model
