#include "train/tracker.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace inferd::train {
namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kHandshakeTimeout = 10s;  // one rabit or control handshake
constexpr auto kSendTimeout = 1s;
constexpr int kPollMillis = 100;
constexpr int kMaxLinkAttempts = 20;

// Heartbeats go out four times per timeout, at most once a second.
SteadyClock::duration BeatEvery(std::chrono::milliseconds timeout) {
  return std::clamp<SteadyClock::duration>(timeout / 4, 10ms, 1s);
}

Deadline In(SteadyClock::duration d) { return SteadyClock::now() + d; }

std::string Seconds(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  return ms % 1000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s";
}

// The tree of Python's tracker: rank r's parent is (r+1)/2-1, its children 2r+1, 2r+2.
std::vector<int> TreeNeighbours(int r, int n) {
  std::vector<int> out;
  if (r > 0) out.push_back((r + 1) / 2 - 1);
  if (2 * r + 1 < n) out.push_back(2 * r + 1);
  if (2 * r + 2 < n) out.push_back(2 * r + 2);
  return out;
}

// A ring through the tree that shares its edges where it can, from `r` down.
std::vector<int> ShareRing(int r, int n) {
  std::vector<int> out = {r};
  std::vector<int> children;
  for (int c : TreeNeighbours(r, n)) {
    if (c > r) children.push_back(c);
  }
  for (size_t i = 0; i < children.size(); ++i) {
    std::vector<int> below = ShareRing(children[i], n);
    if (i + 1 == children.size()) std::reverse(below.begin(), below.end());
    out.insert(out.end(), below.begin(), below.end());
  }
  return out;
}

}  // namespace

LinkMap MakeLinkMap(int n) {
  const std::vector<int> ring = ShareRing(0, n);
  std::vector<int> rank_of(n);  // relabelled so that ring order is rank order
  for (int i = 0; i < n; ++i) rank_of[ring[i]] = i;
  LinkMap map;
  map.tree.resize(n);
  map.parent.assign(n, -1);
  map.ring.resize(n);
  for (int r = 0; r < n; ++r) {
    for (int x : TreeNeighbours(r, n)) map.tree[rank_of[r]].push_back(rank_of[x]);
    std::sort(map.tree[rank_of[r]].begin(), map.tree[rank_of[r]].end());
    if (r > 0) map.parent[rank_of[r]] = rank_of[(r + 1) / 2 - 1];
  }
  for (int i = 0; i < n; ++i) map.ring[i] = {(i + n - 1) % n, (i + 1) % n};
  return map;
}

struct Tracker::State {
  struct Worker {
    bool arrived = false;     // a control hello, or (for a plain rabit worker) its start
    bool controlled = false;  // an inferd worker, with a control connection
    std::string host;
    Socket control;
    SteadyClock::time_point last_heard;
    int round = 0;
    bool done = false;
    bool failed = false;
    bool started = false;  // rabit start handled
    bool shut_down = false;
    int port = -1;
    int wait_accept = 0;  // peers that will still connect to it
  };

  TrackerOptions options;
  Socket listener;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;  // guarded by mu
  Status result;          // guarded by mu

  // The tracker thread's own state.
  std::vector<Worker> workers;
  LinkMap links;
  std::optional<std::pair<int, std::string>> failure;  // priority, message
  SteadyClock::time_point decide_at;

  void Log(const std::string& line) {
    if (options.log) options.log(line);
  }
  std::string Name(int i) const {
    const std::string& host = workers[i].host;
    return "worker " + std::to_string(i) + (host.empty() ? "" : " (" + host + ")");
  }
  // A failure: priority 2 for a root cause (a worker that died, stalled, never
  // came or is misconfigured), 1 for a worker's own report.
  void Report(int priority, const std::string& message) {
    if (!failure) decide_at = SteadyClock::now() + options.failure_grace;
    if (!failure || priority > failure->first) failure = {priority, message};
  }
  void Finish(Status status) {
    std::lock_guard lock(mu);
    finished = true;
    result = std::move(status);
    cv.notify_all();
  }

