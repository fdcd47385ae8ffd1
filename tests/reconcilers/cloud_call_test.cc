// CloudCall: a call past its deadline is cancelled, so it cannot act after the reconciler that
// made it gave up (and, say, retried it).
#include "reconcilers/cloud_call.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "tests/support/fake_cloud_driver.h"

namespace magnumd::reconcilers {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using drivers::FakeCloudDriver;

// What a driver call looks like from the cloud's side: it waits (a slow response, a retry
// backoff), handling a failed wait as a value, then creates a stack.
drivers::StatusTask waitThenCreateStack(FakeCloudDriver& cloud, std::chrono::milliseconds wait) {
  asio::steady_timer timer(co_await asio::this_coro::executor, wait);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  auto created = co_await cloud.createStack(drivers::StackCreate{.name = "late"});
  if (!created.ok()) co_return created.takeError();
  co_return util::Status{};
}

class CloudCallTest : public ::testing::Test {
 protected:
  CloudCallTest() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~CloudCallTest() override {
    work_.reset();
    thread_.join();
  }

  FakeCloudDriver cloud_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
};

TEST_F(CloudCallTest, ACallPastItsDeadlineIsCancelledAndNeverActs) {
  CloudCall call(io_, cloud_, /*timeout=*/50ms);
  auto began = std::chrono::steady_clock::now();
  auto status = call.run(waitThenCreateStack(cloud_, 300ms));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, util::ErrorCode::Timeout);
  EXPECT_EQ(status.error().message, "cloud call did not finish within 50 ms; cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - began, 250ms) << "the caller is not held up";
  std::this_thread::sleep_for(500ms);  // well past the moment the call would have acted
  EXPECT_EQ(cloud_.calls(FakeCloudDriver::Op::CreateStack), 0);
  EXPECT_TRUE(cloud_.stacks().empty());
}

TEST_F(CloudCallTest, ACallWithinItsDeadlineActsAndReturnsItsResult) {
  CloudCall call(io_, cloud_, /*timeout=*/5s);
  EXPECT_TRUE(call.run(waitThenCreateStack(cloud_, 10ms)).ok());
  EXPECT_EQ(cloud_.calls(FakeCloudDriver::Op::CreateStack), 1);
  auto failed = call.run(waitThenCreateStack(cloud_, 10ms));  // the name is taken now
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().code, util::ErrorCode::Timeout);
}

}  // namespace
}  // namespace magnumd::reconcilers
