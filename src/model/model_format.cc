#include "model/model_format.h"

#include <map>
#include <vector>

namespace inferd::model {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

size_t Indent(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

// The `flavors:` block of an MLmodel file (YAML): flavor -> its scalar keys.
// Nested lists and maps under a flavor are skipped; they name nothing needed.
std::map<std::string, std::map<std::string, std::string>> Flavors(std::string_view text) {
  std::map<std::string, std::map<std::string, std::string>> flavors;
  bool in_flavors = false;
  size_t flavor_indent = 0;
  std::string current;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (Trim(line).empty() || Trim(line).front() == '#') continue;
    const size_t indent = Indent(line);
    std::string_view body = Trim(line);
    if (indent == 0) {
      in_flavors = body == "flavors:";
      flavor_indent = 0;
      continue;
    }
    if (!in_flavors) continue;
    if (flavor_indent == 0) flavor_indent = indent;
    const size_t colon = body.find(':');
    if (indent == flavor_indent) {
      current = std::string(Trim(body.substr(0, colon)));
      flavors[current];
    } else if (indent > flavor_indent && !current.empty() && colon != std::string_view::npos &&
               body.front() != '-') {
      flavors[current][std::string(Trim(body.substr(0, colon)))] =
          std::string(Trim(body.substr(colon + 1)));
    }
  }
  return flavors;
}

}  // namespace

const char* FormatName(ModelFormat format) {
  switch (format) {
    case ModelFormat::kXgboostJson:
      return "xgboost_json";
    case ModelFormat::kXgboostUbj:
      return "xgboost_ubj";
    case ModelFormat::kXgboostBinary:
      return "xgboost";
    case ModelFormat::kLightgbm:
      return "lightgbm";
    case ModelFormat::kOnnx:
      return "onnx";
  }
  return "xgboost_json";
}

const char* PlatformOf(ModelFormat format) {
  if (format == ModelFormat::kOnnx) return "onnx";
  return format == ModelFormat::kLightgbm ? "lightgbm" : "xgboost";
}

StatusOr<ModelFormat> ParseFormatName(std::string_view name) {
  for (ModelFormat f : {ModelFormat::kXgboostJson, ModelFormat::kXgboostUbj,
                        ModelFormat::kXgboostBinary, ModelFormat::kLightgbm, ModelFormat::kOnnx}) {
    if (name == FormatName(f)) return f;
  }
  return InvalidArgument("unknown model format '" + std::string(name) +
                         "' (xgboost_json, xgboost_ubj, xgboost, lightgbm, onnx)");
}

std::optional<ModelFormat> FormatOfFile(std::string_view filename, std::string_view head) {
  const size_t dot = filename.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : filename.substr(dot + 1);
  if (ext == "json") return ModelFormat::kXgboostJson;
  if (ext == "ubj") return ModelFormat::kXgboostUbj;
  if (ext == "txt" || ext == "lgb") return ModelFormat::kLightgbm;
  if (ext == "onnx") return ModelFormat::kOnnx;
  if (ext == "xgb" || ext == "model" || ext == "bin" || ext == "deprecated") {
    // What libxgboost's loader looks at: '{' then '"' is JSON, '{' then a
    // letter UBJSON; anything else the legacy binary format.
    if (head.size() >= 2 && head[0] == '{') {
      return head[1] == '"' || head[1] == '\n' || head[1] == ' ' ? ModelFormat::kXgboostJson
                                                                 : ModelFormat::kXgboostUbj;
    }
    return ModelFormat::kXgboostBinary;
  }
  return std::nullopt;
}

StatusOr<MlflowModel> ReadMlmodel(std::string_view mlmodel) {
  auto flavors = Flavors(mlmodel);
  auto data_of = [](const std::map<std::string, std::string>& keys,
                    const std::string& flavor) -> StatusOr<MlflowModel> {
    auto data = keys.find("data");
    if (data == keys.end() || data->second.empty() || data->second.front() == '/' ||
        data->second.find("..") != std::string::npos) {
      return InvalidArgument("MLmodel's " + flavor + " flavor names no data file in its folder");
    }
    return MlflowModel{flavor, data->second};
  };
  if (auto it = flavors.find("xgboost"); it != flavors.end()) return data_of(it->second, "xgboost");
  if (auto it = flavors.find("lightgbm"); it != flavors.end()) {
    auto model_class = it->second.find("model_class");
    if (model_class != it->second.end() && model_class->second != "lightgbm.basic.Booster") {
      auto serialization = it->second.find("serialization_format");
      return InvalidArgument(
          "MLmodel's lightgbm flavor holds a scikit-learn wrapper (" + model_class->second +
          ") serialized with " +
          (serialization == it->second.end() ? std::string("pickle") : serialization->second) +
          ", which is Python code, not a model file: log its booster instead "
          "(mlflow.lightgbm.log_model(model.booster_, ...))");
    }
    return data_of(it->second, "lightgbm");
  }
  if (auto it = flavors.find("onnx"); it != flavors.end()) return data_of(it->second, "onnx");
  if (flavors.contains("sklearn")) {
    return InvalidArgument(
        "MLmodel's sklearn flavor is a scikit-learn pickle, which is Python code, not a model "
        "format: export the model to ONNX (skl2onnx) and log it with mlflow.onnx.log_model, or "
        "log an XGBoost or LightGBM model's booster with mlflow.xgboost / mlflow.lightgbm");
  }
  std::string names;
  for (const auto& [name, keys] : flavors) names += (names.empty() ? "" : ", ") + name;
  return InvalidArgument("MLmodel has no flavor inferd serves (xgboost, lightgbm, onnx); it has: " +
                         (names.empty() ? std::string("none") : names));
}

}  // namespace inferd::model
