// The prediction log's records as the store keeps them: typed, with inputs and
// outputs as raw float32 arrays (SQLite BLOB columns, MongoDB BSON binary), so
// that a 64-row record costs 4 bytes a value instead of its decimal text.
//
// Ids are time-ordered: 12 hex digits of the record's time in ms, then 20
// random ones (PredictionIdPrefix). Stores therefore append to their id index,
// and a time range is an id range: queries, cursors and retention all walk the
// id index (SQLite: (model, id); MongoDB: {model: 1, _id: 1}).
//
// Records written before this layout (JSON documents whose inputs and outputs
// are {shape, data: [numbers]}) are decoded by PredictionFromLegacyJson; on
// MongoDB they stay in place and are read as they are, on SQLite their old
// table is kept as `predictions_json` and `inferd predictions migrate` moves
// them (docs/store.md).
//
// Plain values and pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inferd::store {

struct PredictionRecord {
  std::string id;
  std::string model;
  int64_t version = 0;
  int64_t time_ms = 0;
  int64_t latency_us = 0;
  std::string kind;  // "binary", "multiclass" or "regression", for joining feedback
  int64_t rows = 0;
  std::vector<float> inputs;   // rows x input_cols(), row-major
  std::vector<float> outputs;  // rows x output_cols()
  // The feedback's ground_truth as JSON (a number or an array), when a query
  // asked for it and feedback exists; "" otherwise.
  std::string ground_truth;

  int64_t input_cols() const { return rows > 0 ? static_cast<int64_t>(inputs.size()) / rows : 0; }
  int64_t output_cols() const {
    return rows > 0 ? static_cast<int64_t>(outputs.size()) / rows : 0;
  }
};

// What ListPredictions returns: records by ascending id (so by time), after
// `after_id`, within [since_ms, until_ms), of one model (and version) or all.
struct PredictionQuery {
  std::string model;     // "": every model
  int64_t version = 0;   // 0: every version
  int64_t since_ms = 0;  // time >= since_ms
  int64_t until_ms = 0;  // time < until_ms; 0: no bound
  std::string after_id;  // the cursor: ids greater than this ("": from the start)
  int64_t limit = 100;   // at most this many (must be > 0)
  bool with_ground_truth = false;  // fill PredictionRecord::ground_truth from feedback
};

// How much the prediction log holds (records in the legacy JSON layout on
// SQLite are not counted: they are not in the table retention prunes).
struct PredictionLogSize {
  int64_t records = 0;
  int64_t bytes = 0;  // of records as stored (fields and floats), without index overhead
};

// The 12 hex digits every prediction id of time `ms` starts with; ids compare
// as their times do. `ms` is clamped to [0, 2^48).
std::string PredictionIdPrefix(int64_t ms);

// The time in ms an id starts with; -1 when it does not start with 12 hex digits.
int64_t PredictionIdTime(std::string_view id);

// The bytes a record is counted as in PredictionLogSize: its floats, strings
// and a fixed allowance for its numbers.
int64_t StoredPredictionBytes(const PredictionRecord& record);

// A record from its legacy JSON document (without the id): {model, version,
// time, latency_us, kind?, inputs: {shape, data}, outputs: {shape, data}}.
// InvalidArgument naming what is missing.
StatusOr<PredictionRecord> PredictionFromLegacyJson(std::string id, std::string_view json);

// OK for a record a store can keep: an id of 32 characters starting with its
// time's prefix is not required (tests use others), but rows >= 0 and inputs
// and outputs that divide into `rows` rows are. InvalidArgument otherwise.
Status CheckPredictionRecord(const PredictionRecord& record);

}  // namespace inferd::store
