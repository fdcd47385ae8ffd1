// Rate limiters decide how long a key waits before a retry (client-go's workqueue limiters):
// per-key exponential backoff with jitter, an overall token bucket, and the max of both.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "controller/types.h"
#include "util/time.h"

namespace magnumd::controller {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Records one more failure of `key` and returns how long to wait before retrying it.
  virtual Duration when(const Request& key) = 0;
  // The key succeeded: its failure history is dropped.
  virtual void forget(const Request& key) = 0;
  virtual int numRequeues(const Request& key) const = 0;
};
using RateLimiterPtr = std::unique_ptr<RateLimiter>;

// base * 2^failures, capped at max_delay, then shortened by up to `jitter` (a fraction in [0,1))
// so keys that failed together do not retry in lock step. Jitter only ever shortens, so the cap
// holds and the delay never exceeds the un-jittered one.
class ExponentialRateLimiter final : public RateLimiter {
 public:
  ExponentialRateLimiter(Duration base_delay, Duration max_delay, double jitter = 0.0,
                         uint64_t seed = std::random_device{}());
  Duration when(const Request& key) override;
  void forget(const Request& key) override;
  int numRequeues(const Request& key) const override;

 private:
  Duration base_;
  Duration max_;
  double jitter_;
  mutable std::mutex mutex_;
  std::mt19937_64 rng_;
  std::unordered_map<Request, int, RequestHash> failures_;
};

// An overall token bucket: `qps` tokens per second, at most `burst` saved. Every call reserves a
// token; the answer is how long until that token exists. Keys are not tracked.
class BucketRateLimiter final : public RateLimiter {
 public:
  BucketRateLimiter(double qps, int burst, const util::Clock& clock);
  Duration when(const Request& key) override;
  void forget(const Request&) override {}
  int numRequeues(const Request&) const override { return 0; }

 private:
  double qps_;
  double burst_;
  const util::Clock& clock_;
  std::mutex mutex_;
  double tokens_;
  TimePoint last_;
};

// The longest wait any of the limiters asks for.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<RateLimiterPtr> limiters);
  Duration when(const Request& key) override;
  void forget(const Request& key) override;
  int numRequeues(const Request& key) const override;

 private:
  std::vector<RateLimiterPtr> limiters_;
};

struct RateLimiterOptions {
  Duration base_delay = std::chrono::milliseconds(5);
  Duration max_delay = std::chrono::minutes(5);
  double jitter = 0.2;
  double qps = 10;   // overall retry rate; 0 disables the bucket
  int burst = 100;
  std::optional<uint64_t> seed;  // for reproducible jitter in tests
};

// MaxOf(exponential per key with jitter, token bucket over all retries): client-go's default
// controller limiter with magnumd's 5 min cap.
RateLimiterPtr makeDefaultRateLimiter(const RateLimiterOptions& options, const util::Clock& clock);

}  // namespace magnumd::controller
