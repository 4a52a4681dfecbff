#include "serving/executor.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

namespace inferd::serving {

StatusOr<std::unique_ptr<Executor>> Executor::Create(const Options& options) {
  if (options.threads < 1) return InvalidArgument("--worker-threads must be at least 1");
  if (options.max_queued < 1) return InvalidArgument("--worker-queue must be at least 1");
  std::unique_ptr<Executor> executor(new Executor(options));
  // Workers leave shutdown signals to the thread that waits for them.
  sigset_t signals, old;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, &old);
  for (int i = 0; i < options.threads; ++i) {
    executor->threads_.emplace_back([e = executor.get(), nice = options.nice] {
      // Best effort: without CAP_SYS_NICE a thread may still lower its priority.
      if (nice != 0) ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice);
      e->Work();
    });
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return executor;
}

Executor::~Executor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& thread : threads_) thread.join();
}

Status Executor::Submit(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Unavailable("server is shutting down");
    if (jobs_.size() >= options_.max_queued) {
      return Unavailable("server busy: " + std::to_string(jobs_.size()) +
                         " jobs wait for a worker (limit --worker-queue " +
                         std::to_string(options_.max_queued) + ")");
    }
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return Status::Ok();
}

size_t Executor::queued() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

size_t Executor::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

void Executor::Work() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and nothing left to run
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    job();
    job = nullptr;  // what the job holds is released outside the lock
    lock.lock();
    --running_;
  }
}

}  // namespace inferd::serving