  void Run();
  void Accept();
  void HandleControl(Socket socket, const std::string& host, Deadline deadline);
  void HandleRabit(Socket socket, const std::string& host, Deadline deadline);
  Status Assign(Socket& socket, int rank, Deadline deadline);
  void ReadControl(int i);
  void Abort(const std::string& message);
};

void Tracker::State::Run() {
  const auto started = SteadyClock::now();
  const auto rendezvous_deadline = started + options.rendezvous_timeout;
  auto last_beat = started;
  bool all_arrived = false;
  while (!stop) {
    if (failure && (failure->first == 2 || SteadyClock::now() >= decide_at)) {
      Abort(failure->second);
      Finish(FailedPrecondition(failure->second));
      return;
    }
    std::vector<pollfd> fds = {{.fd = listener.fd(), .events = POLLIN, .revents = 0}};
    std::vector<int> owners = {-1};
    for (int i = 0; i < static_cast<int>(workers.size()); ++i) {
      if (workers[i].control.valid()) {
        fds.push_back({.fd = workers[i].control.fd(), .events = POLLIN, .revents = 0});
        owners.push_back(i);
      }
    }
    if (::poll(fds.data(), fds.size(), kPollMillis) > 0) {
      for (size_t f = 0; f < fds.size(); ++f) {
        if (fds[f].revents == 0) continue;
        if (owners[f] < 0) {
          Accept();
        } else {
          ReadControl(owners[f]);
        }
      }
    }
    const auto now = SteadyClock::now();
    if (now - last_beat >= BeatEvery(options.heartbeat_timeout)) {
      last_beat = now;
      for (auto& w : workers) {
        if (w.control.valid()) (void)w.control.SendString("beat", In(kSendTimeout));
      }
    }
    if (!all_arrived) {
      std::string missing;
      int arrived = 0;
      for (int i = 0; i < static_cast<int>(workers.size()); ++i) {
        if (workers[i].arrived) {
          ++arrived;
        } else {
          missing += (missing.empty() ? "" : ", ") + std::to_string(i);
        }
      }
      if (missing.empty()) {
        all_arrived = true;
        Log("all " + std::to_string(workers.size()) + " workers connected");
      } else if (now >= rendezvous_deadline) {
        Report(2, "worker" + std::string(arrived + 1 < options.workers ? "s " : " ") + missing +
                      " of " + std::to_string(options.workers) +
                      " never connected to the tracker (waited " +
                      Seconds(options.rendezvous_timeout) + ")");
      }
    }
    for (int i = 0; i < static_cast<int>(workers.size()); ++i) {
      Worker& w = workers[i];
      if (w.control.valid() && !w.done && !w.failed &&
          now - w.last_heard > options.heartbeat_timeout) {
        Report(2, Name(i) + " sent nothing for " + Seconds(options.heartbeat_timeout) +
                      " at round " + std::to_string(w.round) + ": stopped, hung or cut off");
        w.control.Close();
      }
    }
    const bool all_done = std::all_of(workers.begin(), workers.end(), [](const Worker& w) {
      return w.controlled ? w.done : w.shut_down;
    });
    if (all_done && !failure) {
      Log("job finished: all " + std::to_string(workers.size()) + " workers done");
      Finish(Status::Ok());
      return;
    }
  }
  Finish(Unavailable("the tracker was stopped"));
}

void Tracker::State::Accept() {
  auto accepted = listener.Accept(In(0s));
  if (!accepted.ok()) return;
  Socket socket = std::move(*accepted);
  const std::string host = socket.PeerAddress();
  const Deadline deadline = In(kHandshakeTimeout);
  auto magic = socket.RecvInt(deadline);
  if (!magic.ok()) return;
  if (*magic == kControlMagic) {
    HandleControl(std::move(socket), host, deadline);
  } else if (*magic == kRabitMagic) {
    HandleRabit(std::move(socket), host, deadline);
  } else {
    Log("ignored a connection from " + host + ": not a training worker");
  }
}

