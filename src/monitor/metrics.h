// Metrics: counters and histograms recorded on the hot path without locks,
// rendered in Prometheus' text format (0.0.4) on scrape.
//
// A Family is one metric name with fixed label names; Series(labels) finds or
// creates the series for label values (under the family's mutex) and returns a
// pointer that stays valid for the registry's lifetime, so callers cache it
// and then only do relaxed atomic adds. Gauges whose value lives elsewhere are
// callbacks run at scrape time.
//
// Thread-safety: everything may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace inferd::monitor {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) {
    double old = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
    }
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Fixed upper bounds; observations are counted in the first bucket whose bound
// is >= the value (Prometheus' `le`), plus the +Inf bucket.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds)
      : bounds_(bounds), buckets_(bounds->size() + 1) {}
  void Observe(double v);
  const std::vector<double>& bounds() const { return *bounds_; }
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.value(); }

 private:
  const std::vector<double>* bounds_;
  std::vector<std::atomic<uint64_t>> buckets_;  // per bucket, not cumulative
  std::atomic<uint64_t> count_{0};
  Gauge sum_;
};

enum class MetricType { kCounter, kGauge, kHistogram };

template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}

  // The series for these label values (one per label name, in order).
  T* Series(const std::vector<std::string>& values) {
    std::lock_guard lock(mu_);
    auto it = index_.find(values);
    if (it != index_.end()) return it->second;
    T* series;
    if constexpr (std::is_same_v<T, Histogram>) {
      series = &storage_.emplace_back(&bounds_);
    } else {
      series = &storage_.emplace_back();
    }
    index_.emplace(values, series);
    return series;
  }

  // Calls fn(label values, series) for every series, in label order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    std::lock_guard lock(mu_);
    for (const auto& [values, series] : index_) fn(values, *series);
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }

 private:
  const std::string name_, help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::deque<T> storage_;                               // guarded by mu_; never moves
  std::map<std::vector<std::string>, T*> index_;        // guarded by mu_
};

// All metrics of a process, rendered together.
class MetricsRegistry {
 public:
  Family<Counter>* AddCounter(std::string name, std::string help, std::vector<std::string> labels);
  Family<Gauge>* AddGauge(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>* AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> labels, std::vector<double> bounds);
  // A gauge (or counter, when `counter`) computed at scrape time: fn returns
  // (label values, value) pairs.
  using Sampler = std::function<std::vector<std::pair<std::vector<std::string>, double>>()>;
  void AddCallback(std::string name, std::string help, std::vector<std::string> labels,
                   bool counter, Sampler fn);

  // Prometheus text exposition format 0.0.4.
  std::string Render() const;

 private:
  struct Callback {
    std::string name, help;
    std::vector<std::string> labels;
    bool counter;
    Sampler fn;
  };
  mutable std::mutex mu_;  // guards the lists, not the values
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<Callback> callbacks_;
};

// Bounds for latencies in seconds, 100 µs to 10 s.
const std::vector<double>& LatencyBoundsSeconds();
// Bounds for batch sizes in rows, 1 to 8192.
const std::vector<double>& BatchSizeBounds();

}  // namespace inferd::monitor
