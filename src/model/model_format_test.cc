#include "model/model_format.h"

#include <gtest/gtest.h>

namespace inferd::model {
namespace {

TEST(ModelFormatTest, FileNamesAndBytesSayTheFormat) {
  EXPECT_EQ(FormatOfFile("model.json", "{\""), ModelFormat::kXgboostJson);
  EXPECT_EQ(FormatOfFile("model.ubj", "{L"), ModelFormat::kXgboostUbj);
  EXPECT_EQ(FormatOfFile("model.txt", "tr"), ModelFormat::kLightgbm);
  EXPECT_EQ(FormatOfFile("model.lgb", "tr"), ModelFormat::kLightgbm);
  // XGBoost's other extensions: the bytes decide, as libxgboost's loader does.
  EXPECT_EQ(FormatOfFile("model.xgb", "{L"), ModelFormat::kXgboostUbj);
  EXPECT_EQ(FormatOfFile("model.xgb", "{\""), ModelFormat::kXgboostJson);
  EXPECT_EQ(FormatOfFile("xgboost.model", "bi"), ModelFormat::kXgboostBinary);
  EXPECT_EQ(FormatOfFile("model.pkl", "\x80\x04"), std::nullopt);
  EXPECT_EQ(FormatOfFile("model", "{\""), std::nullopt);
  for (ModelFormat f : {ModelFormat::kXgboostJson, ModelFormat::kXgboostUbj,
                        ModelFormat::kXgboostBinary, ModelFormat::kLightgbm}) {
    EXPECT_EQ(*ParseFormatName(FormatName(f)), f);
  }
  EXPECT_EQ(ParseFormatName("pmml").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FormatOfFile("model.onnx", "\x08\x07"), ModelFormat::kOnnx);
  EXPECT_STREQ(PlatformOf(ModelFormat::kXgboostUbj), "xgboost");
  EXPECT_STREQ(PlatformOf(ModelFormat::kLightgbm), "lightgbm");
}

TEST(ModelFormatTest, MlmodelNamesTheDataFileOfAServedFlavor) {
  auto lightgbm = ReadMlmodel(R"(artifact_path: model
flavors:
  lightgbm:
    code: null
    data: model.lgb
    lgb_version: 4.7.0
    model_class: lightgbm.basic.Booster
    serialization_format: skops
    skops_trusted_types:
    - lightgbm.sklearn.LGBMClassifier
  python_function:
    data: model.lgb
    env:
      conda: conda.yaml
    loader_module: mlflow.lightgbm
mlflow_version: 3.17.2
)");
  ASSERT_TRUE(lightgbm.ok()) << lightgbm.status().ToString();
  EXPECT_EQ(lightgbm->flavor, "lightgbm");
  EXPECT_EQ(lightgbm->data, "model.lgb");
  auto xgboost =
      ReadMlmodel("flavors:\n  xgboost:\n    data: 'model.ubj'\n    model_format: ubj\n");
  ASSERT_TRUE(xgboost.ok());
  EXPECT_EQ(xgboost->data, "model.ubj");
}

TEST(ModelFormatTest, MlmodelRefusalsSayWhatToDo) {
  auto pickle = ReadMlmodel("flavors:\n  sklearn:\n    pickled_model: model.pkl\n");
  EXPECT_EQ(pickle.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(pickle.status().message().find("ONNX"), std::string::npos);
  auto wrapper = ReadMlmodel(
      "flavors:\n  lightgbm:\n    data: model.skops\n"
      "    model_class: lightgbm.sklearn.LGBMClassifier\n    serialization_format: skops\n");
  EXPECT_NE(wrapper.status().message().find("booster_"), std::string::npos);
  auto other = ReadMlmodel("flavors:\n  pytorch:\n    model_data: data\n");
  EXPECT_NE(other.status().message().find("pytorch"), std::string::npos);
  EXPECT_FALSE(ReadMlmodel("flavors:\n  xgboost:\n    data: ../../etc/passwd\n").ok());
  EXPECT_FALSE(ReadMlmodel("not yaml at all").ok());
}

}  // namespace
}  // namespace inferd::model
