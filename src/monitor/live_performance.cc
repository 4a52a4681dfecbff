#include "monitor/live_performance.h"

#include <functional>

#include "common/eval_metrics.h"

namespace inferd::monitor {

LivePerformance::LivePerformance(store::Store* store, Options options, const Clock* clock)
    : store_(store), options_(options), clock_(clock) {
  for (Shard& shard : shards_) shard.by_id.reserve(options_.capacity / kShards + 1);
}

void LivePerformance::Trim(Window* w) const {
  const int64_t oldest =
      options_.window_seconds > 0 ? clock_->NowMillis() - options_.window_seconds * 1000 : 0;
  while (!w->labels.empty() &&
         (w->labels.size() > options_.window_rows || w->times.front() < oldest)) {
    w->labels.pop_front();
    w->times.pop_front();
    for (int64_t c = 0; c < w->outputs_per_row; ++c) w->outputs.pop_front();
  }
}

void LivePerformance::Remember(const std::string& id, const std::string& model, int64_t version,
                               const std::string& kind, const std::vector<float>& outputs,
                               int64_t rows) {
  if (options_.capacity < kShards) return;
  Shard& shard = shards_[std::hash<std::string>{}(id) % kShards];
  std::lock_guard lock(shard.mu);
  shard.by_id[id] = Remembered{model, version, kind, rows, outputs};
  shard.order.push_back(id);
  while (shard.order.size() > options_.capacity / kShards) {
    shard.by_id.erase(shard.order.front());
    shard.order.pop_front();
  }
}

StatusOr<LivePerformance::Remembered> LivePerformance::Find(const std::string& id) {
  {
    Shard& shard = shards_[std::hash<std::string>{}(id) % kShards];
    std::lock_guard lock(shard.mu);
    if (auto it = shard.by_id.find(id); it != shard.by_id.end()) return it->second;
  }
  if (store_ == nullptr) return NotFound("unknown prediction id '" + id + "'");
  auto record = store_->GetPrediction(id);
  if (record.status().code() == StatusCode::kNotFound) {
    return NotFound("unknown prediction id '" + id + "'");
  }
  if (!record.ok()) return record.status();
  return Remembered{std::move(record->model), record->version, std::move(record->kind),
                    record->rows, std::move(record->outputs)};
}

Status LivePerformance::AddFeedback(const std::string& id, const std::vector<float>& labels) {
  ASSIGN_OR_RETURN(Remembered r, Find(id));
  if (static_cast<int64_t>(labels.size()) != r.rows) {
    return InvalidArgument("prediction '" + id + "' has " + std::to_string(r.rows) +
                           " rows; feedback has " + std::to_string(labels.size()) + " labels");
  }
  const int64_t per_row = r.rows ? static_cast<int64_t>(r.outputs.size()) / r.rows : 1;
  std::lock_guard lock(windows_mu_);
  Window& w = windows_[{r.model, r.version}];
  w.kind = r.kind;
  w.outputs_per_row = per_row;
  const int64_t now = clock_->NowMillis();
  for (int64_t i = 0; i < r.rows; ++i) {
    w.labels.push_back(labels[i]);
    w.times.push_back(now);
    for (int64_t c = 0; c < per_row; ++c) w.outputs.push_back(r.outputs[i * per_row + c]);
  }
  Trim(&w);
  // The first feedback of an interval records the window in the history.
  const int64_t interval_ms = options_.history_interval_seconds * 1000;
  if (interval_ms > 0 && options_.history_points > 0 &&
      (w.history.empty() || now / interval_ms != w.history.back().time_ms / interval_ms)) {
    w.history.push_back(Score(w, now));
    if (w.history.size() > options_.history_points) w.history.pop_front();
  }
  return Status::Ok();
}

PerformancePoint LivePerformance::Score(const Window& w, int64_t now_ms) {
  PerformancePoint point{now_ms, static_cast<int64_t>(w.labels.size()), {}};
  if (w.labels.empty()) return point;
  std::vector<float> labels(w.labels.begin(), w.labels.end());
  std::vector<float> outputs(w.outputs.begin(), w.outputs.end());
  if (w.kind == "binary") {
    point.metrics = {{"auc", Auc(labels, outputs)},
                     {"logloss", LogLoss(labels, outputs)},
                     {"accuracy", BinaryAccuracy(labels, outputs)}};
  } else if (w.kind == "multiclass") {
    const int classes = static_cast<int>(w.outputs_per_row);
    point.metrics = {{"logloss", MultiLogLoss(labels, outputs, classes)},
                     {"accuracy", MultiAccuracy(labels, outputs, classes)}};
  } else {
    point.metrics = {{"rmse", Rmse(labels, outputs)}, {"mae", Mae(labels, outputs)}};
  }
  return point;
}

std::vector<PerformanceReport> LivePerformance::Reports() const {
  std::lock_guard lock(windows_mu_);
  std::vector<PerformanceReport> out;
  const int64_t now = clock_->NowMillis();
  for (auto& [key, w] : windows_) {
    Trim(&w);
    PerformancePoint point = Score(w, now);
    out.push_back({key.first, key.second, w.kind, point.rows, std::move(point.metrics),
                   {w.history.begin(), w.history.end()}});
  }
  return out;
}

}  // namespace inferd::monitor
