// Watch: order, filters, resume (memory tail, stored history, after restart), Expired, handle
// lifetime, and the replay/live hand-over under concurrent writes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "store_backend.h"
#include "store_test_util.h"

namespace magnumd::store {
namespace {

using namespace testing;
using util::ErrorCode;
using namespace std::chrono_literals;

class StoreWatchTest : public StoreBackendTest {
 protected:
  void open() {
    config_.retention = retention_;
    config_.cache_events = cache_events_;
    openMain();
  }
  // Submits all creates at once (they commit in a few group commits) and waits for them.
  void createMany(int n, const std::string& prefix = "c") {
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;
    for (int i = 0; i < n; ++i) {
      store_->create(cluster("ns", fmt::format("{}{}", prefix, i)),
                     [&](util::Result<api::Object> r) {
                       EXPECT_TRUE(r.ok());
                       std::lock_guard lock(mu);
                       ++done;
                       cv.notify_all();
                     });
    }
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return done == n; }));
  }
  WatchHandlePtr mustWatch(EventSink& sink, int64_t after, std::string ns = "",
                           api::Kind kind = api::Kind::Cluster) {
    auto handle = store_->watch({kind, std::move(ns), after}, sink.callback(), sink.endCallback());
    EXPECT_TRUE(handle.ok()) << handle.error().message;
    return handle.ok() ? std::move(handle).value() : nullptr;
  }

  int64_t retention_ = 100000;
  size_t cache_events_ = 4096;
};

TEST_P(StoreWatchTest, DeliversEveryChangeInRevisionOrder) {
  open();
  EventSink sink;
  auto handle = mustWatch(sink, rev(0));
  api::Object o = cluster("ns", "a");
  o.metadata.finalizers = {"f"};
  o = mustCreate(*store_, o);
  o.spec = R"({"n":2})";
  o = *updateSync(*store_, o, 0);
  o = *removeSync(*store_, keyOf(o), 0);
  o.metadata.finalizers.clear();
  ASSERT_TRUE(updateSync(*store_, o, 0).ok());
  ASSERT_TRUE(sink.waitFor(4));
  auto events = sink.events();
  ASSERT_EQ(events.size(), 4u);
  std::vector<EventType> types;
  for (const auto& e : events) types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<EventType>{EventType::Added, EventType::Modified,
                                           EventType::Modified, EventType::Deleted}));
  EXPECT_EQ(sink.revisions(), range(rev(0), rev(4)));
  EXPECT_TRUE(events[2].object.deleting());
  EXPECT_EQ(events[3].object.metadata.name, "a");
  EXPECT_EQ(events[1].object.spec, R"({"n":2})");
}

TEST_P(StoreWatchTest, FiltersByKindAndNamespace) {
  open();
  EventSink in_x, all_ns, templates;
  auto h1 = mustWatch(in_x, rev(0), "x");
  auto h2 = mustWatch(all_ns, rev(0));
  auto h3 = mustWatch(templates, rev(0), "", api::Kind::ClusterTemplate);
  mustCreate(*store_, cluster("x", "a"));
  mustCreate(*store_, cluster("y", "b"));
  mustCreate(*store_, object(api::Kind::ClusterTemplate, "x", "t"));
  mustCreate(*store_, cluster("x", "c"));
  ASSERT_TRUE(all_ns.waitFor(3));
  ASSERT_TRUE(in_x.waitFor(2));
  ASSERT_TRUE(templates.waitFor(1));
  std::this_thread::sleep_for(50ms);  // give a wrong extra delivery the chance to show up
  EXPECT_EQ(in_x.revisions(), (std::vector<int64_t>{rev(1), rev(4)}));
  EXPECT_EQ(all_ns.revisions(), (std::vector<int64_t>{rev(1), rev(2), rev(4)}));
  EXPECT_EQ(templates.revisions(), (std::vector<int64_t>{rev(3)}));
}

