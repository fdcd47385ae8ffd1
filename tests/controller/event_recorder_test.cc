#include "controller/event_recorder.h"

#include <gtest/gtest.h>

#include "api/event.h"
#include "tests/controller/fakes.h"
#include "tests/controller/store_fixture.h"

namespace magnumd::controller {
namespace {

using namespace std::chrono_literals;

class EventRecorderTest : public testing::StoreBackendFixture {
 protected:
  std::vector<api::EventSpec> events() {
    auto listed = store_->list(store::ListOptions{api::Kind::Event, "", nullptr, 0, {}});
    EXPECT_TRUE(listed.ok());
    std::vector<api::EventSpec> out;
    for (const auto& o : listed->items) {
      auto spec = api::decodeEventSpec(o.spec);
      EXPECT_TRUE(spec.ok()) << o.spec;
      if (spec.ok()) out.push_back(*spec);
    }
    return out;
  }
  api::Object cluster(std::string name) {
    return create(object(api::Kind::Cluster, std::move(name)));
  }

  testing::FakeClock clock_;
};

TEST_P(EventRecorderTest, WritesAnEventObjectAboutTheObject) {
  auto prod = cluster("prod");
  StoreEventRecorder recorder(*store_, EventRecorderOptions{}, clock_);
  recorder.warning(prod, "StackCreateFailed", "stack {} failed: {}", "prod-abc", "quota exceeded");
  ASSERT_TRUE(recorder.flush(5s));
  auto listed = store_->list(store::ListOptions{api::Kind::Event, "demo", nullptr, 0, {}});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items.size(), 1u);
  const api::Object& event = listed->items[0];
  EXPECT_EQ(event.metadata.labels.at(std::string(kInvolvedKindLabel)), "Cluster");
  EXPECT_EQ(event.metadata.labels.at(std::string(kInvolvedNameLabel)), "prod");
  EXPECT_EQ(event.metadata.name.rfind("prod.", 0), 0u);
  auto spec = api::decodeEventSpec(event.spec);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->involved_object.kind, "Cluster");
  EXPECT_EQ(spec->involved_object.name, "prod");
  EXPECT_EQ(spec->involved_object.namespace_, "demo");
  EXPECT_EQ(spec->involved_object.uid, prod.metadata.uid);
  EXPECT_EQ(spec->type, "Warning");
  EXPECT_EQ(spec->reason, "StackCreateFailed");
  EXPECT_EQ(spec->message, "stack prod-abc failed: quota exceeded");
  EXPECT_EQ(spec->count, 1);
  EXPECT_EQ(spec->first_timestamp, util::formatRfc3339(clock_.now()));
  EXPECT_EQ(spec->source, "magnumd");
  api::Causes causes;
  api::validate(*spec, causes);
  EXPECT_TRUE(causes.empty()) << "what the recorder writes passes the API's own validation";
}

TEST_P(EventRecorderTest, RepeatsOfOneEventBumpItsCount) {
  auto prod = cluster("prod");
  StoreEventRecorder recorder(*store_, EventRecorderOptions{}, clock_);
  const auto first = clock_.now();
  for (int i = 0; i < 100; ++i) recorder.normal(prod, "Waiting", "stack still in progress");
  ASSERT_TRUE(recorder.flush(5s));
  clock_.advance(30s);
  recorder.normal(prod, "Waiting", "stack still in progress");
  recorder.normal(prod, "Created", "stack created");
  ASSERT_TRUE(recorder.flush(5s));
  auto all = events();
  ASSERT_EQ(all.size(), 2u);
  const auto& waiting = all[0].reason == "Waiting" ? all[0] : all[1];
  EXPECT_EQ(waiting.count, 101);
  EXPECT_EQ(waiting.first_timestamp, util::formatRfc3339(first));
  EXPECT_EQ(waiting.last_timestamp, util::formatRfc3339(clock_.now()));
  auto stats = recorder.stats();
  EXPECT_EQ(stats.recorded, 102u);
  EXPECT_EQ(stats.created, 2u);
  EXPECT_LE(stats.created + stats.updated, 102u - stats.merged);
  EXPECT_GT(stats.merged, 0u) << "a hot loop must not cost a store write per call";
}

