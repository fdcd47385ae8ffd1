// The NodeGroup reconciler: finalizer only on groups of live clusters, status from observation,
// release of a deleted group whose cluster is gone.
#include <gtest/gtest.h>

#include "controller/object_helpers.h"
#include "reconcilers/names.h"
#include "tests/reconcilers/harness.h"

namespace magnumd::reconcilers::testing {
namespace {

TEST_F(ReconcilerTest, NodeGroupOfAMissingClusterSaysSoAndHoldsNoFinalizer) {
  createNodeGroup("lost", "nope", 1);
  EXPECT_TRUE(reconcileNodeGroup("lost").ok());
  auto ng = get(api::Kind::NodeGroup, "lost");
  EXPECT_FALSE(controller::hasFinalizer(ng, kNodeGroupFinalizer));
  EXPECT_NE(nodeGroupStatus("lost").status_reason.find("Cluster demo/nope not found"), std::string::npos);
  // Deleting it is immediate: nothing in the cloud to wait for.
  deleteObject(api::Kind::NodeGroup, "lost");
  EXPECT_FALSE(store_->get({api::Kind::NodeGroup, "demo", "lost"}).ok());
}

TEST_F(ReconcilerTest, DeletedNodeGroupWhoseClusterIsGoneIsReleased) {
  createTemplate();
  createCluster("prod", 1, 1);
  createNodeGroup("big", "prod", 1);
  reconcileNodeGroup("big");
  ASSERT_TRUE(controller::hasFinalizer(get(api::Kind::NodeGroup, "big"), kNodeGroupFinalizer));
  deleteObject(api::Kind::NodeGroup, "big");
  // Its cluster disappears without the delete path having run (e.g. removed by hand).
  auto cluster = get(api::Kind::Cluster, "prod");
  cluster.metadata.finalizers.clear();
  update(cluster);
  deleteObject(api::Kind::Cluster, "prod");
  reconcileNodeGroup("big");
  EXPECT_FALSE(store_->get({api::Kind::NodeGroup, "demo", "big"}).ok());
}

TEST_F(ReconcilerTest, NodeGroupStatusListsItsServers) {
  createTemplate();
  createCluster("prod", 1, 3);
  reconcileCluster("prod");
  reconcileNodeGroup("prod-default-worker");
  EXPECT_EQ(nodeGroupStatus("prod-default-worker").phase, "CREATE_IN_PROGRESS");
  cloudSettles();
  reconcileNodeGroup("prod-default-worker");
  auto st = nodeGroupStatus("prod-default-worker");
  EXPECT_EQ(st.phase, "CREATE_COMPLETE");
  EXPECT_EQ(st.node_count, 3);
  ASSERT_EQ(st.nodes.size(), 3u);
  EXPECT_EQ(st.nodes[0].name, "c-default-worker-0");
  const auto* ready = api::findCondition(st.conditions, "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, "True");
}

}  // namespace
}  // namespace magnumd::reconcilers::testing
