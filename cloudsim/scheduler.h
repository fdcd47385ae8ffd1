// Timed work of the simulator (a server finishing its build, a stack delete completing, a record
// expiring). The embedding arms one io_context timer for nextDue(); tests advance a fake clock.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

#include "cloudsim/support.h"

namespace magnumd::cloudsim {

enum class Work : uint8_t { ServerBuilt, ServerRebooted, ServerPurge, StackTick, StackDeleteDone, StackPurge };

struct Scheduled {
  SystemTime at;
  uint64_t seq;
  Work work;
  uint32_t target;      // server or stack slot
  uint32_t generation;  // stale entries (target changed since) are ignored
};

class Scheduler {
 public:
  void add(SystemTime at, Work work, uint32_t target, uint32_t generation) {
    queue_.push(Scheduled{at, next_seq_++, work, target, generation});
  }
  std::optional<SystemTime> nextDue() const {
    if (queue_.empty()) return std::nullopt;
    return queue_.top().at;
  }
  // Pops the earliest entry due at or before `now`.
  std::optional<Scheduled> popDue(SystemTime now) {
    if (queue_.empty() || queue_.top().at > now) return std::nullopt;
    Scheduled s = queue_.top();
    queue_.pop();
    return s;
  }
  size_t size() const { return queue_.size(); }

 private:
  struct Later {
    bool operator()(const Scheduled& a, const Scheduled& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };
  std::priority_queue<Scheduled, std::vector<Scheduled>, Later> queue_;
  uint64_t next_seq_ = 0;
};

}  // namespace magnumd::cloudsim
