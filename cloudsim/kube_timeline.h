// What happened to a simulated cluster's Nodes, in order, and how many were Ready at every
// instant: the record tests read (GET /sim/v1/clusters/{stack_id}/timeline) to assert availability
// during a rollout, e.g. "Ready workers never fell below nodeCount - maxUnavailable".
//
// Memory is bounded: the listed events are capped (the oldest dropped), while the minimum counts
// stay exact for any start, however old, because they come from monotonic stacks (SuffixMin)
// whose size is bounded by the number of distinct counts, not by the number of events.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/time.h"

namespace magnumd::cloudsim {

using util::SystemTime;

// The exact minimum of a step function over any suffix of its history. Each sample is the value
// the function takes from its time until the next sample's. Only the samples that are the
// minimum of everything after them are kept (a stack, values strictly increasing from the
// bottom), so the size is at most the number of distinct values.
class SuffixMin {
 public:
  // Samples come in order: `seq` increasing, `time` not decreasing.
  void push(uint64_t seq, SystemTime time, uint32_t value);
  // The least value in effect at any instant from `t` on, the one in effect at `t` included.
  // Before the first sample: the least of all. nullopt only when nothing was pushed.
  std::optional<uint32_t> sinceTime(SystemTime t) const;
  // The least value from the sample `seq` on (the state that sample left, and every later one).
  // After the last sample: the current value.
  std::optional<uint32_t> sinceSeq(uint64_t seq) const;
  size_t size() const { return stack_.size(); }

 private:
  struct Entry {
    uint64_t seq;
    SystemTime time;
    SystemTime until;  // the next sample's time; max() for the latest sample
    uint32_t value;
  };
  std::vector<Entry> stack_;
};

enum class TimelineEventType : uint8_t { Joined, Ready, NotReady, Cordoned, Uncordoned, Deleted };
std::string_view timelineEventName(TimelineEventType type);  // "joined", "notready", ...

// Node counts of one role (control-plane nodes, or workers).
struct RoleCounts {
  uint32_t nodes = 0;        // registered
  uint32_t ready = 0;        // Ready=True
  uint32_t schedulable = 0;  // Ready=True and not cordoned
  bool operator==(const RoleCounts&) const = default;
};

struct TimelineCounts {
  RoleCounts masters, workers;
  bool operator==(const TimelineCounts&) const = default;
};

struct TimelineEvent {
  uint64_t seq = 0;
  SystemTime time;
  std::string node;
  TimelineEventType type = TimelineEventType::Joined;
  bool master = false;
  bool ready = false;    // the node's Ready condition after the event
  std::string version;   // its kubeletVersion
  TimelineCounts after;  // the cluster's counts after the event
};

struct RoleSummary {
  RoleCounts now;
  uint32_t min_ready = 0;        // the least Ready count at any instant since the start
  uint32_t min_schedulable = 0;  // the least Ready-and-schedulable count
};

class NodeTimeline {
 public:
  static constexpr size_t kDefaultMaxEvents = 2000;
  explicit NodeTimeline(size_t max_events = kDefaultMaxEvents) : max_events_(max_events) {}

  // One change to a node; `after` are the cluster's counts once it happened. Several changes at
  // the same instant each count as an instant of their own (a conservative minimum).
  void record(SystemTime time, std::string_view node, TimelineEventType type, bool master,
              bool ready, std::string_view version, const TimelineCounts& after);

  const std::deque<TimelineEvent>& events() const { return events_; }
  uint64_t lastSeq() const { return next_seq_ - 1; }  // 0 before the first event
  uint64_t dropped() const { return dropped_; }       // events no longer listed
  const TimelineCounts& current() const { return current_; }

  // Minimums since `since` (nullopt: since the first event), or from event `after_seq` on when it
  // is given. Before the first event every count is 0.
  RoleSummary summary(bool masters, std::optional<SystemTime> since,
                      std::optional<uint64_t> after_seq = std::nullopt) const;

  // Stack sizes, for tests of the memory bound.
  size_t trackerSize() const;

 private:
  size_t max_events_;
  std::deque<TimelineEvent> events_;
  uint64_t next_seq_ = 1;
  uint64_t dropped_ = 0;
  TimelineCounts current_;
  // ready and schedulable, for masters then workers
  std::array<SuffixMin, 4> minimums_;
};

}  // namespace magnumd::cloudsim
