// Events: what a reconciler did and why, stored as `Event` objects that `magnumctl describe`
// shows next to the object they concern.
//
// Event spec: api::EventSpec {involvedObject: {kind, name, namespace, uid}, type: Normal|Warning,
// reason, message, count, firstTimestamp, lastTimestamp, source}. Labels
// `container-infra/involved-kind` and `container-infra/involved-name` let clients select the
// events of one object with a label selector.
#pragma once

#include <fmt/format.h>

#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "api/object.h"
#include "controller/metrics.h"
#include "controller/types.h"
#include "store/store.h"
#include "util/time.h"

namespace magnumd::controller {

enum class EventType { Normal, Warning };
const char* toString(EventType type);

inline constexpr std::string_view kInvolvedKindLabel = "container-infra/involved-kind";
inline constexpr std::string_view kInvolvedNameLabel = "container-infra/involved-name";

class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // Cheap and non-blocking: safe to call from a hot reconcile loop.
  virtual void record(const api::Object& involved, EventType type, std::string_view reason,
                      std::string_view message) = 0;

  template <typename... Args>
  void normal(const api::Object& involved, std::string_view reason,
              fmt::format_string<Args...> format, Args&&... args) {
    record(involved, EventType::Normal, reason, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void warning(const api::Object& involved, std::string_view reason,
               fmt::format_string<Args...> format, Args&&... args) {
    record(involved, EventType::Warning, reason, fmt::format(format, std::forward<Args>(args)...));
  }
};

struct EventRecorderOptions {
  std::string component = "magnumd";  // spec.source
  size_t max_pending = 1000;          // distinct events waiting to be written; more are dropped
  size_t max_tracked = 4096;          // written events remembered for count bumps (LRU)
  // Per involved object (Kubernetes' spam filter): a burst, then one write per refill period.
  int per_object_burst = 25;
  Duration per_object_refill = std::chrono::seconds(10);
  // All writes together.
  double qps = 50;
  int burst = 100;
  Duration ttl = std::chrono::hours(1);        // events older than this are deleted; 0: never
  Duration gc_period = std::chrono::minutes(5);
};

// Writes Event objects to the store from its own thread. record() merges an event identical to
// one not yet written (count += 1) and otherwise queues it; the writer bumps count and
// lastTimestamp of an already-written identical event instead of creating another. Rate limits
// delay writes (repeats keep merging meanwhile); only a full queue drops events.
class StoreEventRecorder final : public EventRecorder {
 public:
  // `clock` (timestamps, rate limits) and `metrics` (nullable) must outlive the recorder.
  StoreEventRecorder(store::Store& store, EventRecorderOptions options, const util::Clock& clock,
                     RuntimeMetrics* metrics = nullptr);
  ~StoreEventRecorder() override;

  void record(const api::Object& involved, EventType type, std::string_view reason,
              std::string_view message) override;

  // Waits up to `timeout` until every queued event that the rate limits allow is written.
  // True when nothing is left queued.
  bool flush(Duration timeout);
  // Writes what is queued (ignoring rate limits) for up to `timeout`, then stops the writer.
  void stop(Duration timeout);

  struct Stats {
    uint64_t recorded = 0;  // record() calls
    uint64_t merged = 0;    // merged into a queued identical event
    uint64_t created = 0;   // Event objects created
    uint64_t updated = 0;   // count bumps written
    uint64_t dropped = 0;   // lost: queue full or store error
    size_t pending = 0;
  };
  Stats stats() const;

 private:
  struct Pending;
  struct Tracked;
  struct Bucket {
    double tokens;
    TimePoint last;
  };

  void run();
  bool takeToken(Bucket& bucket, double rate_per_second, double burst, TimePoint now);
  std::optional<Duration> nextEligibleLocked(TimePoint now, std::list<Pending>::iterator& out);
  void write(Pending pending);
  bool bump(const std::string& dedupe_key, const Pending& pending);
  void create(const std::string& dedupe_key, const Pending& pending);
  void track(const std::string& dedupe_key, api::Object written);
  void collectGarbage();

  store::Store& store_;
  const EventRecorderOptions options_;
  const util::Clock& clock_;
  RuntimeMetrics* metrics_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;        // the writer
  std::condition_variable idle_cv_;   // flush()
  std::list<Pending> pending_;        // FIFO
  std::unordered_map<std::string, std::list<Pending>::iterator> pending_index_;
  std::unordered_map<std::string, Bucket> object_buckets_;
  Bucket global_bucket_;
  uint64_t idle_epoch_ = 0;  // bumped whenever the writer finds nothing it may write now
  bool draining_ = false;
  bool stopping_ = false;
  Stats stats_;

  // Only the writer thread touches these.
  std::list<std::string> tracked_lru_;
  std::unordered_map<std::string, std::pair<api::Object, std::list<std::string>::iterator>>
      tracked_;
  TimePoint next_gc_;

  std::thread thread_;
};

}  // namespace magnumd::controller
