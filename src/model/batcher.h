// DynamicBatcher: Triton-style dynamic batching for one model version. Requests
// that arrive close together are evaluated as one batch, which pays off when a
// model call has a large fixed cost (libxgboost: ~20 µs a call) and hurts when
// it has none (the native engine): bench/README.md has both measurements.
//
// There is no batching thread. The first request to find no batch forming
// becomes its leader: it waits up to `max_queue_delay` (or until
// `preferred_batch_rows` rows are queued), takes the queued requests (at most
// `max_batch_rows` rows), runs the model once on their rows side by side and
// hands each request its slice of the outputs. Requests left in the queue elect
// the next leader. Requests of `preferred_batch_rows` rows or more skip the
// queue. Thread-safe; Predict blocks its caller until its outputs are ready.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "model/model.h"

namespace inferd::model {

struct BatchingOptions {
  std::chrono::microseconds max_queue_delay{100};
  int64_t preferred_batch_rows = 64;  // dispatch at once when this many rows wait
  int64_t max_batch_rows = 4096;      // never more rows in one model call
};

class DynamicBatcher {
 public:
  DynamicBatcher(std::shared_ptr<const Model> model, OutputKind kind, BatchingOptions options);

  // As Model::Predict, with the model's configured output kind. `executions`
  // (optional) gets the model calls this caller made: 1 for the leader of a batch
  // (or more, if it led again), 0 for a request carried by another's batch.
  Status Predict(const float* rows, int64_t num_rows, std::vector<float>* out,
                 int64_t* executions = nullptr);

  // Model calls made and requests served so far (batches are calls / requests).
  int64_t calls() const;
  int64_t requests() const;

 private:
  struct Pending {
    const float* rows;
    int64_t num_rows;
    std::vector<float>* out;
    Status status;
    bool done = false;
  };
  void Lead(std::unique_lock<std::mutex>& lock);  // runs one model call

  const std::shared_ptr<const Model> model_;
  const OutputKind kind_;
  const BatchingOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending*> queue_;  // guarded by mu_
  int64_t queued_rows_ = 0;     // guarded by mu_
  bool leading_ = false;        // guarded by mu_: a leader is gathering or running
  int64_t calls_ = 0;           // guarded by mu_
  int64_t requests_ = 0;        // guarded by mu_
};

}  // namespace inferd::model
