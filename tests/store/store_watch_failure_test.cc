// A watch the store ends by itself (its callback threw, or its history could not be read) tells
// its owner why, is counted by reason, and delivers nothing more; other watches go on.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/watch_hub.h"
#include "store_test_util.h"

namespace magnumd::store {
namespace {

using namespace testing;
using util::ErrorCode;

// What the store's failure hook was told, in order.
class Reasons {
 public:
  std::function<void(std::string_view)> hook() {
    return [this](std::string_view reason) {
      std::lock_guard lock(mu_);
      reasons_.emplace_back(reason);
    };
  }
  std::vector<std::string> get() const {
    std::lock_guard lock(mu_);
    return reasons_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> reasons_;
};

TEST(StoreWatchFailureTest, ACallbackThatThrowsEndsItsWatchVisibly) {
  TempDir dir;
  Reasons reasons;
  SqliteOptions options;
  options.path = dir.file("watch.db");
  options.on_watch_failed = reasons.hook();
  auto store = openOrDie(options);
  ASSERT_NE(store, nullptr);

  EventSink dead;
  std::atomic<int> calls{0};
  auto handle = store->watch(
      {api::Kind::Cluster, "", 0},
      [&](std::span<const WatchEvent>) {
        ++calls;
        throw std::runtime_error("out of buffer space");
      },
      dead.endCallback());
  ASSERT_TRUE(handle.ok()) << handle.error().message;
  mustCreate(*store, cluster("ns", "a"));
  ASSERT_TRUE(dead.waitForEnd());
  ASSERT_EQ(dead.ends().size(), 1u);
  EXPECT_EQ(dead.ends()[0].code, ErrorCode::Internal);
  EXPECT_EQ(dead.ends()[0].message,
            "watch of Cluster ended: its callback threw: out of buffer space");

  EventSink healthy;
  auto other = store->watch({api::Kind::Cluster, "", 0}, healthy.callback(), healthy.endCallback());
  ASSERT_TRUE(other.ok()) << other.error().message;
  mustCreate(*store, cluster("ns", "b"));
  ASSERT_TRUE(healthy.waitFor(2));
  EXPECT_EQ(healthy.revisions(), range(0, 2));
  EXPECT_TRUE(healthy.ends().empty());
  EXPECT_EQ(calls.load(), 1);         // the dead watch heard nothing after it ended
  EXPECT_EQ(dead.ends().size(), 1u);  // and was told once
  EXPECT_EQ(reasons.get(), (std::vector<std::string>{"callback_threw"}));
}

TEST(StoreWatchFailureTest, AReplayThatCannotReadTheChangeLogEndsItsWatchVisibly) {
  Reasons reasons;
  // Revisions 1..10 are committed but only the change log holds them (the memory tail is empty),
  // and the change log cannot be opened.
  WatchHub hub(
      []() -> util::Result<std::unique_ptr<SqliteDb>> {
        return util::makeError(ErrorCode::Unavailable, "unable to open database file");
      },
      /*cache_events=*/16, /*revision=*/10, /*compacted_revision=*/0, reasons.hook());

  EventSink resuming;
  auto handle = hub.watch({api::Kind::Cluster, "", 2}, resuming.callback(), resuming.endCallback(),
                          /*current_revision=*/10);
  ASSERT_TRUE(handle.ok()) << handle.error().message;
  ASSERT_TRUE(resuming.waitForEnd());
  ASSERT_EQ(resuming.ends().size(), 1u);
  EXPECT_EQ(resuming.ends()[0].code, ErrorCode::Unavailable);
  EXPECT_EQ(resuming.ends()[0].message,
            "watch of Cluster ended: reading the change log after revision 2 failed: unable to "
            "open database file");

  // A watch from the current revision needs no history and carries on.
  EventSink live;
  auto other = hub.watch({api::Kind::Cluster, "", 10}, live.callback(), live.endCallback(), 10);
  ASSERT_TRUE(other.ok()) << other.error().message;
  api::Object next = cluster("ns", "a");
  next.metadata.resource_version = 11;
  std::vector<WatchEvent> batch;
  batch.push_back(WatchEvent{EventType::Added, next, nullptr});
  hub.publish(std::move(batch));
  ASSERT_TRUE(live.waitFor(1));
  EXPECT_EQ(live.revisions(), (std::vector<int64_t>{11}));
  EXPECT_TRUE(resuming.events().empty());
  EXPECT_EQ(reasons.get(), (std::vector<std::string>{"replay_failed"}));
}

TEST(StoreWatchFailureTest, EveryWatchNeedsAnEndCallback) {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("watch.db");
  auto store = openOrDie(options);
  ASSERT_NE(store, nullptr);
  auto refused = store->watch(
      {api::Kind::Cluster, "", 0}, [](auto) {}, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::BadRequest);
}

}  // namespace
}  // namespace magnumd::store
