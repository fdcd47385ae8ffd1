// The one clock tests (and benchmarks) set by hand: wall time and monotonic time start at fixed
// points and move only when advance() is called. Thread-safe, so reconcilers, informers and the
// store may read it from their own threads while a test advances it.
#pragma once

#include <chrono>
#include <mutex>

#include "util/time.h"

namespace magnumd::testing {

class FakeClock : public util::Clock {
 public:
  // 2026-09-21T...Z: fixed, so anything a test renders from the time is reproducible.
  explicit FakeClock(util::SystemTime start = util::SystemTime(std::chrono::seconds(1790000000)))
      : wall_(start), mono_(std::chrono::hours(1)) {}

  util::SystemTime now() const override {
    std::lock_guard lock(mutex_);
    return wall_;
  }
  std::chrono::steady_clock::time_point monotonic() const override {
    std::lock_guard lock(mutex_);
    return mono_;
  }
  void advance(std::chrono::steady_clock::duration d) {
    std::lock_guard lock(mutex_);
    wall_ += std::chrono::duration_cast<util::SystemTime::duration>(d);
    mono_ += d;
  }

 private:
  mutable std::mutex mutex_;
  util::SystemTime wall_;
  std::chrono::steady_clock::time_point mono_;
};

}  // namespace magnumd::testing
