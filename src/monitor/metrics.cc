#include "monitor/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace inferd::monitor {
namespace {

void AppendDouble(std::string* out, double v) {
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

// Label values escape \, " and newlines.
void AppendLabels(std::string* out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const char* extra_name = nullptr,
                  const std::string& extra_value = "") {
  if (names.empty() && extra_name == nullptr) return;
  out->push_back('{');
  bool first = true;
  auto add = [&](const std::string& name, const std::string& value) {
    if (!first) out->push_back(',');
    first = false;
    out->append(name).append("=\"");
    for (char c : value) {
      if (c == '\\' || c == '"') {
        out->push_back('\\');
        out->push_back(c);
      } else if (c == '\n') {
        out->append("\\n");
      } else {
        out->push_back(c);
      }
    }
    out->push_back('"');
  };
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) add(names[i], values[i]);
  if (extra_name) add(extra_name, extra_value);
  out->push_back('}');
}

void AppendHeader(std::string* out, const std::string& name, const std::string& help,
                  const char* type) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_->begin(), bounds_->end(), v) - bounds_->begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.Add(v);
}

Family<Counter>* MetricsRegistry::AddCounter(std::string name, std::string help,
                                             std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  counters_.push_back(std::make_unique<Family<Counter>>(name, help, labels));
  return counters_.back().get();
}

Family<Gauge>* MetricsRegistry::AddGauge(std::string name, std::string help,
                                         std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  gauges_.push_back(std::make_unique<Family<Gauge>>(name, help, labels));
  return gauges_.back().get();
}

Family<Histogram>* MetricsRegistry::AddHistogram(std::string name, std::string help,
                                                 std::vector<std::string> labels,
                                                 std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  histograms_.push_back(std::make_unique<Family<Histogram>>(name, help, labels, bounds));
  return histograms_.back().get();
}

void MetricsRegistry::AddCallback(std::string name, std::string help,
                                  std::vector<std::string> labels, bool counter, Sampler fn) {
  std::lock_guard lock(mu_);
  callbacks_.push_back({std::move(name), std::move(help), std::move(labels), counter,
                        std::move(fn)});
}

std::string MetricsRegistry::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(16384);
  for (const auto& family : counters_) {
    AppendHeader(&out, family->name(), family->help(), "counter");
    family->ForEach([&](const auto& values, const Counter& c) {
      out.append(family->name());
      AppendLabels(&out, family->labels(), values);
      out.push_back(' ');
      out.append(std::to_string(c.value())).push_back('\n');
    });
  }
  for (const auto& family : gauges_) {
    AppendHeader(&out, family->name(), family->help(), "gauge");
    family->ForEach([&](const auto& values, const Gauge& g) {
      out.append(family->name());
      AppendLabels(&out, family->labels(), values);
      out.push_back(' ');
      AppendDouble(&out, g.value());
      out.push_back('\n');
    });
  }
  for (const auto& family : histograms_) {
    AppendHeader(&out, family->name(), family->help(), "histogram");
    family->ForEach([&](const auto& values, const Histogram& h) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= h.bounds().size(); ++i) {
        cumulative += h.bucket(i);
        std::string le;
        if (i < h.bounds().size()) {
          AppendDouble(&le, h.bounds()[i]);
        } else {
          le = "+Inf";
        }
        out.append(family->name()).append("_bucket");
        AppendLabels(&out, family->labels(), values, "le", le);
        out.push_back(' ');
        out.append(std::to_string(cumulative)).push_back('\n');
      }
      out.append(family->name()).append("_sum");
      AppendLabels(&out, family->labels(), values);
      out.push_back(' ');
      AppendDouble(&out, h.sum());
      out.push_back('\n');
      out.append(family->name()).append("_count");
      AppendLabels(&out, family->labels(), values);
      out.push_back(' ');
      out.append(std::to_string(cumulative)).push_back('\n');
    });
  }
  for (const auto& callback : callbacks_) {
    AppendHeader(&out, callback.name, callback.help, callback.counter ? "counter" : "gauge");
    for (const auto& [values, value] : callback.fn()) {
      out.append(callback.name);
      AppendLabels(&out, callback.labels, values);
      out.push_back(' ');
      AppendDouble(&out, value);
      out.push_back('\n');
    }
  }
  return out;
}

const std::vector<double>& LatencyBoundsSeconds() {
  static const std::vector<double> bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                             1,      2.5,     5,      10};
  return bounds;
}

const std::vector<double>& BatchSizeBounds() {
  static const std::vector<double> bounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
                                             2048, 4096, 8192};
  return bounds;
}

}  // namespace inferd::monitor
