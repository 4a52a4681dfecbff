// ThreadCache: a per-thread memo in front of an owner's shared, locked
// find-or-create, so that a hot path (a metrics series, a drift window) finds
// what it needs without a lock once its thread has looked the key up before.
//
// The owner (ServerMetrics, DriftMonitor, ...) keeps the values in a map under
// its own mutex and holds a ThreadCache member. Get(key, lookup) answers from
// the calling thread's memo; only on a miss does it call `lookup`, the owner's
// locked find-or-create, and remember the result.
//
// Contract:
//  - `lookup` decides identity: it must return the same value for the same
//    key on every thread (find-or-create under one mutex). The cache only
//    remembers; it never creates. A lookup that created a value per call would
//    give each thread its own value, which is the bug this helper exists to
//    keep out (one metrics series printed once per I/O thread).
//  - Values are small handles (pointers) that stay valid and unchanged for the
//    owner's lifetime: a memoised entry is never refreshed or invalidated.
//  - Each ThreadCache has a process-unique id, never reused, and each thread's
//    memo is kept per id: two owners never see or evict each other's entries,
//    and an owner built at a destroyed owner's address starts empty.
//  - Memory: a thread keeps an owner's memo until the thread exits; memos of
//    destroyed owners are dropped at that thread's next miss.
//
// Thread-safety: Get and Find may be called from any thread at once; after a
// thread's first Get of a key, Get of that key takes no lock. `lookup` runs
// with no lock of the cache held. The owner must outlive every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace inferd {

namespace thread_cache_internal {
// The process-wide table of live owner ids (thread_cache.cc).
uint64_t RegisterOwner();           // a new id, never reused
void UnregisterOwner(uint64_t id);  // also bumps Generation()
uint64_t Generation();              // changes whenever an owner goes away
bool IsLive(uint64_t id);
}  // namespace thread_cache_internal

template <typename Key, typename Value, typename Hash = std::hash<Key>,
          typename Equal = std::equal_to<>>
class ThreadCache {
 public:
  ThreadCache() : id_(thread_cache_internal::RegisterOwner()) {}
  ~ThreadCache() { thread_cache_internal::UnregisterOwner(id_); }
  ThreadCache(const ThreadCache&) = delete;
  ThreadCache& operator=(const ThreadCache&) = delete;

  // The value this thread memoised for `key`, else `lookup()`'s, which is then
  // memoised. `key` may be any type Hash and Equal take (heterogeneous lookup)
  // from which a Key can be built.
  template <typename K, typename Lookup>
  Value Get(const K& key, Lookup&& lookup) const {
    Memo& memo = Mine();
    if (auto it = memo.find(key); it != memo.end()) return it->second;
    DropDeadOwners();
    Value value = std::forward<Lookup>(lookup)();
    memo.emplace(Key(key), value);
    return value;
  }

  // The value this thread memoised for `key`, or nullptr. Never locks.
  template <typename K>
  const Value* Find(const K& key) const {
    Memo& memo = Mine();
    auto it = memo.find(key);
    return it == memo.end() ? nullptr : &it->second;
  }

  // How many owners the calling thread holds memos for (for tests).
  static size_t OwnersOnThisThread() { return Local().memos.size(); }

 private:
  using Memo = std::unordered_map<Key, Value, Hash, Equal>;
  struct PerThread {
    std::unordered_map<uint64_t, Memo> memos;  // by owner id; nodes never move
    uint64_t last_id = 0;                      // the owner asked last, and its memo
    Memo* last = nullptr;
    uint64_t generation = 0;  // thread_cache_internal::Generation() at the last drop
  };

  static PerThread& Local() {
    thread_local PerThread local;
    return local;
  }

  Memo& Mine() const {
    PerThread& local = Local();
    if (local.last_id != id_) {
      local.last = &local.memos[id_];
      local.last_id = id_;
    }
    return *local.last;
  }

  static void DropDeadOwners() {
    PerThread& local = Local();
    const uint64_t generation = thread_cache_internal::Generation();
    if (generation == local.generation) return;
    local.generation = generation;
    for (auto it = local.memos.begin(); it != local.memos.end();) {
      if (thread_cache_internal::IsLive(it->first)) {
        ++it;
        continue;
      }
      if (it->first == local.last_id) {
        local.last_id = 0;
        local.last = nullptr;
      }
      it = local.memos.erase(it);
    }
  }

  const uint64_t id_;
};

// The key the server's caches use: a name and a number (model and version,
// route and status code). Looked up as a pair of string_view and integer, so
// a hit builds no std::string.
using NameNumber = std::pair<std::string, int64_t>;
using NameNumberView = std::pair<std::string_view, int64_t>;

struct NameNumberHash {
  using is_transparent = void;
  size_t operator()(NameNumberView key) const noexcept {
    constexpr uint64_t kMix = 0x9e3779b97f4a7c15;  // 2^64 / golden ratio
    return std::hash<std::string_view>{}(key.first) ^
           static_cast<size_t>(static_cast<uint64_t>(key.second) * kMix);
  }
};

struct NameNumberEqual {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const noexcept {
    return a.first == b.first && a.second == b.second;
  }
};

template <typename Value>
using NameNumberCache = ThreadCache<NameNumber, Value, NameNumberHash, NameNumberEqual>;

}  // namespace inferd
