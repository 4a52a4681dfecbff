// Production rows back into training: the prediction log's records that have
// ground truth, written as a CSV of the model's features and its target, the
// file a new dataset version records (`inferd datasets add --from-predictions`)
// and `inferd train --dataset` reads.
//
// Columns are those of the data the model version was trained on (its dataset
// lineage, without params["target"], which is the last column), so a model
// retrained on the file has the same feature names; a version without lineage
// (registered from a file) gets f0, f1, ... and the target name given.
//
// Thread-compatible; reads the store and the registry, writes one file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "registry/registry.h"
#include "store/store.h"
#include "train/dataset.h"

namespace inferd::train {

struct PredictionColumns {
  std::vector<std::string> features;
  std::string target;
};

// The columns of the data `model` version `version` was trained on, for
// records of `input_cols` features. `target` ("" = the version's own)
// overrides the target name. InvalidArgument when the lineage's features are
// not `input_cols`, or when there is no lineage and no `target`.
StatusOr<PredictionColumns> TrainingColumns(registry::Registry& registry, Datasets& datasets,
                                            const std::string& model, int64_t version,
                                            int64_t input_cols, const std::string& target);

struct LabelledRows {
  int64_t records = 0;     // records with ground truth written
  int64_t rows = 0;        // CSV rows written
  int64_t unlabelled = 0;  // records without ground truth, skipped
};

// Called every kProgressRecords records read, and at the end.
using LabelledProgress = std::function<void(int64_t records_read, const LabelledRows& so_far)>;
inline constexpr int64_t kProgressRecords = 10'000;

// Writes the labelled rows of the records `query` selects (its limit is the
// page size) to the CSV file `path`, columns from `columns_for` (called with
// the first labelled record). With `base_csv`, that file's rows come first and
// its header must be the same columns (the training data plus what production
// labelled since: what a retraining job trains on). FailedPrecondition when no
// record has ground truth and there is no base (no file is left then);
// InvalidArgument when a record's feature count differs from the first one's,
// its ground truth is not one number per row, or the base has other columns.
StatusOr<LabelledRows> WriteLabelledRows(
    store::Store& store, store::PredictionQuery query,
    const std::function<StatusOr<PredictionColumns>(const store::PredictionRecord&)>& columns_for,
    const std::string& path, const LabelledProgress& progress, const std::string& base_csv = "");

}  // namespace inferd::train
