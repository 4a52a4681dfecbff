// The tracker's link map and its watch over workers, with TrackerLinks as the workers. The
// rabit handshake itself is tested against real libxgboost workers in
// tests/integration/test_distributed_training.py.
#include "train/tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <set>

namespace inferd::train {
namespace {

using namespace std::chrono_literals;

TEST(LinkMapTest, TreeAndRingAreConsistentForAnySize) {
  for (int n = 1; n <= 13; ++n) {
    const LinkMap map = MakeLinkMap(n);
    EXPECT_EQ(map.parent[0], -1);
    std::set<int> ring;
    for (int r = 0; r < n; ++r) {
      for (int x : map.tree[r]) {  // neighbours are mutual
        const auto& back = map.tree[x];
        EXPECT_TRUE(std::find(back.begin(), back.end(), r) != back.end()) << n << " " << r;
      }
      if (r > 0) {
        const auto& mine = map.tree[r];
        EXPECT_TRUE(std::find(mine.begin(), mine.end(), map.parent[r]) != mine.end());
      }
      EXPECT_EQ(map.ring[map.ring[r].second].first, r);  // next's previous is me
      EXPECT_EQ(map.ring[r].second, (r + 1) % n);        // ring order is rank order
      ring.insert(map.ring[r].second);
    }
    EXPECT_EQ(ring.size(), static_cast<size_t>(n));
    int edges = 0;
    for (const auto& t : map.tree) edges += static_cast<int>(t.size());
    EXPECT_EQ(edges, 2 * (n - 1)) << n;  // a tree
  }
  EXPECT_EQ(MakeLinkMap(4).tree[0], (std::vector<int>{1, 3}));
}

struct Aborts {
  std::promise<std::string> message;
  TrackerLink::AbortFn Fn() {
    return [this](const std::string& m) { message.set_value(m); };
  }
};

std::unique_ptr<Tracker> StartTracker(int workers, std::chrono::milliseconds rendezvous,
                                      std::chrono::milliseconds heartbeat = 5s,
                                      std::chrono::milliseconds failure_grace = 100ms) {
  auto tracker = Tracker::Start({.host = "127.0.0.1",
                                 .workers = workers,
                                 .rendezvous_timeout = rendezvous,
                                 .heartbeat_timeout = heartbeat,
                                 .failure_grace = failure_grace});
  EXPECT_TRUE(tracker.ok()) << tracker.status().ToString();
  return std::move(*tracker);
}

std::unique_ptr<TrackerLink> Join(const Tracker& tracker, int index, int workers, Aborts* aborts,
                                  std::chrono::milliseconds heartbeat = 5s) {
  auto link = TrackerLink::Connect("127.0.0.1", tracker.port(), index, workers,
                                   std::chrono::steady_clock::now() + 5s, heartbeat, "the tracker",
                                   aborts->Fn());
  EXPECT_TRUE(link.ok()) << link.status().ToString();
  return std::move(*link);
}

TEST(TrackerTest, AWorkerThatNeverArrivesStopsTheOthers) {
  auto tracker = StartTracker(3, 300ms);
  Aborts a0, a2;
  auto w0 = Join(*tracker, 0, 3, &a0);
  auto w2 = Join(*tracker, 2, 3, &a2);
  const std::string expected = "worker 1 of 3 never connected to the tracker (waited 300 ms)";
  EXPECT_EQ(tracker->Wait().message(), expected);
  auto future = a0.message.get_future();
  ASSERT_EQ(future.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(future.get(), expected);
  EXPECT_EQ(a2.message.get_future().get(), expected);
}

TEST(TrackerTest, AWorkerThatVanishesIsNamedAndAFailureExplainedByIt) {
  // A grace long enough for the death to come within it however loaded the machine; the
  // death ends the wait at once.
  auto tracker = StartTracker(3, 5s, 5s, 10s);
  Aborts a0, a1, a2;
  auto w0 = Join(*tracker, 0, 3, &a0);
  auto w1 = Join(*tracker, 1, 3, &a1);
  auto w2 = Join(*tracker, 2, 3, &a2);
  w2->Round(7);
  std::this_thread::sleep_for(100ms);
  // A symptom, reported first: the failing worker waits for the verdict.
  auto verdict =
      std::async(std::launch::async, [&] { return w0->Failed("allreduce failed", 30s); });
  std::this_thread::sleep_for(100ms);
  w2.reset();  // the cause: its connection closes
  const Status job = tracker->Wait();
  EXPECT_NE(job.message().find("worker 2 (127.0.0.1) died at round 7"), std::string::npos)
      << job.message();
  EXPECT_EQ(a1.message.get_future().get(), job.message());
  EXPECT_EQ(verdict.get(), job.message());
}

TEST(TrackerTest, EveryWorkerDoneEndsTheJobAndTwoClaimsToAnIndexFailIt) {
  auto tracker = StartTracker(2, 5s);
  Aborts a0, a1;
  auto w0 = Join(*tracker, 0, 2, &a0);
  auto w1 = Join(*tracker, 1, 2, &a1);
  w1->Done();
  w0->Done();
  EXPECT_TRUE(tracker->Wait().ok());

  auto second = StartTracker(2, 5s);
  Aborts b0, b1, b2;
  auto x0 = Join(*second, 0, 2, &b0);
  auto x1 = Join(*second, 0, 2, &b1);
  EXPECT_NE(second->Wait().message().find("two workers claim index 0"), std::string::npos);
  auto other = StartTracker(2, 5s);
  auto y0 = Join(*other, 1, 3, &b2);
  EXPECT_EQ(other->Wait().message(),
            "worker 1 (127.0.0.1) was started for 3 workers, the tracker for 2");
}

TEST(TrackerTest, ASilentWorkerStallsTheJobAndALostTrackerStopsTheWorkers) {
  // A peer that connects and says hello but never beats.
  auto tracker = StartTracker(2, 5s, 300ms);
  Aborts a0;
  auto w0 = Join(*tracker, 0, 2, &a0, 300ms);
  auto silent =
      Socket::Connect("127.0.0.1", tracker->port(), std::chrono::steady_clock::now() + 1s);
  ASSERT_TRUE(silent.ok());
  const Deadline soon = std::chrono::steady_clock::now() + 1s;
  ASSERT_TRUE(silent->SendInt(kControlMagic, soon).ok());
  ASSERT_TRUE(silent->RecvInt(soon).ok());
  ASSERT_TRUE(silent->SendString("hello 1 2", soon).ok());
  EXPECT_EQ(tracker->Wait().message(),
            "worker 1 (127.0.0.1) sent nothing for 300 ms at round 0: stopped, hung or cut off");

  // A tracker that goes away.
  auto gone = StartTracker(1, 5s);
  Aborts lost;
  auto link = Join(*gone, 0, 1, &lost);
  gone.reset();
  auto future = lost.message.get_future();
  ASSERT_EQ(future.wait_for(3s), std::future_status::ready);
  EXPECT_NE(future.get().find("lost the tracker at 127.0.0.1:"), std::string::npos);
}

}  // namespace
}  // namespace inferd::train
