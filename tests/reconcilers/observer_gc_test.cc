// The observer's cost in steady state and the garbage collector's grace period.
#include <gtest/gtest.h>

#include "drivers/coe/coe_driver.h"
#include "tests/reconcilers/harness.h"

namespace magnumd::reconcilers::testing {
namespace {

using Op = FakeCloudDriver::Op;

TEST_F(ReconcilerTest, SteadyStateObservationCostsTheSameWhateverTheNumberOfClusters) {
  createTemplate();
  for (int i = 0; i < 20; ++i) createCluster("c" + std::to_string(i), 1, 1);
  for (int i = 0; i < 20; ++i) reconcileCluster("c" + std::to_string(i));
  activateServers();
  completeStacks();
  clock_.advance(std::chrono::seconds(10));
  observe();  // outputs fetched once for each stack that settled
  EXPECT_EQ(fake_->calls(Op::GetStack), 20 + 20);  // adoption look-ups + one settle each
  for (int i = 0; i < 20; ++i) reconcileCluster("c" + std::to_string(i));

  fake_->resetCalls();
  changed_.clear();
  for (int period = 0; period < 5; ++period) {
    clock_.advance(std::chrono::seconds(10));
    observe();
  }
  EXPECT_EQ(fake_->totalCalls(), 10);  // one stack list + one server list per period
  EXPECT_EQ(fake_->calls(Op::ListStacks), 5);
  EXPECT_EQ(fake_->calls(Op::ListServers), 5);
  EXPECT_TRUE(changed_.empty());
  for (int i = 0; i < 20; ++i) reconcileCluster("c" + std::to_string(i));
  EXPECT_EQ(fake_->totalCalls(), 10);
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
