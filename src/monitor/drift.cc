#include "monitor/drift.h"

#include <algorithm>
#include <cmath>

namespace inferd::monitor {
namespace {

constexpr double kFloor = 1e-4;
constexpr int kPercentileBins = 100;

size_t Bin(const std::vector<double>& edges, double v) {
  // Bin i holds (edges[i-1], edges[i]], as the profile's histogram does.
  return std::lower_bound(edges.begin(), edges.end(), v) - edges.begin();
}

// The percentiles' interior points (1st..99th) as bin edges.
std::vector<double> PercentileEdges(const FeatureReference& f) {
  if (f.percentiles.size() < 3) return {};
  return std::vector<double>(f.percentiles.begin() + 1, f.percentiles.end() - 1);
}

}  // namespace

double ChiSquareSurvival(double x, double dof) {
  // Q(a, x/2) with a = dof/2: the regularized upper incomplete gamma function,
  // by its series below a + 1 and its continued fraction above (Numerical Recipes).
  if (x <= 0 || dof <= 0) return 1;
  const double a = dof / 2, z = x / 2;
  const double log_prefix = -z + a * std::log(z) - std::lgamma(a);
  if (z < a + 1) {
    double term = 1 / a, sum = term;
    for (int n = 1; n < 500; ++n) {
      term *= z / (a + n);
      sum += term;
      if (std::abs(term) < std::abs(sum) * 1e-15) break;
    }
    return std::clamp(1 - sum * std::exp(log_prefix), 0.0, 1.0);
  }
  double b = z + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d;
  for (int i = 1; i < 500; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (std::abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1) < 1e-15) break;
  }
  return std::clamp(std::exp(log_prefix) * h, 0.0, 1.0);
}

double KolmogorovQ(double lambda) {
  if (lambda < 1e-3) return 1;
  double sum = 0;
  for (int j = 1; j <= 100; ++j) {
    double term = std::exp(-2.0 * j * j * lambda * lambda);
    sum += (j % 2 ? term : -term);
    if (term < 1e-12) break;
  }
  return std::clamp(2 * sum, 0.0, 1.0);
}

ModelDrift::ModelDrift(std::vector<FeatureReference> reference, DriftOptions options,
                       const Clock* clock)
    : reference_(std::move(reference)), options_(options), clock_(clock) {
  for (const auto& f : reference_) percentile_edges_.push_back(PercentileEdges(f));
  chunks_.push_back(NewChunk());
}

ModelDrift::Chunk ModelDrift::NewChunk() const {
  Chunk c;
  c.started_ms = clock_->NowMillis();
  for (const auto& f : reference_) {
    c.deciles.emplace_back(f.categories.empty() ? f.decile_edges.size() + 1
                                                : f.categories.size() + 1, 0);
    c.percentiles.emplace_back(kPercentileBins, 0);
    c.missing.push_back(0);
  }
  return c;
}

void ModelDrift::RetireExpired() {
  const int64_t chunk_rows = std::max<int64_t>(1, options_.window_rows / options_.chunks);
  const int64_t chunk_ms = options_.window_seconds * 1000 / options_.chunks;
  const int64_t now = clock_->NowMillis();
  if (chunks_.back().rows >= chunk_rows ||
      (chunk_ms > 0 && now - chunks_.back().started_ms >= chunk_ms)) {
    chunks_.push_back(NewChunk());
  }
  while (static_cast<int>(chunks_.size()) > options_.chunks) chunks_.pop_front();
  if (options_.window_seconds > 0) {
    while (chunks_.size() > 1 &&
           now - chunks_.front().started_ms > options_.window_seconds * 1000 + chunk_ms) {
      chunks_.pop_front();
    }
  }
}

void ModelDrift::Observe(const float* rows, int64_t num_rows) {
  const size_t features = reference_.size();
  std::lock_guard lock(mu_);
  for (int64_t r = 0; r < num_rows; ++r) {
    RetireExpired();
    Chunk& chunk = chunks_.back();
    const float* row = rows + r * static_cast<int64_t>(features);
    for (size_t f = 0; f < features; ++f) {
      const float v = row[f];
      if (std::isnan(v)) {
        ++chunk.missing[f];
        continue;
      }
      const FeatureReference& ref = reference_[f];
      if (!ref.categories.empty()) {
        const std::string code = std::to_string(static_cast<int64_t>(v));
        size_t i = std::find(ref.categories.begin(), ref.categories.end(), code) -
                   ref.categories.begin();
        ++chunk.deciles[f][i];  // i == categories.size(): "other"
        continue;
      }
      ++chunk.deciles[f][Bin(ref.decile_edges, v)];
      if (!percentile_edges_[f].empty()) ++chunk.percentiles[f][Bin(percentile_edges_[f], v)];
    }
    ++chunk.rows;
  }
}

