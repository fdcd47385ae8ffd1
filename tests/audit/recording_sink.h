// A sink that keeps what it is sent, and fails on demand, for the audit tests.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "audit/notifier.h"

namespace magnumd::audit::testing {

struct Recorded {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Notification> delivered;
  int attempts = 0;
  int fail_first = 0;  // this many attempts fail; negative: every attempt
  bool closed = false;

  // Waits (real time, generously) until `n` notifications were delivered.
  bool waitFor(size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(20), [&] { return delivered.size() >= n; });
  }
  // Waits until send() was called `n` times.
  bool waitForAttempts(int n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(20), [&] { return attempts >= n; });
  }
  std::vector<Notification> snapshot() {
    std::lock_guard lock(mutex);
    return delivered;
  }
};

class RecordingSink final : public Sink {
 public:
  RecordingSink(Recorded& recorded, std::string name = "rec")
      : recorded_(recorded), name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  util::Status send(const Notification& n) override {
    std::lock_guard lock(recorded_.mutex);
    ++recorded_.attempts;
    recorded_.changed.notify_all();
    if (recorded_.fail_first < 0 || recorded_.attempts <= recorded_.fail_first) {
      return util::makeError(util::ErrorCode::Unavailable, "injected failure");
    }
    recorded_.delivered.push_back(n);
    recorded_.changed.notify_all();
    return {};
  }
  void close() override {
    std::lock_guard lock(recorded_.mutex);
    recorded_.closed = true;
  }

 private:
  Recorded& recorded_;
  std::string name_;
};

}  // namespace magnumd::audit::testing
