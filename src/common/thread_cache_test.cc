#include "common/thread_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace inferd {
namespace {

// An owner as the server's are written: values in a deque under a mutex,
// found or created by key, with a ThreadCache in front. Counts its lookups.
class Owner {
 public:
  int* Get(std::string_view name, int64_t number) {
    return cache_.Get(NameNumberView(name, number), [&] {
      lookups_.fetch_add(1);
      std::lock_guard lock(mu_);
      auto [it, inserted] = index_.try_emplace(NameNumber(name, number), nullptr);
      if (inserted) it->second = &values_.emplace_back(static_cast<int>(values_.size()));
      return it->second;
    });
  }
  int* Find(std::string_view name, int64_t number) {
    int* const* value = cache_.Find(NameNumberView(name, number));
    return value ? *value : nullptr;
  }
  int lookups() const { return lookups_.load(); }
  size_t created() {
    std::lock_guard lock(mu_);
    return values_.size();
  }

 private:
  std::mutex mu_;
  std::deque<int> values_;            // guarded by mu_
  std::map<NameNumber, int*> index_;  // guarded by mu_
  std::atomic<int> lookups_{0};
  NameNumberCache<int*> cache_;
};

using OwnerCache = NameNumberCache<int*>;

TEST(ThreadCacheTest, LooksUpOncePerThreadAndKey) {
  Owner owner;
  int* a = owner.Get("iris", 1);
  EXPECT_EQ(owner.Get("iris", 1), a);
  EXPECT_EQ(owner.Get(std::string("iris"), 1), a);
  EXPECT_EQ(owner.lookups(), 1);
  int* b = owner.Get("iris", 2);
  int* c = owner.Get("iri", 1);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(owner.lookups(), 3);
  EXPECT_EQ(owner.created(), 3u);
}

TEST(ThreadCacheTest, FindNeverLooksUp) {
  Owner owner;
  EXPECT_EQ(owner.Find("iris", 1), nullptr);
  int* a = owner.Get("iris", 1);
  EXPECT_EQ(owner.Find("iris", 1), a);
  int* elsewhere = a;
  std::thread([&] { elsewhere = owner.Find("iris", 1); }).join();
  EXPECT_EQ(elsewhere, nullptr);  // that thread has not looked it up
  EXPECT_EQ(owner.lookups(), 1);
}

TEST(ThreadCacheTest, TwoOwnersNeverEvictEachOther) {
  Owner first, second;
  for (int i = 0; i < 100; ++i) {
    int* a = first.Get("iris", 1);
    int* b = second.Get("iris", 1);
    EXPECT_NE(a, b);
    EXPECT_EQ(first.Find("iris", 1), a);
    EXPECT_EQ(second.Find("iris", 1), b);
  }
  EXPECT_EQ(first.lookups(), 1);
  EXPECT_EQ(second.lookups(), 1);
}

TEST(ThreadCacheTest, AnOwnerAtAReusedAddressStartsEmpty) {
  alignas(Owner) unsigned char storage[sizeof(Owner)];
  Owner* first = new (storage) Owner;
  first->Get("iris", 1);
  first->~Owner();
  Owner* second = new (storage) Owner;  // same address, new owner
  EXPECT_EQ(second->Find("iris", 1), nullptr);
  int* fresh = second->Get("iris", 1);
  EXPECT_EQ(second->lookups(), 1);
  EXPECT_EQ(*fresh, 0);
  second->~Owner();
}

TEST(ThreadCacheTest, DestroyedOwnersAreDroppedAtTheNextMiss) {
  Owner keeper;
  keeper.Get("a", 1);
  const size_t before = OwnerCache::OwnersOnThisThread();
  {
    Owner gone1, gone2;
    gone1.Get("a", 1);
    gone2.Get("a", 1);
    EXPECT_EQ(OwnerCache::OwnersOnThisThread(), before + 2);
  }
  EXPECT_EQ(OwnerCache::OwnersOnThisThread(), before + 2);  // dropped lazily
  keeper.Get("b", 1);                                       // a miss
  EXPECT_EQ(OwnerCache::OwnersOnThisThread(), before);
  EXPECT_NE(keeper.Find("a", 1), nullptr);  // the live owner's memo stays
}

TEST(ThreadCacheTest, ThreadsShareOneValuePerKey) {
  Owner owner;
  constexpr int kThreads = 8, kKeys = 50, kRounds = 20;
  std::vector<std::vector<int*>> seen(kThreads, std::vector<int*>(kKeys));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      for (int round = 0; round < kRounds; ++round) {
        for (int k = 0; k < kKeys; ++k) {
          int* value = owner.Get("model", k);
          if (round == 0) seen[t][k] = value;
          ASSERT_EQ(value, seen[t][k]);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(owner.created(), static_cast<size_t>(kKeys));  // one value per key
  EXPECT_EQ(owner.lookups(), kThreads * kKeys);            // one lookup per thread and key
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t], seen[0]);
}

TEST(ThreadCacheTest, OwnersComeAndGoWhileOthersRead) {
  Owner stable;
  int* expected = stable.Get("x", 1);
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      int i = 0;
      while (!stop.load()) {
        ASSERT_EQ(*stable.Get("x", 1), *expected);
        stable.Get("y", t * 100000 + i++ % 1000);  // misses, so dead owners get dropped
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    Owner transient;
    int* a = transient.Get("x", 1);
    EXPECT_EQ(transient.Get("x", 1), a);
    EXPECT_EQ(transient.lookups(), 1);
  }
  stop.store(true);
  for (auto& reader : readers) reader.join();
}

}  // namespace
}  // namespace inferd