void Tracker::State::HandleControl(Socket socket, const std::string& host, Deadline deadline) {
  if (!socket.SendInt(kControlMagic, deadline).ok()) return;
  auto hello = socket.RecvString(deadline);
  int index = -1, count = -1;
  if (!hello.ok() || std::sscanf(hello->c_str(), "hello %d %d", &index, &count) != 2) {
    Log("ignored a control connection from " + host + ": no hello");
    return;
  }
  const std::string who = "worker " + std::to_string(index) + " (" + host + ")";
  if (count != options.workers) {
    Report(2, who + " was started for " + std::to_string(count) + " workers, the tracker for " +
                  std::to_string(options.workers));
    return;
  }
  if (index < 0 || index >= options.workers) {
    Report(2, who + ": the index must be below " + std::to_string(options.workers));
    return;
  }
  Worker& w = workers[index];
  if (w.controlled) {
    Report(2, "two workers claim index " + std::to_string(index) + " (" + w.host + " and " + host +
                  "): give each a different --worker-index");
    return;
  }
  w.arrived = true;
  w.controlled = true;
  w.host = host;
  w.control = std::move(socket);
  w.last_heard = SteadyClock::now();
  Log(who + " connected");
}

void Tracker::State::ReadControl(int i) {
  Worker& w = workers[i];
  for (;;) {
    pollfd p{.fd = w.control.fd(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, 0) <= 0) return;
    auto message = w.control.RecvString(In(kSendTimeout));
    if (!message.ok()) {
      w.control.Close();
      if (!w.done && !w.failed) {
        Report(2, Name(i) + " died at round " + std::to_string(w.round) +
                      ": its connection to the tracker closed");
      }
      return;
    }
    w.last_heard = SteadyClock::now();
    if (message->starts_with("round ")) {
      w.round = std::atoi(message->c_str() + 6);
    } else if (*message == "done") {
      w.done = true;
      Log(Name(i) + " done");
    } else if (message->starts_with("failed ")) {
      w.failed = true;
      Report(1, Name(i) + " failed: " + message->substr(7));
    }
  }
}

void Tracker::State::HandleRabit(Socket socket, const std::string& host, Deadline deadline) {
  if (!socket.SendInt(kRabitMagic, deadline).ok()) return;
  auto rank = socket.RecvInt(deadline);
  auto world = socket.RecvInt(deadline);
  auto task = rank.ok() && world.ok() ? socket.RecvString(deadline)
                                      : StatusOr<std::string>(Unavailable(""));
  auto command = task.ok() ? socket.RecvString(deadline) : StatusOr<std::string>(Unavailable(""));
  if (!command.ok()) {
    Log("a rabit worker at " + host + " broke off its handshake");
    return;
  }
  const std::string who = (*task == "NULL" ? "a worker" : "worker " + *task) + " (" + host + ")";
  if (*command == "print") {
    auto text = socket.RecvString(deadline);
    if (text.ok()) {
      while (!text->empty() && (text->back() == '\n' || text->back() == ' ')) text->pop_back();
      Log(who + ": " + *text);
    }
    return;
  }
  if (*command == "shutdown") {
    if (*rank >= 0 && *rank < options.workers) workers[*rank].shut_down = true;
    return;
  }
  if (*command == "recover") {
    Report(2, who + " lost a link to a peer and asked to recover: the job stops instead");
    return;
  }
  if (*command != "start") {
    Report(2, who + " sent an unknown tracker command '" + *command + "'");
    return;
  }
  int index = -1;
  if (*task == "NULL") {  // a plain rabit worker: the next free rank
    for (int i = 0; i < options.workers && index < 0; ++i) {
      if (!workers[i].started) index = i;
    }
  } else if (!task->empty() &&
             std::all_of(task->begin(), task->end(), [](char c) { return c >= '0' && c <= '9'; }) &&
             task->size() < 9) {
    index = std::stoi(*task);
  }
  if (index < 0 || index >= options.workers) {
    Report(2, who + ": task id '" + *task + "' is not a worker index below " +
                  std::to_string(options.workers));
    return;
  }
  if (*world != -1 && *world != options.workers) {
    Report(2, who + " was started for " + std::to_string(*world) + " workers, the tracker for " +
                  std::to_string(options.workers));
    return;
  }
  Worker& w = workers[index];
  if (w.started) {
    Report(2, "two workers claim index " + std::to_string(index) +
                  ": give each a different "
                  "--worker-index");
    return;
  }
  if (w.host.empty()) w.host = host;
  Status linked = Assign(socket, index, deadline);
  if (!linked.ok()) {
    Report(2, Name(index) + ": rabit handshake failed: " + linked.message());
    return;
  }
  w.started = true;
  w.arrived = true;
  if (std::all_of(workers.begin(), workers.end(), [](const Worker& x) { return x.started; })) {
    Log("all " + std::to_string(options.workers) + " workers linked: training");
  }
}

