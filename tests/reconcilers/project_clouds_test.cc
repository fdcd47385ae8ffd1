// CloudPool: one driver, bridge and observer per Keystone project, chosen by namespace; and the
// reconcilers acting in the project of the object's namespace.
#include "reconcilers/project_clouds.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <functional>
#include <set>

#include "drivers/coe/coe_driver.h"
#include "tests/reconcilers/harness.h"

namespace magnumd::reconcilers::testing {
namespace {

using drivers::FakeCloudDriver;
using Op = FakeCloudDriver::Op;

// Namespaces name projects as a test says; each opened project is a FakeCloudDriver the pool
// owns and the test watches through `opened`.
class FakeProjects final : public drivers::ProjectDrivers {
 public:
  std::map<std::string, std::string> names;  // namespace -> project id
  std::set<std::string> forbidden;           // namespaces answered with Forbidden
  std::vector<std::string> listed;           // what projects() answers
  std::function<void(const std::string& project, FakeCloudDriver&)> on_open;

  drivers::Task<std::vector<std::string>> projects() override {
    std::lock_guard lock(mutex_);
    co_return listed;
  }

  drivers::Task<std::string> projectOf(std::string ns) override {
    std::lock_guard lock(mutex_);
    asked_[ns]++;
    if (forbidden.count(ns))
      co_return util::makeError(util::ErrorCode::Forbidden, "no role on " + ns);
    auto it = names.find(ns);
    co_return it == names.end() ? std::string() : it->second;
  }

  util::Result<drivers::CloudDriverPtr> open(const std::string& project) override {
    auto driver = std::make_unique<FakeCloudDriver>(project);
    if (on_open) on_open(project, *driver);
    std::lock_guard lock(mutex_);
    opened_[project].push_back(driver.get());
    return drivers::CloudDriverPtr(std::move(driver));
  }

  int asked(const std::string& ns) const {
    std::lock_guard lock(mutex_);
    auto it = asked_.find(ns);
    return it == asked_.end() ? 0 : it->second;
  }
  // The driver the pool kept for `project` (the first opened; a pool opens each once).
  FakeCloudDriver* driver(const std::string& project) const {
    std::lock_guard lock(mutex_);
    auto it = opened_.find(project);
    return it == opened_.end() ? nullptr : it->second.front();
  }
  size_t opens(const std::string& project) const {
    std::lock_guard lock(mutex_);
    auto it = opened_.find(project);
    return it == opened_.end() ? 0 : it->second.size();
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> asked_;
  std::map<std::string, std::vector<FakeCloudDriver*>> opened_;
};

// A magnumd stack of cluster `uid`, as the Cluster reconciler tags it.
drivers::StackCreate stackOf(const std::string& uid) {
  drivers::StackCreate create;
  create.name = "k8s-" + uid;
  create.template_text = "heat_template_version: 2021-04-16";
  create.tags = {std::string(coe::kStackTag), coe::clusterTag(uid)};
  return create;
}

boost::asio::awaitable<void> seedOrphan(FakeCloudDriver& cloud) {
  auto created = co_await cloud.createStack(stackOf("gone-uid"));
  EXPECT_TRUE(created.ok()) << created.error().message;
}

class CloudPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io_thread_ = std::thread([this] { io_.run(); });
    observer_options_.sync_interval = std::chrono::hours(1);  // the test drives the periods
    pool_ = std::make_unique<CloudPool>(io_, projects_, own_call_, own_observer_, own_counting_,
                                        observer_options_, [](const std::string&) {});
  }
  void TearDown() override {
    pool_->stop();
    guard_.reset();
    io_.stop();
    io_thread_.join();
    pool_.reset();
  }