TEST_P(StoreWatchTest, ResumesFromARevisionThenGoesLive) {
  open();
  createMany(10);
  EventSink sink;
  auto handle = mustWatch(sink, rev(5));
  createMany(3, "live");
  ASSERT_TRUE(sink.waitFor(8));
  EXPECT_EQ(sink.revisions(), range(rev(5), rev(13)));
}

TEST_P(StoreWatchTest, ResumesFromStoredHistoryBeyondTheMemoryTail) {
  cache_events_ = 2;
  open();
  createMany(1500);  // more than one replay chunk
  EventSink sink;
  auto handle = mustWatch(sink, rev(3));
  createMany(2, "live");
  ASSERT_TRUE(sink.waitFor(1499));
  EXPECT_EQ(sink.revisions(), range(rev(3), rev(1502)));
}

TEST_P(StoreWatchTest, ResumesAfterRestartFromAPersistedRevision) {
  open();
  createMany(10);
  reopen();
  EventSink sink;
  auto handle = mustWatch(sink, rev(4));
  api::Object created = mustCreate(*store_, cluster("ns", "after-restart"));
  ASSERT_TRUE(sink.waitFor(7));
  std::vector<int64_t> expected = range(rev(4), rev(10));
  expected.push_back(created.metadata.resource_version);
  EXPECT_EQ(sink.revisions(), expected);
  EXPECT_EQ(sink.events().back().object.metadata.name, "after-restart");
}

TEST_P(StoreWatchTest, CompactedRevisionsAreExpiredAcrossRestarts) {
  retention_ = 5;
  open();
  createMany(20);
  ASSERT_TRUE(waitCompacted(*store_, rev(15)));
  EXPECT_EQ(store_->compactedRevision(), rev(15));
  auto too_old = store_->watch(
      {api::Kind::Cluster, "", rev(14)}, [](auto) {}, [](const util::Error&) {});
  ASSERT_FALSE(too_old.ok());
  EXPECT_EQ(too_old.error().code, ErrorCode::Expired);
  EXPECT_EQ(too_old.error().message,
            fmt::format("too old resource version: {} ({})", rev(14), rev(15)));

  reopen();
  // The compacted revision survives the restart. On etcd it may also move on by one: opening
  // writes the store's fence key (one more revision under the prefix), and the compaction timer
  // may keep the last 5 of those before this line runs (a TSan run did).
  const int64_t compacted = store_->compactedRevision();
  EXPECT_GE(compacted, rev(15));
  EXPECT_LE(compacted, GetParam() == Backend::Sqlite ? rev(15) : rev(16));
  EXPECT_FALSE(store_
                   ->watch(
                       {api::Kind::Cluster, "", 0}, [](auto) {}, [](const util::Error&) {})
                   .ok());
  EventSink sink;
  auto handle = mustWatch(sink, compacted);
  ASSERT_TRUE(sink.waitFor(static_cast<size_t>(rev(20) - compacted)));
  EXPECT_EQ(sink.revisions(), range(compacted, rev(20)));
}

TEST_P(StoreWatchTest, CurrentRevisionMeansOnlyFutureEventsAndNewerIsRefused) {
  open();
  createMany(3);
  EventSink sink;
  auto handle = mustWatch(sink, store_->currentRevision());
  auto future = store_->watch(
      {api::Kind::Cluster, "", rev(4)}, [](auto) {}, [](const util::Error&) {});
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.error().code, ErrorCode::Timeout);
  auto negative = store_->watch(
      {api::Kind::Cluster, "", -1}, [](auto) {}, [](const util::Error&) {});
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, ErrorCode::BadRequest);
  mustCreate(*store_, cluster("ns", "new"));
  ASSERT_TRUE(sink.waitFor(1));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(sink.revisions(), (std::vector<int64_t>{rev(4)}));
}

