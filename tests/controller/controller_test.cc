#include "controller/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>

#include "tests/controller/fakes.h"
#include "tests/controller/store_fixture.h"
#include "util/json.h"

namespace magnumd::controller {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::FakeClock;

const Request kProd{api::Kind::Cluster, "demo", "prod"};

// Answers reconciles from a script, counting calls per key.
class ScriptedReconciler final : public Reconciler {
 public:
  explicit ScriptedReconciler(std::function<Result(const Request&, int call)> script)
      : script_(std::move(script)) {}
  Result reconcile(const Request& request) override {
    int call;
    {
      std::lock_guard lock(mu_);
      call = ++calls_[request];
      order_.push_back(request);
    }
    return script_(request, call);
  }
  int calls(const Request& r) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(r);
    return it == calls_.end() ? 0 : it->second;
  }
  std::vector<Request> order() const {
    std::lock_guard lock(mu_);
    return order_;
  }

 private:
  std::function<Result(const Request&, int)> script_;
  mutable std::mutex mu_;
  std::map<Request, int> calls_;
  std::vector<Request> order_;
};

ControllerOptions options(int workers = 1) {
  ControllerOptions o;
  o.name = "cluster";
  o.workers = workers;
  o.rate_limiter.jitter = 0;  // exact delays
  o.rate_limiter.qps = 0;     // no bucket
  return o;
}

util::Error failure(std::string message) {
  return util::makeError(util::ErrorCode::Unavailable, std::move(message));
}

class ControllerTest : public ::testing::Test {
 protected:
  // Waits for the worker to finish with the key (nothing queued or in process).
  bool idle(Controller& c) {
    return eventually([&] { return c.queue().len() == 0 && c.queue().processingLen() == 0; });
  }
  double total(const std::string& result) {
    return metrics_.reconcile_total.with({"cluster", "Cluster", result}).value();
  }

  FakeClock clock_;
  util::MetricsRegistry registry_;
  RuntimeMetrics metrics_{registry_};
};

TEST_F(ControllerTest, SuccessForgetsTheKey) {
  auto owned = std::make_unique<ScriptedReconciler>([](const Request&, int) {
    return Result::done();
  });
  auto* rec = owned.get();
  Controller c(options(), std::move(owned), clock_, &metrics_);
  c.start();
  c.queue().add(kProd);
  ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == 1; }));
  ASSERT_TRUE(idle(c));
  EXPECT_EQ(c.queue().waitingLen(), 0u);
  EXPECT_EQ(c.queue().numRequeues(kProd), 0);
  EXPECT_EQ(total("success"), 1);
  EXPECT_EQ(metrics_.reconcile_duration.with({"cluster", "Cluster"}).snapshot().count, 1u);
}

TEST_F(ControllerTest, ErrorsRetryWithGrowingBackoffUntilSuccess) {
  auto owned = std::make_unique<ScriptedReconciler>([](const Request&, int call) {
    return call <= 3 ? Result::fail(failure("cloud said 503")) : Result::done();
  });
  auto* rec = owned.get();
  Controller c(options(), std::move(owned), clock_, &metrics_);
  c.start();
  c.queue().add(kProd);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == attempt; }));
    ASSERT_TRUE(eventually([&] { return c.queue().waitingLen() == 1; }));
    Duration expected = 5ms * (1 << (attempt - 1));  // 5, 10, 20 ms
    EXPECT_EQ(c.queue().nextDelayedIn(), expected) << "attempt " << attempt;
    EXPECT_EQ(c.queue().numRequeues(kProd), attempt);
    clock_.advance(expected - 1ms);
    c.queue().processDelayed();
    EXPECT_EQ(c.queue().len(), 0u) << "retried before its backoff ran out";
    clock_.advance(1ms);
    c.queue().processDelayed();
  }
  ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == 4; }));
  ASSERT_TRUE(idle(c));
  EXPECT_EQ(c.queue().numRequeues(kProd), 0) << "success forgets the backoff";
  EXPECT_EQ(total("error"), 3);
  EXPECT_EQ(total("success"), 1);
  EXPECT_EQ(metrics_.reconcile_errors.with({"cluster"}).value(), 3);
}

TEST_F(ControllerTest, RequeueAfterIsIgnoredWhenThereIsAnError) {
  Controller c(options(),
               std::make_unique<FuncReconciler>([](const Request&) {
                 Result r = Result::fail(failure("boom"));
                 r.requeue_after = 1h;
                 return r;
               }),
               clock_, &metrics_);
  c.start();
  c.queue().add(kProd);
  ASSERT_TRUE(eventually([&] { return c.queue().waitingLen() == 1; }));
  EXPECT_EQ(c.queue().nextDelayedIn(), Duration(5ms));
}

