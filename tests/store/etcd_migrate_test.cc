// `magnumd migrate`'s copy from a real SQLite file into a real etcd: every object served again by
// an etcd store exactly as SQLite held it, an occupied prefix refused, and a copy that fails
// half-way leaving either nothing or a partial copy magnumd will not start on.
#include "store/etcd_migrate.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "store/etcd_client.h"
#include "store/etcd_store.h"
#include "store_test_util.h"
#include "tests/support/etcd_server.h"

namespace magnumd::store {
namespace {

using namespace testing;
using util::ErrorCode;
using namespace std::chrono_literals;

class EtcdMigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    etcd_ = magnumd::testing::EtcdServer::shared(&why);
    if (!etcd_) GTEST_SKIP() << "no etcd to test against: " << why;
    static std::atomic<int> counter{0};
    prefix_ = fmt::format("/migrate{}-{}", ::getpid(), counter++);
    SqliteOptions o;
    o.path = dir_.file("magnumd.db");
    auto opened = openSqliteStore(o);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    source_ = std::move(opened).value();
  }

  MigrationTarget target(const std::string& endpoint = {}) const {
    MigrationTarget t;
    t.etcd.endpoints = {endpoint.empty() ? etcd_->endpoint() : endpoint};
    t.etcd.request_timeout = 2s;
    t.etcd.prefix = prefix_;
    return t;
  }

  util::Result<StorePtr> openTarget(const std::string& endpoint = {}) const {
    EtcdOptions o;
    o.endpoints = {endpoint.empty() ? etcd_->endpoint() : endpoint};
    o.prefix = prefix_;
    o.request_timeout = 2s;
    return openEtcdStore(o);
  }

  // Keys under the prefix, objects or not.
  int64_t keysUnderPrefix(const std::string& endpoint = {}) const {
    EtcdConnectOptions o;
    o.endpoints = {endpoint.empty() ? etcd_->endpoint() : endpoint};
    auto client = EtcdClient::connect(o);
    EXPECT_TRUE(client.ok());
    etcdserverpb::RangeRequest request;
    request.set_key(prefix_ + "/");
    request.set_range_end(prefixEnd(prefix_ + "/"));
    request.set_count_only(true);
    auto response = (*client)->range(request);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? response->count() : -1;
  }

  // Objects of every kind with every field the store keeps: a template, a cluster with labels,
  // annotations, managedFields, status and a finalizer that holds its deletion, node groups, many
  // events (several batches), a cluster secret and a quota, in two namespaces.
  void fillSource() {
    mustCreate(*source_, object(api::Kind::ClusterTemplate, "team-a", "k8s", R"({"coe":"x"})"));
    api::Object c = mustCreate(*source_, cluster("team-a", "prod", R"({"nodeCount":3})"));
    c.metadata.labels = {{"env", "prod"}};
    c.metadata.annotations = {{"note", "with \"quotes\""}};
    c.metadata.finalizers = {"magnumd.io/cloud"};
    c.metadata.managed_fields = {{"kubectl", "Apply", "container-infra/v1", "2026-11-18T00:00:00Z",
                                  "FieldsV1", R"({"f:spec":{"f:nodeCount":{}}})", ""}};
    c.spec = R"({"nodeCount":5})";  // generation 2
    c = *updateSync(*source_, c, 0);
    c.status = R"({"phase":"Running"})";
    c = *updateStatusSync(*source_, c, 0);
    ASSERT_TRUE(removeSync(*source_, keyOf(c), 0).ok());  // deletionTimestamp, finalizer holds it
    mustCreate(*source_, object(api::Kind::NodeGroup, "team-a", "prod-workers"));
    mustCreate(*source_, object(api::Kind::NodeGroup, "team-b", "small-workers"));
    for (int i = 0; i < 230; ++i) {
      mustCreate(*source_, object(api::Kind::Event, "team-a", fmt::format("prod.{:03}", i)));
    }
    mustCreate(*source_, object(api::Kind::ClusterSecret, "team-a", "prod", R"({"ca":"x"})"));
    mustCreate(*source_, object(api::Kind::Quota, "team-b", "default"));
    ASSERT_TRUE(removeSync(*source_, {api::Kind::Quota, "team-b", "default"}, 0).ok());  // gone
  }

  static std::vector<api::Object> everything(const Store& store) {
    std::vector<api::Object> out;
    for (size_t k = 0; k < api::kKindCount; ++k) {
      ListOptions o;
      o.kind = static_cast<api::Kind>(k);
      auto listed = store.list(o);
      EXPECT_TRUE(listed.ok());
      for (auto& item : listed->items) {
        item.metadata.resource_version = 0;  // etcd's revisions replace SQLite's
        out.push_back(std::move(item));
      }
    }
    return out;
  }

  magnumd::testing::EtcdServer* etcd_ = nullptr;
  std::string prefix_;
  TempDir dir_;
  StorePtr source_;
};

