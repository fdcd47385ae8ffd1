#include "controller/conditions.h"

#include <gtest/gtest.h>

#include "tests/controller/fakes.h"

namespace magnumd::controller {
namespace {

using namespace std::chrono_literals;

TEST(ConditionsTest, TransitionTimeMovesOnlyWhenTheStatusFlips) {
  testing::FakeClock clock;
  Conditions c;
  auto t0 = clock.now();
  EXPECT_TRUE(markFalse(c, "Ready", "Creating", "stack CREATE_IN_PROGRESS", 1, t0));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].last_transition_time, util::formatRfc3339(t0));

  clock.advance(1min);
  EXPECT_FALSE(markFalse(c, "Ready", "Creating", "stack CREATE_IN_PROGRESS", 1, clock.now()))
      << "an identical condition is no change";
  EXPECT_TRUE(markFalse(c, "Ready", "NodesNotReady", "1 of 3 nodes ready", 2, clock.now()));
  EXPECT_EQ(c[0].reason, "NodesNotReady");
  EXPECT_EQ(c[0].observed_generation, 2);
  EXPECT_EQ(c[0].last_transition_time, util::formatRfc3339(t0)) << "still False: time kept";

  clock.advance(1min);
  EXPECT_TRUE(markTrue(c, "Ready", "Ready", "", 2, clock.now()));
  EXPECT_EQ(c[0].status, "True");
  EXPECT_EQ(c[0].last_transition_time, util::formatRfc3339(clock.now()));
  EXPECT_TRUE(isTrue(c, "Ready"));
  EXPECT_FALSE(isFalse(c, "Ready"));
  EXPECT_FALSE(isTrue(c, "StackReady"));
  EXPECT_FALSE(isFalse(c, "StackReady")) << "absent is neither";
}

TEST(ConditionsTest, KeepsOtherTypesAndRemoves) {
  auto now = util::SystemTime(std::chrono::seconds(1790000000));
  Conditions c;
  markTrue(c, "StackReady", "Complete", "", 1, now);
  markUnknown(c, "NodesReady", "Pending", "", 1, now);
  markFalse(c, "Ready", "NodesNotReady", "", 1, now);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(api::findCondition(c, "NodesReady")->status, "Unknown");
  EXPECT_TRUE(removeCondition(c, "NodesReady"));
  EXPECT_FALSE(removeCondition(c, "NodesReady"));
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].type, "StackReady");
  EXPECT_EQ(c[1].type, "Ready");
}

TEST(ConditionsTest, RoundTripsThroughStatusJsonKeepingOtherFields) {
  auto now = util::SystemTime(std::chrono::seconds(1790000000));
  Conditions c;
  markFalse(c, "Ready", "StackCreateFailed", "Resource CREATE failed: quota", 3, now);
  auto status = withConditions(R"({"phase":"CREATE_FAILED","stackId":"s-1"})", c);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(*status,
            R"({"phase":"CREATE_FAILED","stackId":"s-1","conditions":[{"type":"Ready","status":"False",)"
            R"("reason":"StackCreateFailed","message":"Resource CREATE failed: quota",)"
            R"("lastTransitionTime":"2026-09-21T14:13:20Z","observedGeneration":3}]})");
  auto back = conditionsOf(*status);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);
  auto replaced = withConditions(*status, {});
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, R"({"phase":"CREATE_FAILED","stackId":"s-1","conditions":[]})");
  EXPECT_TRUE(conditionsOf("{}")->empty());
  EXPECT_TRUE(conditionsOf("")->empty());
}

TEST(ConditionsTest, BadConditionsNameTheEntry) {
  auto bad_status = conditionsOf(R"({"conditions":[{"type":"Ready","status":"True"},{"type":"X","status":"yes"}]})");
  ASSERT_FALSE(bad_status.ok());
  EXPECT_EQ(bad_status.error().message,
            "status.conditions[1].status: \"yes\" is not one of True, False, Unknown");
  auto no_type = conditionsOf(R"({"conditions":[{"status":"True"}]})");
  ASSERT_FALSE(no_type.ok());
  EXPECT_EQ(no_type.error().message, "status.conditions[0].type: required, a non-empty string");
  auto not_array = conditionsOf(R"({"conditions":{}})");
  ASSERT_FALSE(not_array.ok());
  EXPECT_EQ(not_array.error().message, "status.conditions: must be an array, got object");
  EXPECT_FALSE(conditionsOf("[1,2]").ok());
  EXPECT_FALSE(conditionsOf("{not json").ok());
}

TEST(ConditionsTest, ObservedGeneration) {
  EXPECT_EQ(observedGenerationOf("{}"), 0);
  EXPECT_EQ(observedGenerationOf("garbage"), 0);
  auto s = withObservedGeneration(R"({"phase":"X"})", 4);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, R"({"phase":"X","observedGeneration":4})");
  EXPECT_EQ(observedGenerationOf(*s), 4);
  EXPECT_EQ(*withObservedGeneration(*s, 5), R"({"phase":"X","observedGeneration":5})");
}

}  // namespace
}  // namespace magnumd::controller
