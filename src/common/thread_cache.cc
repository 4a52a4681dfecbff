#include "common/thread_cache.h"

#include <atomic>
#include <mutex>
#include <unordered_set>

namespace inferd::thread_cache_internal {
namespace {

struct Owners {
  std::atomic<uint64_t> next_id{1};  // 0 means "no owner" in PerThread
  std::atomic<uint64_t> generation{0};
  std::mutex mu;
  std::unordered_set<uint64_t> live;  // guarded by mu
};

// Never destroyed: owners that are statics may unregister during exit.
Owners& GetOwners() {
  static Owners* owners = new Owners;
  return *owners;
}

}  // namespace

uint64_t RegisterOwner() {
  Owners& owners = GetOwners();
  const uint64_t id = owners.next_id.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(owners.mu);
  owners.live.insert(id);
  return id;
}

void UnregisterOwner(uint64_t id) {
  Owners& owners = GetOwners();
  {
    std::lock_guard lock(owners.mu);
    owners.live.erase(id);
  }
  owners.generation.fetch_add(1, std::memory_order_release);
}

uint64_t Generation() { return GetOwners().generation.load(std::memory_order_acquire); }

bool IsLive(uint64_t id) {
  Owners& owners = GetOwners();
  std::lock_guard lock(owners.mu);
  return owners.live.count(id) > 0;
}

}  // namespace inferd::thread_cache_internal
