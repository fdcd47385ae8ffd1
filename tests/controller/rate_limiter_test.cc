#include "controller/rate_limiter.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/controller/fakes.h"

namespace magnumd::controller {
namespace {

using namespace std::chrono_literals;

const Request kA{api::Kind::Cluster, "demo", "a"};
const Request kB{api::Kind::Cluster, "demo", "b"};

TEST(ExponentialRateLimiterTest, DoublesPerFailureUpToTheCap) {
  ExponentialRateLimiter limiter(5ms, 1s, 0.0);
  std::vector<Duration> delays;
  for (int i = 0; i < 10; ++i) delays.push_back(limiter.when(kA));
  EXPECT_EQ(delays[0], Duration(5ms));
  EXPECT_EQ(delays[1], Duration(10ms));
  EXPECT_EQ(delays[2], Duration(20ms));
  EXPECT_EQ(delays[7], Duration(640ms));
  EXPECT_EQ(delays[8], Duration(1s));  // 1280 ms capped
  EXPECT_EQ(delays[9], Duration(1s));
  EXPECT_EQ(limiter.numRequeues(kA), 10);
  EXPECT_EQ(limiter.when(kB), Duration(5ms)) << "backoff is per key";
}

TEST(ExponentialRateLimiterTest, ManyFailuresStayAtTheCap) {
  ExponentialRateLimiter limiter(5ms, 5min, 0.0);
  Duration last{};
  for (int i = 0; i < 2000; ++i) last = limiter.when(kA);
  EXPECT_EQ(last, Duration(5min));
}

TEST(ExponentialRateLimiterTest, ForgetStartsOver) {
  ExponentialRateLimiter limiter(5ms, 1s, 0.0);
  limiter.when(kA);
  limiter.when(kA);
  limiter.forget(kA);
  EXPECT_EQ(limiter.numRequeues(kA), 0);
  EXPECT_EQ(limiter.when(kA), Duration(5ms));
}

TEST(ExponentialRateLimiterTest, JitterShortensWithinBoundsAndSpreadsKeys) {
  ExponentialRateLimiter limiter(100ms, 5min, 0.5, 42);
  std::set<Duration::rep> distinct;
  for (int i = 0; i < 50; ++i) {
    Request k{api::Kind::Cluster, "demo", "k" + std::to_string(i)};
    Duration d = limiter.when(k);
    EXPECT_LE(d, Duration(100ms));
    EXPECT_GE(d, Duration(50ms));
    distinct.insert(d.count());
  }
  EXPECT_GT(distinct.size(), 40u) << "keys failing together must not retry in lock step";
}

TEST(BucketRateLimiterTest, BurstThenSpacedAtQps) {
  testing::FakeClock clock;
  BucketRateLimiter limiter(10, 3, clock);
  EXPECT_EQ(limiter.when(kA), Duration::zero());
  EXPECT_EQ(limiter.when(kB), Duration::zero());
  EXPECT_EQ(limiter.when(kA), Duration::zero());
  EXPECT_EQ(limiter.when(kA), Duration(100ms));
  EXPECT_EQ(limiter.when(kB), Duration(200ms));
  clock.advance(10s);  // refills to the burst, not beyond
  EXPECT_EQ(limiter.when(kA), Duration::zero());
  EXPECT_EQ(limiter.when(kA), Duration::zero());
  EXPECT_EQ(limiter.when(kA), Duration::zero());
  EXPECT_EQ(limiter.when(kA), Duration(100ms));
}

TEST(DefaultRateLimiterTest, TakesTheLongerOfBackoffAndBucket) {
  testing::FakeClock clock;
  RateLimiterOptions o;
  o.base_delay = 5ms;
  o.max_delay = 1s;
  o.jitter = 0;
  o.qps = 1;
  o.burst = 2;
  auto limiter = makeDefaultRateLimiter(o, clock);
  EXPECT_EQ(limiter->when(kA), Duration(5ms));   // backoff wins, bucket had a token
  EXPECT_EQ(limiter->when(kB), Duration(5ms));
  EXPECT_EQ(limiter->when(kA), Duration(1s));    // bucket empty: 1 qps
  EXPECT_EQ(limiter->numRequeues(kA), 2);
  limiter->forget(kA);
  EXPECT_EQ(limiter->numRequeues(kA), 0);
}

}  // namespace
}  // namespace magnumd::controller
