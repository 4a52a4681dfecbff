#include "monitor/prediction_retention.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <limits>

namespace inferd::monitor {
namespace {

// Size rounds per pass: the first deletes what the average record predicts,
// the others correct for records larger or smaller than the average.
constexpr int kSizeRounds = 4;
constexpr int64_t kMsPerSecond = 1000;

}  // namespace

StatusOr<std::unique_ptr<PredictionRetention>> PredictionRetention::Create(
    store::Store* store, const Options& options, const Clock* clock) {
  if (options.batch <= 0) return InvalidArgument("retention batch must be above 0");
  std::unique_ptr<PredictionRetention> retention(new PredictionRetention(store, options, clock));
  const int64_t ttl_seconds = (options.max_age_ms + kMsPerSecond - 1) / kMsPerSecond;
  Status ttl = store->SetPredictionTtl(ttl_seconds);
  if (ttl.ok()) {
    retention->server_expires_ = ttl_seconds > 0;
  } else if (ttl.code() != StatusCode::kUnimplemented) {
    return ttl;
  }
  if (options.background && (options.max_age_ms > 0 || options.max_bytes > 0)) {
    retention->thread_ = std::thread([raw = retention.get()] { raw->Run(); });
    pthread_setname_np(retention->thread_.native_handle(), "predlog-retain");
  }
  return retention;
}

PredictionRetention::~PredictionRetention() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PredictionRetention::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto deleted = RunOnce();
    if (!deleted.ok()) {
      spdlog::warn("prediction retention: {}", deleted.status().message());
    } else if (*deleted > 0) {
      spdlog::info("prediction retention: deleted {} records", *deleted);
    }
    lock.lock();
    cv_.wait_for(lock, options_.interval, [this] { return stop_; });
  }
}

StatusOr<int64_t> PredictionRetention::DeleteOldest(int64_t before_ms, int64_t limit,
                                                    std::atomic<int64_t>* counter) {
  int64_t total = 0;
  while (total < limit) {
    const int64_t want = std::min(options_.batch, limit - total);
    ASSIGN_OR_RETURN(int64_t deleted, store_->DeleteOldestPredictions(before_ms, want));
    total += deleted;
    counter->fetch_add(deleted);
    if (deleted < want) break;
  }
  return total;
}

StatusOr<int64_t> PredictionRetention::RunOnce() {
  auto pass = [&]() -> StatusOr<int64_t> {
    int64_t total = 0;
    if (options_.max_age_ms > 0 && !server_expires_) {
      ASSIGN_OR_RETURN(int64_t expired,
                       DeleteOldest(clock_->NowMillis() - options_.max_age_ms,
                                    std::numeric_limits<int64_t>::max(), &expired_));
      total += expired;
    }
    ASSIGN_OR_RETURN(store::PredictionLogSize size, store_->GetPredictionLogSize());
    for (int round = 0; round < kSizeRounds && options_.max_bytes > 0 &&
                        size.bytes > options_.max_bytes && size.records > 0;
         ++round) {
      const int64_t average = std::max<int64_t>(1, size.bytes / size.records);
      const int64_t excess = (size.bytes - options_.max_bytes + average - 1) / average;
      ASSIGN_OR_RETURN(int64_t deleted,
                       DeleteOldest(std::numeric_limits<int64_t>::max(), excess, &oversize_));
      total += deleted;
      ASSIGN_OR_RETURN(size, store_->GetPredictionLogSize());
      if (deleted == 0) break;
    }
    records_.store(size.records);
    bytes_.store(size.bytes);
    return total;
  };
  auto result = pass();
  if (!result.ok()) errors_.fetch_add(1);
  return result;
}

RetentionStats PredictionRetention::stats() const {
  return {.expired = expired_.load(),
          .oversize = oversize_.load(),
          .errors = errors_.load(),
          .records = records_.load(),
          .bytes = bytes_.load(),
          .server_expires = server_expires_};
}

}  // namespace inferd::monitor