TEST_F(ControllerTest, RequeueAfterForgetsBackoffAndComesBackLater) {
  auto owned = std::make_unique<ScriptedReconciler>([](const Request&, int call) {
    return call <= 2 ? Result::fail(failure("boom")) : Result::after(1min);
  });
  auto* rec = owned.get();
  Controller c(options(), std::move(owned), clock_, &metrics_);
  c.start();
  c.queue().add(kProd);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == attempt; }));
    ASSERT_TRUE(eventually([&] { return c.queue().waitingLen() == 1; }));
    clock_.advance(1s);
    c.queue().processDelayed();
  }
  ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == 3; }));
  ASSERT_TRUE(eventually([&] { return c.queue().waitingLen() == 1 && c.queue().processingLen() == 0; }));
  EXPECT_EQ(c.queue().numRequeues(kProd), 0);
  EXPECT_EQ(c.queue().nextDelayedIn(), Duration(1min));
  clock_.advance(59s);
  c.queue().processDelayed();
  EXPECT_EQ(c.queue().len(), 0u);
  clock_.advance(1s);
  c.queue().processDelayed();
  EXPECT_TRUE(eventually([&] { return rec->calls(kProd) == 4; }));
  EXPECT_TRUE(eventually([&] { return total("requeue_after") == 2; }));
}

TEST_F(ControllerTest, TerminalErrorsAreCountedNotRetried) {
  auto owned = std::make_unique<ScriptedReconciler>([](const Request&, int) {
    return Result::terminalFailure(util::makeError(util::ErrorCode::Invalid, "bad template"));
  });
  auto* rec = owned.get();
  Controller c(options(), std::move(owned), clock_, &metrics_);
  c.start();
  c.queue().add(kProd);
  ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == 1; }));
  ASSERT_TRUE(idle(c));
  EXPECT_EQ(c.queue().waitingLen(), 0u);
  EXPECT_EQ(total("terminal_error"), 1);
  EXPECT_EQ(metrics_.reconcile_errors.with({"cluster"}).value(), 1);
  clock_.advance(1h);
  c.queue().processDelayed();
  EXPECT_EQ(c.queue().len(), 0u);
  c.queue().add(kProd);  // a new change brings it back
  EXPECT_TRUE(eventually([&] { return rec->calls(kProd) == 2; }));
}

TEST_F(ControllerTest, AThrowingReconcilerIsRetriedLikeAnError) {
  auto owned = std::make_unique<ScriptedReconciler>([](const Request&, int call) -> Result {
    if (call == 1) throw std::runtime_error("bad_alloc, say");
    return Result::done();
  });
  auto* rec = owned.get();
  Controller c(options(), std::move(owned), clock_, &metrics_);
  c.start();
  c.queue().add(kProd);
  ASSERT_TRUE(eventually([&] { return c.queue().waitingLen() == 1; }));
  EXPECT_TRUE(eventually([&] { return total("error") == 1; }));
  clock_.advance(5ms);
  c.queue().processDelayed();
  EXPECT_TRUE(eventually([&] { return rec->calls(kProd) == 2; }));
}

TEST_F(ControllerTest, WorkersRunKeysInParallelButNeverOneKeyTwice) {
  std::mutex mu;
  std::set<Request> running;
  std::atomic<int> peak{0};
  std::atomic<bool> overlap{false};
  auto owned = std::make_unique<ScriptedReconciler>([&](const Request& r, int) {
    {
      std::lock_guard lock(mu);
      if (!running.insert(r).second) overlap = true;
      peak = std::max<int>(peak, static_cast<int>(running.size()));
    }
    std::this_thread::sleep_for(5ms);
    {
      std::lock_guard lock(mu);
      running.erase(r);
    }
    return Result::done();
  });
  auto* rec = owned.get();
  Controller c(options(4), std::move(owned), clock_, &metrics_);
  c.start();
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 8; ++i) c.queue().add({api::Kind::Cluster, "demo", "c" + std::to_string(i)});
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_TRUE(idle(c));
  EXPECT_FALSE(overlap.load());
  EXPECT_GT(peak.load(), 1) << "four workers should overlap on different keys";
  EXPECT_LE(peak.load(), 4);
  for (int i = 0; i < 8; ++i) EXPECT_GE(rec->calls({api::Kind::Cluster, "demo", "c" + std::to_string(i)}), 1);
}