TEST_P(StoreWatchTest, NoCallbackAfterTheHandleIsDestroyed) {
  open();
  std::atomic<bool> destroyed{false};
  std::atomic<int> calls{0}, late_calls{0};
  auto handle = store_->watch(
      {api::Kind::Cluster, "", rev(0)},
      [&](auto) {
        ++calls;
        std::this_thread::sleep_for(2ms);  // widen the window in which destruction races a call
        if (destroyed) ++late_calls;
      },
      [](const util::Error&) {});
  ASSERT_TRUE(handle.ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) mustCreate(*store_, cluster("ns", fmt::format("w{}", i)));
  });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (calls < 5 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  handle->reset();
  destroyed = true;
  int at_destruction = calls;
  std::this_thread::sleep_for(100ms);  // writes keep coming; none may reach the callback
  stop = true;
  writer.join();
  EXPECT_GE(at_destruction, 5);
  EXPECT_EQ(calls.load(), at_destruction);
  EXPECT_EQ(late_calls.load(), 0);
}

TEST_P(StoreWatchTest, CallbackMayDropItsOwnWatch) {
  open();
  WatchHandlePtr handle;
  std::mutex mu;
  std::atomic<int> calls{0};
  auto result = store_->watch(
      {api::Kind::Cluster, "", rev(0)},
      [&](auto) {
        ++calls;
        std::lock_guard lock(mu);
        handle.reset();  // must not deadlock
      },
      [](const util::Error&) {});
  ASSERT_TRUE(result.ok());
  {
    std::lock_guard lock(mu);
    handle = std::move(result).value();
  }
  mustCreate(*store_, cluster("ns", "a"));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (calls == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  mustCreate(*store_, cluster("ns", "b"));
  mustCreate(*store_, cluster("ns", "c"));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(calls.load(), 1);
  std::lock_guard lock(mu);
  EXPECT_EQ(handle, nullptr);
}

// Watches start at random recent revisions while several writers commit: each must see exactly
// the revisions after its start, whether it replays from memory, from SQLite, or joins live.
TEST_P(StoreWatchTest, ReplayHandsOverToLiveWithoutGapsOrDuplicates) {
  cache_events_ = 64;
  retention_ = 400;
  open();
  constexpr int kWriters = 4, kUpdatesEach = 150, kWatchers = 40;
  for (int w = 0; w < kWriters; ++w) mustCreate(*store_, cluster("ns", fmt::format("w{}", w)));
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kUpdatesEach; ++i) {
        api::Object o = cluster("ns", fmt::format("w{}", w), fmt::format(R"({{"i":{}}})", i));
        auto r = updateSync(*store_, o, 0);
        ASSERT_TRUE(r.ok()) << r.error().message;
      }
    });
  }
  std::vector<std::unique_ptr<EventSink>> sinks;
  std::vector<int64_t> starts;
  std::vector<WatchHandlePtr> handles;
  std::mt19937 rng(7);
  for (int i = 0; i < kWatchers; ++i) {
    int64_t current = store_->currentRevision();
    // Not before this test's first write (etcd's history also holds other tests' prefixes).
    int64_t from = std::max(
        {store_->compactedRevision(), rev(0), current - static_cast<int64_t>(rng() % 300)});
    sinks.push_back(std::make_unique<EventSink>());
    auto handle = store_->watch({api::Kind::Cluster, "", from}, sinks.back()->callback(),
                                sinks.back()->endCallback());
    ASSERT_TRUE(handle.ok()) << handle.error().message;
    handles.push_back(std::move(handle).value());
    starts.push_back(from);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
  }
  for (auto& t : writers) t.join();
  int64_t last = store_->currentRevision();
  ASSERT_EQ(last, rev(kWriters + kWriters * kUpdatesEach));
  for (int i = 0; i < kWatchers; ++i) {
    ASSERT_TRUE(sinks[i]->waitFor(static_cast<size_t>(last - starts[i])))
        << "watcher " << i << " from " << starts[i];
    EXPECT_EQ(sinks[i]->revisions(), range(starts[i], last))
        << "watcher " << i << " from " << starts[i];
  }
}

INSTANTIATE_STORE_BACKENDS(StoreWatchTest);

}  // namespace
}  // namespace magnumd::store
