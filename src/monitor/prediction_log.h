// PredictionLog: records every (sampled) inference in the store without ever
// making inference wait for the store.
//
// Record() appends to a bounded in-memory queue and returns at once. One
// writer thread takes batches from the queue and inserts them with
// Store::InsertPredictions. When the store fails, the batch goes to an
// append-only spool file (binary, kSpoolHeader) instead, and the writer keeps
// spooling until a ping succeeds; then it replays the spool (the store skips
// ids already stored, so a replay never counts a record twice) and truncates
// it. The pings come from a thread of their own, so that the writer never
// waits on a store that is down (a ping can take the driver's whole
// server-selection timeout) and the queue does not build up meanwhile.
// Limits, documented in README.md: `queue_capacity` records and
// `queue_max_bytes` of them in memory (a 64-row record is ~20x a 1-row one, so
// a count alone bounds no memory), and `spool_max_bytes` on disk; past them
// records are dropped and counted.
//
// Crashes: what is in memory (the queue and the batch the writer holds, both
// within the queue's limits) dies with the process; what reached the spool or
// the store survives a SIGKILL. Every spooled record carries a CRC32, and
// before its first append the writer recovers the spool a crash left: a torn
// or damaged tail is cut off with a log line, and a spool in an older format
// (v2 frames without checksums, JSON lines) is rewritten in the current one.
// The destructor writes the whole queue (to the store, or the spool), so an
// orderly stop loses nothing.
//
// Thread-safety: Record and stats may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace inferd::monitor {

// One logged inference: the store's record type. Tensors stay binary from the
// request thread to the store, so recording costs the request thread two
// copies and the writer no formatting at all.
using PredictionRecord = store::PredictionRecord;

// The memory a queued record holds, as counted against queue_max_bytes.
uint64_t RecordBytes(const PredictionRecord& record);

// The spool's framing: a header line, then per record a little-endian u32
// length, the u32 CRC32 (zlib's) of the body, and the body: the record's
// fields and floats. Appends one record to `out`.
void AppendSpoolRecord(const PredictionRecord& record, std::string* out);
// Reads the record at the front of `in` and advances past it. False, leaving
// `in` as it was, at the end, at a frame cut short (a crash mid-append) and at
// a damaged one (its checksum or its fields do not match its length, or its
// record is one the store refuses: store::CheckPredictionRecord).
bool ReadSpoolRecord(std::string_view* in, PredictionRecord* record);
// The first line of every spool file in this framing.
inline constexpr std::string_view kSpoolHeader = "inferd prediction spool v3\n";
// The framing before v3: the same frames without the checksum. Read, never written.
inline constexpr std::string_view kSpoolHeaderV2 = "inferd prediction spool v2\n";

struct PredictionLogStats {
  int64_t queued = 0;      // in memory now: queued, or in the writer's hands
  int64_t written = 0;     // stored directly
  int64_t spooled = 0;     // written to the spool file
  int64_t replayed = 0;    // moved from the spool to the store
  int64_t dropped = 0;     // lost to a full queue or a full spool
  int64_t write_errors = 0;
  int64_t spool_bytes = 0;  // on disk now
};

class PredictionLog {
 public:
  struct Options {
    double sample_rate = 1.0;        // share of inferences recorded
    size_t queue_capacity = 100'000;
    uint64_t queue_max_bytes = 16ull << 20;  // of records waiting in memory (RecordBytes)
    size_t batch_size = 500;
    std::chrono::milliseconds flush_interval{200};
    std::chrono::milliseconds retry_interval{1000};  // between pings while the store is down
    std::string spool_path;          // file for records the store refused
    uint64_t spool_max_bytes = 1ull << 30;
  };

  // Starts the writer; replays a spool left by an earlier run.
  static StatusOr<std::unique_ptr<PredictionLog>> Create(store::Store* store,
                                                         const Options& options);
  // Stops the writer after flushing the queue (to the store, or the spool).
  ~PredictionLog();

  // True when this inference should be recorded (applies sample_rate).
  bool Sampled() const;
  // Queues a record; drops it (counted) when the queue is full. Never blocks
  // on I/O.
  void Record(PredictionRecord record);

  PredictionLogStats stats() const;

  // Blocks until the queue and the spool are empty or `timeout` passes; true
  // when empty. For tests and shutdown.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  PredictionLog(store::Store* store, Options options);
  void Run();
  // The prober thread: pings the store every retry_interval while it is down.
  void Probe();
  void WriteBatch(std::vector<PredictionRecord> batch);
  Status Spool(const std::vector<PredictionRecord>& batch);
  // Makes the spool a crash left appendable (see the top of this file).
  // Requires the writer thread, before its first append.
  Status RecoverSpool();
  Status Replay();
  // Inserts a batch replayed from the spool; counts it. Requires the writer thread.
  Status ReplayBatch(const std::vector<PredictionRecord>& batch);

  store::Store* store_;
  const Options options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable probe_cv_;    // the prober's, so that it never takes cv_'s wake-ups
  std::deque<PredictionRecord> queue_;  // guarded by mu_
  // guarded by mu_: records the writer took from queue_ and has not written yet
  size_t in_hand_ = 0;
  uint64_t queued_bytes_ = 0;           // guarded by mu_: RecordBytes of queue_ and those in hand
  bool stop_ = false;                   // guarded by mu_
  bool busy_ = false;                   // guarded by mu_: the writer holds a batch

  std::atomic<int64_t> written_{0}, spooled_{0}, replayed_{0}, dropped_{0}, write_errors_{0};
  std::atomic<int64_t> spool_bytes_{0};
  // Set by the writer when a write fails, cleared by the prober when a ping succeeds.
  std::atomic<bool> store_down_{false};
  std::thread writer_;
  std::thread prober_;
};

// A 32-hex-digit id: `time_ms` (12 digits, store::PredictionIdPrefix), a
// process-wide sequence number (8 digits: one process's ids keep their order
// within a millisecond), and 48 bits drawn once per process. Thread-safe.
std::string NewPredictionId(int64_t time_ms);

}  // namespace inferd::monitor
