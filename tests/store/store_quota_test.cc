// Store limits: the quota on stored bytes and the per-namespace object limit, checked when a
// write is admitted (so queued writes count), never refusing what empties the store, and
// recomputed when the store reopens.
#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "store_backend.h"
#include "store_test_util.h"

namespace magnumd::store {
namespace {

using namespace testing;
using util::ErrorCode;

class StoreQuotaLimitTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    config_.clock = std::make_shared<FixedClock>();
  }
  // What the quota counts for `object`: its stored JSON. SQLite stores the resourceVersion in it,
  // etcd keeps it outside the value (as mod_revision).
  int64_t storedSize(api::Object object) const {
    if (GetParam() == Backend::Etcd) object.metadata.resource_version = 0;
    return static_cast<int64_t>(api::encodeObject(object).size());
  }
};

TEST_P(StoreQuotaLimitTest, UsageCountsTheStoredJsonOfEveryObject) {
  StorePtr store = open();
  api::Object a = mustCreate(*store, cluster("ns", "a", R"({"nodeCount":3})"));
  api::Object b = mustCreate(*store, object(api::Kind::NodeGroup, "other", "b"));
  EXPECT_EQ(store->usage().objects, 2);
  EXPECT_EQ(store->usage().bytes, storedSize(a) + storedSize(b));
  auto grown = updateSync(*store, cluster("ns", "a", R"({"nodeCount":300000})"), 0);
  ASSERT_TRUE(grown.ok()) << grown.error().message;
  EXPECT_EQ(store->usage().bytes, storedSize(*grown) + storedSize(b));
  ASSERT_TRUE(removeSync(*store, api::keyOf(b), 0).ok());
  EXPECT_EQ(store->usage().objects, 1);
  EXPECT_EQ(store->usage().bytes, storedSize(*grown));
}

TEST_P(StoreQuotaLimitTest, AFullStoreRefusesGrowthButAcceptsShrinkingStatusAndDeletes) {
  std::string big = R"({"blob":")" + std::string(2000, 'z') + R"("})";
  config_.quota_bytes = 10000;
  StorePtr store = open();
  int created = 0;
  util::Error full;
  for (; created < 20; ++created) {
    auto result = createSync(*store, cluster("ns", "c" + std::to_string(created), big));
    if (!result.ok()) {
      full = result.error();
      break;
    }
  }
  ASSERT_EQ(created, 4) << "each object is a little over 2,000 bytes";
  EXPECT_EQ(full.code, ErrorCode::Unavailable);
  EXPECT_NE(full.message.find("store full: 10000 bytes quota reached"), std::string::npos)
      << full.message;
  EXPECT_NE(full.message.find("raise --store-quota-bytes"), std::string::npos) << full.message;
  // The refused create took no revision.
  EXPECT_EQ(store->currentRevision(), rev(4));
  EXPECT_LE(store->usage().bytes, 10000);
  EXPECT_EQ(store->usage().quota_bytes, 10000);

  // Growing an existing object is refused too; shrinking it is not.
  std::string bigger = R"({"blob":")" + std::string(4000, 'z') + R"("})";
  auto grow = updateSync(*store, cluster("ns", "c0", bigger), 0);
  ASSERT_FALSE(grow.ok());
  EXPECT_EQ(grow.error().code, ErrorCode::Unavailable);
  auto shrink = updateSync(*store, cluster("ns", "c0", R"({"small":true})"), 0);
  ASSERT_TRUE(shrink.ok()) << shrink.error().message;

  // Controllers' status writes and deletion marks pass even over the quota.
  api::Object status = cluster("ns", "c1");
  status.status = R"({"phase":")" + std::string(4000, 'P') + R"("})";
  auto status_write = updateStatusSync(*store, status, 0);
  ASSERT_TRUE(status_write.ok()) << status_write.error().message;
  EXPECT_GT(store->usage().bytes, 10000);
  ASSERT_TRUE(removeSync(*store, {api::Kind::Cluster, "ns", "c1"}, 0).ok());
  ASSERT_TRUE(removeSync(*store, {api::Kind::Cluster, "ns", "c2"}, 0).ok());
  auto after = createSync(*store, cluster("ns", "again", big));
  EXPECT_TRUE(after.ok()) << after.error().message;
}

