#include "cloudsim/kube_timeline.h"

#include <algorithm>

namespace magnumd::cloudsim {

void SuffixMin::push(uint64_t seq, SystemTime time, uint32_t value) {
  // The top is always the latest sample: it now lasts until this one.
  if (!stack_.empty()) stack_.back().until = time;
  while (!stack_.empty() && stack_.back().value >= value) stack_.pop_back();
  stack_.push_back({seq, time, SystemTime::max(), value});
}

std::optional<uint32_t> SuffixMin::sinceTime(SystemTime t) const {
  if (stack_.empty()) return std::nullopt;
  // Kept samples after t are exactly those later than the sample in effect at t (k); the least
  // of everything from k+1 on is the first of them.
  auto next = std::upper_bound(stack_.begin(), stack_.end(), t,
                               [](SystemTime v, const Entry& e) { return v < e.time; });
  // The last kept sample at or before t is sample k itself when it still lasted at t; then it is
  // the least from k on. Otherwise sample k was not a minimum of its suffix, and the least from k
  // on is the least from k+1 on.
  if (next != stack_.begin() && std::prev(next)->until > t) return std::prev(next)->value;
  if (next != stack_.end()) return next->value;
  return stack_.back().value;
}

std::optional<uint32_t> SuffixMin::sinceSeq(uint64_t seq) const {
  if (stack_.empty()) return std::nullopt;
  auto it = std::lower_bound(stack_.begin(), stack_.end(), seq,
                             [](const Entry& e, uint64_t s) { return e.seq < s; });
  return it == stack_.end() ? stack_.back().value : it->value;
}

std::string_view timelineEventName(TimelineEventType type) {
  switch (type) {
    case TimelineEventType::Joined:
      return "joined";
    case TimelineEventType::Ready:
      return "ready";
    case TimelineEventType::NotReady:
      return "notready";
    case TimelineEventType::Cordoned:
      return "cordoned";
    case TimelineEventType::Uncordoned:
      return "uncordoned";
    case TimelineEventType::Deleted:
      return "deleted";
  }
  return "unknown";
}

void NodeTimeline::record(SystemTime time, std::string_view node, TimelineEventType type,
                          bool master, bool ready, std::string_view version,
                          const TimelineCounts& after) {
  uint64_t seq = next_seq_++;
  events_.push_back(TimelineEvent{seq, time, std::string(node), type, master, ready,
                                  std::string(version), after});
  while (events_.size() > max_events_) {
    events_.pop_front();
    ++dropped_;
  }
  current_ = after;
  minimums_[0].push(seq, time, after.masters.ready);
  minimums_[1].push(seq, time, after.masters.schedulable);
  minimums_[2].push(seq, time, after.workers.ready);
  minimums_[3].push(seq, time, after.workers.schedulable);
}

RoleSummary NodeTimeline::summary(bool masters, std::optional<SystemTime> since,
                                  std::optional<uint64_t> after_seq) const {
  RoleSummary out;
  out.now = masters ? current_.masters : current_.workers;
  auto least = [&](const SuffixMin& m) {
    std::optional<uint32_t> v = after_seq ? m.sinceSeq(*after_seq)
                                : since   ? m.sinceTime(*since)
                                          : m.sinceSeq(0);
    return v.value_or(0);
  };
  size_t base = masters ? 0 : 2;
  out.min_ready = least(minimums_[base]);
  out.min_schedulable = least(minimums_[base + 1]);
  return out;
}

size_t NodeTimeline::trackerSize() const {
  size_t n = 0;
  for (const auto& m : minimums_) n += m.size();
  return n;
}

}  // namespace magnumd::cloudsim