  ProjectCloud cloudOf(const std::string& ns) {
    auto cloud = pool_->forNamespace(ns);
    EXPECT_TRUE(cloud.ok()) << cloud.error().message;
    return cloud.ok() ? *cloud : ProjectCloud{};
  }
  // The observer's first (full) period ran on its own; then one steady period.
  void period(const ProjectCloud& cloud) {
    for (int i = 0; i < 500 && !cloud.observer->synced(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(cloud.observer->synced());
    auto status = cloud.call->run(cloud.observer->syncOnce(false));
    ASSERT_TRUE(status.ok()) << status.error().message;
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  std::thread io_thread_;
  FakeCloudDriver own_{"own-project"};
  CountingCloudDriver own_counting_{own_, nullptr};
  CloudCall own_call_{io_, own_counting_, std::chrono::seconds(10)};
  CloudObserver own_observer_{own_counting_, ObserverOptions{}, [](const std::string&) {}};
  FakeProjects projects_;
  ObserverOptions observer_options_;
  std::unique_ptr<CloudPool> pool_;
};

TEST_F(CloudPoolTest, NamespacesOfOneProjectShareItsCloudOthersUseMagnumdsOwn) {
  projects_.names = {{"team-a", "pa"}, {"pa", "pa"}, {"team-b", "pb"}, {"ops", "own-project"}};
  auto a = cloudOf("team-a");
  auto a_by_id = cloudOf("pa");
  auto b = cloudOf("team-b");
  auto other = cloudOf("default");
  auto own_by_name = cloudOf("ops");

  EXPECT_EQ(a.project, "pa");
  EXPECT_EQ(a.observer, a_by_id.observer);  // the id and the name alias: one project, one observer
  EXPECT_EQ(a.call, a_by_id.call);
  EXPECT_EQ(b.project, "pb");
  EXPECT_NE(a.observer, b.observer);
  EXPECT_EQ(other.observer, &own_observer_);        // a namespace that names no project
  EXPECT_EQ(own_by_name.observer, &own_observer_);  // magnumd's own project by its name
  EXPECT_EQ(projects_.opens("pa"), 1u);
  EXPECT_EQ(projects_.opens("own-project"), 0u);
  EXPECT_EQ(pool_->opened().size(), 3u);

  // Keystone is asked once per namespace, not once per object or pass.
  for (int i = 0; i < 3; ++i) cloudOf("team-a");
  EXPECT_EQ(projects_.asked("team-a"), 1);
}

TEST_F(CloudPoolTest, DiscoveryObservesEveryProjectMagnumdMayActInOnce) {
  projects_.listed = {"own-project", "pa", "pb"};
  ASSERT_TRUE(pool_->discover().ok());
  ASSERT_TRUE(pool_->discover().ok());
  EXPECT_EQ(pool_->opened().size(), 3u);  // magnumd's own, pa and pb
  EXPECT_EQ(projects_.opens("pa"), 1u);
  EXPECT_EQ(projects_.opens("own-project"), 0u);
  projects_.names = {{"team-a", "pa"}};
  EXPECT_EQ(cloudOf("team-a").observer, pool_->opened()[1].observer);
}

TEST_F(CloudPoolTest, ANamespaceMagnumdCannotActInIsRefusedUntilTheRoleIsGranted) {
  projects_.forbidden = {"0123456789abcdef0123456789abcdef"};
  auto refused = pool_->forNamespace("0123456789abcdef0123456789abcdef");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, util::ErrorCode::Forbidden);
  EXPECT_EQ(pool_->opened().size(), 1u);

  // The operator grants the role: the next pass finds the project (refusals are not remembered).
  projects_.forbidden.clear();
  projects_.names["0123456789abcdef0123456789abcdef"] = "0123456789abcdef0123456789abcdef";
  auto granted = pool_->forNamespace("0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(granted.ok()) << granted.error().message;
  EXPECT_EQ(granted->project, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(projects_.asked("0123456789abcdef0123456789abcdef"), 2);
}

TEST_F(CloudPoolTest, EachProjectsObserverSeesOnlyItsStacksAtAFixedCostPerPeriod) {
  projects_.names = {{"team-a", "pa"}, {"team-b", "pb"}};
  auto a = cloudOf("team-a");
  auto b = cloudOf("team-b");
  for (int i = 0; i < 5; ++i) {
    auto created = a.call->run(a.call->driver().createStack(stackOf("a" + std::to_string(i))));
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  auto created = b.call->run(b.call->driver().createStack(stackOf("b0")));
  ASSERT_TRUE(created.ok()) << created.error().message;
  period(a);
  period(b);
  EXPECT_EQ(a.observer->clusterUids().size(), 5u);
  EXPECT_FALSE(a.observer->cluster("b0").has_value());
  ASSERT_TRUE(b.observer->cluster("b0").has_value());
  EXPECT_FALSE(b.observer->cluster("a0").has_value());
  EXPECT_TRUE(own_observer_.clusterUids().empty());
  EXPECT_TRUE(own_.stacks().empty());

  // A steady period asks each project's cloud a fixed number of things, however many clusters.
  FakeCloudDriver& fake_a = *projects_.driver("pa");
  FakeCloudDriver& fake_b = *projects_.driver("pb");
  fake_a.completeAll();
  fake_b.completeAll();
  period(a);
  period(b);
  fake_a.resetCalls();
  fake_b.resetCalls();
  period(a);
  period(b);
  EXPECT_LE(fake_a.totalCalls(), 3);
  EXPECT_EQ(fake_a.totalCalls(), fake_b.totalCalls());
  EXPECT_EQ(pool_->totalStats().stacks, 6u);
}

// The reconcilers over a pool in which the objects' namespace ("demo") is project "pa".
class ProjectReconcilerTest : public ReconcilerTest {
 protected:
  void SetUp() override {
    ReconcilerTest::SetUp();
    projects_.names = {{"demo", "pa"}};
    projects_.on_open = [](const std::string&, FakeCloudDriver& f) { f.setAutoComplete(true); };
    ObserverOptions observer_options;
    observer_options.sync_interval = std::chrono::hours(1);
    pool_ = std::make_unique<CloudPool>(io_, projects_, *cloud_, *observer_, *counting_,
                                        observer_options, [](const std::string&) {});
    cluster_reconciler_ = std::make_unique<ClusterReconciler>(
        ClusterDeps{*store_, *nodegroups_, *pool_, events_, clock_, secrets_.get()}, options_);
    nodegroup_reconciler_ =
        std::make_unique<NodeGroupReconciler>(NodeGroupDeps{*store_, *pool_, events_, clock_});
    GarbageCollectorOptions gc_options;
    gc_options.grace = std::chrono::seconds(0);
    gc_ = std::make_unique<GarbageCollector>(*store_, *clusters_, *pool_, clock_, gc_options);
  }
  void TearDown() override {
    cluster_reconciler_.reset();
    nodegroup_reconciler_.reset();
    gc_.reset();
    pool_->stop();
    ReconcilerTest::TearDown();
    pool_.reset();
  }
  // Passes until the project's observer has listed everything once.
  void reconcileUntilSynced(const std::string& name) {
    for (int i = 0; i < 500; ++i) {
      auto cloud = pool_->forNamespace("demo");
      ASSERT_TRUE(cloud.ok());
      if (cloud->observer->synced()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    reconcileCluster(name);
  }

  FakeProjects projects_;
  std::unique_ptr<CloudPool> pool_;
};

TEST_F(ProjectReconcilerTest, AClusterStackIsCreatedAndDeletedInItsNamespacesProject) {
  createTemplate();
  createCluster("c1", 1, 2);
  settleInformers();
  reconcileUntilSynced("c1");
  reconcileCluster("c1");
  FakeCloudDriver* project = projects_.driver("pa");
  ASSERT_NE(project, nullptr);
  ASSERT_EQ(project->stacks().size(), 1u);
  EXPECT_EQ(project->calls(Op::CreateStack), 1);
  EXPECT_TRUE(fake_->stacks().empty());  // nothing in magnumd's own project
  EXPECT_EQ(fake_->calls(Op::CreateStack), 0);

  deleteObject(api::Kind::Cluster, "c1");
  settleInformers();
  reconcileCluster("c1");
  EXPECT_EQ(project->calls(Op::DeleteStack), 1);
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 0);
}

TEST_F(ProjectReconcilerTest, AClusterInANamespaceMagnumdCannotActInSaysWhyAndCreatesNothing) {
  projects_.forbidden = {"demo"};
  createTemplate();
  createCluster("c1", 1, 1);
  settleInformers();
  reconcileCluster("c1");
  auto st = clusterStatus("c1");
  EXPECT_EQ(st.phase, api::kPhaseCreateFailed);
  EXPECT_NE(st.status_reason.find("no role on demo"), std::string::npos) << st.status_reason;
  EXPECT_EQ(projects_.opens("pa"), 0u);
  EXPECT_EQ(fake_->calls(Op::CreateStack), 0);

  // Once the operator grants the role, the next pass creates the stack in the project.
  projects_.forbidden.clear();
  reconcileUntilSynced("c1");
  reconcileCluster("c1");
  FakeCloudDriver* project = projects_.driver("pa");
  ASSERT_NE(project, nullptr);
  EXPECT_EQ(project->calls(Op::CreateStack), 1);
  EXPECT_NE(clusterStatus("c1").phase, api::kPhaseCreateFailed);
}

TEST_F(ProjectReconcilerTest, AClusterThatNeverReachedItsProjectCanStillBeDeleted) {
  projects_.forbidden = {"demo"};
  createTemplate();
  createCluster("c1", 1, 1);
  settleInformers();
  reconcileCluster("c1");
  ASSERT_EQ(clusterStatus("c1").phase, api::kPhaseCreateFailed);
  deleteObject(api::Kind::Cluster, "c1");
  settleInformers();
  reconcileCluster("c1");
  EXPECT_FALSE(store_->get({api::Kind::Cluster, "demo", "c1"}).ok());  // finalizer released
  EXPECT_EQ(projects_.opens("pa"), 0u);
}

TEST_F(ProjectReconcilerTest, AnOrphanStackIsCollectedInTheProjectThatHoldsIt) {
  createTemplate();
  createCluster("c1", 1, 1);
  settleInformers();
  reconcileUntilSynced("c1");  // opens project "pa"
  auto cloud = pool_->forNamespace("demo");
  ASSERT_TRUE(cloud.ok());
  auto orphan = cloud->call->run(cloud->call->driver().createStack(stackOf("gone-uid")));
  ASSERT_TRUE(orphan.ok()) << orphan.error().message;
  auto status = cloud->call->run(cloud->observer->syncOnce(true));
  ASSERT_TRUE(status.ok()) << status.error().message;

  gc_->reconcile(garbageCollectorKey());  // first seen
  gc_->reconcile(garbageCollectorKey());  // past the (zero) grace
  EXPECT_EQ(gc_->deleted(), 1u);
  FakeCloudDriver* project = projects_.driver("pa");
  ASSERT_NE(project, nullptr);
  EXPECT_EQ(project->calls(Op::DeleteStack), 1);
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 0);
}

TEST_F(ProjectReconcilerTest, OrphansOfAProjectNoNamespaceNamesAreCollectedToo) {
  // Project pc holds the stack of a cluster deleted while magnumd was down; no Cluster names pc.
  projects_.listed = {"pa", "pc"};
  projects_.on_open = [](const std::string& project, FakeCloudDriver& f) {
    f.setAutoComplete(true);
    if (project != "pc") return;
    boost::asio::io_context local;
    boost::asio::co_spawn(local, seedOrphan(f), boost::asio::detached);
    local.run();
  };
  gc_->reconcile(garbageCollectorKey());  // lists the projects: opens pa and pc
  ASSERT_EQ(pool_->opened().size(), 3u);
  for (const auto& cloud : pool_->opened()) {
    for (int i = 0; i < 500 && !cloud.observer->synced(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  gc_->reconcile(garbageCollectorKey());
  EXPECT_EQ(gc_->deleted(), 1u);
  FakeCloudDriver* pc = projects_.driver("pc");
  ASSERT_NE(pc, nullptr);
  EXPECT_EQ(pc->calls(Op::DeleteStack), 1);
  EXPECT_EQ(projects_.driver("pa")->calls(Op::DeleteStack), 0);
}

}  // namespace
}  // namespace magnumd::reconcilers::testing
