#include "controller/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace magnumd::controller {

ExponentialRateLimiter::ExponentialRateLimiter(Duration base_delay, Duration max_delay,
                                               double jitter, uint64_t seed)
    : base_(base_delay), max_(max_delay), jitter_(std::clamp(jitter, 0.0, 0.99)), rng_(seed) {}

Duration ExponentialRateLimiter::when(const Request& key) {
  std::lock_guard lock(mutex_);
  int exponent = failures_[key]++;
  // Computed in floating point: 2^exponent overflows any integer duration after ~60 failures.
  double delay = static_cast<double>(base_.count()) * std::pow(2.0, std::min(exponent, 1000));
  double cap = static_cast<double>(max_.count());
  if (!(delay < cap)) delay = cap;
  if (jitter_ > 0) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    delay *= 1.0 - jitter_ * unit(rng_);
  }
  return Duration(static_cast<Duration::rep>(delay));
}

void ExponentialRateLimiter::forget(const Request& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int ExponentialRateLimiter::numRequeues(const Request& key) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

BucketRateLimiter::BucketRateLimiter(double qps, int burst, const util::Clock& clock)
    : qps_(qps), burst_(std::max(1, burst)), clock_(clock), tokens_(burst_),
      last_(clock.monotonic()) {}

Duration BucketRateLimiter::when(const Request&) {
  std::lock_guard lock(mutex_);
  TimePoint now = clock_.monotonic();
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1.0;  // a reservation: the debt is paid by later refills
  if (tokens_ >= 0) return Duration::zero();
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(-tokens_ / qps_));
}

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<RateLimiterPtr> limiters)
    : limiters_(std::move(limiters)) {}

Duration MaxOfRateLimiter::when(const Request& key) {
  Duration longest = Duration::zero();
  for (auto& l : limiters_) longest = std::max(longest, l->when(key));
  return longest;
}

void MaxOfRateLimiter::forget(const Request& key) {
  for (auto& l : limiters_) l->forget(key);
}

int MaxOfRateLimiter::numRequeues(const Request& key) const {
  int most = 0;
  for (const auto& l : limiters_) most = std::max(most, l->numRequeues(key));
  return most;
}

RateLimiterPtr makeDefaultRateLimiter(const RateLimiterOptions& options, const util::Clock& clock) {
  std::vector<RateLimiterPtr> limiters;
  limiters.push_back(std::make_unique<ExponentialRateLimiter>(
      options.base_delay, options.max_delay, options.jitter,
      options.seed.value_or(std::random_device{}())));
  if (options.qps > 0) {
    limiters.push_back(std::make_unique<BucketRateLimiter>(options.qps, options.burst, clock));
  }
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

}  // namespace magnumd::controller
