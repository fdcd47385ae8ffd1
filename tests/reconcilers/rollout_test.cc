// The rolling-replacement plan of one node group: surge and unavailability arithmetic, masters one
// at a time, NotReady old nodes first, the health gate, reverting, and the end of a rollout.
#include "reconcilers/rollout.h"

#include <gtest/gtest.h>

namespace magnumd::reconcilers {
namespace {

api::NodeGroupRevision rev(std::string slot, std::string tag, int64_t replicas) {
  return {std::move(slot), "ubuntu-" + tag, "m1.medium", tag, replicas};
}

class RolloutPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    in_.name = "default-worker";
    in_.count = 3;
    in_.wanted = rev("", "v1.33.1", 0);
  }
  void servers(const std::string& slot, int count, int ready, int first_member = 0) {
    for (int i = 0; i < count; ++i) {
      const auto member = std::to_string(first_member + i);
      in_.servers.push_back({"w-" + (slot.empty() ? "" : slot + "-") + member, slot, member,
                             i < ready, false});
    }
  }
  std::vector<int64_t> replicas(const GroupRolloutPlan& plan) {
    std::vector<int64_t> out;
    for (const auto& r : plan.revisions) out.push_back(r.replicas);
    return out;
  }
  std::vector<std::string> removed(const GroupRolloutPlan& plan) {
    std::vector<std::string> out;
    for (const auto& s : plan.remove) out.push_back(s.name);
    return out;
  }
  GroupRolloutInput in_;
};

TEST_F(RolloutPlanTest, AGroupNeverRolledStartsWithItsFirstRevision) {
  auto plan = planGroupRollout(in_);
  ASSERT_EQ(plan.revisions.size(), 1u);
  EXPECT_EQ(plan.revisions[0].slot, "");
  EXPECT_EQ(plan.revisions[0].replicas, 3);
  EXPECT_FALSE(plan.rolling);
}

TEST_F(RolloutPlanTest, SurgeOneAddsOneNewServerThenRemovesOneOldOnceItIsReady) {
  in_.revisions = {rev("", "v1.32.4", 3)};
  servers("", 3, 3);
  auto plan = planGroupRollout(in_);
  ASSERT_EQ(plan.revisions.size(), 2u);
  EXPECT_EQ(plan.revisions[1].slot, "r1");
  EXPECT_EQ(plan.revisions[1].kube_tag, "v1.33.1");
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{3, 1})) << "one above the count";
  EXPECT_TRUE(plan.remove.empty()) << "nothing old goes while the new one is not Ready";
  EXPECT_TRUE(plan.rolling);

  // The new server exists but is not Ready: nothing changes.
  in_.revisions = plan.revisions;
  servers("r1", 1, 0);
  plan = planGroupRollout(in_);
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(plan.remove.empty());

  // Ready: the highest old member goes, and the next new one may come.
  in_.servers.back().ready = true;
  plan = planGroupRollout(in_);
  EXPECT_EQ(removed(plan), std::vector<std::string>{"w-2"});
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(plan.updated, 1);
}

TEST_F(RolloutPlanTest, NeverFewerReadyThanCountMinusMaxUnavailable) {
  in_.count = 4;
  in_.max_surge = {0, false};
  in_.max_unavailable = {1, false};
  in_.revisions = {rev("", "v1.32.4", 4)};
  servers("", 4, 4);
  auto plan = planGroupRollout(in_);
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{3, 0})) << "remove first: no surge";
  EXPECT_EQ(removed(plan).size(), 1u);
  // With one old gone and its replacement not Ready yet, no other old node may go.
  in_.revisions = {rev("", "v1.32.4", 3), rev("r1", "v1.33.1", 0)};
  in_.servers.pop_back();
  plan = planGroupRollout(in_);
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(plan.remove.empty());
}

TEST_F(RolloutPlanTest, PercentagesRoundAsClusterApi) {
  in_.count = 10;
  in_.max_surge = {25, true};        // 2.5 rounds up: 3
  in_.max_unavailable = {25, true};  // 2.5 rounds down: 2
  in_.revisions = {rev("", "v1.32.4", 10)};
  servers("", 10, 10);
  auto plan = planGroupRollout(in_);
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{8, 3}));
}

TEST_F(RolloutPlanTest, NotReadyOldNodesGoFirst) {
  in_.revisions = {rev("", "v1.32.4", 3), rev("r1", "v1.33.1", 1)};
  servers("", 3, 3);
  in_.servers[0].ready = false;  // w-0 NotReady
  servers("r1", 1, 1);
  auto plan = planGroupRollout(in_);
  EXPECT_EQ(removed(plan), std::vector<std::string>{"w-0"})
      << "the NotReady one costs no availability; every Ready one is still needed";
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{2, 1})) << "the freed room is used next pass";
}

TEST_F(RolloutPlanTest, MastersGoOneAtATimeWhateverTheStrategy) {
  in_.master = true;
  in_.max_surge = {3, false};
  in_.max_unavailable = {2, false};
  in_.revisions = {rev("", "v1.32.4", 3)};
  servers("", 3, 3);
  auto plan = planGroupRollout(in_);
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(plan.remove.empty());
}

TEST_F(RolloutPlanTest, WorkersWaitForTheMasters) {
  in_.revisions = {rev("", "v1.32.4", 3)};
  servers("", 3, 3);
  in_.may_start = false;
  auto plan = planGroupRollout(in_);
  EXPECT_EQ(replicas(plan), std::vector<int64_t>{3});
  EXPECT_NE(plan.message.find("waits for the masters"), std::string::npos);
}

TEST_F(RolloutPlanTest, ANewNodeThatNeverGetsReadyStallsAndRevertingRollsBack) {
  in_.revisions = {rev("", "v1.32.4", 3), rev("r1", "v1.33.1", 1)};
  servers("", 3, 3);
  servers("r1", 1, 0);
  in_.servers.back().timed_out = true;
  auto plan = planGroupRollout(in_);
  EXPECT_TRUE(plan.stalled);
  EXPECT_NE(plan.message.find("w-r1-0 of r1 (v1.33.1, ubuntu-v1.33.1) did not become Ready"),
            std::string::npos)
      << plan.message;
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(plan.remove.empty());

  // The spec goes back: the first revision is wanted again; the stuck new server goes.
  in_.wanted = rev("", "v1.32.4", 0);
  plan = planGroupRollout(in_);
  ASSERT_EQ(plan.revisions.size(), 2u);
  EXPECT_EQ(plan.revisions.back().slot, "");
  EXPECT_EQ(removed(plan), std::vector<std::string>{"w-r1-0"});
  EXPECT_EQ(replicas(plan), (std::vector<int64_t>{0, 3}));
  EXPECT_FALSE(plan.stalled);
}

TEST_F(RolloutPlanTest, TheRolloutEndsWhenNoOldServerIsLeft) {
  in_.revisions = {rev("", "v1.32.4", 0), rev("r1", "v1.33.1", 3)};
  servers("r1", 3, 3);
  auto plan = planGroupRollout(in_);
  ASSERT_EQ(plan.revisions.size(), 1u);
  EXPECT_EQ(plan.revisions[0].slot, "r1");
  EXPECT_FALSE(plan.rolling);
  EXPECT_EQ(plan.updated, 3);
  // The next change gets r2.
  in_.revisions = plan.revisions;
  in_.wanted = rev("", "v1.34.0", 0);
  plan = planGroupRollout(in_);
  EXPECT_EQ(plan.revisions.back().slot, "r2");
}

}  // namespace
}  // namespace magnumd::reconcilers
