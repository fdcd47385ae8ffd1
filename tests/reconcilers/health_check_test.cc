// The auto-heal plan: which nodes are unhealthy, the short-circuit arithmetic (integers and
// percentages, rounded down as Cluster API does), masters one at a time within etcd's quorum,
// minHealthyPeriod and the hourly limit.
#include "reconcilers/health_check.h"

#include <gtest/gtest.h>

namespace magnumd::reconcilers {
namespace {

using namespace std::chrono_literals;
using drivers::kube::ApiObservation;
using drivers::kube::NodeInfo;

const util::SystemTime kNow = *util::parseRfc3339("2026-12-07T12:00:00Z");

class HealthPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    in_.now = kNow;
    in_.node_startup_timeout = 10min;
    in_.options = api::healthCheckOptionsOf(api::HealthCheckSpec{});
    api_.reachable = true;
    api_.nodes_listed = true;
    in_.api = &api_;
  }

  // A server ACTIVE for an hour whose Node is Ready (or `ready` with that transition time).
  void node(const std::string& name, const std::string& group, bool master = false,
            const std::string& ready = "True", util::SystemTime since = kNow - 1h) {
    in_.targets.push_back({name, group, master, "ACTIVE", "", kNow - 1h});
    NodeInfo n{name, ready};
    n.ready_since = util::formatRfc3339(since);
    api_.nodes.push_back(n);
    std::sort(api_.nodes.begin(), api_.nodes.end(),
              [](const NodeInfo& a, const NodeInfo& b) { return a.name < b.name; });
  }
  void workers(int count, int not_ready, util::SystemTime since = kNow - 10min) {
    for (int i = 0; i < count; ++i) {
      node("w-" + std::to_string(i), "default-worker", false, i < not_ready ? "False" : "True",
           since);
    }
  }
  std::vector<std::string> remediated(const HealthPlan& plan) {
    std::vector<std::string> out;
    for (const auto& u : plan.remediate) out.push_back(u.name);
    return out;
  }

  HealthInputs in_;
  ApiObservation api_;
};

TEST(IntOrPercentTest, ParsesAndScalesAsClusterApi) {
  auto forty = *api::parseIntOrPercent("40%");
  EXPECT_TRUE(forty.percent);
  EXPECT_EQ(forty.scaled(5), 2);  // 2.0
  EXPECT_EQ(forty.scaled(3), 1);  // 1.2 rounds down
  EXPECT_EQ(forty.scaled(2), 0);  // 0.8 rounds down: one of two is already too many
  EXPECT_EQ(forty.scaled(3, true), 2);
  EXPECT_EQ(api::parseIntOrPercent("2")->scaled(100), 2);
  EXPECT_EQ(api::parseIntOrPercent("100%")->scaled(7), 7);
  for (const char* bad : {"", "%", "-1", "101%", "2.5", "40 %", "x"}) {
    EXPECT_FALSE(api::parseIntOrPercent(bad).ok()) << bad;
  }
}

TEST_F(HealthPlanTest, EveryNodeReadyIsHealthyAndNothingHappens) {
  node("m-0", "default-master", true);
  workers(3, 0);
  auto plan = planHealth(in_);
  EXPECT_EQ(plan.expected, 4);
  EXPECT_EQ(plan.healthy, 4);
  EXPECT_TRUE(plan.unhealthy.empty());
  EXPECT_TRUE(plan.remediate.empty());
  EXPECT_TRUE(plan.blocked_reason.empty());
}

TEST_F(HealthPlanTest, ANodeNotReadyLongerThanTheTimeoutIsReplaced) {
  workers(3, 1, kNow - 5min - 1s);
  auto plan = planHealth(in_);
  ASSERT_EQ(plan.unhealthy.size(), 1u);
  EXPECT_EQ(plan.unhealthy[0].reason, "NodeNotReady");
  EXPECT_EQ(plan.unhealthy[0].since, kNow - 5min - 1s);
  EXPECT_EQ(remediated(plan), std::vector<std::string>{"w-0"});
  EXPECT_EQ(plan.healthy, 2);
}

