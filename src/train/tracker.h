// The tracker of a distributed training job, and each worker's link to it.
//
// libxgboost 1.7's collective (rabit) needs a tracker: a rendezvous that each
// worker connects to from XGCommunicatorInit to learn its rank and the peers
// it exchanges gradient statistics with, and again at XGCommunicatorFinalize
// to say it has finished. XGBoost ships its tracker in Python only; Tracker is
// inferd's own, speaking the protocol the workers' libxgboost expects
// (docs/training.md describes it): rank = the worker's task id (its index in
// the job), and the tree and ring of links rabit's allreduce runs over.
//
// Tracker also watches the job, which rabit does not: every inferd worker
// holds a second connection to it (same port, its own magic number) with
// heartbeats, its round, and its outcome (TrackerLink). A worker that does not
// arrive within the rendezvous timeout, dies (its connection closes), stalls
// (sends nothing within the heartbeat timeout) or reports a failure stops the
// job: the tracker tells every other worker to abort with one message naming
// the worker, and Wait returns that message. When a failure is reported the
// tracker waits a moment for a dead or stalled worker that explains it (a
// worker's allreduce fails because a peer died), and names that one.
//
// Thread-safety: Tracker runs on its own thread; port() and Wait() may be
// called from any thread. TrackerLink's methods may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "train/socket.h"

namespace inferd::train {

// rabit's magic number, and the one inferd's control connections open with.
inline constexpr int32_t kRabitMagic = 0xff99;
inline constexpr int32_t kControlMagic = 0x696e6664;  // "infd"

struct TrackerOptions {
  std::string host = "0.0.0.0";
  int port = 0;  // 0: any free port (port() says which)
  int workers = 1;
  // Every worker must have connected within this time of the start.
  std::chrono::milliseconds rendezvous_timeout{300'000};
  // A connected worker that sends nothing for this long has stalled.
  std::chrono::milliseconds heartbeat_timeout{30'000};
  // How long a reported failure waits for a dead or stalled worker that explains it.
  std::chrono::milliseconds failure_grace{1'000};
  std::function<void(const std::string&)> log;  // progress lines
};

// rabit's links for `workers` ranks: the tree (neighbours, parent) and the
// ring (previous, next), ring order being rank order.
struct LinkMap {
  std::vector<std::vector<int>> tree;
  std::vector<int> parent;
  std::vector<std::pair<int, int>> ring;
};
LinkMap MakeLinkMap(int workers);

class Tracker {
 public:
  // Listens and starts the tracker's thread. Unavailable when the port is taken.
  static StatusOr<std::unique_ptr<Tracker>> Start(const TrackerOptions& options);
  ~Tracker();
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  int port() const { return port_; }
  // Blocks until the job ends: OK when every worker finished, else the
  // message naming the worker that stopped it.
  Status Wait();

 private:
  struct State;
  Tracker() = default;

  int port_ = 0;
  std::unique_ptr<State> state_;
};

// A worker's control connection to the tracker.
class TrackerLink {
 public:
  using AbortFn = std::function<void(const std::string& message)>;
  // Connects to host:port (retrying until `deadline`: the tracker's pod may
  // start later) as worker `index` of `workers`; `tracker_name` names the
  // tracker in messages (e.g. "worker 0's tracker"). A thread then sends
  // heartbeats (four per `heartbeat_timeout`, at most one a second: give the
  // tracker the same timeout) and listens: `on_abort` is called (once, from that
  // thread) with the tracker's message when it stops the job, or when the
  // tracker goes away (its connection closes, or it is silent for
  // `heartbeat_timeout`). The caller decides what aborting means (the CLI
  // exits, as a blocked collective call cannot be interrupted).
  static StatusOr<std::unique_ptr<TrackerLink>> Connect(const std::string& host, int port,
                                                        int index, int workers, Deadline deadline,
                                                        std::chrono::milliseconds heartbeat_timeout,
                                                        const std::string& tracker_name,
                                                        AbortFn on_abort);
  ~TrackerLink();
  TrackerLink(const TrackerLink&) = delete;
  TrackerLink& operator=(const TrackerLink&) = delete;

  void Round(int round);
  // The worker finished its part of the job.
  void Done();
  // The worker failed; the tracker stops the job with `message`, or with a
  // root cause that explains it (a peer that died first). Waits up to `wait`
  // for the tracker's verdict and returns it (empty when none came).
  std::string Failed(const std::string& message, std::chrono::milliseconds wait);

 private:
  struct State;
  TrackerLink() = default;
  std::unique_ptr<State> state_;
};

}  // namespace inferd::train