TEST_F(EtcdMigrateTest, AnEtcdStoreServesEveryObjectAsSqliteHeldIt) {
  fillSource();
  MigrationTarget t = target();
  std::vector<std::string> told;
  t.progress = [&](std::string_view line) { told.emplace_back(line); };
  auto summary = migrateToEtcd(*source_, t);
  ASSERT_TRUE(summary.ok()) << summary.error().message;

  std::map<api::Kind, int64_t> counted;
  for (const auto& kind : summary->kinds) counted[kind.kind] = kind.objects;
  EXPECT_EQ(counted, (std::map<api::Kind, int64_t>{{api::Kind::ClusterTemplate, 1},
                                                   {api::Kind::Cluster, 1},
                                                   {api::Kind::NodeGroup, 2},
                                                   {api::Kind::Event, 230},
                                                   {api::Kind::ClusterSecret, 1},
                                                   {api::Kind::Quota, 0}}));
  EXPECT_EQ(summary->source_revision, source_->currentRevision());
  EXPECT_EQ(told.back(), "copied 235 of 235 objects");
  EXPECT_EQ(keysUnderPrefix(), 235);  // the marker is gone

  auto migrated = openTarget();
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  EXPECT_GE((*migrated)->currentRevision(), summary->revision);
  const std::vector<api::Object> want = everything(*source_);
  ASSERT_EQ(everything(**migrated), want);

  // The copy behaves as the original: the finalizer's removal completes the deletion, and a spec
  // change continues the generation.
  api::Object prod = *(*migrated)->get({api::Kind::Cluster, "team-a", "prod"});
  EXPECT_TRUE(prod.deleting());
  prod.metadata.finalizers.clear();
  ASSERT_TRUE(updateSync(**migrated, prod, prod.metadata.resource_version).ok());
  EXPECT_FALSE((*migrated)->get(keyOf(prod)).ok());
  api::Object workers = *(*migrated)->get({api::Kind::NodeGroup, "team-a", "prod-workers"});
  workers.spec = R"({"nodeCount":2})";
  EXPECT_EQ(updateSync(**migrated, workers, 0)->metadata.generation, 2);
}

TEST_F(EtcdMigrateTest, AnOccupiedPrefixIsRefusedAndLeftAlone) {
  {
    auto running = openTarget();  // a magnumd that already ran there
    ASSERT_TRUE(running.ok()) << running.error().message;
    mustCreate(**running, cluster("team-a", "live"));
  }
  fillSource();
  auto result = migrateToEtcd(*source_, target());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::AlreadyExists);
  EXPECT_NE(result.error().message.find(prefix_ + " already holds 2 key(s)"), std::string::npos)
      << result.error().message;
  auto after = openTarget();
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(everything(**after).size(), 1u);
}

TEST_F(EtcdMigrateTest, AnObjectTooLargeForEtcdRefusesBeforeAnythingIsWritten) {
  fillSource();
  MigrationTarget t = target();
  t.etcd.max_object_bytes = 1000;
  mustCreate(*source_, cluster("team-b", "big", R"({"blob":")" + std::string(1200, 'z') + R"("})"));
  auto result = migrateToEtcd(*source_, t);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::TooLarge);
  EXPECT_NE(result.error().message.find("Cluster team-b/big is"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(keysUnderPrefix(), 0);
}

TEST_F(EtcdMigrateTest, ACopyThatFailsHalfWayIsDeletedAndCanBeRunAgain) {
  fillSource();
  MigrationTarget t = target();
  t.after_batch = [](int64_t written) -> util::Status {
    if (written >= 100) return util::makeError(ErrorCode::Unavailable, "injected failure");
    return {};
  };
  auto failed = migrateToEtcd(*source_, t);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("injected failure; the partial copy was deleted"),
            std::string::npos)
      << failed.error().message;
  EXPECT_EQ(keysUnderPrefix(), 0);

  auto again = migrateToEtcd(*source_, target());
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto migrated = openTarget();
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  EXPECT_EQ(everything(**migrated), everything(*source_));
}

// etcd goes away mid-copy: the partial copy stays, and magnumd refuses to serve it until it is
// removed.
TEST_F(EtcdMigrateTest, APartialCopyThatCannotBeDeletedKeepsMagnumdOff) {
  std::string why;
  auto private_etcd = magnumd::testing::EtcdServer::startPrivate(&why);
  ASSERT_TRUE(private_etcd) << why;
  const std::string endpoint = private_etcd->endpoint();
  fillSource();
  MigrationTarget t = target(endpoint);
  t.after_batch = [&](int64_t) -> util::Status {
    private_etcd->stop();
    return util::makeError(ErrorCode::Unavailable, "etcd stopped");
  };
  auto failed = migrateToEtcd(*source_, t);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("the partial copy could not be deleted"), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("etcdctl del --prefix " + prefix_ + "/"), std::string::npos)
      << failed.error().message;

  ASSERT_TRUE(private_etcd->restart(&why)) << why;
  EXPECT_EQ(keysUnderPrefix(endpoint), 101);  // one batch and the marker
  auto refused = openTarget(endpoint);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("holds an unfinished `magnumd migrate`"),
            std::string::npos)
      << refused.error().message;
  // A second migration does not mix with the first's leftovers either.
  EXPECT_EQ(migrateToEtcd(*source_, target(endpoint)).error().code, ErrorCode::AlreadyExists);
}

}  // namespace
}  // namespace magnumd::store
