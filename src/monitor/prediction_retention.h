// PredictionRetention: keeps the prediction log within an age and a size, so
// the store's disk does not fill.
//
// Age: where the server expires documents itself (MongoDB: a TTL index on
// `time`, set by Create with Store::SetPredictionTtl) nothing more is done;
// elsewhere (SQLite, FerretDB 1.x) each pass deletes the records older than
// max_age, oldest first, `batch` records a write, so that the prediction
// writer's inserts interleave with the deletes and no write is long. Size: each
// pass reads the log's size and deletes the oldest records beyond max_bytes,
// as many as the average record says, then reads the size again (a few rounds
// at most). A pass runs at start and every `interval` on a thread of its own;
// with several servers on one store each prunes, and deleting what another
// already deleted is harmless.
//
// Time comes from the injected Clock (tests advance a ManualClock).
// Thread-safety: RunOnce may be called from any thread, one call at a time;
// stats() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace inferd::monitor {

struct RetentionStats {
  int64_t expired = 0;    // deleted for their age, by inferd
  int64_t oversize = 0;   // deleted beyond the size bound
  int64_t errors = 0;     // passes that failed (the next one retries)
  int64_t records = 0;    // the log's size at the last pass
  int64_t bytes = 0;
  bool server_expires = false;  // the store's TTL index does the age bound
};

class PredictionRetention {
 public:
  struct Options {
    int64_t max_age_ms = 0;  // 0: keep records of any age
    int64_t max_bytes = 0;   // 0: no size bound (store::PredictionLogSize::bytes)
    int64_t batch = 1000;    // records per delete
    std::chrono::milliseconds interval{60'000};
    bool background = true;  // false: no thread; the caller runs RunOnce (tests)
  };

  // Sets (or removes) the store's TTL for the age bound, then starts the
  // thread. The store's error when it refuses the TTL for another reason
  // than not having one.
  static StatusOr<std::unique_ptr<PredictionRetention>> Create(store::Store* store,
                                                               const Options& options,
                                                               const Clock* clock);
  ~PredictionRetention();

  // One pass; returns how many records it deleted. On a store error the
  // records deleted before it stay deleted, and the next pass goes on.
  StatusOr<int64_t> RunOnce();

  RetentionStats stats() const;

 private:
  PredictionRetention(store::Store* store, Options options, const Clock* clock)
      : store_(store), options_(options), clock_(clock) {}
  void Run();
  // Deletes records older than `before_ms`, at most `limit`, in batches; counts them in `counter`.
  StatusOr<int64_t> DeleteOldest(int64_t before_ms, int64_t limit, std::atomic<int64_t>* counter);

  store::Store* store_;
  const Options options_;
  const Clock* clock_;
  bool server_expires_ = false;  // set by Create
  std::atomic<int64_t> expired_{0}, oversize_{0}, errors_{0}, records_{0}, bytes_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace inferd::monitor
