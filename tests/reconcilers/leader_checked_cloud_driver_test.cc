// LeaderCheckedCloudDriver: a replica that no longer leads sends no change to the cloud, even a
// call prepared while it still led; reads still pass.
#include "reconcilers/leader_checked_cloud_driver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "reconcilers/cloud_call.h"
#include "tests/support/fake_cloud_driver.h"

namespace magnumd::reconcilers {
namespace {

namespace asio = boost::asio;
using drivers::FakeCloudDriver;

class LeaderCheckedCloudDriverTest : public ::testing::Test {
 protected:
  LeaderCheckedCloudDriverTest() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~LeaderCheckedCloudDriverTest() override {
    work_.reset();
    thread_.join();
  }

  FakeCloudDriver cloud_;
  std::atomic<bool> leading_{true};
  LeaderCheckedCloudDriver checked_{cloud_, [this] { return leading_.load(); }};
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
};

TEST_F(LeaderCheckedCloudDriverTest, ChangesAreSentOnlyWhileLeading) {
  CloudCall call(io_, checked_);
  auto created = call.run(checked_.createStack(drivers::StackCreate{.name = "a"}));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(cloud_.calls(FakeCloudDriver::Op::CreateStack), 1);

  // Prepared while leading, awaited after the term ended: the check is made right before acting.
  auto pending = checked_.deleteStack(*created);
  leading_ = false;
  auto refused = call.run(std::move(pending));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, util::ErrorCode::Unavailable);
  EXPECT_EQ(refused.error().message,
            "delete stack: not sent, this replica is no longer the leader");
  EXPECT_FALSE(call.run(checked_.createStack(drivers::StackCreate{.name = "b"})).ok());
  EXPECT_FALSE(call.run(checked_.deleteServer("any")).ok());
  EXPECT_EQ(cloud_.calls(FakeCloudDriver::Op::CreateStack), 1);
  EXPECT_EQ(cloud_.calls(FakeCloudDriver::Op::DeleteStack), 0);
  EXPECT_EQ(cloud_.calls(FakeCloudDriver::Op::DeleteServer), 0);
  EXPECT_EQ(checked_.refused(), 3u);

  // Reads pass: a follower-to-be may still look.
  auto stacks = call.run(checked_.listStacks({}));
  ASSERT_TRUE(stacks.ok()) << stacks.error().message;
  EXPECT_EQ(stacks->size(), 1u);
}

}  // namespace
}  // namespace magnumd::reconcilers
