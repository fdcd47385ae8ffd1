// What only the etcd backend has: several stores (replicas) on one prefix, etcd's limits, and an
// unreachable cluster.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "store_backend.h"
#include "store_test_util.h"
#include "tests/support/tls_cert.h"

namespace magnumd::store {
namespace {

using namespace testing;
using util::ErrorCode;
using namespace std::chrono_literals;

class EtcdStoreTest : public StoreBackendTest {
 protected:
  // Waits (with a deadline) until `store` serves `key` at `revision` or later.
  static bool waitForRevision(Store& store, const api::ObjectKey& key, int64_t revision) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      auto got = store.get(key);
      if (got.ok() && got->metadata.resource_version >= revision) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
  }
};

TEST_P(EtcdStoreTest, ReplicasOnOnePrefixSeeEachOthersWritesAndConflict) {
  StorePtr a = open("shared");
  StorePtr b = open("shared");
  api::Object created = mustCreate(*a, cluster("ns", "x"));
  // Read-your-writes on the writer; the other replica catches up through its watch.
  EXPECT_TRUE(a->get(keyOf(created)).ok());
  ASSERT_TRUE(waitForRevision(*b, keyOf(created), created.metadata.resource_version));
  EXPECT_EQ(*b->get(keyOf(created)), created);

  // Both update from the same version: etcd's transaction lets exactly one win.
  api::Object from_a = created, from_b = created;
  from_a.spec = R"({"by":"a"})";
  from_b.spec = R"({"by":"b"})";
  auto won = updateSync(*a, from_a, created.metadata.resource_version);
  ASSERT_TRUE(won.ok()) << won.error().message;
  auto lost = updateSync(*b, from_b, created.metadata.resource_version);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, ErrorCode::Conflict);

  // A version b's cache may not have seen yet is checked against etcd, not refused.
  from_b.spec = R"({"by":"b","after":"a"})";
  auto next = updateSync(*b, from_b, won->metadata.resource_version);
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->metadata.generation, 3);

  // A watch on b sees a's delete.
  EventSink sink;
  auto handle = b->watch({api::Kind::Cluster, "", next->metadata.resource_version}, sink.callback(),
                         sink.endCallback());
  ASSERT_TRUE(handle.ok());
  auto removed = removeSync(*a, keyOf(created), 0);
  ASSERT_TRUE(removed.ok());
  ASSERT_TRUE(sink.waitFor(1));
  EXPECT_EQ(sink.events()[0].type, EventType::Deleted);
  EXPECT_EQ(sink.revisions(), (std::vector<int64_t>{removed->metadata.resource_version}));
}

TEST_P(EtcdStoreTest, EveryKindReachesTheOtherReplicasIncludingThoseTheApiDoesNotServe) {
  StorePtr a = open("kinds");
  StorePtr b = open("kinds");
  for (size_t i = 0; i < api::kKindCount; ++i) {
    const auto kind = static_cast<api::Kind>(i);
    api::Object created = mustCreate(*a, object(kind, "ns", "x"));
    ASSERT_TRUE(waitForRevision(*b, keyOf(created), created.metadata.resource_version))
        << api::kindInfo(kind).name;
    EXPECT_EQ(*b->get(keyOf(created)), created) << api::kindInfo(kind).name;
  }
  // A store opened now loads them all from etcd.
  StorePtr c = open("kinds");
  EXPECT_EQ(c->usage().objects, static_cast<int64_t>(api::kKindCount));
}

TEST_P(EtcdStoreTest, ObjectsOverTheSizeLimitAreRefusedBeforeEtcd) {
  openMain();
  std::string big = R"({"blob":")" + std::string(1100 * 1024, 'z') + R"("})";
  auto result = createSync(*store_, cluster("ns", "big", big));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::TooLarge);
  EXPECT_NE(result.error().message.find("more than the 1048576 bytes"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(store_->currentRevision(), rev(0));
}

TEST_P(EtcdStoreTest, AnUnreachableClusterIsUnavailableNamingTheEndpoints) {
  EtcdOptions o;
  o.endpoints = {"http://127.0.0.1:1"};  // nothing listens on port 1
  o.request_timeout = 500ms;
  auto store = openEtcdStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::Unavailable);
  EXPECT_NE(store.error().message.find("etcd http://127.0.0.1:1"), std::string::npos)
      << store.error().message;

  o.endpoints = {"127.0.0.1"};
  EXPECT_EQ(openEtcdStore(o).error().code, ErrorCode::BadRequest);
  o.endpoints = {"http://127.0.0.1:2379"};
  o.prefix = "magnumd";
  EXPECT_EQ(openEtcdStore(o).error().code, ErrorCode::BadRequest);
}

