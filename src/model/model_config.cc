#include "model/model_config.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace inferd::model {
namespace {

Status KeyError(std::string_view key, std::string_view what) {
  return InvalidArgument("config.json: \"" + std::string(key) + "\" " + std::string(what));
}

constexpr int64_t kMaxQueueDelayUs = 1'000'000;

Status ParseBatching(simdjson::dom::element value, DynamicBatching* batching) {
  simdjson::dom::object object;
  if (value.get(object) != simdjson::SUCCESS) return KeyError("dynamic_batching", "must be an object");
  batching->enabled = true;
  for (auto [key, v] : object) {
    int64_t n = 0;
    if (key == "max_queue_delay_microseconds") {
      if (v.get(n) != simdjson::SUCCESS || n < 0 || n > kMaxQueueDelayUs) {
        return KeyError(key, "must be an integer from 0 to 1000000");
      }
      batching->max_queue_delay_us = n;
    } else if (key == "preferred_batch_size") {
      // One size, or Triton's list of sizes: the largest is when a batch goes.
      simdjson::dom::array sizes;
      std::vector<simdjson::dom::element> listed;
      if (v.get(sizes) == simdjson::SUCCESS) {
        listed.assign(sizes.begin(), sizes.end());
      } else {
        listed.push_back(v);
      }
      n = 0;
      for (auto size : listed) {
        int64_t one = 0;
        if (size.get(one) != simdjson::SUCCESS || one < 1) {
          return KeyError(key, "must be a positive integer or a list of them");
        }
        n = std::max(n, one);
      }
      if (n < 1) return KeyError(key, "must be a positive integer or a list of them");
      batching->preferred_batch_rows = n;
    } else {
      return KeyError(key, "is not a known dynamic_batching key (max_queue_delay_microseconds, "
                           "preferred_batch_size)");
    }
  }
  return Status::Ok();
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
    } else if (key == "missing_value") {
      double v = 0;
      if (value.get(v) != simdjson::SUCCESS || !std::isfinite(v)) {
        return KeyError(key, "must be a finite number");
      }
      config.missing_value = static_cast<float>(v);
    } else if (key == "format") {
      auto format =
          value.get(s) == simdjson::SUCCESS ? ParseFormatName(s) : InvalidArgument("not a string");
      if (!format.ok())
        return KeyError(key,
                        "must be \"xgboost_json\", \"xgboost_ubj\", "
                        "\"xgboost\", \"lightgbm\" or \"onnx\"");
      config.format = *format;
    } else if (key == "dynamic_batching") {
      RETURN_IF_ERROR(ParseBatching(value, &config.batching));
    } else {
      return KeyError(key,
                      "is not a known key (input_name, output_name, output_kind, "
                      "feature_names, max_batch_size, reference_dataset, runtime, "
                      "format, missing_value, dynamic_batching)");
    }
  }
  return config;
}

}  // namespace inferd::model
