// Concurrency: races on one name, many writers, group commit, backpressure.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <set>
#include <thread>

#include "store_backend.h"
#include "store_test_util.h"

namespace magnumd::store {
namespace {

using namespace testing;
using util::ErrorCode;
using namespace std::chrono_literals;

// Lets a test hold the committer inside its first commit callback until released, so that what
// queues up meanwhile is known exactly (no timing assumptions).
class CommitGate {
 public:
  std::function<void(const CommitInfo&)> hook() {
    return [this](const CommitInfo& info) {
      std::unique_lock lock(mu_);
      sizes_.push_back(info.writes);
      if (!info.ok) ++failed_;
      if (sizes_.size() == 1) {
        entered_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return released_; });
      }
    };
  }
  bool waitEntered() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return entered_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<size_t> sizes() {
    std::lock_guard lock(mu_);
    return sizes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<size_t> sizes_;
  int failed_ = 0;
  bool entered_ = false, released_ = false;
};

// Collects async results; waits with a deadline.
class Results {
 public:
  ObjectCallback callback() {
    return [this](util::Result<api::Object> r) {
      std::lock_guard lock(mu_);
      results_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  bool waitFor(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return results_.size() >= n; });
  }
  std::vector<util::Result<api::Object>> take() {
    std::lock_guard lock(mu_);
    return std::move(results_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<util::Result<api::Object>> results_;
};

SqliteOptions optionsIn(const TempDir& dir) {
  SqliteOptions o;
  o.path = dir.file("concurrency.db");
  return o;
}

// Races and many writers, on both backends; the group-commit tests below are SQLite's pipeline.
class StoreRaceTest : public StoreBackendTest {};

TEST_P(StoreRaceTest, ConcurrentCreatesOfOneNameHaveOneWinner) {
  StorePtr store = open();
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::atomic<int> created{0}, exists{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto r = createSync(*store, cluster("ns", "contested"));
      if (r.ok()) ++created;
      if (!r.ok() && r.error().code == ErrorCode::AlreadyExists) ++exists;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(exists.load(), kThreads - 1);
  EXPECT_EQ(store->currentRevision(), rev(1));
}

TEST_P(StoreRaceTest, ConcurrentUpdatesWithTheSameVersionHaveOneWinner) {
  StorePtr store = open();
  mustCreate(*store, cluster("ns", "a"));
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> ok{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      auto r = updateSync(*store, cluster("ns", "a", fmt::format(R"({{"t":{}}})", t)), rev(1));
      if (r.ok()) ++ok;
      if (!r.ok() && r.error().code == ErrorCode::Conflict) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
}

TEST_P(StoreRaceTest, ManyWritersEveryAcknowledgedWritePresentWithUniqueRevisions) {
  std::vector<api::Object> acked;
  std::mutex acked_mu;
  {
    StorePtr store = open();
    constexpr int kThreads = 8, kObjectsEach = 40;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kObjectsEach; ++i) {
          std::string name = fmt::format("t{}-{}", t, i);
          auto created = createSync(*store, cluster(fmt::format("ns{}", t % 3), name));
          ASSERT_TRUE(created.ok());
          api::Object next = *created;
          next.spec = fmt::format(R"({{"i":{}}})", i);
          auto updated = updateSync(*store, next, created->metadata.resource_version);
          ASSERT_TRUE(updated.ok()) << updated.error().message;
          std::lock_guard lock(acked_mu);
          acked.push_back(*created);
          acked.push_back(*updated);
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(acked.size(), 2u * kThreads * kObjectsEach);
    std::set<int64_t> revisions;
    for (const auto& o : acked) revisions.insert(o.metadata.resource_version);
    EXPECT_EQ(revisions.size(), acked.size()) << "a revision was handed out twice";
    EXPECT_EQ(*revisions.begin(), rev(1));
    EXPECT_EQ(*revisions.rbegin(), rev(static_cast<int64_t>(acked.size())));
    EXPECT_EQ(store->currentRevision(), rev(static_cast<int64_t>(acked.size())));
  }
  StorePtr reopened = open();
  for (const auto& o : acked) {
    auto got = reopened->get(keyOf(o));
    ASSERT_TRUE(got.ok()) << o.metadata.name;
    EXPECT_GE(got->metadata.resource_version, o.metadata.resource_version);
    EXPECT_EQ(got->metadata.generation, 2);
  }
}

INSTANTIATE_STORE_BACKENDS(StoreRaceTest);

TEST(StoreConcurrencyTest, QueuedWritesAreCommittedTogether) {
  TempDir dir;
  CommitGate gate;
  SqliteOptions options = optionsIn(dir);
  options.max_batch = 300;
  options.on_commit = gate.hook();
  StorePtr store = openOrDie(options);
  Results results;
  store->create(cluster("ns", "first"), results.callback());
  ASSERT_TRUE(gate.waitEntered());  // the committer is busy with the first transaction
  constexpr size_t kQueued = 1000;
  for (size_t i = 0; i < kQueued; ++i) {
    store->create(cluster("ns", fmt::format("c{}", i)), results.callback());
  }
  gate.release();
  ASSERT_TRUE(results.waitFor(kQueued + 1));
  for (const auto& r : results.take()) EXPECT_TRUE(r.ok());
  // 1000 queued writes at 300 per transaction: 4 more transactions, not 1000.
  EXPECT_EQ(gate.sizes(), (std::vector<size_t>{1, 300, 300, 300, 100}));
  EXPECT_EQ(store->currentRevision(), static_cast<int64_t>(kQueued + 1));
}

TEST(StoreConcurrencyTest, CallbacksRunInSubmissionOrder) {
  TempDir dir;
  CommitGate gate;
  SqliteOptions options = optionsIn(dir);
  options.on_commit = gate.hook();
  StorePtr store = openOrDie(options);
  std::vector<std::string> order;
  std::mutex mu;
  auto record = [&](std::string tag) {
    return [&, tag](util::Result<api::Object>) {
      std::lock_guard lock(mu);
      order.push_back(tag);
    };
  };
  store->create(cluster("ns", "first"), record("first"));
  ASSERT_TRUE(gate.waitEntered());
  store->create(cluster("ns", "a"), record("create a"));
  store->create(cluster("ns", "a"), record("duplicate a"));  // rejected when planned
  store->update(cluster("ns", "a"), 0, record("no-op a"));   // unchanged pending object
  store->remove({api::Kind::Cluster, "ns", "a"}, 0, record("remove a"));
  gate.release();
  Results done;
  store->create(cluster("ns", "last"), done.callback());
  ASSERT_TRUE(done.waitFor(1));
  std::lock_guard lock(mu);
  EXPECT_EQ(order,
            (std::vector<std::string>{"first", "create a", "duplicate a", "no-op a", "remove a"}));
}

TEST(StoreConcurrencyTest, TooManyPendingWritesAreRejected) {
  TempDir dir;
  CommitGate gate;
  SqliteOptions options = optionsIn(dir);
  options.max_pending = 10;
  options.on_commit = gate.hook();
  StorePtr store = openOrDie(options);
  Results results;
  store->create(cluster("ns", "first"), results.callback());
  ASSERT_TRUE(gate.waitEntered());
  for (int i = 0; i < 15; ++i)
    store->create(cluster("ns", fmt::format("c{}", i)), results.callback());
  gate.release();
  ASSERT_TRUE(results.waitFor(16));
  int ok = 0, unavailable = 0;
  for (const auto& r : results.take()) {
    if (r.ok()) ++ok;
    if (!r.ok() && r.error().code == ErrorCode::Unavailable) ++unavailable;
  }
  EXPECT_EQ(ok, 11);
  EXPECT_EQ(unavailable, 5);
  EXPECT_EQ(store->currentRevision(), 11);
}

TEST(StoreConcurrencyTest, ReadsSeeOnlyCommittedWrites) {
  TempDir dir;
  CommitGate gate;
  SqliteOptions options = optionsIn(dir);
  options.on_commit = gate.hook();
  StorePtr store = openOrDie(options);
  Results results;
  store->create(cluster("ns", "first"), results.callback());
  ASSERT_TRUE(gate.waitEntered());
  store->create(cluster("ns", "queued"), results.callback());
  // Queued but not committed: invisible to reads and to the revision.
  EXPECT_FALSE(store->get({api::Kind::Cluster, "ns", "queued"}).ok());
  EXPECT_EQ(store->list({.kind = api::Kind::Cluster})->items.size(), 1u);
  EXPECT_EQ(store->currentRevision(), 1);
  gate.release();
  ASSERT_TRUE(results.waitFor(2));
  EXPECT_TRUE(store->get({api::Kind::Cluster, "ns", "queued"}).ok());
}

TEST(StoreConcurrencyTest, AFailedCommitFailsItsBatchAndRollsBackRevisions) {
  TempDir dir;
  CommitGate gate;
  SqliteOptions options = optionsIn(dir);
  options.max_database_bytes = 256 * 1024;
  options.on_commit = gate.hook();
  StorePtr store = openOrDie(options);
  Results first;
  store->create(cluster("ns", "first"), first.callback());
  ASSERT_TRUE(gate.waitEntered());
  // One transaction: a small create, one too big for the quota, an update planned on top of
  // the small one. All three must fail together.
  Results batch;
  store->create(cluster("ns", "small"), batch.callback());
  std::string huge = R"({"blob":")" + std::string(512 * 1024, 'z') + R"("})";
  store->create(cluster("ns", "huge", huge), batch.callback());
  store->update(cluster("ns", "small", R"({"n":1})"), 0, batch.callback());
  gate.release();
  ASSERT_TRUE(batch.waitFor(3));
  for (const auto& r : batch.take()) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::Unavailable);
  }
  EXPECT_EQ(gate.sizes(), (std::vector<size_t>{1, 3}));
  EXPECT_FALSE(store->get({api::Kind::Cluster, "ns", "small"}).ok());
  // Nothing of the batch is left behind: the name is free and the revision continues at 2.
  auto again = createSync(*store, cluster("ns", "small"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->metadata.resource_version, 2);
  store.reset();
  options.on_commit = nullptr;
  StorePtr reopened = openOrDie(options);
  EXPECT_EQ(reopened->currentRevision(), 2);
  EXPECT_FALSE(reopened->get({api::Kind::Cluster, "ns", "huge"}).ok());
}

}  // namespace
}  // namespace magnumd::store