// A store whose etcd went away comes back to the state etcd holds, with the events in between:
// by resuming its watch, or, when another store compacted that history meanwhile, by listing
// again and turning the difference into events (the path this test is set up to take).
TEST_P(EtcdStoreTest, ACacheThatLostItsHistoryListsAgainAndReportsTheDifference) {
  std::string why;
  auto etcd = magnumd::testing::EtcdServer::startPrivate(&why);
  ASSERT_TRUE(etcd) << why;
  EtcdOptions o;
  o.endpoints = {etcd->endpoint()};
  o.prefix = "/relist";
  auto a = openEtcdStore(o);
  ASSERT_TRUE(a.ok()) << a.error().message;
  Store& cache = **a;
  api::Object kept = mustCreate(cache, cluster("ns", "kept"));
  api::Object gone = mustCreate(cache, cluster("ns", "gone"));
  EventSink sink;
  auto handle = cache.watch({api::Kind::Cluster, "", cache.currentRevision()}, sink.callback(),
                            sink.endCallback());
  ASSERT_TRUE(handle.ok());

  etcd->stop();
  std::this_thread::sleep_for(3s);  // the store's reconnect backoff grows towards 2 s
  ASSERT_TRUE(etcd->restart(&why)) << why;
  // Another replica changes all three objects and compacts past the changes at once.
  o.retention_revisions = 1;
  o.compaction_interval = 10ms;
  auto b = openEtcdStore(o);
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(removeSync(**b, keyOf(gone), 0).ok());
  api::Object changed = kept;
  changed.spec = R"({"n":2})";
  ASSERT_TRUE(updateSync(**b, changed, 0).ok());
  api::Object added = mustCreate(**b, cluster("ns", "added"));
  ASSERT_TRUE(waitCompacted(**b, added.metadata.resource_version));

  ASSERT_TRUE(sink.waitFor(3, 30s));
  std::map<std::string, EventType> seen;
  for (const auto& e : sink.events()) seen[e.object.metadata.name] = e.type;
  EXPECT_EQ(seen, (std::map<std::string, EventType>{{"added", EventType::Added},
                                                    {"gone", EventType::Deleted},
                                                    {"kept", EventType::Modified}}));
  EXPECT_FALSE(cache.get(keyOf(gone)).ok());
  EXPECT_EQ(cache.get(keyOf(kept))->spec, R"({"n":2})");
  EXPECT_EQ(*cache.get(keyOf(added)), added);
  EXPECT_TRUE(sink.ends().empty());
  // What the other replica compacted is gone for this store's watches too (when it relisted).
  if (cache.compactedRevision() > 0) {
    auto too_old = cache.watch(
        {api::Kind::Cluster, "", kept.metadata.resource_version}, [](auto) {},
        [](const util::Error&) {});
    ASSERT_FALSE(too_old.ok());
    EXPECT_EQ(too_old.error().code, ErrorCode::Expired);
  }
}

// While etcd cannot be reached (here: stopped; in a cluster: a member without a leader, which
// ends the cache's `hasleader` watch), the store says since when its cache may be stale, and
// stops saying so once etcd accepts its watch again.
TEST_P(EtcdStoreTest, ReportsSinceWhenItLostContactWithAnEtcdLeaderAndWhenItIsBack) {
  std::string why;
  auto etcd = magnumd::testing::EtcdServer::startPrivate(&why);
  ASSERT_TRUE(etcd) << why;
  EtcdOptions o;
  o.endpoints = {etcd->endpoint()};
  o.prefix = "/contact";
  o.request_timeout = 1s;
  o.leader_contact = std::make_shared<EtcdLeaderContact>();
  auto store = openEtcdStore(o);
  ASSERT_TRUE(store.ok()) << store.error().message;
  api::Object kept = mustCreate(**store, cluster("ns", "kept"));
  EXPECT_FALSE(o.leader_contact->staleSince());

  auto waitFor = [](auto predicate) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!predicate()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  };
  const auto before = std::chrono::system_clock::now();
  etcd->stop();
  ASSERT_TRUE(waitFor([&] { return o.leader_contact->staleSince().has_value(); }));
  EXPECT_GE(*o.leader_contact->staleSince(), before - 1s);  // millisecond precision
  // The cache still answers, from what it had.
  EXPECT_EQ(*(*store)->get(keyOf(kept)), kept);
  auto refused = createSync(**store, cluster("ns", "refused"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::Unavailable);
  EXPECT_TRUE(o.leader_contact->staleSince());

  ASSERT_TRUE(etcd->restart(&why)) << why;
  ASSERT_TRUE(waitFor([&] { return !o.leader_contact->staleSince(); }));
  mustCreate(**store, cluster("ns", "after"));
  EXPECT_FALSE(o.leader_contact->staleSince());
}

// etcd serving TLS and requiring client certificates: the store connects with --etcd-ca,
// --etcd-cert and --etcd-key, and without its client certificate it is refused.
TEST_P(EtcdStoreTest, SpeaksTlsWithAClientCertificate) {
  magnumd::testing::TestCert cert = magnumd::testing::makeSelfSignedCert(dir_.file(""));
  std::string why;
  auto etcd =
      magnumd::testing::EtcdServer::startTls({cert.cert_file, cert.key_file, cert.cert_file}, &why);
  ASSERT_TRUE(etcd) << why;
  EtcdOptions o;
  o.endpoints = {etcd->endpoint()};
  o.ca_file = cert.cert_file;
  o.cert_file = cert.cert_file;
  o.key_file = cert.key_file;
  auto store = openEtcdStore(o);
  ASSERT_TRUE(store.ok()) << store.error().message;
  api::Object created = mustCreate(**store, cluster("ns", "secure"));
  EXPECT_EQ((*store)->get(keyOf(created))->metadata.uid, created.metadata.uid);

  // Several endpoints (here the same member twice): each is checked against an address, not
  // against the list of all of them.
  o.endpoints = {etcd->endpoint(), etcd->endpoint()};
  o.request_timeout = 5s;
  auto several = openEtcdStore(o);
  ASSERT_TRUE(several.ok()) << several.error().message;
  EXPECT_EQ((*several)->get(keyOf(created))->metadata.uid, created.metadata.uid);

  o.endpoints = {etcd->endpoint()};
  o.cert_file.clear();
  o.key_file.clear();
  o.request_timeout = 1s;
  auto refused = openEtcdStore(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::Unavailable);
}

INSTANTIATE_TEST_SUITE_P(Etcd, EtcdStoreTest, ::testing::Values(Backend::Etcd), backendName);

}  // namespace
}  // namespace magnumd::store
