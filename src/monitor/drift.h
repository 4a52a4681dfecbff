// Drift: how far live inputs have moved from the training data's profile.
//
// Per model version, a window of the last `window_rows` rows (and/or the last
// `window_seconds`) is kept as counts in the reference's bins, never as raw
// rows: the window is a ring of `chunks` sub-windows, each row costs two
// binary searches per feature, and a full chunk retires the oldest one.
//
// Statistics per numeric feature (docs/monitoring.md has the formulas):
//   PSI  = sum over the reference's decile bins of (live - ref) * ln(live / ref),
//          proportions floored at 1e-4; drift when PSI >= psi_threshold (0.2).
//   KS   = max over the reference's percentiles p_k of |F_live(p_k) - k/100|;
//          p-value from the asymptotic Kolmogorov distribution with the
//          effective size n*m/(n+m); drift when p < ks_alpha / features
//          (Bonferroni).
//   missing share, live vs reference.
// Categorical features (reference categories; observed values are codes whose
// decimal text names the category, others count as "other"):
//   JS   = Jensen-Shannon distance (base 2) between the live and reference
//          category shares; drift when JS >= js_threshold (0.1);
//   chi2 = sum (observed - expected)^2 / expected over the categories, with
//          its p-value from the chi-square distribution (categories - 1 dof).
// A feature drifts when PSI or KS says so; the dataset drifts when at least
// `dataset_drift_share` (0.5) of its features do. Verdicts need `min_rows`.
//
// Thread-safety: Observe and Report may be called from any thread; each model
// version has its own mutex (no lock is shared across models).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/thread_cache.h"

namespace inferd::monitor {

// A numeric feature has decile edges and percentiles; a categorical one
// (values are category codes, such as a predicted class) has categories.
struct FeatureReference {
  std::string name;
  std::vector<std::string> categories;         // categorical: the codes, as text
  std::vector<double> category_proportions;    // per category, summing to <= 1
  int64_t count = 0;                 // non-missing reference rows
  double missing_share = 0;
  std::vector<double> decile_edges;  // interior edges, ascending
  std::vector<double> decile_proportions;  // edges.size() + 1 values summing to 1
  std::vector<double> percentiles;   // 101 values, 0th..100th
};

struct DriftOptions {
  int64_t window_rows = 1000;
  int64_t window_seconds = 0;  // 0: rows only
  int chunks = 10;
  double psi_threshold = 0.2;
  double ks_alpha = 0.05;
  double dataset_drift_share = 0.5;
  double js_threshold = 0.1;  // categorical features drift at this JS distance
  int64_t min_rows = 100;
};

struct FeatureDrift {
  std::string name;
  double psi = 0;
  double ks = 0;
  double ks_p_value = 1;
  // Categorical features: Jensen-Shannon distance (base 2, in [0, 1]) and the
  // chi-square test of the live counts against the reference proportions.
  bool categorical = false;
  double js = 0;
  double chi2 = 0;
  double chi2_p_value = 1;
  std::vector<std::string> categories;  // categorical: the bins' categories, then "other"
  double reference_missing_share = 0, live_missing_share = 0;
  bool drift = false;
  std::vector<double> edges;                  // decile edges
  std::vector<double> reference_proportions;  // per decile bin
  std::vector<double> live_proportions;
};

struct DriftReport {
  int64_t rows = 0;  // live rows in the window
  bool enough_rows = false;
  bool dataset_drift = false;
  double drifting_share = 0;
  std::vector<FeatureDrift> features;
};

// Upper tail of the chi-square distribution with `dof` degrees of freedom.
double ChiSquareSurvival(double x, double dof);

// Kolmogorov's asymptotic survival function Q(lambda) = 2 sum (-1)^(j-1) e^(-2 j^2 lambda^2).
double KolmogorovQ(double lambda);

class ModelDrift {
 public:
  ModelDrift(std::vector<FeatureReference> reference, DriftOptions options, const Clock* clock);

  // Adds `num_rows` rows (row-major, one value per reference feature; NaN =
  // missing) to the window.
  void Observe(const float* rows, int64_t num_rows);
  DriftReport Report() const;
  const DriftOptions& options() const { return options_; }

 private:
  struct Chunk {
    int64_t rows = 0;
    int64_t started_ms = 0;
    std::vector<std::vector<int64_t>> deciles;      // per feature, per bin
    std::vector<std::vector<int64_t>> percentiles;  // per feature, per bin (100)
    std::vector<int64_t> missing;                   // per feature
  };
  Chunk NewChunk() const;
  void RetireExpired();  // requires mu_

  const std::vector<FeatureReference> reference_;
  std::vector<std::vector<double>> percentile_edges_;  // per feature: 1st..99th percentiles
  const DriftOptions options_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::deque<Chunk> chunks_;  // guarded by mu_; back() is being filled
};

// Drift windows for every served model version that has a reference.
// References come from `loader` (the training dataset's profile, found
// through the registry); a version without one is remembered and skipped.
class DriftMonitor {
 public:
  // Returns the reference features in the model's feature order, or an empty
  // vector when the version has no reference.
  // `dataset` is the model's configured reference dataset (NAME[@VERSION]), or
  // empty to use the registry's lineage.
  using ReferenceLoader = std::function<std::vector<FeatureReference>(
      const std::string& model, int64_t version, const std::vector<std::string>& features,
      const std::string& dataset)>;

  DriftMonitor(ReferenceLoader loader, DriftOptions options, const Clock* clock)
      : loader_(std::move(loader)), options_(options), clock_(clock) {}

  // The window of a model version, or nullptr without a reference. The first
  // call per version loads the reference (one load at a time, outside the lock
  // that Peek and ForEach take); a thread's later calls are a lock-free lookup.
  ModelDrift* For(const std::string& model, int64_t version,
                  const std::vector<std::string>& features, const std::string& dataset = "");

  // Non-blocking: the window if For() has already loaded this version (nullptr
  // when it has no reference), or std::nullopt when not loaded yet.
  std::optional<ModelDrift*> Peek(const std::string& model, int64_t version);

  // Calls fn(model, version, drift) for every version with a window.
  void ForEach(const std::function<void(const std::string&, int64_t, const ModelDrift&)>& fn);

 private:
  ReferenceLoader loader_;
  const DriftOptions options_;
  const Clock* clock_;
  std::mutex load_mu_;  // held while loader_ runs: one load at a time
  std::mutex mu_;       // never held across a load
  // Entries are never erased, so the pointers handed out stay valid.
  std::map<NameNumber, std::unique_ptr<ModelDrift>> windows_;  // guarded by mu_
  NameNumberCache<ModelDrift*> cache_;
};

}  // namespace inferd::monitor
