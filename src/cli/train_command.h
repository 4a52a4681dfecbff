// `inferd datasets ...` and `inferd train`: record versioned datasets and
// train, evaluate and register XGBoost models from them. Output goes to stdout
// (progress each round); failures come back as a Status for main.cc to print.
#pragma once

#include <string>

#include "common/status.h"
#include "registry/registry.h"
#include "store/store.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace inferd::cli {

struct DatasetAddOptions {
  std::string file;
  std::string name;      // default: the file name without extension
  std::string dvc_file;  // optional .dvc pointer to check against
};
Status AddDataset(store::Store& store, const DatasetAddOptions& options);
Status ShowDataset(store::Store& store, const std::string& ref);

struct TrainCommandOptions {
  std::string data;          // a CSV file, or
  std::string dataset;       // NAME[@VERSION] recorded with `datasets add`
  std::string dataset_name;  // name to record --data under (default: file stem)
  std::string register_name;
  std::string alias;
  train::TrainOptions train;
};
Status TrainAndRegister(store::Store& store, registry::Registry& registry,
                        const TrainCommandOptions& options);

}  // namespace inferd::cli
