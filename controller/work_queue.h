// A work queue of Requests with client-go's guarantees:
// - de-duplicated: a key waiting in the queue is held once, however often it is added;
// - one worker per key: a key added while a worker has it is handed out again only after done();
// - delayed adds (addAfter) on a timer thread, earliest time kept when a key is delayed twice;
// - rate-limited re-adds (addRateLimited) through a RateLimiter, forget() on success.
//
// Shutdown differs from client-go on purpose: after shutDown() get() returns nothing more, even if
// keys are queued. Reconciles are level-triggered, so nothing is lost: the next start lists every
// object again. shutDownWithDrain() also waits (bounded) for the keys workers hold.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "controller/metrics.h"
#include "controller/rate_limiter.h"
#include "controller/types.h"
#include "util/time.h"

namespace magnumd::controller {

class WorkQueue {
 public:
  // `clock` decides when delayed keys are due and measures latencies; it must outlive the queue.
  // `metrics` may be null.
  WorkQueue(std::string name, RateLimiterPtr limiter, const util::Clock& clock,
            RuntimeMetrics* metrics = nullptr);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const Request& key);
  void addAfter(const Request& key, Duration delay);
  // addAfter(key, limiter.when(key)): one more failure on the key's backoff.
  void addRateLimited(const Request& key);
  void forget(const Request& key);
  int numRequeues(const Request& key) const;

  // Blocks until a key is ready (the caller then owns it until done()) or the queue shuts down.
  std::optional<Request> get();
  // As get(), giving up after `timeout` of real time.
  std::optional<Request> getFor(Duration timeout);
  void done(const Request& key);

  void shutDown();
  // shutDown(), then wait up to `timeout` for every key handed out to be done(). True if drained.
  bool shutDownWithDrain(Duration timeout);
  bool shuttingDown() const;

  size_t len() const;         // keys ready to be handed out
  size_t waitingLen() const;  // keys delayed by addAfter / addRateLimited
  size_t processingLen() const;
  // Moves delayed keys whose time has come (by the clock) into the queue. The timer thread does
  // this on its own with a real clock; a test driving a fake clock calls it after advancing.
  void processDelayed();
  // Time until the earliest delayed key is due, by the clock; nullopt when none is delayed.
  std::optional<Duration> nextDelayedIn() const;

  const std::string& name() const { return name_; }

 private:
  struct Delayed {
    TimePoint due;
    uint64_t seq;
    Request key;
    bool operator>(const Delayed& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };

  void addLocked(const Request& key, TimePoint now);
  void processDelayedLocked(TimePoint now);
  std::optional<Request> takeLocked(TimePoint now);
  void updateGaugesLocked();
  void updateProgressGaugesLocked(TimePoint now);
  void timerLoop();

  const std::string name_;
  RateLimiterPtr limiter_;
  const util::Clock& clock_;
  // Cells of this queue's metrics (null without metrics).
  util::Gauge* depth_ = nullptr;
  util::Counter* adds_ = nullptr;
  util::Counter* retries_ = nullptr;
  util::Histogram* latency_ = nullptr;
  util::Histogram* work_ = nullptr;
  util::Gauge* unfinished_ = nullptr;
  util::Gauge* longest_ = nullptr;

  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;   // workers waiting in get()
  std::condition_variable timer_cv_;   // the timer thread
  std::condition_variable drained_cv_; // shutDownWithDrain
  std::deque<Request> queue_;
  std::unordered_set<Request, RequestHash> dirty_;
  std::unordered_map<Request, TimePoint, RequestHash> processing_;  // key -> when handed out
  std::unordered_map<Request, TimePoint, RequestHash> added_at_;    // for queue latency
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> heap_;
  std::unordered_map<Request, TimePoint, RequestHash> waiting_;     // key -> due (heap is lazy)
  uint64_t seq_ = 0;
  bool shutting_down_ = false;
  std::thread timer_;
};

}  // namespace magnumd::controller
