#include "audit/notifier.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>

#include "audit/bounded_queue.h"
#include "tests/audit/recording_sink.h"

namespace magnumd::audit {
namespace {

using testing::Recorded;
using testing::RecordingSink;

Notification note(int i) {
  return {"magnum.cluster.create", "INFO", fmt::format(R"({{"n":{}}})", i)};
}

// A metric's value for sink="rec", read from the registry's Prometheus text.
double metric(const util::MetricsRegistry& registry, const std::string& name,
              const std::string& sink = "rec") {
  std::smatch m;
  std::string text = registry.render();
  std::regex line(name + R"(\{sink=")" + sink + R"("\} ([0-9.e+]+))");
  if (!std::regex_search(text, m, line)) return -1;
  return std::stod(m[1]);
}

NotifierOptions fast(size_t queue_size) {
  NotifierOptions o;
  o.queue_size = queue_size;
  o.retry_initial = std::chrono::milliseconds(1);
  o.retry_max = std::chrono::milliseconds(5);
  return o;
}

TEST(BoundedQueue, RefusesWhenFullAndHandsOutInOrderUntilClosedAndEmpty) {
  BoundedQueue<int> q(2);
  EXPECT_TRUE(q.tryPush(1));
  EXPECT_TRUE(q.tryPush(2));
  EXPECT_FALSE(q.tryPush(3));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.pop(), 1);
  EXPECT_TRUE(q.tryPush(4));
  q.close();
  EXPECT_FALSE(q.tryPush(5));
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), 4);
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(AuditNotifier, AFullQueueDropsAndCountsInsteadOfWaiting) {
  util::MetricsRegistry registry;
  Recorded recorded;
  AuditNotifier notifier(fast(2), registry);
  notifier.addSink(std::make_unique<RecordingSink>(recorded));
  // Not started: nothing is taken out of the queue, so exactly two fit.
  for (int i = 0; i < 5; ++i) notifier.publish(note(i));
  EXPECT_EQ(notifier.queued("rec"), 2u);
  EXPECT_EQ(metric(registry, "magnumd_audit_dropped_total"), 3);
  notifier.start();
  ASSERT_TRUE(recorded.waitFor(2));
  auto got = recorded.snapshot();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, R"({"n":0})");
  EXPECT_EQ(got[1].body, R"({"n":1})");
  notifier.stop(std::chrono::milliseconds(1000));
  EXPECT_EQ(metric(registry, "magnumd_audit_delivered_total"), 2);
  EXPECT_EQ(metric(registry, "magnumd_audit_dropped_total"), 3);
  EXPECT_TRUE(recorded.closed);
}

TEST(AuditNotifier, AFailingSinkGetsEveryNotificationInOrderOnceItRecovers) {
  util::MetricsRegistry registry;
  Recorded recorded;
  recorded.fail_first = 4;
  AuditNotifier notifier(fast(100), registry);
  notifier.addSink(std::make_unique<RecordingSink>(recorded));
  notifier.start();
  for (int i = 0; i < 10; ++i) notifier.publish(note(i));
  ASSERT_TRUE(recorded.waitFor(10));
  notifier.stop(std::chrono::milliseconds(1000));
  auto got = recorded.snapshot();
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i].body, note(i).body);
  EXPECT_EQ(recorded.attempts, 14);
  EXPECT_EQ(metric(registry, "magnumd_audit_dropped_total"), 0);
  EXPECT_EQ(metric(registry, "magnumd_audit_sink_up"), 1);
}

TEST(AuditNotifier, EachSinkHasItsOwnQueueSoABrokenOneDoesNotHoldTheOther) {
  util::MetricsRegistry registry;
  Recorded good;
  Recorded broken;
  broken.fail_first = -1;
  AuditNotifier notifier(fast(3), registry);
  notifier.addSink(std::make_unique<RecordingSink>(good, "good"));
  notifier.addSink(std::make_unique<RecordingSink>(broken, "broken"));
  notifier.start();
  for (int i = 0; i < 3; ++i) notifier.publish(note(i));
  ASSERT_TRUE(good.waitFor(3));
  for (int i = 3; i < 6; ++i) notifier.publish(note(i));
  ASSERT_TRUE(good.waitFor(6));
  // A second attempt means the first failure was recorded.
  ASSERT_TRUE(broken.waitForAttempts(2));
  // The broken sink holds one in hand and three queued at most; the rest were dropped.
  EXPECT_GE(metric(registry, "magnumd_audit_dropped_total", "broken"), 2);
  EXPECT_EQ(metric(registry, "magnumd_audit_dropped_total", "good"), 0);
  EXPECT_EQ(metric(registry, "magnumd_audit_sink_up", "broken"), 0);
  // Stopping does not wait for a sink that cannot deliver; what it held counts as dropped.
  notifier.stop(std::chrono::seconds(60));
  EXPECT_EQ(metric(registry, "magnumd_audit_dropped_total", "broken"), 6);
  EXPECT_TRUE(broken.snapshot().empty());
}

TEST(AuditNotifier, StopDeliversWhatIsQueued) {
  util::MetricsRegistry registry;
  Recorded recorded;
  AuditNotifier notifier(fast(100), registry);
  notifier.addSink(std::make_unique<RecordingSink>(recorded));
  for (int i = 0; i < 50; ++i) notifier.publish(note(i));
  notifier.start();
  notifier.stop(std::chrono::seconds(20));
  EXPECT_EQ(recorded.snapshot().size(), 50u);
  EXPECT_EQ(metric(registry, "magnumd_audit_dropped_total"), 0);
}

}  // namespace
}  // namespace magnumd::audit