DriftReport ModelDrift::Report() const {
  DriftReport report;
  std::vector<Chunk> snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot.assign(chunks_.begin(), chunks_.end());
  }
  for (const Chunk& c : snapshot) report.rows += c.rows;
  report.enough_rows = report.rows >= options_.min_rows;
  const double alpha = options_.ks_alpha / std::max<size_t>(1, reference_.size());
  int drifting = 0;
  for (size_t f = 0; f < reference_.size(); ++f) {
    const FeatureReference& ref = reference_[f];
    FeatureDrift d;
    d.name = ref.name;
    d.edges = ref.decile_edges;
    d.reference_proportions = ref.decile_proportions;
    d.reference_missing_share = ref.missing_share;
    const bool categorical = !ref.categories.empty();
    std::vector<int64_t> deciles(categorical ? ref.categories.size() + 1
                                             : ref.decile_edges.size() + 1, 0);
    std::vector<int64_t> percentiles(kPercentileBins, 0);
    int64_t missing = 0;
    for (const Chunk& c : snapshot) {
      for (size_t i = 0; i < deciles.size(); ++i) deciles[i] += c.deciles[f][i];
      for (size_t i = 0; i < percentiles.size(); ++i) percentiles[i] += c.percentiles[f][i];
      missing += c.missing[f];
    }
    const int64_t present = report.rows - missing;
    d.live_missing_share = report.rows ? static_cast<double>(missing) / report.rows : 0;
    d.live_proportions.assign(deciles.size(), 0);
    if (categorical && present > 0) {
      d.categorical = true;
      d.categories = ref.categories;
      d.categories.push_back("other");
      d.reference_proportions = ref.category_proportions;
      double other = 1;
      for (double p : ref.category_proportions) other -= p;
      d.reference_proportions.push_back(std::max(other, 0.0));
      double js = 0;
      int bins = 0;  // categories seen in either distribution
      for (size_t i = 0; i < deciles.size(); ++i) {
        const double live = static_cast<double>(deciles[i]) / present;
        const double expected = d.reference_proportions[i];
        d.live_proportions[i] = live;
        const double mid = (live + expected) / 2;
        if (live > 0) js += 0.5 * live * std::log2(live / mid);
        if (expected > 0) js += 0.5 * expected * std::log2(expected / mid);
        if (expected == 0 && deciles[i] == 0) continue;
        ++bins;
        const double expected_count = std::max(expected, kFloor) * present;
        d.chi2 += std::pow(static_cast<double>(deciles[i]) - expected_count, 2) / expected_count;
      }
      d.js = std::sqrt(std::max(js, 0.0));
      d.chi2_p_value = ChiSquareSurvival(d.chi2, std::max(1, bins - 1));
      d.drift = report.enough_rows && d.js >= options_.js_threshold;
      drifting += d.drift;
      report.features.push_back(std::move(d));
      continue;
    }
    if (present > 0) {
      for (size_t i = 0; i < deciles.size(); ++i) {
        d.live_proportions[i] = static_cast<double>(deciles[i]) / present;
        const double live = std::max(d.live_proportions[i], kFloor);
        const double expected =
            std::max(i < ref.decile_proportions.size() ? ref.decile_proportions[i] : 0.0, kFloor);
        d.psi += (live - expected) * std::log(live / expected);
      }
      // KS at the reference percentiles: F_ref(p_k) = k / 100.
      int64_t below = 0;
      for (int k = 1; k < kPercentileBins; ++k) {
        below += percentiles[k - 1];
        d.ks = std::max(d.ks, std::abs(static_cast<double>(below) / present - k / 100.0));
      }
      const double n = static_cast<double>(present), m = static_cast<double>(ref.count);
      const double effective = m > 0 ? n * m / (n + m) : n;
      const double root = std::sqrt(effective);
      d.ks_p_value = KolmogorovQ((root + 0.12 + 0.11 / root) * d.ks);
    }
    d.drift = report.enough_rows &&
              (d.psi >= options_.psi_threshold || d.ks_p_value < alpha);
    drifting += d.drift;
    report.features.push_back(std::move(d));
  }
  report.drifting_share =
      reference_.empty() ? 0 : static_cast<double>(drifting) / reference_.size();
  report.dataset_drift =
      report.enough_rows && report.drifting_share >= options_.dataset_drift_share;
  return report;
}

ModelDrift* DriftMonitor::For(const std::string& model, int64_t version,
                              const std::vector<std::string>& features,
                              const std::string& dataset) {
  return cache_.Get(NameNumberView(model, version), [&] {
    const NameNumber key(model, version);
    auto find = [&]() -> std::optional<ModelDrift*> {
      std::lock_guard lock(mu_);
      auto it = windows_.find(key);
      if (it == windows_.end()) return std::nullopt;
      return it->second.get();
    };
    if (auto window = find()) return *window;
    std::lock_guard load_lock(load_mu_);
    if (auto window = find()) return *window;  // another thread loaded it meanwhile
    auto reference = loader_(model, version, features, dataset);
    std::unique_ptr<ModelDrift> window;
    if (!reference.empty()) {
      window = std::make_unique<ModelDrift>(std::move(reference), options_, clock_);
    }
    std::lock_guard lock(mu_);
    return windows_.emplace(key, std::move(window)).first->second.get();
  });
}

std::optional<ModelDrift*> DriftMonitor::Peek(const std::string& model, int64_t version) {
  if (ModelDrift* const* window = cache_.Find(NameNumberView(model, version))) return *window;
  std::lock_guard lock(mu_);
  auto it = windows_.find(NameNumber(model, version));
  if (it == windows_.end()) return std::nullopt;
  return it->second.get();
}

void DriftMonitor::ForEach(
    const std::function<void(const std::string&, int64_t, const ModelDrift&)>& fn) {
  std::lock_guard lock(mu_);
  for (const auto& [key, window] : windows_) {
    if (window) fn(key.first, key.second, *window);
  }
}

}  // namespace inferd::monitor
