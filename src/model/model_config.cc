#include "model/model_config.h"

#include <simdjson.h>

namespace inferd::model {
namespace {

Status KeyError(std::string_view key, std::string_view what) {
  return InvalidArgument("config.json: \"" + std::string(key) + "\" " + std::string(what));
}

}  // namespace

StatusOr<ModelConfig> ParseModelConfig(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(json);
  if (auto err = parser.parse(padded).get(doc); err != simdjson::SUCCESS) {
    return InvalidArgument(std::string("config.json is not valid JSON: ") +
                           simdjson::error_message(err));
  }
  simdjson::dom::object object;
  if (doc.get(object) != simdjson::SUCCESS) {
    return InvalidArgument("config.json must be a JSON object");
  }
  ModelConfig config;
  for (auto [key, value] : object) {
    std::string_view s;
    if (key == "input_name" || key == "output_name") {
      if (value.get(s) != simdjson::SUCCESS || s.empty()) {
        return KeyError(key, "must be a non-empty string");
      }
      (key == "input_name" ? config.input_name : config.output_name) = std::string(s);
    } else if (key == "output_kind") {
      if (value.get(s) != simdjson::SUCCESS || (s != "probability" && s != "margin")) {
        return KeyError(key, "must be \"probability\" or \"margin\"");
      }
      config.output_kind = s == "margin" ? OutputKind::kMargin : OutputKind::kProbability;
    } else if (key == "feature_names") {
      simdjson::dom::array names;
      if (value.get(names) != simdjson::SUCCESS) return KeyError(key, "must be an array");
      for (auto name : names) {
        if (name.get(s) != simdjson::SUCCESS) return KeyError(key, "must hold strings");
        config.feature_names.emplace_back(s);
      }
    } else if (key == "max_batch_size") {
      int64_t n = 0;
      if (value.get(n) != simdjson::SUCCESS || n < 0) {
        return KeyError(key, "must be a non-negative integer");
      }
      config.max_batch_size = n;
    } else if (key == "reference_dataset") {
      if (value.get(s) != simdjson::SUCCESS || s.empty()) {
        return KeyError(key, "must be a dataset name, optionally with @version");
      }
      config.reference_dataset = std::string(s);
    } else if (key == "runtime") {
      if (value.get(s) != simdjson::SUCCESS || (s != "auto" && s != "native" && s != "xgboost")) {
        return KeyError(key, "must be \"auto\", \"native\" or \"xgboost\"");
      }
      config.runtime = s == "native" ? Runtime::kNative
                       : s == "xgboost" ? Runtime::kXgboost : Runtime::kAuto;
    } else {
      return KeyError(key, "is not a known key (input_name, output_name, output_kind, "
                           "feature_names, max_batch_size, reference_dataset, runtime)");
    }
  }
  return config;
}

}  // namespace inferd::model
