#include "controller/manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "tests/controller/fakes.h"
#include "tests/controller/store_fixture.h"

namespace magnumd::controller {
namespace {

using namespace std::chrono_literals;
using testing::eventually;

// Appends "what happened" lines to a shared journal, for order assertions.
class Journal {
 public:
  void add(std::string line) {
    std::lock_guard lock(mu_);
    lines_.push_back(std::move(line));
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }
  // Index of the first line equal to `line`, or -1.
  int find(const std::string& line) const {
    auto l = lines();
    auto it = std::find(l.begin(), l.end(), line);
    return it == l.end() ? -1 : static_cast<int>(it - l.begin());
  }
  int count(const std::string& line) const {
    auto l = lines();
    return static_cast<int>(std::count(l.begin(), l.end(), line));
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

class RecordingRunnable final : public Runnable {
 public:
  RecordingRunnable(Journal& journal, util::Status start_result = {})
      : journal_(journal), start_result_(std::move(start_result)) {}
  std::string name() const override { return "observer"; }
  util::Status start() override {
    journal_.add("observer start");
    return start_result_;
  }
  bool stop(Duration) override {
    journal_.add("observer stop");
    return true;
  }

 private:
  Journal& journal_;
  util::Status start_result_;
};

class ManagerTest : public testing::StoreBackendFixture {
 protected:
  ManagerOptions fastOptions() {
    ManagerOptions o;
    o.cache_sync_timeout = 5s;
    o.shutdown_timeout = 5s;
    return o;
  }
  util::RealClock clock_;
  util::MetricsRegistry registry_;
};

TEST_P(ManagerTest, StartsInOrderReconcilesEverythingAndStopsInReverse) {
  create(object(api::Kind::Cluster, "a"));
  create(object(api::Kind::Cluster, "b"));
  Journal journal;
  Manager manager(*store_, fastOptions(), clock_, registry_);
  Informer& clusters = manager.informer(api::Kind::Cluster);
  EXPECT_EQ(&clusters, &manager.informer(api::Kind::Cluster)) << "one shared informer per kind";
  auto& c = manager.addController(
      ControllerOptions{.name = "cluster", .workers = 2},
      std::make_unique<FuncReconciler>([&](const Request& r) {
        journal.add(clusters.hasSynced() ? "reconcile " + r.name : "reconcile before sync");
        return Result::done();
      }));
  c.watch(clusters);
  manager.addRunnable(std::make_unique<RecordingRunnable>(journal));
  EXPECT_FALSE(manager.ready());
  ASSERT_TRUE(manager.start().ok());
  EXPECT_TRUE(manager.ready());
  ASSERT_TRUE(eventually([&] { return journal.count("reconcile a") == 1 && journal.count("reconcile b") == 1; }));
  EXPECT_EQ(journal.find("reconcile before sync"), -1);
  EXPECT_EQ(journal.find("observer start"), 0) << "runnables start before the workers";

  create(object(api::Kind::Cluster, "c"));
  ASSERT_TRUE(eventually([&] { return journal.count("reconcile c") == 1; }));
  EXPECT_TRUE(manager.stop());
  EXPECT_FALSE(manager.ready());
  auto lines = journal.lines();
  EXPECT_EQ(lines.back(), "observer stop") << "workers stop before the runnables";
  create(object(api::Kind::Cluster, "d"));
  std::this_thread::sleep_for(20ms);  // asserting an absence: nothing to poll for
  EXPECT_EQ(journal.count("reconcile d"), 0) << "reconciled after stop()";
}

TEST_P(ManagerTest, StartFailsWhenACacheCannotSync) {
  testing::FaultyStore faulty(*store_);
  faulty.list_failures = -1;  // forever
  ManagerOptions o = fastOptions();
  o.cache_sync_timeout = 50ms;
  Manager manager(faulty, o, clock_, registry_);
  manager.informer(api::Kind::NodeGroup);
  auto status = manager.start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, util::ErrorCode::Timeout);
  EXPECT_EQ(status.error().message, "the NodeGroup cache did not sync within 0 s");
  EXPECT_FALSE(manager.ready());
}

TEST_P(ManagerTest, AFailingRunnableStopsTheStart) {
  Journal journal;
  Manager manager(*store_, fastOptions(), clock_, registry_);
  manager.informer(api::Kind::Cluster);
  manager.addRunnable(std::make_unique<RecordingRunnable>(
      journal, util::makeError(util::ErrorCode::Unavailable, "keystone unreachable")));
  auto status = manager.start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "starting observer: keystone unreachable");
  EXPECT_EQ(journal.find("observer stop"), -1) << "a runnable that did not start is not stopped";
}

TEST_P(ManagerTest, StopReportsReconcilesStillRunningAtTheDeadline) {
  create(object(api::Kind::Cluster, "slow"));
  ManagerOptions o = fastOptions();
  o.shutdown_timeout = 30ms;
  std::atomic<bool> release{false};
  std::atomic<bool> entered{false};
  Manager manager(*store_, o, clock_, registry_);
  manager.addController(ControllerOptions{.name = "cluster"},
                        std::make_unique<FuncReconciler>([&](const Request&) {
                          entered = true;
                          while (!release) std::this_thread::sleep_for(1ms);
                          return Result::done();
                        }))
      .watch(manager.informer(api::Kind::Cluster));
  ASSERT_TRUE(manager.start().ok());
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(manager.stop());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "stop() must honour its deadline";
  release = true;
}

TEST_P(ManagerTest, EventsRecordedByReconcilersAreWrittenByStop) {
  create(object(api::Kind::Cluster, "prod"));
  Manager manager(*store_, fastOptions(), clock_, registry_);
  Informer& clusters = manager.informer(api::Kind::Cluster);
  manager.addController(ControllerOptions{.name = "cluster"},
                        std::make_unique<FuncReconciler>([&](const Request& r) {
                          if (auto o = clusters.get(r)) {
                            manager.eventRecorder().normal(*o, "Reconciled", "looked at {}", r.name);
                          }
                          return Result::done();
                        }))
      .watch(clusters);
  ASSERT_TRUE(manager.start().ok());
  ASSERT_TRUE(eventually([&] {
    return registry_.render().find("magnumd_events_recorded_total{type=\"Normal\"} 1") !=
           std::string::npos;
  }));
  EXPECT_TRUE(manager.stop());
  auto events = store_->list(store::ListOptions{api::Kind::Event, "demo", nullptr, 0, {}});
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->items.size(), 1u);
  std::string metrics = registry_.render();
  EXPECT_NE(metrics.find("magnumd_controller_reconcile_total{controller=\"cluster\",kind=\"Cluster\",result=\"success\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("magnumd_informer_objects{kind=\"Cluster\"} 1"), std::string::npos);
}

INSTANTIATE_STORE_BACKENDS(ManagerTest);

}  // namespace
}  // namespace magnumd::controller