Status Tracker::State::Assign(Socket& socket, int rank, Deadline deadline) {
  const int n = options.workers;
  const auto [prev, next] = links.ring[rank];
  RETURN_IF_ERROR(socket.SendInt(rank, deadline));
  RETURN_IF_ERROR(socket.SendInt(links.parent[rank], deadline));
  RETURN_IF_ERROR(socket.SendInt(n, deadline));
  RETURN_IF_ERROR(socket.SendInt(static_cast<int32_t>(links.tree[rank].size()), deadline));
  for (int r : links.tree[rank]) RETURN_IF_ERROR(socket.SendInt(r, deadline));
  RETURN_IF_ERROR(socket.SendInt(prev == rank ? -1 : prev, deadline));
  RETURN_IF_ERROR(socket.SendInt(next == rank ? -1 : next, deadline));
  std::set<int> peers(links.tree[rank].begin(), links.tree[rank].end());
  if (prev != rank) peers.insert(prev);
  if (next != rank) peers.insert(next);
  for (int attempt = 0; attempt < kMaxLinkAttempts; ++attempt) {
    ASSIGN_OR_RETURN(int32_t good_count, socket.RecvInt(deadline));
    std::set<int> good;
    for (int i = 0; i < good_count; ++i) {
      ASSIGN_OR_RETURN(int32_t r, socket.RecvInt(deadline));
      if (!peers.contains(r))
        return InvalidArgument("reported a link to rank " + std::to_string(r));
      good.insert(r);
    }
    std::vector<int> bad, connect;
    for (int r : peers) {
      if (good.contains(r)) continue;
      bad.push_back(r);
      if (workers[r].started && workers[r].wait_accept > 0) connect.push_back(r);
    }
    RETURN_IF_ERROR(socket.SendInt(static_cast<int32_t>(connect.size()), deadline));
    RETURN_IF_ERROR(socket.SendInt(static_cast<int32_t>(bad.size() - connect.size()), deadline));
    for (int r : connect) {
      RETURN_IF_ERROR(socket.SendString(workers[r].host, deadline));
      RETURN_IF_ERROR(socket.SendInt(workers[r].port, deadline));
      RETURN_IF_ERROR(socket.SendInt(r, deadline));
    }
    ASSIGN_OR_RETURN(int32_t errors, socket.RecvInt(deadline));
    if (errors != 0) continue;  // it could not reach some peers: try again
    ASSIGN_OR_RETURN(int32_t port, socket.RecvInt(deadline));
    for (int r : connect) --workers[r].wait_accept;
    workers[rank].port = port;
    workers[rank].wait_accept = static_cast<int>(bad.size() - connect.size());
    return Status::Ok();
  }
  return Unavailable("could not reach its peers after " + std::to_string(kMaxLinkAttempts) +
                     " attempts");
}

void Tracker::State::Abort(const std::string& message) {
  Log("job stopped: " + message);
  for (auto& w : workers) {
    if (w.control.valid()) (void)w.control.SendString("abort " + message, In(kSendTimeout));
    w.control.Close();
  }
}

StatusOr<std::unique_ptr<Tracker>> Tracker::Start(const TrackerOptions& options) {
  if (options.workers < 1) return InvalidArgument("a training job needs at least one worker");
  ASSIGN_OR_RETURN(Socket listener, Socket::Listen(options.host, options.port));
  std::unique_ptr<Tracker> tracker(new Tracker());
  tracker->port_ = listener.LocalPort();
  tracker->state_ = std::make_unique<State>();
  State& state = *tracker->state_;
  state.options = options;
  state.listener = std::move(listener);
  state.workers.resize(options.workers);
  state.links = MakeLinkMap(options.workers);
  state.thread = std::thread([&state] { state.Run(); });
  return tracker;
}