TEST_F(HealthPlanTest, ANodeNotReadyForLessThanTheTimeoutWaitsAndSaysWhenToLookAgain) {
  workers(3, 1, kNow - 4min);
  auto plan = planHealth(in_);
  EXPECT_TRUE(plan.unhealthy.empty());
  ASSERT_TRUE(plan.next_check.has_value());
  EXPECT_EQ(*plan.next_check, kNow + 1min);
}

TEST_F(HealthPlanTest, AZeroTimeoutDisablesTheCheck) {
  in_.options.unhealthy_timeout = 0ms;
  workers(3, 1, kNow - 24h);
  EXPECT_TRUE(planHealth(in_).unhealthy.empty());
}

TEST_F(HealthPlanTest, NovaErrorAndShutoffAreUnhealthyWithoutTheApi) {
  workers(5, 0);
  in_.targets[0].server_status = "ERROR";
  in_.targets[0].server_fault = "No valid host was found";
  in_.targets[1].server_status = "SHUTOFF";
  in_.api = nullptr;  // the API does not answer: only Nova's view counts
  auto plan = planHealth(in_);
  ASSERT_EQ(plan.unhealthy.size(), 2u);
  EXPECT_EQ(plan.unhealthy[0].reason, "ServerError");
  EXPECT_EQ(plan.unhealthy[0].message, "server is ERROR: No valid host was found");
  EXPECT_EQ(plan.unhealthy[1].reason, "ServerShutoff");
  EXPECT_EQ(remediated(plan), (std::vector<std::string>{"w-0", "w-1"}));
  EXPECT_EQ(plan.healthy, 0) << "without a node list no node is known to be healthy";
}

TEST_F(HealthPlanTest, APartitionMakesNoNodeUnhealthy) {
  workers(5, 0);
  ApiObservation down;
  down.error = "connection refused";
  in_.api = &down;
  auto plan = planHealth(in_);
  EXPECT_TRUE(plan.unhealthy.empty());
  EXPECT_TRUE(plan.remediate.empty());
}

TEST_F(HealthPlanTest, ANodeThatNeverJoinsIsUnhealthyAfterNodeStartupTimeout) {
  workers(3, 0);
  api_.nodes.erase(api_.nodes.begin());  // w-0 never registered
  in_.targets[0].started = kNow - 9min;
  auto plan = planHealth(in_);
  EXPECT_TRUE(plan.unhealthy.empty());
  EXPECT_EQ(*plan.next_check, kNow + 1min);
  in_.targets[0].started = kNow - 11min;
  plan = planHealth(in_);
  ASSERT_EQ(plan.unhealthy.size(), 1u);
  EXPECT_EQ(plan.unhealthy[0].reason, "NodeStartupTimeout");
  EXPECT_EQ(remediated(plan), std::vector<std::string>{"w-0"});
}

TEST_F(HealthPlanTest, ThreeOfFiveUnhealthyTripsTheShortCircuit) {
  workers(5, 3);
  auto plan = planHealth(in_);
  EXPECT_EQ(plan.unhealthy.size(), 3u);
  EXPECT_TRUE(plan.remediate.empty());
  EXPECT_EQ(plan.blocked_reason, "TooManyUnhealthy");
  EXPECT_NE(plan.blocked_message.find(
                "default-worker: 3 of 5 nodes are unhealthy, more than maxUnhealthy 40% (2 nodes)"),
            std::string::npos)
      << plan.blocked_message;
  // Two of five is within 40%: both are replaced.
  api_.nodes.clear();
  in_.targets.clear();
  workers(5, 2);
  EXPECT_EQ(planHealth(in_).remediate.size(), 2u);
}

