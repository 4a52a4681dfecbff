#include "model/batcher.h"

#include <algorithm>
#include <cstring>

namespace inferd::model {

DynamicBatcher::DynamicBatcher(std::shared_ptr<const Model> model, OutputKind kind,
                               BatchingOptions options)
    : model_(std::move(model)), kind_(kind), options_(options) {}

int64_t DynamicBatcher::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

int64_t DynamicBatcher::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

Status DynamicBatcher::Predict(const float* rows, int64_t num_rows, std::vector<float>* out,
                               int64_t* executions) {
  int64_t led = 0;
  if (executions) *executions = 0;
  if (num_rows >= options_.preferred_batch_rows) {
    if (executions) *executions = 1;
    {
      std::lock_guard lock(mu_);
      ++calls_;
      ++requests_;
    }
    return model_->Predict(rows, num_rows, kind_, out);
  }
  Pending me{rows, num_rows, out, Status::Ok()};
  std::unique_lock lock(mu_);
  queue_.push_back(&me);
  queued_rows_ += num_rows;
  if (queued_rows_ >= options_.preferred_batch_rows) cv_.notify_all();
  while (!me.done) {
    if (!leading_) {
      Lead(lock);
      ++led;
    } else {
      cv_.wait(lock);
    }
  }
  if (executions) *executions = led;
  return me.status;
}

// Called with the lock held and no leader; returns with the lock held.
void DynamicBatcher::Lead(std::unique_lock<std::mutex>& lock) {
  leading_ = true;
  const auto deadline = std::chrono::steady_clock::now() + options_.max_queue_delay;
  cv_.wait_until(lock, deadline, [&] { return queued_rows_ >= options_.preferred_batch_rows; });
  std::vector<Pending*> batch;
  int64_t total = 0;
  while (!queue_.empty() &&
         (batch.empty() || total + queue_.front()->num_rows <= options_.max_batch_rows)) {
    batch.push_back(queue_.front());
    total += queue_.front()->num_rows;
    queue_.pop_front();
  }
  queued_rows_ -= total;
  ++calls_;
  requests_ += static_cast<int64_t>(batch.size());
  lock.unlock();

  const int64_t width = model_->info().num_features;
  std::vector<float> inputs(static_cast<size_t>(total * width));
  float* at = inputs.data();
  for (const Pending* p : batch) {
    std::memcpy(at, p->rows, static_cast<size_t>(p->num_rows * width) * sizeof(float));
    at += p->num_rows * width;
  }
  std::vector<float> outputs;
  Status status = model_->Predict(inputs.data(), total, kind_, &outputs);
  const size_t per_row = total > 0 ? outputs.size() / static_cast<size_t>(total) : 0;
  size_t offset = 0;
  for (Pending* p : batch) {
    p->status = status;
    if (status.ok()) {
      const size_t n = static_cast<size_t>(p->num_rows) * per_row;
      p->out->assign(outputs.begin() + offset, outputs.begin() + offset + n);
      offset += n;
    }
  }

  lock.lock();
  for (Pending* p : batch) p->done = true;
  leading_ = false;
  cv_.notify_all();  // the batch's requests, and a new leader for those still queued
}

}  // namespace inferd::model
