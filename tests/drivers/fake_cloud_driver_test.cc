#include "tests/support/fake_cloud_driver.h"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "tests/drivers/run_task.h"

namespace magnumd::drivers {
namespace {

using testing::runTask;
using util::ErrorCode;
using Op = FakeCloudDriver::Op;

class FakeCloudDriverTest : public ::testing::Test {
 protected:
  template <typename T>
  T run(boost::asio::awaitable<T> task) { return runTask(io, std::move(task)); }

  StackRef create(const std::string& name, std::vector<std::string> tags = {"magnumd"}) {
    StackCreate c;
    c.name = name;
    c.template_text = "heat_template_version: 2018-08-31";
    c.parameters = {{"count", "3"}};
    c.tags = std::move(tags);
    auto ref = run(fake.createStack(c));
    EXPECT_TRUE(ref.ok());
    return ref.value();
  }

  boost::asio::io_context io;
  FakeCloudDriver fake;
};

TEST_F(FakeCloudDriverTest, StackLifecycleAsHeatShowsIt) {
  auto ref = create("c1");
  EXPECT_EQ(run(fake.getStack(ref, true))->status, "CREATE_IN_PROGRESS");
  auto dup = run(fake.createStack(StackCreate{"c1"}));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::Conflict);

  fake.completeAll();
  fake.setOutput(ref.id, "api_address", "\"10.0.0.5\"");
  auto s = run(fake.getStack(ref, true));
  EXPECT_EQ(s->status, "CREATE_COMPLETE");
  EXPECT_EQ(s->output("api_address")->value_json, "\"10.0.0.5\"");
  EXPECT_TRUE(run(fake.getStack(ref, false))->outputs.empty());

  StackPatch p;
  p.parameters = {{"count", "5"}};
  ASSERT_TRUE(run(fake.patchStack(ref, p)).ok());
  s = run(fake.getStack(ref, true));
  EXPECT_EQ(s->status, "UPDATE_IN_PROGRESS");
  EXPECT_EQ(s->parameters.at("count"), "5");
  EXPECT_EQ(fake.stack(ref.id)->patches.size(), 1u);

  ASSERT_TRUE(run(fake.deleteStack(ref)).ok());
  fake.completeAll();
  EXPECT_TRUE(run(fake.listStacks({}))->empty());
  EXPECT_EQ(run(fake.getStack(StackRef{"", ref.id}, false))->status, "DELETE_COMPLETE");  // by id
  EXPECT_EQ(run(fake.getStack(StackRef{"c1", ""}, false)).error().code, ErrorCode::NotFound);  // by name
  EXPECT_EQ(run(fake.deleteStack(ref)).error().code, ErrorCode::NotFound);
  create("c1");  // the name is free again
}

TEST_F(FakeCloudDriverTest, ListFiltersByTagsAndStatus) {
  auto a = create("a", {"magnumd", "uid-a"});
  create("b", {"magnumd", "uid-b"});
  create("other", {"someone-else"});
  fake.setStackStatus(a.id, "CREATE_FAILED", "boom");
  EXPECT_EQ(run(fake.listStacks(StackFilter{{"magnumd"}, {}}))->size(), 2u);
  EXPECT_EQ(run(fake.listStacks(StackFilter{{"magnumd", "uid-b"}, {}}))->size(), 1u);
  auto failed = run(fake.listStacks(StackFilter{{}, {"FAILED"}}));
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].ref, a);
}

TEST_F(FakeCloudDriverTest, FaultInjectionAndCallCounting) {
  fake.failNext(Op::CreateStack, util::makeError(ErrorCode::Unavailable, "503"), 2);
  EXPECT_EQ(run(fake.createStack(StackCreate{"x"})).error().code, ErrorCode::Unavailable);
  EXPECT_EQ(run(fake.createStack(StackCreate{"x"})).error().code, ErrorCode::Unavailable);
  EXPECT_TRUE(run(fake.createStack(StackCreate{"x"})).ok());
  EXPECT_EQ(fake.calls(Op::CreateStack), 3);
  EXPECT_EQ(fake.stacks().size(), 1u);  // failed calls had no effect

  fake.failAlways(Op::ListServers, util::makeError(ErrorCode::Timeout, "slow"));
  EXPECT_FALSE(run(fake.listServers({})).ok());
  EXPECT_FALSE(run(fake.listServers({})).ok());
  fake.failAlways(Op::ListServers, std::nullopt);
  EXPECT_TRUE(run(fake.listServers({})).ok());
  EXPECT_EQ(fake.totalCalls(), 6);
  fake.resetCalls();
  EXPECT_EQ(fake.totalCalls(), 0);
}

TEST_F(FakeCloudDriverTest, ServersChangesSinceIncludesDeleted) {
  Server s1{"s1", "n1", "ACTIVE"};
  s1.tags = {"magnumd"};
  fake.putServer(s1);
  fake.putServer(Server{"s2", "n2", "BUILD"});
  auto before = std::chrono::system_clock::now() - std::chrono::seconds(1);
  fake.removeServer("s2");
  EXPECT_EQ(run(fake.listServers({}))->size(), 1u);
  auto changed = run(fake.listServers(ServerQuery{before, {}}));
  ASSERT_EQ(changed->size(), 2u);
  EXPECT_EQ(run(fake.listServers(ServerQuery{std::nullopt, {"magnumd"}}))->size(), 1u);
  EXPECT_EQ(run(fake.getServer("s2")).error().code, ErrorCode::NotFound);
  fake.setServerStatus("s1", "ERROR", ServerFault{500, "No valid host was found.", ""});
  EXPECT_EQ(run(fake.getServer("s1"))->fault->message, "No valid host was found.");
  ASSERT_TRUE(run(fake.deleteServer("s1")).ok());
  EXPECT_TRUE(fake.servers().empty());
}

TEST_F(FakeCloudDriverTest, AutoCompleteAndOnChangeHook) {
  fake.setAutoComplete(true);
  int changes = 0;
  fake.setOnChange([&changes](FakeCloudDriver& f, const std::string& id) {
    ++changes;
    auto s = f.stack(id);
    int count = std::stoi(s->stack.parameters.at("count"));
    for (int i = 0; i < count; ++i) f.putServer(Server{id + "-" + std::to_string(i), "n", "ACTIVE"});
  });
  auto ref = create("c1");
  EXPECT_EQ(run(fake.getStack(ref, false))->status, "CREATE_COMPLETE");
  EXPECT_EQ(fake.servers().size(), 3u);
  EXPECT_EQ(changes, 1);
}

TEST_F(FakeCloudDriverTest, ExplainFailureAndMarkUnhealthy) {
  auto ref = create("c1");
  fake.setStackStatus(ref.id, "CREATE_FAILED", "Resource CREATE failed");
  fake.setResources(ref.id, {{"1", "srv-1", "OS::Nova::Server", "CREATE_FAILED", "", "workers", ref, {}}});
  fake.addEvent(ref.id, {"e1", {}, "1", "srv-1", "OS::Nova::Server", "CREATE_FAILED", "No valid host was found."});
  EXPECT_EQ(run(fake.explainFailure(ref)).value(),
            "resource \"workers.1\" (OS::Nova::Server) CREATE_FAILED: No valid host was found.");
  ASSERT_TRUE(run(fake.markUnhealthy(ref, "srv-1", "dead")).ok());
  EXPECT_EQ(run(fake.listResources(ref, 2)).value()[0].status, "CHECK_FAILED");
  EXPECT_EQ(run(fake.markUnhealthy(ref, "srv-9", "dead")).error().code, ErrorCode::NotFound);
}

}  // namespace
}  // namespace magnumd::drivers