TEST_F(HealthPlanTest, TheShortCircuitIsPerNodeGroupAndTakesIntegers) {
  workers(2, 1);  // 1 of 2: more than 40% (0 nodes)
  node("big-0", "big", false, "False", kNow - 10min);
  node("big-1", "big");
  node("big-2", "big");
  auto plan = planHealth(in_);
  EXPECT_EQ(remediated(plan), std::vector<std::string>{"big-0"});
  EXPECT_EQ(plan.blocked_reason, "TooManyUnhealthy");
  EXPECT_NE(plan.blocked_message.find("default-worker: 1 of 2"), std::string::npos);

  in_.options.max_unhealthy = *api::parseIntOrPercent("1");
  plan = planHealth(in_);
  EXPECT_EQ(remediated(plan), (std::vector<std::string>{"w-0", "big-0"}));
  EXPECT_TRUE(plan.blocked_reason.empty());
}

TEST_F(HealthPlanTest, MastersOneAtATimeWithinQuorumAndBeforeWorkers) {
  in_.options.max_unhealthy = *api::parseIntOrPercent("100%");
  node("m-0", "default-master", true, "False", kNow - 10min);
  node("m-1", "default-master", true, "False", kNow - 10min);
  node("m-2", "default-master", true);
  workers(3, 1);
  // Two of three masters down: etcd has no quorum, replacing one cannot help it.
  auto plan = planHealth(in_);
  EXPECT_EQ(plan.blocked_reason, "EtcdQuorum");
  EXPECT_NE(plan.blocked_message.find("only 1 of 3 masters are healthy, and etcd needs 2"),
            std::string::npos)
      << plan.blocked_message;
  EXPECT_EQ(remediated(plan), std::vector<std::string>{"w-0"});

  // One of three down: it alone is replaced this round, no worker with it.
  api_.nodes.clear();
  in_.targets.clear();
  node("m-0", "default-master", true, "False", kNow - 10min);
  node("m-1", "default-master", true);
  node("m-2", "default-master", true);
  workers(3, 1);
  plan = planHealth(in_);
  EXPECT_EQ(remediated(plan), std::vector<std::string>{"m-0"});
}

TEST_F(HealthPlanTest, TheOnlyMasterIsNeverReplaced) {
  in_.options.max_unhealthy = *api::parseIntOrPercent("100%");
  node("m-0", "default-master", true, "False", kNow - 10min);
  auto plan = planHealth(in_);
  EXPECT_TRUE(plan.remediate.empty());
  EXPECT_EQ(plan.blocked_reason, "EtcdQuorum");
  EXPECT_NE(plan.blocked_message.find("m-0 is the only master: replacing it would lose etcd's data"),
            std::string::npos);
}

TEST_F(HealthPlanTest, ANodeReplacedWithinMinHealthyPeriodIsNotReplacedAgain) {
  workers(3, 1);
  in_.history = {{"w-0", "default-worker", "NodeNotReady", util::formatRfc3339(kNow - 30min)}};
  auto plan = planHealth(in_);
  EXPECT_TRUE(plan.remediate.empty());
  EXPECT_EQ(plan.blocked_reason, "MinHealthyPeriod");
  EXPECT_EQ(*plan.next_check, kNow + 30min);
  in_.history[0].time = util::formatRfc3339(kNow - 61min);
  EXPECT_EQ(remediated(planHealth(in_)), std::vector<std::string>{"w-0"});
}

TEST_F(HealthPlanTest, RemediationsPerHourAreLimited) {
  in_.options.max_remediations_per_hour = 2;
  in_.options.max_unhealthy = *api::parseIntOrPercent("100%");
  workers(6, 2);
  in_.history = {{"x-1", "default-worker", "NodeNotReady", util::formatRfc3339(kNow - 50min)}};
  auto plan = planHealth(in_);
  EXPECT_EQ(remediated(plan), std::vector<std::string>{"w-0"});
  EXPECT_EQ(plan.blocked_reason, "RateLimited");
  EXPECT_EQ(*plan.next_check, kNow + 10min);
}

TEST_F(HealthPlanTest, OldRemediationsAreForgotten) {
  in_.options.min_healthy_period = 2h;
  auto kept = recentRemediations({{"a", "g", "r", util::formatRfc3339(kNow - 3h)},
                                  {"b", "g", "r", util::formatRfc3339(kNow - 90min)},
                                  {"c", "g", "r", "not a time"}},
                                 in_.options, kNow);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].node, "b");
}

}  // namespace
}  // namespace magnumd::reconcilers
