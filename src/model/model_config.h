// ModelConfig: the optional per-model `config.json` of a model repository.
//
//   {
//     "input_name": "input__0",          // V2 input tensor name
//     "output_name": "output__0",        // V2 output tensor name
//     "output_kind": "probability",      // or "margin"
//     "feature_names": ["f0", "f1"],     // names for V1 object rows and docs
//     "max_batch_size": 1024,            // rows per request; 0 = server default
//     "reference_dataset": "cancer@3",   // drift reference: a dataset recorded in the store
//     "runtime": "auto",                 // "native", "xgboost" (libxgboost); see runtime.h
//     "format": "lightgbm",              // the version files' format (model_format.h);
//                                        // unset: each file's name says it
//     "missing_value": -999,             // inputs equal to it are missing, as NaN is
//     "dynamic_batching": {              // off unless present (batcher.h)
//       "max_queue_delay_microseconds": 100,
//       "preferred_batch_size": 64       // rows; a number or Triton's list (its largest)
//     }
//   }
//
// Every key is optional; unknown keys are rejected so that typos surface at
// load time instead of being silently ignored. Defaults match Triton's FIL
// backend so Triton clients work unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/model.h"
#include "model/model_format.h"

namespace inferd::model {

// Which evaluator serves a model: the native tree engine (tree_model.h) or
// libxgboost. kAuto takes the native engine whenever it can evaluate the model
// exactly and libxgboost otherwise.
enum class Runtime { kAuto, kNative, kXgboost };

// Triton's dynamic_batching block; see batcher.h.
struct DynamicBatching {
  bool enabled = false;
  int64_t max_queue_delay_us = 100;
  int64_t preferred_batch_rows = 64;
};

struct ModelConfig {
  std::string input_name = "input__0";
  std::string output_name = "output__0";
  OutputKind output_kind = OutputKind::kProbability;
  std::vector<std::string> feature_names;
  int64_t max_batch_size = 0;  // 0: use the server-wide limit
  std::string reference_dataset;  // NAME[@VERSION]; empty: the registry's lineage
  Runtime runtime = Runtime::kAuto;
  std::optional<ModelFormat> format;  // declared; unset: by file name
  std::optional<float> missing_value;  // also missing, besides NaN (e.g. -999 or 0)
  DynamicBatching batching;
};

// Parses a config.json document. Errors name the offending key.
StatusOr<ModelConfig> ParseModelConfig(std::string_view json);

}  // namespace inferd::model
