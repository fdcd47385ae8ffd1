#include "controller/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/controller/fakes.h"

namespace magnumd::controller {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

Request key(std::string name) { return Request{api::Kind::Cluster, "demo", std::move(name)}; }

RateLimiterPtr noJitter(Duration base = 5ms, Duration max = 5min) {
  return std::make_unique<ExponentialRateLimiter>(base, max, 0.0, 1);
}

TEST(WorkQueueTest, AddsOfAWaitingKeyAreMerged) {
  FakeClock clock;
  util::MetricsRegistry registry;
  RuntimeMetrics metrics(registry);
  WorkQueue q("q", noJitter(), clock, &metrics);
  q.add(key("a"));
  q.add(key("a"));
  q.add(key("b"));
  q.add(key("a"));
  EXPECT_EQ(q.len(), 2u);
  EXPECT_EQ(metrics.queue_adds.with({"q"}).value(), 2);
  EXPECT_EQ(metrics.queue_depth.with({"q"}).value(), 2);
  EXPECT_EQ(q.get(), key("a"));  // first in, first out
  EXPECT_EQ(q.get(), key("b"));
  EXPECT_EQ(q.getFor(1ms), std::nullopt);
}

TEST(WorkQueueTest, KeyReaddedWhileProcessingIsHandedOutOnlyAfterDone) {
  FakeClock clock;
  WorkQueue q("q", noJitter(), clock);
  q.add(key("a"));
  ASSERT_EQ(q.get(), key("a"));
  q.add(key("a"));
  q.add(key("a"));
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.getFor(5ms), std::nullopt) << "a second worker must not get a key in process";
  q.done(key("a"));
  EXPECT_EQ(q.len(), 1u) << "re-added while processing: processed once more";
  EXPECT_EQ(q.get(), key("a"));
  q.done(key("a"));
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.getFor(1ms), std::nullopt);
}

TEST(WorkQueueTest, ConcurrentWorkersNeverHoldTheSameKey) {
  util::RealClock clock;
  WorkQueue q("q", noJitter(), clock);
  std::mutex mu;
  std::set<Request> held;
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto k = q.get()) {
        {
          std::lock_guard lock(mu);
          if (!held.insert(*k).second) overlap = true;
        }
        std::this_thread::sleep_for(50us);
        {
          std::lock_guard lock(mu);
          held.erase(*k);
        }
        ++processed;
        q.done(*k);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 500; ++i) q.add(key("k" + std::to_string(i % 5)));
    });
  }
  for (auto& t : producers) t.join();
  ASSERT_TRUE(testing::eventually([&] { return q.len() == 0 && q.processingLen() == 0; }));
  EXPECT_TRUE(q.shutDownWithDrain(1s));
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GE(processed.load(), 5);
  EXPECT_LE(processed.load(), 1000) << "dedupe merges adds of waiting keys";
}

TEST(WorkQueueTest, DelayedKeysComeOutInDueOrder) {
  FakeClock clock;
  WorkQueue q("q", noJitter(), clock);
  q.addAfter(key("a"), 30ms);
  q.addAfter(key("b"), 10ms);
  q.addAfter(key("c"), 20ms);
  q.addAfter(key("now"), 0ms);  // no delay: straight in
  EXPECT_EQ(q.waitingLen(), 3u);
  EXPECT_EQ(q.get(), key("now"));
  q.processDelayed();
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.nextDelayedIn(), Duration(10ms));
  std::vector<Request> order;
  for (int step = 0; step < 4; ++step) {
    clock.advance(10ms);
    q.processDelayed();
    while (auto k = q.getFor(0ms)) {
      order.push_back(*k);
      q.done(*k);
    }
  }
  EXPECT_EQ(order, (std::vector<Request>{key("b"), key("c"), key("a")}));
  EXPECT_EQ(q.waitingLen(), 0u);
}

TEST(WorkQueueTest, DelayingAKeyTwiceKeepsTheEarlierTime) {
  FakeClock clock;
  WorkQueue q("q", noJitter(), clock);
  q.addAfter(key("a"), 50ms);
  q.addAfter(key("a"), 10ms);
  q.addAfter(key("a"), 100ms);
  EXPECT_EQ(q.waitingLen(), 1u);
  EXPECT_EQ(q.nextDelayedIn(), Duration(10ms));
  clock.advance(10ms);
  q.processDelayed();
  ASSERT_EQ(q.getFor(0ms), key("a"));
  q.done(key("a"));
  clock.advance(200ms);
  q.processDelayed();
  EXPECT_EQ(q.len(), 0u) << "superseded delays must not fire again";
}