TEST_F(ControllerTest, StopWaitsForRunningReconcilesUpToTheDeadline) {
  std::atomic<bool> release{false};
  std::atomic<bool> entered{false};
  Controller c(options(),
               std::make_unique<FuncReconciler>([&](const Request&) {
                 entered = true;
                 while (!release) std::this_thread::sleep_for(1ms);
                 return Result::done();
               }),
               clock_, &metrics_);
  c.start();
  c.queue().add(kProd);
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  EXPECT_FALSE(c.stop(20ms));
  release = true;
  // The destructor joins the straggler.
}

class ControllerInformerTest : public testing::StoreBackendFixture {};

TEST_P(ControllerInformerTest, ChangesOfOtherKindsEnqueueTheirOwner) {
  util::RealClock clock;
  Informer clusters(*store_, InformerOptions{.kind = api::Kind::Cluster});
  Informer nodegroups(*store_, InformerOptions{.kind = api::Kind::NodeGroup});
  auto owned = std::make_unique<ScriptedReconciler>([](const Request&, int) { return Result::done(); });
  auto* rec = owned.get();
  ControllerOptions o = options();
  Controller c(o, std::move(owned), clock);
  c.watch(clusters);
  c.watchMapped(nodegroups, [](const api::Object& ng) {
    auto spec = util::parseJson(ng.spec);
    auto cluster = spec.ok() ? util::stringMember(*spec, "cluster") : std::nullopt;
    if (!cluster) return std::vector<Request>{};
    return std::vector<Request>{{api::Kind::Cluster, ng.metadata.namespace_, *cluster}};
  });
  clusters.start();
  nodegroups.start();
  ASSERT_TRUE(clusters.waitForSync(5s));
  ASSERT_TRUE(nodegroups.waitForSync(5s));
  c.start();

  create(object(api::Kind::Cluster, "prod"));
  ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == 1; }));
  ASSERT_TRUE(eventually([&] { return c.queue().processingLen() == 0; }));
  create(object(api::Kind::NodeGroup, "big-workers", R"({"cluster":"prod"})"));
  ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == 2; }));
  ASSERT_TRUE(eventually([&] { return c.queue().processingLen() == 0; }));
  remove(object(api::Kind::NodeGroup, "big-workers"));
  ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == 3; }));
  for (const auto& r : rec->order()) {
    EXPECT_EQ(r.kind, api::Kind::Cluster) << "a NodeGroup key leaked into the Cluster queue";
  }
  c.stop(1s);
}

TEST_P(ControllerInformerTest, PredicateFiltersStatusOnlyWrites) {
  util::RealClock clock;
  std::atomic<int64_t> handled{0};  // outlives the informer whose handler writes it
  Informer clusters(*store_, InformerOptions{.kind = api::Kind::Cluster});
  auto owned = std::make_unique<ScriptedReconciler>([](const Request&, int) { return Result::done(); });
  auto* rec = owned.get();
  Controller c(options(), std::move(owned), clock);
  c.watch(clusters, specOrMetadataChanged);
  // Runs after the controller's handler for the same event: once it saw a revision, the
  // controller has decided about that revision too.
  EventHandler after;
  after.on_add = [&](const ObjectPtr& o) { handled = o->metadata.resource_version; };
  after.on_update = [&](const ObjectPtr&, const ObjectPtr& o) { handled = o->metadata.resource_version; };
  clusters.addEventHandler(after);
  clusters.start();
  ASSERT_TRUE(clusters.waitForSync(5s));
  c.start();
  auto prod = create(object(api::Kind::Cluster, "prod"));
  ASSERT_TRUE(eventually([&] { return rec->calls(kProd) == 1; }));
  prod.status = R"({"phase":"CREATE_IN_PROGRESS"})";
  auto written = store::updateStatusSync(*store_, prod, 0);
  ASSERT_TRUE(written.ok());
  ASSERT_TRUE(eventually([&] { return handled.load() == written->metadata.resource_version; }));
  ASSERT_TRUE(eventually([&] { return c.queue().len() == 0 && c.queue().processingLen() == 0; }));
  EXPECT_EQ(rec->calls(kProd), 1) << "a status-only write was reconciled";
  update(object(api::Kind::Cluster, "prod", R"({"nodeCount":2})"));
  EXPECT_TRUE(eventually([&] { return rec->calls(kProd) == 2; })) << "a spec change was not";
  c.stop(1s);
}

INSTANTIATE_STORE_BACKENDS(ControllerInformerTest);

}  // namespace
}  // namespace magnumd::controller