TEST_P(StoreQuotaLimitTest, TheNamespaceLimitCountsEachKindInEachNamespace) {
  config_.max_objects_per_namespace = 2;
  StorePtr store = open();
  mustCreate(*store, cluster("demo", "a"));
  mustCreate(*store, cluster("demo", "b"));
  auto third = createSync(*store, cluster("demo", "c"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::Forbidden);
  EXPECT_EQ(third.error().message,
            "clusters \"c\" is forbidden: exceeded quota: namespace demo holds 2 clusters, the "
            "limit of 2 objects of one kind per namespace; delete some, or raise "
            "--max-objects-per-namespace");
  // Another namespace, and another kind in the same namespace, have their own count.
  mustCreate(*store, cluster("other", "c"));
  mustCreate(*store, object(api::Kind::NodeGroup, "demo", "c"));
  // Updates of existing objects are not creates.
  EXPECT_TRUE(updateSync(*store, cluster("demo", "a", R"({"n":1})"), 0).ok());
  // A delete frees the slot.
  ASSERT_TRUE(removeSync(*store, {api::Kind::Cluster, "demo", "a"}, 0).ok());
  EXPECT_TRUE(createSync(*store, cluster("demo", "c")).ok());
}

TEST_P(StoreQuotaLimitTest, QueuedWritesCountSoConcurrentCreatesCannotRacePastTheLimit) {
  config_.max_objects_per_namespace = 10;
  StorePtr store = open();
  // Submitted back to back without waiting: most are still queued, not committed, when the
  // later ones are admitted.
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, ok = 0, forbidden = 0;
  for (int i = 0; i < 50; ++i) {
    store->create(cluster("ns", "c" + std::to_string(i)), [&](util::Result<api::Object> r) {
      std::lock_guard lock(mu);
      ++done;
      if (r.ok()) ++ok;
      if (!r.ok() && r.error().code == ErrorCode::Forbidden) ++forbidden;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == 50; }));
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(forbidden, 40);
  EXPECT_EQ(store->usage().objects, 10);
}

TEST_P(StoreQuotaLimitTest, UsageIsRecomputedWhenTheStoreReopens) {
  config_.max_objects_per_namespace = 2;
  StoreUsage before;
  {
    StorePtr store = open();
    mustCreate(*store, cluster("demo", "a", R"({"x":"some spec"})"));
    mustCreate(*store, cluster("demo", "b"));
    before = store->usage();
  }
  StorePtr store = open();
  EXPECT_EQ(store->usage().bytes, before.bytes);
  EXPECT_EQ(store->usage().objects, 2);
  auto third = createSync(*store, cluster("demo", "c"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::Forbidden);
}

INSTANTIATE_STORE_BACKENDS(StoreQuotaLimitTest);

// SQLite's own limits: the database file cap, and option checks.
SqliteOptions sqliteOptions(const TempDir& dir) {
  SqliteOptions o;
  o.path = dir.file("magnumd.db");
  o.clock = std::make_shared<FixedClock>();
  return o;
}

TEST(StoreSqliteLimitTest, AFailedCommitGivesBackWhatItsWritesWereCharged) {
  TempDir dir;
  SqliteOptions o = sqliteOptions(dir);
  o.max_objects_per_namespace = 2;
  o.max_database_bytes = 256 * 1024;
  StorePtr store = openOrDie(o);
  mustCreate(*store, cluster("ns", "a"));
  std::string huge = R"({"blob":")" + std::string(512 * 1024, 'z') + R"("})";
  auto failed = createSync(*store, cluster("ns", "huge", huge));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("database space exceeded"), std::string::npos);
  // Had "huge" kept its charge, the namespace would count 2 and refuse this one.
  auto b = createSync(*store, cluster("ns", "b"));
  EXPECT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(store->usage().objects, 2);
}

TEST(StoreSqliteLimitTest, NegativeLimitsAreRejectedWhenOpening) {
  TempDir dir;
  SqliteOptions o = sqliteOptions(dir);
  o.max_objects_per_namespace = -1;
  auto store = openSqliteStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::BadRequest);
  EXPECT_NE(store.error().message.find("max_objects_per_namespace"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::store
