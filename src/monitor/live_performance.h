// LivePerformance: accuracy on ground truth that arrives after the fact.
//
// Every served prediction is remembered (bounded: the most recent `capacity`
// per shard, oldest forgotten first) with its model, version and outputs.
// Feedback for a prediction id joins to it — from memory, or, for a
// prediction served by another replica or already forgotten, from the store's
// prediction log — and its (label, output) rows enter the model version's
// window of the last `window_rows` labelled rows. Reports compute, per window:
// binary models AUC, logloss, accuracy; multi-class logloss, accuracy;
// regression RMSE, MAE. Each window also keeps its history: the window as it
// stood when the first feedback of each `history_interval_seconds` arrived
// (the last `history_points` of them), so its metrics can be drawn over time;
// scoring the window once an interval keeps feedback cheap.
//
// Thread-safety: all methods may be called from any thread; remembered
// predictions are spread over shards with a mutex each.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace inferd::monitor {

// A window's size and metrics at one time.
struct PerformancePoint {
  int64_t time_ms = 0;
  int64_t rows = 0;  // labelled rows in the window
  std::map<std::string, double> metrics;
};

struct PerformanceReport {
  std::string model;
  int64_t version = 0;
  std::string kind;  // "binary", "multiclass" or "regression"
  int64_t rows = 0;  // labelled rows in the window
  std::map<std::string, double> metrics;
  std::vector<PerformancePoint> history;  // oldest first; see the header comment
};

class LivePerformance {
 public:
  struct Options {
    // Predictions remembered in memory for feedback, in all (older ones are read
    // back from the store's prediction log); 0 remembers none.
    size_t capacity = 20'000;
    size_t window_rows = 1000;  // labelled rows per model version
    int64_t window_seconds = 0;  // also forget labels older than this (0: rows only)
    int64_t history_interval_seconds = 60;  // one history point per interval; 0: no history
    size_t history_points = 1440;           // points kept per window (a day at a minute)
  };
  // `store` (may be null) is read when feedback names a prediction not in memory.
  LivePerformance(store::Store* store, Options options,
                  const Clock* clock = SystemClock::Get());

  // `kind` as in PerformanceReport; outputs are rows x outputs_per_row.
  void Remember(const std::string& id, const std::string& model, int64_t version,
                const std::string& kind, const std::vector<float>& outputs, int64_t rows);

  // Joins ground truth (one label per row of the prediction) to a prediction.
  // NotFound for an unknown id; InvalidArgument when the count of labels does
  // not match the prediction's rows.
  Status AddFeedback(const std::string& id, const std::vector<float>& labels);

  std::vector<PerformanceReport> Reports() const;

 private:
  struct Remembered {
    std::string model;
    int64_t version = 0;
    std::string kind;
    int64_t rows = 0;
    std::vector<float> outputs;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Remembered> by_id;  // guarded by mu
    std::deque<std::string> order;                       // guarded by mu: oldest first
  };
  struct Window {
    std::string kind;
    int64_t outputs_per_row = 1;
    std::deque<float> labels;   // guarded by windows_mu_
    std::deque<float> outputs;  // outputs_per_row per label
    std::deque<int64_t> times;  // when each label arrived, ms
    std::deque<PerformancePoint> history;  // oldest first, at most history_points
  };
  static constexpr size_t kShards = 16;

  StatusOr<Remembered> Find(const std::string& id);

  // Drops the window's labels beyond its row and time limits. Requires windows_mu_.
  void Trim(Window* w) const;
  // The window's rows and metrics now, at `now_ms`. Requires windows_mu_.
  static PerformancePoint Score(const Window& w, int64_t now_ms);

  store::Store* store_;
  const Options options_;
  const Clock* clock_;
  std::array<Shard, kShards> shards_;
  mutable std::mutex windows_mu_;
  mutable std::map<std::pair<std::string, int64_t>, Window> windows_;  // guarded by windows_mu_
};

}  // namespace inferd::monitor
