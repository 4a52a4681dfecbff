// Clock: the wall clock, injectable so that tests control time.
#pragma once

#include <chrono>
#include <cstdint>

namespace inferd {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance; stateless, so safe to share.
  static const SystemClock* Get() {
    static const SystemClock clock;
    return &clock;
  }
};

// A clock that tests set by hand. Not thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_millis) : now_(now_millis) {}
  int64_t NowMillis() const override { return now_; }
  void Advance(int64_t millis) { now_ += millis; }

 private:
  int64_t now_;
};

}  // namespace inferd