TEST_P(EventRecorderTest, RateLimitsPerObjectThenCatchesUp) {
  auto prod = cluster("prod");
  auto dev = cluster("dev");
  EventRecorderOptions o;
  o.per_object_burst = 3;
  o.per_object_refill = 10s;
  StoreEventRecorder recorder(*store_, o, clock_);
  for (int i = 0; i < 5; ++i) recorder.normal(prod, "Step", "step {}", i);
  recorder.normal(dev, "Step", "dev is not throttled by prod");
  EXPECT_FALSE(recorder.flush(5s)) << "two of prod's events must wait for tokens";
  EXPECT_EQ(events().size(), 4u);
  EXPECT_EQ(recorder.stats().pending, 2u);
  clock_.advance(10s);
  recorder.flush(5s);
  EXPECT_EQ(events().size(), 5u);
  clock_.advance(10s);
  EXPECT_TRUE(recorder.flush(5s));
  EXPECT_EQ(events().size(), 6u);
}

TEST_P(EventRecorderTest, AFullQueueDropsAndCounts) {
  auto prod = cluster("prod");
  EventRecorderOptions o;
  o.per_object_burst = 1;
  o.per_object_refill = 1h;
  o.max_pending = 2;
  util::MetricsRegistry registry;
  RuntimeMetrics metrics(registry);
  StoreEventRecorder recorder(*store_, o, clock_, &metrics);
  recorder.normal(prod, "Step", "step 0");
  recorder.flush(5s);
  for (int i = 1; i <= 5; ++i) recorder.normal(prod, "Step", "step {}", i);
  recorder.flush(5s);
  auto stats = recorder.stats();
  EXPECT_EQ(stats.pending, 2u);
  EXPECT_EQ(stats.dropped, 3u);
  EXPECT_EQ(metrics.events_dropped.with({"queue_full"}).value(), 3);
  recorder.stop(5s);  // shutdown writes what is queued, limits or not
  EXPECT_EQ(events().size(), 3u);
}

TEST_P(EventRecorderTest, DeletesItsEventsAfterTheTtl) {
  auto prod = cluster("prod");
  EventRecorderOptions o;
  o.ttl = 1h;
  o.gc_period = 1min;
  StoreEventRecorder recorder(*store_, o, clock_);
  recorder.normal(prod, "Created", "stack created");
  ASSERT_TRUE(recorder.flush(5s));
  ASSERT_EQ(events().size(), 1u);
  clock_.advance(30min);
  recorder.normal(prod, "Scaled", "scaled to 3");
  ASSERT_TRUE(recorder.flush(5s));
  clock_.advance(31min);  // the first is 61 min old, the second 31
  ASSERT_TRUE(recorder.flush(5s));
  auto left = events();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].reason, "Scaled");
}

TEST_P(EventRecorderTest, LongMessagesAreTruncated) {
  auto prod = cluster("prod");
  StoreEventRecorder recorder(*store_, EventRecorderOptions{}, clock_);
  recorder.normal(prod, "Big", "{}", std::string(10000, 'x'));
  ASSERT_TRUE(recorder.flush(5s));
  auto all = events();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].message.size(), 1024u);
  EXPECT_EQ(all[0].message.substr(1021), "...");
}

TEST(FakeEventRecorderTest, KeepsWhatItWasTold) {
  testing::FakeEventRecorder fake;
  api::Object o;
  o.metadata.name = "prod";
  fake.normal(o, "Created", "stack {}", "s-1");
  fake.warning(o, "Failed", "boom");
  EXPECT_EQ(fake.reasons(), (std::vector<std::string>{"Created", "Failed"}));
  EXPECT_EQ(fake.events()[0].message, "stack s-1");
  EXPECT_EQ(fake.events()[1].type, EventType::Warning);
}

INSTANTIATE_STORE_BACKENDS(EventRecorderTest);

}  // namespace
}  // namespace magnumd::controller
