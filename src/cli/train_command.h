// `inferd datasets ...` and `inferd train`: record versioned datasets and
// train, evaluate and register XGBoost models from them. Output goes to stdout
// (progress each round); failures come back as a Status for main.cc to print.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "registry/registry.h"
#include "store/store.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace inferd::cli {

struct DatasetAddOptions {
  std::vector<std::string> inputs;  // a CSV file, a folder, glob patterns or files
  std::string name;                 // default: the file or folder name without extension
  std::string dvc_file;  // optional .dvc pointer to check against
  std::string shard;     // "I/N": process shard I of N ("" = the whole dataset)
  std::string run;       // ties the shards of one run together ("" = from the listing)
  std::string columnar_dir;  // write columnar copies here ("" = none)
};
Status AddDataset(store::Store& store, const DatasetAddOptions& options);

struct DatasetMergeOptions {
  std::string name;
  std::string run;
  int shards = 0;
  std::string dvc_file;
};
Status MergeDataset(store::Store& store, const DatasetMergeOptions& options);
Status ShowDataset(store::Store& store, const std::string& ref);

struct TrainCommandOptions {
  std::string data;          // a CSV file, or
  std::string dataset;       // NAME[@VERSION] recorded with `datasets add`
  std::string dataset_name;  // name to record --data under (default: file stem)
  std::string register_name;
  std::string alias;
  train::TrainOptions train;
  std::string columnar_dir;  // overrides the dataset's
};
Status TrainAndRegister(store::Store& store, registry::Registry& registry,
                        const TrainCommandOptions& options);

}  // namespace inferd::cli
