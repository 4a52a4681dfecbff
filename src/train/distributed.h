// Training on a recorded dataset as one of N workers (N may be 1).
//
// Each worker reads a contiguous run of the dataset's data files (balanced by
// rows), from their columnar copies when they are there, else from the CSV
// files (checked against their recorded md5). A row is held out by a hash of
// the seed and its number in the dataset, so the same rows train the model
// whatever the number of workers: N workers and one worker see the same
// training set and the same holdout. Training uses libxgboost's collective
// (rabit) through XgbCommunicator, connected to the job's Tracker
// (train/tracker.h); the tree method is "hist" unless the options say
// otherwise.
//
// XgbCommunicator wraps process-wide libxgboost state: at most one per
// process, used from one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace inferd::train {

// True when row `row` (numbered from 0 across the dataset's data files in
// relpath order) belongs to the holdout.
bool InHoldout(uint64_t seed, int64_t row, double valid_fraction);

// The data files worker `index` of `workers` reads, with the number of the
// first row of each. InvalidArgument when there are more workers than files.
struct WorkerFile {
  DatasetFile file;
  int64_t first_row = 0;
};
StatusOr<std::vector<WorkerFile>> WorkerFiles(const DatasetVersion& dataset, int index,
                                              int workers);

// Reads `files` into this worker's training rows: every column but
// `options.target` is a feature. `columnar_dir` overrides the dataset's
// ("": the dataset's). InvalidArgument naming file, line and column for rows
// that cannot be trained on; FailedPrecondition when a CSV file changed since
// the dataset was recorded.
StatusOr<TrainingRows> ReadWorkerRows(const DatasetVersion& dataset,
                                      const std::vector<WorkerFile>& files,
                                      const TrainOptions& options, const std::string& columnar_dir);

// libxgboost's rabit communicator as a Collective.
class XgbCommunicator final : public Collective {
 public:
  // Initialises libxgboost's communicator as task `index` of `workers`, whose
  // tracker is at host:port (blocks until every worker has joined).
  static StatusOr<std::unique_ptr<XgbCommunicator>> Init(const std::string& host, int port,
                                                         int index, int workers);
  ~XgbCommunicator() override;

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  Status Sum(std::vector<double>* values) override;
  Status Max(std::vector<double>* values) override;
  // Tells the tracker this worker is done (also done by the destructor).
  Status Finalize();

 private:
  XgbCommunicator() = default;
  int rank_ = 0;
  int world_size_ = 1;
  bool finalized_ = false;
};

}  // namespace inferd::train
