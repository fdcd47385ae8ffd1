// Test doubles for code built on controller/: a clock that only moves when told to, and an
// EventRecorder that keeps what it was told. Reconciler tests include this too.
#pragma once

#include <chrono>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "controller/event_recorder.h"
#include "tests/support/fake_clock.h"
#include "util/time.h"

namespace magnumd::controller::testing {

using magnumd::testing::FakeClock;

struct RecordedEvent {
  api::ObjectKey involved;
  EventType type;
  std::string reason;
  std::string message;
};

class FakeEventRecorder final : public EventRecorder {
 public:
  void record(const api::Object& involved, EventType type, std::string_view reason,
              std::string_view message) override {
    std::lock_guard lock(mutex_);
    events_.push_back({api::keyOf(involved), type, std::string(reason), std::string(message)});
  }
  std::vector<RecordedEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // Reasons in order, e.g. {"Created", "ScalingUp"}.
  std::vector<std::string> reasons() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& e : events_) out.push_back(e.reason);
    return out;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    events_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<RecordedEvent> events_;
};

// Polls `condition` until it holds or `timeout` passes (real time); for state other threads reach.
template <typename Fn>
bool eventually(Fn condition, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return condition();
}

}  // namespace magnumd::controller::testing
