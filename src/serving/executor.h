// Executor: worker threads for the work that must not run on an event loop
// (store I/O, model loads, artifact transfers, batching waits). Event loops
// hand it a job and go on serving other connections; the job posts its reply
// back to the connection's loop.
//
// The queue is bounded: past `max_queued` waiting jobs Submit refuses, so
// overload turns into a clear 503 instead of unbounded memory and latency.
// Thread-safety: Submit may be called from any thread. The destructor runs the
// jobs already queued, then joins the workers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"

namespace inferd::serving {

class Executor {
 public:
  struct Options {
    int threads = 4;            // blocking work, not CPU: more than the cores is fine
    size_t max_queued = 1024;   // jobs waiting for a thread
    // Added to the workers' nice value (Linux schedules threads by their own),
    // so that CPU-heavy admin work (a model build, a large upload stored)
    // yields the cores to the I/O threads that serve inference. 0: as the process.
    int nice = 10;
  };
  using Job = std::function<void()>;

  // InvalidArgument when threads < 1 or max_queued < 1.
  static StatusOr<std::unique_ptr<Executor>> Create(const Options& options);
  ~Executor();

  // Queues `job`. Unavailable (naming the limit) when max_queued jobs already
  // wait, or when the executor is being destroyed; the job is then not run.
  Status Submit(Job job);

  // Jobs waiting and running now.
  size_t queued() const;
  size_t running() const;

 private:
  explicit Executor(const Options& options) : options_(options) {}
  void Work();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;  // guarded by mu_
  size_t running_ = 0;    // guarded by mu_
  bool stopping_ = false; // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace inferd::serving
