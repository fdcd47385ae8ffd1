// The observer's cost in steady state and the garbage collector's grace period.
#include <gtest/gtest.h>

#include "drivers/coe/coe_driver.h"
#include "tests/reconcilers/harness.h"

namespace magnumd::reconcilers::testing {
namespace {

using Op = FakeCloudDriver::Op;

// The same three calls per sync period at every size: steady state costs O(1), not O(clusters).
class ObserverCostTest : public ReconcilerTest, public ::testing::WithParamInterface<int> {};

TEST_P(ObserverCostTest, SteadyStateObservationCostsThreeCallsAPeriodWhateverTheNumberOfClusters) {
  const int clusters = GetParam();
  createTemplate();
  for (int i = 0; i < clusters; ++i) createCluster("c" + std::to_string(i), 1, 1);
  for (int i = 0; i < clusters; ++i) reconcileCluster("c" + std::to_string(i));
  activateServers();
  completeStacks();
  clock_.advance(std::chrono::seconds(10));
  observe();  // outputs fetched once for each stack that settled
  EXPECT_EQ(fake_->calls(Op::GetStack), 2 * clusters);  // adoption look-ups + one settle each
  for (int i = 0; i < clusters; ++i) reconcileCluster("c" + std::to_string(i));

  fake_->resetCalls();
  changed_.clear();
  constexpr int kPeriods = 8;
  for (int period = 0; period < kPeriods; ++period) {
    clock_.advance(std::chrono::seconds(10));
    observe();
  }
  // Per period: the in-flight stack list, the changes-since server list and one sweep page.
  EXPECT_EQ(fake_->totalCalls(), 3 * kPeriods);
  EXPECT_EQ(fake_->calls(Op::ListStacks), kPeriods);
  EXPECT_EQ(fake_->calls(Op::ListServers), kPeriods);
  EXPECT_EQ(fake_->calls(Op::ListStacksPage) + fake_->calls(Op::ListServersPage), kPeriods);
  EXPECT_GE(fake_->calls(Op::ListStacksPage), 1);
  EXPECT_GE(fake_->calls(Op::ListServersPage), 1);
  EXPECT_TRUE(changed_.empty());
  for (int i = 0; i < clusters; ++i) reconcileCluster("c" + std::to_string(i));
  EXPECT_EQ(fake_->totalCalls(), 3 * kPeriods) << "reconciling settled clusters calls nothing";
}

INSTANTIATE_TEST_SUITE_P(Sizes, ObserverCostTest, ::testing::Values(1, 20, 250));

// A large cloud costs the same per period: the sweep walks it one page at a time.
TEST_F(ReconcilerTest, SweepSpreadsALargeListingOverPeriods) {
  createTemplate();
  for (int i = 0; i < 20; ++i) createCluster("c" + std::to_string(i), 1, 1);
  for (int i = 0; i < 20; ++i) reconcileCluster("c" + std::to_string(i));
  cloudSettles();

  ObserverOptions options;
  options.sweep_page_size = 6;  // 20 stacks: 4 pages; 40 servers: 7 pages
  std::vector<std::string> changed;
  CloudObserver observer(*counting_, options, [&](const std::string& uid) { changed.push_back(uid); });
  ASSERT_TRUE(cloud_->run(observer.syncOnce(true)).ok());
  EXPECT_EQ(observer.stats().stacks, 20u);
  EXPECT_EQ(observer.stats().servers, 40u);
  changed.clear();
  fake_->resetCalls();
  for (int period = 1; period <= 11; ++period) {
    clock_.advance(std::chrono::seconds(10));
    ASSERT_TRUE(cloud_->run(observer.syncOnce(false)).ok());
    EXPECT_EQ(fake_->totalCalls(), 3 * period) << "period " << period;
    EXPECT_EQ(observer.stats().sweeps, period < 11 ? 0u : 1u) << "period " << period;
  }
  EXPECT_EQ(fake_->calls(Op::ListStacksPage), 4);
  EXPECT_EQ(fake_->calls(Op::ListServersPage), 7);
  EXPECT_TRUE(changed.empty());
}

TEST_F(ReconcilerTest, SweepFindsAStackThatVanishedWithoutATrace) {
  createTemplate();
  auto cluster = createCluster("prod", 1, 1);
  reconcileCluster("prod");
  cloudSettles();
  auto stack = liveStacks().front();
  // Purged by an operator: never listed as DELETE_IN_PROGRESS, so only the sweep can notice.
  fake_->removeStack(stack.stack.ref.id);
  changed_.clear();
  fake_->resetCalls();
  for (int period = 0; period < 2; ++period) {  // the stack page: not listed, confirmed gone
    clock_.advance(std::chrono::seconds(10));
    observe();
  }
  EXPECT_EQ(fake_->calls(Op::GetStack), 1);
  EXPECT_EQ(changed_, std::vector<std::string>{cluster.metadata.uid});
  auto observed = observer_->cluster(cluster.metadata.uid);
  ASSERT_TRUE(observed.has_value());
  EXPECT_FALSE(observed->stack.has_value());
}

// `openstack stack delete` that finished between two periods: the in-flight list never saw it,
// but its servers show up DELETED in changes-since, and that costs one GET of the stack, not a
// wait for the sweep (disabled here).
TEST_F(ReconcilerTest, DeletedServersOfASettledStackGetTheStackCheckedAtOnce) {
  createTemplate();
  const std::string uid = createCluster("prod", 1, 1).metadata.uid;
  reconcileCluster("prod");
  cloudSettles();
  ObserverOptions options;
  options.sweep_pages_per_period = 0;
  std::vector<std::string> changed;
  CloudObserver observer(*counting_, options, [&](const std::string& c) { changed.push_back(c); });
  ASSERT_TRUE(cloud_->run(observer.syncOnce(true)).ok());
  ASSERT_TRUE(observer.cluster(uid)->stack.has_value());
  changed.clear();

  clock_.advance(std::chrono::seconds(5));
  for (const auto& server : fake_->servers()) fake_->removeServer(server.id);
  fake_->removeStack(liveStacks().front().stack.ref.id);
  fake_->resetCalls();
  clock_.advance(std::chrono::seconds(5));
  ASSERT_TRUE(cloud_->run(observer.syncOnce(false)).ok());
  EXPECT_EQ(fake_->calls(Op::GetStack), 1);
  auto observed = observer.cluster(uid);
  EXPECT_FALSE(observed.has_value() && observed->stack.has_value());
  EXPECT_EQ(changed, std::vector<std::string>{uid});
  EXPECT_EQ(fake_->totalCalls(), 3);  // stack list, server list, the one GET
}

TEST_F(ReconcilerTest, SweepConfirmsBeforeDroppingAStackItMissed) {
  createTemplate();
  auto cluster = createCluster("prod", 1, 1);
  reconcileCluster("prod");
  cloudSettles();
  // Someone strips magnumd's tag: the stack drops out of every listing but still exists. The
  // direct GET at the end of the pass finds it, so the cache keeps it (and sees its update).
  auto live = liveStacks().front();
  drivers::StackPatch untag;
  untag.tags = std::vector<std::string>{};
  ASSERT_TRUE(cloud_->run(fake_->patchStack(live.stack.ref, untag)).ok());
  fake_->resetCalls();
  for (int period = 0; period < 2; ++period) {  // one stack page and one server page
    clock_.advance(std::chrono::seconds(10));
    observe();
  }
  EXPECT_EQ(fake_->calls(Op::GetStack), 1);
  auto observed = observer_->cluster(cluster.metadata.uid);
  ASSERT_TRUE(observed.has_value());
  ASSERT_TRUE(observed->stack.has_value());
  EXPECT_EQ(observed->stack->status, "UPDATE_IN_PROGRESS");
}

TEST_F(ReconcilerTest, SweepStartsOverWhenItsMarkerVanishes) {
  createTemplate();
  for (int i = 0; i < 4; ++i) createCluster("c" + std::to_string(i), 1, 1);
  for (int i = 0; i < 4; ++i) reconcileCluster("c" + std::to_string(i));
  cloudSettles();
  ObserverOptions options;
  options.sweep_page_size = 2;
  CloudObserver observer(*counting_, options, [](const std::string&) {});
  ASSERT_TRUE(cloud_->run(observer.syncOnce(true)).ok());
  clock_.advance(std::chrono::seconds(10));
  ASSERT_TRUE(cloud_->run(observer.syncOnce(false)).ok());  // first stack page
  // The next page request names a marker the cloud no longer knows.
  fake_->failNext(Op::ListStacksPage, util::Error{util::ErrorCode::BadRequest, "marker [x] not found"});
  clock_.advance(std::chrono::seconds(10));
  EXPECT_FALSE(cloud_->run(observer.syncOnce(false)).ok());
  fake_->resetCalls();
  for (int period = 0; period < 2; ++period) {
    clock_.advance(std::chrono::seconds(10));
    ASSERT_TRUE(cloud_->run(observer.syncOnce(false)).ok());
  }
  // The pass began again: both pages of stacks, no stack dropped, no confirmation needed.
  EXPECT_EQ(fake_->calls(Op::ListStacksPage), 2);
  EXPECT_EQ(fake_->calls(Op::GetStack), 0);
  EXPECT_EQ(observer.stats().stacks, 4u);
}

TEST_F(ReconcilerTest, ObserverReportsChangedClustersOnly) {
  createTemplate();
  auto a = createCluster("a", 1, 1);
  createCluster("b", 1, 1);
  reconcileCluster("a");
  reconcileCluster("b");
  cloudSettles();
  changed_.clear();
  auto server = serversOf("default-worker").front();
  std::string owner = server.metadata.at(std::string(coe::kMetaClusterUid));
  fake_->setServerStatus(server.id, "SHUTOFF");
  clock_.advance(std::chrono::seconds(10));
  observe();
  EXPECT_EQ(changed_, std::vector<std::string>{owner});
}

TEST_F(ReconcilerTest, OrphanStackIsDeletedAfterTheGracePeriod) {
  drivers::StackCreate request;
  request.name = "gone-123";
  request.template_text = "heat_template_version: 2018-08-31";
  request.tags = {"magnumd", coe::clusterTag("no-such-uid")};
  ASSERT_TRUE(cloud_->run(fake_->createStack(request)).ok());
  fake_->completeAll();
  observe(true);
  gc_->reconcile(garbageCollectorKey());
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 0);
  clock_.advance(std::chrono::minutes(6));
  gc_->reconcile(garbageCollectorKey());
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 1);
  EXPECT_EQ(gc_->deleted(), 1u);
}

TEST_F(ReconcilerTest, StackOfALiveClusterIsNeverCollected) {
  createTemplate();
  createCluster("prod", 1, 1);
  reconcileCluster("prod");
  fake_->completeAll();
  observe(true);
  settleInformers();
  gc_->reconcile(garbageCollectorKey());
  clock_.advance(std::chrono::hours(1));
  gc_->reconcile(garbageCollectorKey());
  EXPECT_EQ(fake_->calls(Op::DeleteStack), 0);
}

}  // namespace
}  // namespace magnumd::reconcilers::testing
