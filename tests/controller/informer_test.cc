#include "controller/informer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>

#include "util/json.h"
#include "tests/controller/fakes.h"
#include "tests/controller/store_fixture.h"

namespace magnumd::controller {
namespace {

using namespace std::chrono_literals;
using testing::eventually;

// What the handlers saw, as "add a", "update b 5->7", "delete c".
class Recorder {
 public:
  EventHandler handler() {
    EventHandler h;
    h.on_add = [this](const ObjectPtr& o) { push("add " + o->metadata.name); };
    h.on_update = [this](const ObjectPtr& old_object, const ObjectPtr& o) {
      push("update " + o->metadata.name + " " + std::to_string(old_object->metadata.resource_version) +
           "->" + std::to_string(o->metadata.resource_version));
    };
    h.on_delete = [this](const ObjectPtr& o) { push("delete " + o->metadata.name); };
    return h;
  }
  std::vector<std::string> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  bool contains(const std::string& s) const {
    auto v = seen();
    return std::find(v.begin(), v.end(), s) != v.end();
  }

 private:
  void push(std::string s) {
    std::lock_guard lock(mu_);
    seen_.push_back(std::move(s));
  }
  mutable std::mutex mu_;
  std::vector<std::string> seen_;
};

// Blocks the informer's thread inside a handler until released, so the test can change the
// store while the informer is not looking.
class Gate {
 public:
  void block() {
    std::unique_lock lock(mu_);
    blocked_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  bool waitBlocked() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [this] { return blocked_; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool blocked_ = false;
  bool open_ = false;
};

// Declared after the informer: opens the gate before the informer's destructor joins its thread.
struct OpenOnExit {
  Gate& gate;
  ~OpenOnExit() { gate.open(); }
};

class InformerTest : public testing::StoreBackendFixture {};

TEST_P(InformerTest, ListsThenWatches) {
  create(object(api::Kind::Cluster, "a"));
  create(object(api::Kind::Cluster, "b"));
  create(object(api::Kind::NodeGroup, "other-kind"));
  Recorder rec;
  Informer informer(*store_, InformerOptions{.kind = api::Kind::Cluster});
  informer.addEventHandler(rec.handler());
  EXPECT_FALSE(informer.hasSynced());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  EXPECT_EQ(informer.size(), 2u);
  EXPECT_EQ(rec.seen(), (std::vector<std::string>{"add a", "add b"}));

  auto b = store_->get({api::Kind::Cluster, "demo", "b"}).value();
  auto c = create(object(api::Kind::Cluster, "c"));
  auto b2 = update(object(api::Kind::Cluster, "b", R"({"nodeCount":3})"));
  remove(c);
  ASSERT_TRUE(eventually([&] { return rec.seen().size() == 5; }));
  EXPECT_EQ(rec.seen()[2], "add c");
  EXPECT_EQ(rec.seen()[3], "update b " + std::to_string(b.metadata.resource_version) + "->" +
                               std::to_string(b2.metadata.resource_version));
  EXPECT_EQ(rec.seen()[4], "delete c");
  EXPECT_EQ(informer.get({api::Kind::Cluster, "demo", "c"}), nullptr);
  ASSERT_NE(informer.get({api::Kind::Cluster, "demo", "b"}), nullptr);
  EXPECT_EQ(informer.get({api::Kind::Cluster, "demo", "b"})->spec, R"({"nodeCount":3})");
  EXPECT_EQ(informer.lastRevision(), store_->currentRevision());
  EXPECT_EQ(informer.stats().lists, 1u);
}

TEST_P(InformerTest, RelistsWhenTheWatchExpiredAndReportsWhatChangedMeanwhile) {
  open(/*retention=*/2);
  auto a = create(object(api::Kind::Cluster, "a"));
  auto b = create(object(api::Kind::Cluster, "b"));
  auto c = create(object(api::Kind::Cluster, "c"));
  Recorder rec;
  Gate gate;
  std::atomic<bool> first{true};
  Informer informer(*store_, InformerOptions{.kind = api::Kind::Cluster});
  OpenOnExit open_on_exit{gate};
  EventHandler blocker;
  blocker.on_add = [&](const ObjectPtr&) {
    if (first.exchange(false)) gate.block();  // during the first list, before the watch starts
  };
  informer.addEventHandler(blocker);
  informer.addEventHandler(rec.handler());
  informer.start();
  ASSERT_TRUE(gate.waitBlocked());
  // While the informer is stuck, enough happens that the change log no longer reaches back.
  auto b2 = update(object(api::Kind::Cluster, "b", R"({"nodeCount":5})"));
  remove(c);
  create(object(api::Kind::Cluster, "d"));
  update(object(api::Kind::Cluster, "d", R"({"nodeCount":1})"));
  auto d = update(object(api::Kind::Cluster, "d", R"({"nodeCount":2})"));
  // SQLite compacts as it commits, etcd on its compaction timer.
  ASSERT_TRUE(
      eventually([&] { return store_->compactedRevision() > c.metadata.resource_version; }));
  gate.open();

  ASSERT_TRUE(eventually([&] { return informer.stats().lists == 2; }));
  ASSERT_TRUE(eventually([&] { return rec.seen().size() == 6; })) << rec.seen().size();
  EXPECT_GE(informer.stats().expired, 1u);
  auto seen = rec.seen();
  EXPECT_EQ(std::vector<std::string>(seen.begin(), seen.begin() + 3),
            (std::vector<std::string>{"add a", "add b", "add c"}));
  EXPECT_TRUE(rec.contains("update b " + std::to_string(b.metadata.resource_version) + "->" +
                           std::to_string(b2.metadata.resource_version)));
  EXPECT_TRUE(rec.contains("delete c"));
  EXPECT_TRUE(rec.contains("add d"));
  EXPECT_FALSE(rec.contains("update a " + std::to_string(a.metadata.resource_version) + "->" +
                            std::to_string(a.metadata.resource_version)))
      << "an unchanged object is not reported again";
  EXPECT_EQ(informer.size(), 3u);
  EXPECT_EQ(informer.get({api::Kind::Cluster, "demo", "d"})->metadata.resource_version,
            d.metadata.resource_version);
  // And it watches again afterwards.
  create(object(api::Kind::Cluster, "e"));
  EXPECT_TRUE(eventually([&] { return rec.contains("add e"); }));
}

TEST_P(InformerTest, ResumesAfterFallingBehindWithoutRelisting) {
  create(object(api::Kind::Cluster, "a"));
  Recorder rec;
  Gate gate;
  Informer informer(*store_,
                    InformerOptions{.kind = api::Kind::Cluster, .max_buffered_events = 1});
  OpenOnExit open_on_exit{gate};
  EventHandler blocker;
  blocker.on_update = [&](const ObjectPtr&, const ObjectPtr& o) {
    if (o->spec == R"({"step":0})") gate.block();
  };
  informer.addEventHandler(blocker);
  informer.addEventHandler(rec.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  update(object(api::Kind::Cluster, "a", R"({"step":0})"));
  ASSERT_TRUE(gate.waitBlocked());
  for (int i = 1; i <= 10; ++i) {
    update(object(api::Kind::Cluster, "a", "{\"step\":" + std::to_string(i) + "}"));
    // The store may hand several commits over in one callback; a pause halfway makes sure at
    // least two callbacks arrive while the informer is stuck, which is what overflows it.
    if (i == 5) std::this_thread::sleep_for(50ms);
  }
  gate.open();
  ASSERT_TRUE(eventually([&] {
    auto a = informer.get({api::Kind::Cluster, "demo", "a"});
    return a && a->spec == R"({"step":10})";
  }));
  EXPECT_GE(informer.stats().overflows, 1u);
  EXPECT_EQ(informer.stats().lists, 1u) << "the change log still had the events";
  // The cache is updated before the handlers run, so wait for the handlers too.
  EXPECT_TRUE(eventually([&] { return rec.seen().size() >= 12; }));
  auto seen = rec.seen();
  std::set<std::string> distinct(seen.begin(), seen.end());
  EXPECT_EQ(seen.size(), 12u) << "every update delivered exactly once";
  EXPECT_EQ(distinct.size(), seen.size()) << "an update was delivered twice";
}

TEST_P(InformerTest, IndexesFollowChanges) {
  create(object(api::Kind::NodeGroup, "ng1", R"({"cluster":"prod"})"));
  create(object(api::Kind::NodeGroup, "ng2", R"({"cluster":"prod"})"));
  create(object(api::Kind::NodeGroup, "ng3", R"({"cluster":"dev"})"));
  Informer informer(*store_, InformerOptions{.kind = api::Kind::NodeGroup});
  informer.addIndex("cluster", [](const api::Object& o) {
    auto spec = util::parseJson(o.spec);
    std::string cluster = spec.ok() ? util::stringMember(*spec, "cluster").value_or("") : "";
    return std::vector<std::string>{namespacedName(o.metadata.namespace_, cluster)};
  });
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  EXPECT_EQ(informer.byIndex("cluster", "demo/prod").size(), 2u);
  EXPECT_EQ(informer.byIndex("cluster", "demo/dev").size(), 1u);
  update(object(api::Kind::NodeGroup, "ng2", R"({"cluster":"dev"})"));
  remove(object(api::Kind::NodeGroup, "ng3"));
  ASSERT_TRUE(eventually([&] { return informer.byIndex("cluster", "demo/prod").size() == 1; }));
  ASSERT_TRUE(eventually([&] { return informer.size() == 2; }));
  auto dev = informer.byIndex("cluster", "demo/dev");
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_EQ(dev[0]->metadata.name, "ng2");
  EXPECT_TRUE(informer.byIndex("cluster", "demo/none").empty());
  EXPECT_TRUE(informer.byIndex("no-such-index", "demo/prod").empty());
}

TEST_P(InformerTest, RetriesAFailedWatchWithoutLosingEvents) {
  testing::FaultyStore flaky(*store_);
  flaky.watch_failures = 3;
  Recorder rec;
  Informer informer(flaky, InformerOptions{.kind = api::Kind::Cluster,
                                           .retry_initial = 1ms,
                                           .retry_max = 4ms});
  informer.addEventHandler(rec.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  create(object(api::Kind::Cluster, "a"));
  ASSERT_TRUE(eventually([&] { return rec.contains("add a"); }));
  EXPECT_EQ(flaky.watch_attempts.load(), 4);
  EXPECT_EQ(informer.stats().lists, 1u);
}

// The store ends the watch (here: the callback throws on its first delivery). The informer must
// notice, list again and watch again, or objects created from then on would never be seen.
TEST_P(InformerTest, ListsAndWatchesAgainWhenTheStoreEndsTheWatch) {
  testing::FaultyStore flaky(*store_);
  flaky.throw_on_next_delivery = true;
  util::MetricsRegistry registry;
  RuntimeMetrics metrics(registry);
  Recorder rec;
  Informer informer(
      flaky, InformerOptions{.kind = api::Kind::Cluster, .retry_initial = 1ms, .retry_max = 4ms},
      &metrics);
  informer.addEventHandler(rec.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  create(object(api::Kind::Cluster, "a"));  // the delivery that throws: the watch ends
  ASSERT_TRUE(eventually([&] { return rec.contains("add a"); })) << "found by listing again";
  create(object(api::Kind::Cluster, "b"));
  ASSERT_TRUE(eventually([&] { return rec.contains("add b"); })) << "seen by the new watch";
  EXPECT_EQ(rec.seen(), (std::vector<std::string>{"add a", "add b"}));
  EXPECT_EQ(informer.stats().failures, 1u);
  EXPECT_EQ(informer.stats().lists, 2u);
  EXPECT_EQ(flaky.watch_attempts.load(), 2);
  EXPECT_EQ(metrics.informer_relists.with({"Cluster", "watch_failed"}).value(), 1.0);
}

TEST_P(InformerTest, ResyncReplaysTheCache) {
  create(object(api::Kind::Cluster, "a"));
  Recorder rec;
  Informer informer(*store_, InformerOptions{.kind = api::Kind::Cluster, .resync_period = 20ms});
  informer.addEventHandler(rec.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  auto rv = std::to_string(informer.get({api::Kind::Cluster, "demo", "a"})->metadata.resource_version);
  EXPECT_TRUE(eventually([&] { return rec.contains("update a " + rv + "->" + rv); }));
}

TEST_P(InformerTest, StopEndsDeliveryAndKeepsTheCache) {
  create(object(api::Kind::Cluster, "a"));
  Recorder rec;
  Informer informer(*store_, InformerOptions{.kind = api::Kind::Cluster});
  informer.addEventHandler(rec.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  informer.stop();
  create(object(api::Kind::Cluster, "b"));
  std::this_thread::sleep_for(20ms);  // nothing may arrive; there is no event to wait for
  EXPECT_EQ(rec.seen(), std::vector<std::string>{"add a"});
  EXPECT_EQ(informer.size(), 1u);
}

INSTANTIATE_STORE_BACKENDS(InformerTest);

}  // namespace
}  // namespace magnumd::controller