TEST(WorkQueueTest, TimerThreadFiresDelayedKeysOnItsOwn) {
  util::RealClock clock;
  WorkQueue q("q", noJitter(), clock);
  auto start = std::chrono::steady_clock::now();
  q.addAfter(key("a"), 30ms);
  auto k = q.getFor(5s);
  ASSERT_EQ(k, key("a"));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST(WorkQueueTest, RateLimitedAddsBackOffAndForgetResets) {
  FakeClock clock;
  util::MetricsRegistry registry;
  RuntimeMetrics metrics(registry);
  WorkQueue q("q", noJitter(), clock, &metrics);
  q.addRateLimited(key("a"));
  EXPECT_EQ(q.numRequeues(key("a")), 1);
  EXPECT_EQ(q.nextDelayedIn(), Duration(5ms));
  clock.advance(5ms);
  q.processDelayed();
  ASSERT_EQ(q.getFor(0ms), key("a"));
  q.addRateLimited(key("a"));
  q.done(key("a"));
  EXPECT_EQ(q.nextDelayedIn(), Duration(10ms));
  EXPECT_EQ(q.numRequeues(key("a")), 2);
  EXPECT_EQ(metrics.queue_retries.with({"q"}).value(), 2);
  q.forget(key("a"));
  EXPECT_EQ(q.numRequeues(key("a")), 0);
}

TEST(WorkQueueTest, ShutDownWakesBlockedWorkersAndRefusesAdds) {
  util::RealClock clock;
  WorkQueue q("q", noJitter(), clock);
  std::optional<Request> got = key("sentinel");
  std::thread worker([&] { got = q.get(); });
  std::this_thread::sleep_for(5ms);
  q.shutDown();
  worker.join();
  EXPECT_EQ(got, std::nullopt);
  q.add(key("late"));
  EXPECT_EQ(q.len(), 0u);
  EXPECT_TRUE(q.shuttingDown());
}

TEST(WorkQueueTest, ShutDownStopsHandingOutQueuedKeys) {
  FakeClock clock;
  WorkQueue q("q", noJitter(), clock);
  q.add(key("a"));
  q.add(key("b"));
  q.shutDown();
  EXPECT_EQ(q.getFor(0ms), std::nullopt);
}

TEST(WorkQueueTest, DrainWaitsForKeysInProcess) {
  util::RealClock clock;
  WorkQueue q("q", noJitter(), clock);
  q.add(key("a"));
  ASSERT_EQ(q.get(), key("a"));
  std::atomic<bool> drained{false};
  std::atomic<bool> result{false};
  std::thread stopper([&] {
    result = q.shutDownWithDrain(5s);
    drained = true;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(drained.load()) << "drain returned while a key was still in process";
  q.done(key("a"));
  stopper.join();
  EXPECT_TRUE(result.load());
}

TEST(WorkQueueTest, DrainGivesUpAtTheDeadline) {
  util::RealClock clock;
  WorkQueue q("q", noJitter(), clock);
  q.add(key("a"));
  ASSERT_EQ(q.get(), key("a"));
  EXPECT_FALSE(q.shutDownWithDrain(10ms));
  q.done(key("a"));
}

TEST(WorkQueueTest, ReportsLatencyAndWorkDuration) {
  FakeClock clock;
  util::MetricsRegistry registry;
  RuntimeMetrics metrics(registry);
  WorkQueue q("q", noJitter(), clock, &metrics);
  q.add(key("a"));
  clock.advance(2s);
  ASSERT_EQ(q.get(), key("a"));
  clock.advance(3s);
  q.done(key("a"));
  auto latency = metrics.queue_latency.with({"q"}).snapshot();
  auto work = metrics.work_duration.with({"q"}).snapshot();
  EXPECT_EQ(latency.count, 1u);
  EXPECT_DOUBLE_EQ(latency.sum, 2.0);
  EXPECT_EQ(work.count, 1u);
  EXPECT_DOUBLE_EQ(work.sum, 3.0);
}

}  // namespace
}  // namespace magnumd::controller
