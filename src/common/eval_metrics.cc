#include "common/eval_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace inferd {
namespace {

constexpr double kEpsilon = 1e-15;

double Clip(double p) { return std::min(1 - kEpsilon, std::max(kEpsilon, p)); }

}  // namespace

double Auc(const std::vector<float>& labels, const std::vector<float>& scores) {
  const size_t n = labels.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U with average ranks for ties.
  double positive_rank_sum = 0, positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    double rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2;  // 1-based average
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] > 0.5f) {
        positive_rank_sum += rank;
        ++positives;
      }
    }
    i = j;
  }
  double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

double LogLoss(const std::vector<float>& labels, const std::vector<float>& probabilities) {
  double sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    double p = Clip(probabilities[i]);
    sum += labels[i] > 0.5f ? -std::log(p) : -std::log(1 - p);
  }
  return labels.empty() ? 0 : sum / static_cast<double>(labels.size());
}

double BinaryAccuracy(const std::vector<float>& labels, const std::vector<float>& probabilities) {
  size_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    right += (probabilities[i] >= 0.5f) == (labels[i] > 0.5f);
  }
  return labels.empty() ? 0 : static_cast<double>(right) / static_cast<double>(labels.size());
}

double MultiAccuracy(const std::vector<float>& labels, const std::vector<float>& probabilities,
                     int classes) {
  size_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    auto row = probabilities.begin() + static_cast<std::ptrdiff_t>(i * classes);
    right += std::max_element(row, row + classes) - row == static_cast<long>(labels[i]);
  }
  return labels.empty() ? 0 : static_cast<double>(right) / static_cast<double>(labels.size());
}

double MultiLogLoss(const std::vector<float>& labels, const std::vector<float>& probabilities,
                    int classes) {
  double sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    sum -= std::log(Clip(probabilities[i * classes + static_cast<size_t>(labels[i])]));
  }
  return labels.empty() ? 0 : sum / static_cast<double>(labels.size());
}

double Rmse(const std::vector<float>& labels, const std::vector<float>& predictions) {
  double sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    double d = static_cast<double>(predictions[i]) - labels[i];
    sum += d * d;
  }
  return labels.empty() ? 0 : std::sqrt(sum / static_cast<double>(labels.size()));
}

double Mae(const std::vector<float>& labels, const std::vector<float>& predictions) {
  double sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    sum += std::abs(static_cast<double>(predictions[i]) - labels[i]);
  }
  return labels.empty() ? 0 : sum / static_cast<double>(labels.size());
}

double R2(const std::vector<float>& labels, const std::vector<float>& predictions) {
  if (labels.empty()) return 0;
  double mean = std::accumulate(labels.begin(), labels.end(), 0.0) /
                static_cast<double>(labels.size());
  double residual = 0, total = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    residual += std::pow(labels[i] - static_cast<double>(predictions[i]), 2);
    total += std::pow(labels[i] - mean, 2);
  }
  return total == 0 ? 0 : 1 - residual / total;
}

}  // namespace inferd
