// The prediction log read back: records as NDJSON lines (GET /v1/predictions,
// `inferd predictions export --format ndjson`) or CSV rows (`--format csv`,
// and the labelled rows `inferd datasets add --from-predictions` records), and
// a reader that walks a query page by page with bounded memory.
//
// NDJSON: one record a line, {"id", "model", "version", "time" (ms),
// "latency_us", "kind", "inputs": [[...] per row], "outputs": [value or [...]
// per row], "ground_truth"?}; floats shortest round-trip, NaN as null.
// CSV: one line per row of a record: id, row, time, model, version, the
// features, the outputs, ground_truth (empty when no feedback).
//
// Pure functions, and a PredictionReader used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace inferd::monitor {

// Appends `record` as one NDJSON line (with its newline).
void AppendPredictionNdjson(const store::PredictionRecord& record, std::string* out);

// The CSV header for records of `input_cols` features and `output_cols`
// outputs; features named by `feature_names` when it has input_cols names,
// else f0, f1, ...; outputs "prediction" or prediction_0, prediction_1, ...
std::string PredictionCsvHeader(int64_t input_cols, int64_t output_cols,
                                const std::vector<std::string>& feature_names);
// Appends one CSV line per row of `record`. InvalidArgument when its ground
// truth is neither a number nor an array of one number per row.
Status AppendPredictionCsv(const store::PredictionRecord& record, std::string* out);

// The labels of a record's ground truth JSON: one per row (a number for a
// one-row record, or an array of rows numbers). InvalidArgument otherwise.
StatusOr<std::vector<double>> GroundTruthLabels(const store::PredictionRecord& record);

// Walks the records of a query in pages of `query.limit`, each page read when
// the previous one is used up: memory is one page.
class PredictionReader {
 public:
  PredictionReader(store::Store* store, store::PredictionQuery query)
      : store_(store), query_(std::move(query)) {}
  // The next page, empty at the end; the store's error when a read fails
  // (calling again retries the same page).
  StatusOr<std::vector<store::PredictionRecord>> Next();

 private:
  store::Store* store_;
  store::PredictionQuery query_;
  bool done_ = false;
};

}  // namespace inferd::monitor