Tracker::~Tracker() {
  if (!state_) return;
  state_->stop = true;
  if (state_->thread.joinable()) state_->thread.join();
}

Status Tracker::Wait() {
  std::unique_lock lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->finished; });
  return state_->result;
}

struct TrackerLink::State {
  Socket socket;
  std::string address;
  std::mutex send_mu;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};  // done or failed sent
  std::chrono::milliseconds heartbeat_timeout{};
  AbortFn on_abort;
  // The tracker's message after this worker reported its own failure.
  std::mutex verdict_mu;
  std::condition_variable verdict_cv;
  std::optional<std::string> verdict;  // guarded by verdict_mu

  void SetVerdict(std::string message) {
    std::lock_guard lock(verdict_mu);
    verdict = std::move(message);
    verdict_cv.notify_all();
  }

  void Send(const std::string& message) {
    std::lock_guard lock(send_mu);
    (void)socket.SendString(message, In(kSendTimeout));
  }
  void Run();
};

void TrackerLink::State::Run() {
  auto last_heard = SteadyClock::now();
  auto last_beat = SteadyClock::time_point{};
  while (!stop) {
    const auto now = SteadyClock::now();
    if (now - last_beat >= BeatEvery(heartbeat_timeout)) {
      last_beat = now;
      Send("beat");
    }
    pollfd p{.fd = socket.fd(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, kPollMillis) > 0) {
      auto message = socket.RecvString(In(kSendTimeout));
      if (!message.ok()) {
        if (!stop && !finished) {
          on_abort("lost " + address + ": its connection closed");
        }
        SetVerdict("");
        return;
      }
      last_heard = SteadyClock::now();
      if (message->starts_with("abort ")) {
        if (!finished) on_abort(message->substr(6));
        SetVerdict(message->substr(6));
        return;
      }
    }
    if (SteadyClock::now() - last_heard > heartbeat_timeout && !finished) {
      on_abort("lost " + address + ": it sent nothing for " + Seconds(heartbeat_timeout));
      return;
    }
  }
}

StatusOr<std::unique_ptr<TrackerLink>> TrackerLink::Connect(
    const std::string& host, int port, int index, int workers, Deadline deadline,
    std::chrono::milliseconds heartbeat_timeout, const std::string& tracker_name,
    AbortFn on_abort) {
  ASSIGN_OR_RETURN(Socket socket, Socket::Connect(host, port, deadline));
  const std::string address = tracker_name + " at " + host + ":" + std::to_string(port);
  const Deadline handshake = In(kHandshakeTimeout);
  RETURN_IF_ERROR(socket.SendInt(kControlMagic, handshake));
  auto magic = socket.RecvInt(handshake);
  if (!magic.ok() || *magic != kControlMagic) {
    return Unavailable(host + ":" + std::to_string(port) + " is not an inferd training tracker");
  }
  RETURN_IF_ERROR(socket.SendString(
      "hello " + std::to_string(index) + " " + std::to_string(workers), handshake));
  std::unique_ptr<TrackerLink> link(new TrackerLink());
  link->state_ = std::make_unique<State>();
  State& state = *link->state_;
  state.socket = std::move(socket);
  state.address = address;
  state.heartbeat_timeout = heartbeat_timeout;
  state.on_abort = std::move(on_abort);
  state.thread = std::thread([&state] { state.Run(); });
  return link;
}

TrackerLink::~TrackerLink() {
  if (!state_) return;
  state_->stop = true;
  state_->socket.Shutdown();
  if (state_->thread.joinable()) state_->thread.join();
}

void TrackerLink::Round(int round) { state_->Send("round " + std::to_string(round)); }

void TrackerLink::Done() {
  state_->finished = true;
  state_->Send("done");
}

std::string TrackerLink::Failed(const std::string& message, std::chrono::milliseconds wait) {
  state_->finished = true;
  state_->Send("failed " + message);
  std::unique_lock lock(state_->verdict_mu);
  state_->verdict_cv.wait_for(lock, wait, [&] { return state_->verdict.has_value(); });
  return state_->verdict.value_or("");
}

}  // namespace inferd::train
