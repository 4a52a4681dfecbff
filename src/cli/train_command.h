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

  // Or the labelled rows of model `from_predictions`'s prediction log
  // (train/prediction_dataset.h), written to `output` first.
  std::string from_predictions;
  int64_t version = 0;       // 0: every version
  std::string since, until;  // as common/time_text.h reads them ("" = no bound)
  std::string target;        // the label column's name ("" = the version's own)
  std::string output;        // "" = ./inferd-data/datasets/<name>/<time>.csv
  std::string with_data;     // a CSV of the same columns whose rows come first ("" = none)
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
  std::string experiment;  // MLflow experiment of the recorded run ("" = register_name)
  train::TrainOptions train;

  // Distributed training (docs/training.md): worker `worker_index` of
  // `workers` (0: train in this process on the whole table, as always).
  int workers = 0;
  int worker_index = 0;
  std::string tracker_address = "127.0.0.1:9091";  // HOST:PORT of the job's tracker
  bool tracker_only = false;                       // run the tracker alone, for `workers` workers
  bool external_tracker = false;                   // worker 0 does not host the tracker
  int rendezvous_timeout_s = 300;
  int heartbeat_timeout_s = 30;
  std::string columnar_dir;  // overrides the dataset's
  int wait_for_dataset_s = 0;  // wait this long for --dataset to be recorded
};
// Trains and registers; with `workers`, as one worker of a distributed job
// (worker 0 registers the model). A worker the tracker stops prints the
// tracker's message on stderr and exits with status 2.
Status TrainAndRegister(store::Store& store, registry::Registry& registry,
                        const TrainCommandOptions& options);
// `inferd train --tracker`: the tracker of a job of `options.workers`
// workers; OK when every worker finished.
Status RunTracker(const TrainCommandOptions& options);

}  // namespace inferd::cli
