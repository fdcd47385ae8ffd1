#include <gtest/gtest.h>

#include "cli/commands.h"

namespace magnumd::cli {
namespace {

TEST(ParseWaitFor, ConditionAndDelete) {
  auto ready = parseWaitFor("condition=Ready");
  ASSERT_TRUE(ready.ok());
  EXPECT_FALSE(ready->deletion);
  EXPECT_EQ(ready->condition, "Ready");
  EXPECT_EQ(ready->status, "True");
  auto not_ready = parseWaitFor("condition=Ready=False");
  ASSERT_TRUE(not_ready.ok());
  EXPECT_EQ(not_ready->status, "False");
  EXPECT_TRUE(parseWaitFor("delete")->deletion);
  for (const char* bad :
       {"", "Ready", "condition=", "condition=Ready=", "deleted", "jsonpath={.x}"}) {
    auto r = parseWaitFor(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("condition=NAME"), std::string::npos);
  }
}

TEST(ConditionMet, ComparesTypeAndStatusCaseInsensitively) {
  auto doc = util::parseJson(R"({"status":{"conditions":[
    {"type":"StackReady","status":"True"},{"type":"Ready","status":"False","reason":"Creating"}]}})");
  ASSERT_TRUE(doc.ok());
  EXPECT_FALSE(conditionMet(*doc, *parseWaitFor("condition=Ready")));
  EXPECT_TRUE(conditionMet(*doc, *parseWaitFor("condition=ready=false")));
  EXPECT_TRUE(conditionMet(*doc, *parseWaitFor("condition=StackReady")));
  EXPECT_FALSE(conditionMet(*doc, *parseWaitFor("condition=NodesReady")));
  auto no_status = util::parseJson(R"({"metadata":{"name":"x"}})");
  EXPECT_FALSE(conditionMet(*no_status, *parseWaitFor("condition=Ready")));
}

TEST(ConditionMet, AConditionObservedForAnOlderGenerationIsNotMet) {
  // Ready from before the spec changed (an upgrade just asked for) is not the answer.
  auto stale = util::parseJson(R"({"metadata":{"generation":3},"status":{"conditions":[
    {"type":"Ready","status":"True","observedGeneration":2}]}})");
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(conditionMet(*stale, *parseWaitFor("condition=Ready")));
  auto current = util::parseJson(R"({"metadata":{"generation":3},"status":{"conditions":[
    {"type":"Ready","status":"True","observedGeneration":3}]}})");
  EXPECT_TRUE(conditionMet(*current, *parseWaitFor("condition=Ready")));
  // Conditions that do not say which generation they saw (0 is unset) are taken as they are.
  auto unsaid = util::parseJson(R"({"metadata":{"generation":3},"status":{"conditions":[
    {"type":"Ready","status":"True"},{"type":"E2e","status":"True","observedGeneration":0}]}})");
  EXPECT_TRUE(conditionMet(*unsaid, *parseWaitFor("condition=Ready")));
  EXPECT_TRUE(conditionMet(*unsaid, *parseWaitFor("condition=E2e")));
}

}  // namespace
}  // namespace magnumd::cli
