// Leader election on a real etcd: one of two electors leads, the other takes over when the
// leader's lease is revoked or expires, and a deposed leader's fenced writes fail at etcd.
#include "store/etcd_election.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "store/etcd_client.h"
#include "store/etcd_services.h"
#include "store/etcd_store.h"
#include "store_test_util.h"
#include "tests/support/etcd_server.h"
#include "util/metrics.h"

namespace magnumd::store {
namespace {

using namespace std::chrono_literals;
using namespace testing;

// Short terms so takeovers happen within the test; the rule of validateElectionTiming holds.
ElectionTiming fastTiming() { return {2000ms, 1500ms, 200ms}; }

bool eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// One replica's elector, with what its callbacks saw.
struct Replica {
  util::MetricsRegistry metrics;
  std::mutex mu;
  std::vector<LeaderTerm> terms;
  std::atomic<int> stopped{0};
  LeaderElectorPtr elector;  // last: stopped before what its callbacks touch goes away

  LeaderTerm lastTerm() {
    std::lock_guard lock(mu);
    return terms.empty() ? LeaderTerm{} : terms.back();
  }
  bool gaugeIs(int value) const {
    return metrics.render().find("magnumd_leader " + std::to_string(value) + "\n") !=
           std::string::npos;
  }
};

class EtcdElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    etcd_ = magnumd::testing::EtcdServer::shared(&why);
    if (!etcd_) GTEST_SKIP() << "no etcd to test against: " << why;
    static int counter = 0;
    prefix_ = "/election" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    auto client = EtcdClient::connect({{etcd_->endpoint()}});
    ASSERT_TRUE(client.ok()) << client.error().message;
    client_ = std::move(*client);
  }

  std::unique_ptr<Replica> startReplica(const std::string& identity) {
    auto replica = std::make_unique<Replica>();
    EtcdElectionOptions options;
    options.endpoints = {etcd_->endpoint()};
    options.prefix = prefix_;
    options.identity = identity;
    options.timing = fastTiming();
    options.metrics = &replica->metrics;
    auto elector = makeEtcdElector(options);
    EXPECT_TRUE(elector.ok()) << elector.error().message;
    if (!elector.ok()) return nullptr;
    replica->elector = std::move(*elector);
    Replica* r = replica.get();
    replica->elector->start({[r](const LeaderTerm& term) {
                               std::lock_guard lock(r->mu);
                               r->terms.push_back(term);
                             },
                             [r] { ++r->stopped; }});
    return replica;
  }

  // The leader key as etcd holds it.
  mvccpb::KeyValue leaderKey() {
    etcdserverpb::RangeRequest request;
    request.set_key(prefix_ + "/leader");
    auto response = client_->range(request);
    EXPECT_TRUE(response.ok());
    return response.ok() && response->kvs_size() == 1 ? response->kvs(0) : mvccpb::KeyValue();
  }

  StorePtr openStore() {
    EtcdOptions options;
    options.endpoints = {etcd_->endpoint()};
    options.prefix = prefix_;
    auto store = openEtcdStore(options);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  magnumd::testing::EtcdServer* etcd_ = nullptr;
  std::string prefix_;
  std::unique_ptr<EtcdClient> client_;
};

TEST_F(EtcdElectionTest, OneOfTwoLeadsAndBothKnowWhich) {
  auto a = startReplica("a:1");
  auto b = startReplica("b:1");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(eventually([&] { return a->elector->leading() || b->elector->leading(); }));
  Replica& leader = a->elector->leading() ? *a : *b;
  Replica& follower = &leader == a.get() ? *b : *a;
  ASSERT_TRUE(eventually([&] { return follower.elector->leader() == leader.elector->identity(); }));
  EXPECT_FALSE(follower.elector->leading());
  EXPECT_EQ(leader.elector->leader(), leader.elector->identity());

  // The key names the leader, and its creation revision is the term's token.
  ASSERT_TRUE(eventually([&] { return !leader.lastTerm().identity.empty(); }));
  mvccpb::KeyValue key = leaderKey();
  EXPECT_EQ(key.value(), leader.elector->identity());
  EXPECT_EQ(key.create_revision(), leader.lastTerm().token);
  EXPECT_EQ(leader.lastTerm().fence.key, prefix_ + "/leader");
  EXPECT_TRUE(follower.lastTerm().identity.empty());

  EXPECT_TRUE(leader.gaugeIs(1)) << leader.metrics.render();
  EXPECT_TRUE(follower.gaugeIs(0)) << follower.metrics.render();

  // Still one leader a few renewals later.
  std::this_thread::sleep_for(fastTiming().retry_period * 3);
  EXPECT_TRUE(leader.elector->leading());
  EXPECT_FALSE(follower.elector->leading());
}

TEST_F(EtcdElectionTest, TheOtherTakesOverWhenTheLeadersLeaseIsRevoked) {
  auto a = startReplica("a:1");
  ASSERT_TRUE(a);
  ASSERT_TRUE(eventually([&] { return a->elector->leading(); }));
  auto b = startReplica("b:1");
  ASSERT_TRUE(b);
  ASSERT_TRUE(eventually([&] { return b->elector->leader() == "a:1"; }));
  const int64_t first = a->lastTerm().token;

  ASSERT_TRUE(client_->leaseRevoke(leaderKey().lease()).ok());
  ASSERT_TRUE(eventually([&] { return b->elector->leading(); }));
  ASSERT_TRUE(eventually([&] { return a->stopped.load() == 1; }));
  EXPECT_FALSE(a->elector->leading());
  EXPECT_TRUE(a->gaugeIs(0));
  EXPECT_TRUE(b->gaugeIs(1));
  ASSERT_TRUE(eventually([&] { return b->lastTerm().token != 0; }));
  EXPECT_GT(b->lastTerm().token, first);
  EXPECT_EQ(leaderKey().value(), "b:1");
}

TEST_F(EtcdElectionTest, TheOtherTakesOverWhenTheLeaderStopsRenewing) {
  auto a = startReplica("a:1");
  ASSERT_TRUE(a);
  ASSERT_TRUE(eventually([&] { return a->elector->leading(); }));
  auto b = startReplica("b:1");
  ASSERT_TRUE(b);
  ASSERT_TRUE(eventually([&] { return b->elector->leader() == "a:1"; }));

  // As a leader that hangs: no renewal, no resignation. Its lease expires at etcd.
  a->elector->stop();
  EXPECT_FALSE(a->elector->leading());
  ASSERT_TRUE(eventually([&] { return b->elector->leading(); }));
  EXPECT_EQ(leaderKey().value(), "b:1");
  EXPECT_EQ(a->stopped.load(), 0);  // stop() is not a lost term
}

TEST_F(EtcdElectionTest, ALeaderCutOffFromEtcdStepsDown) {
  std::string why;
  auto private_etcd = magnumd::testing::EtcdServer::startPrivate(&why);
  ASSERT_TRUE(private_etcd) << why;
  Replica a;
  EtcdElectionOptions options;
  options.endpoints = {private_etcd->endpoint()};
  options.prefix = prefix_;
  options.identity = "a:1";
  options.timing = fastTiming();
  options.metrics = &a.metrics;
  auto elector = makeEtcdElector(options);
  ASSERT_TRUE(elector.ok()) << elector.error().message;
  a.elector = std::move(*elector);
  a.elector->start({{}, [&a] { ++a.stopped; }});
  ASSERT_TRUE(eventually([&] { return a.elector->leading(); }));

  // No renewal succeeds any more: the leader stops acting on its own, after renew_deadline.
  private_etcd->stop();
  ASSERT_TRUE(eventually([&] { return a.stopped.load() == 1; }));
  EXPECT_FALSE(a.elector->leading());
  EXPECT_TRUE(a.gaugeIs(0));
  a.elector->stop();
}

TEST_F(EtcdElectionTest, ResigningHandsOverWithoutWaitingForTheLease) {
  auto a = startReplica("a:1");
  ASSERT_TRUE(a);
  ASSERT_TRUE(eventually([&] { return a->elector->leading(); }));
  auto b = startReplica("b:1");
  ASSERT_TRUE(b);
  ASSERT_TRUE(eventually([&] { return b->elector->leader() == "a:1"; }));
  a->elector->stop();
  a->elector->resign();
  ASSERT_TRUE(eventually([&] { return b->elector->leading(); }));
}

TEST_F(EtcdElectionTest, ADeposedLeadersFencedWritesFail) {
  StorePtr store = openStore();
  ASSERT_TRUE(store);
  auto a = startReplica("a:1");
  ASSERT_TRUE(a);
  ASSERT_TRUE(eventually([&] { return a->lastTerm().token != 0; }));
  StorePtr as_a = store->fenced(a->lastTerm().fence);
  auto created = createSync(*as_a, cluster("ns", "x"));
  ASSERT_TRUE(created.ok()) << created.error().message;

  auto b = startReplica("b:1");
  ASSERT_TRUE(b);
  ASSERT_TRUE(eventually([&] { return b->elector->leader() == "a:1"; }));
  ASSERT_TRUE(client_->leaseRevoke(leaderKey().lease()).ok());
  ASSERT_TRUE(eventually([&] { return b->lastTerm().token != 0; }));

  // a's writes, sent with its term, fail at etcd whatever a believes.
  api::Object changed = *created;
  changed.status = R"({"phase":"by-a"})";
  auto stale = updateStatusSync(*as_a, changed, 0);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, util::ErrorCode::Unavailable);
  EXPECT_NE(stale.error().message.find("no longer the leader"), std::string::npos)
      << stale.error().message;
  EXPECT_FALSE(createSync(*as_a, cluster("ns", "y")).ok());
  EXPECT_FALSE(removeSync(*as_a, keyOf(*created), 0).ok());
  EXPECT_EQ(store->get(keyOf(*created))->status, created->status);

  // b's, with the current term, commit; the API's (unfenced) writes are not affected.
  StorePtr as_b = store->fenced(b->lastTerm().fence);
  changed.status = R"({"phase":"by-b"})";
  auto current = updateStatusSync(*as_b, changed, 0);
  ASSERT_TRUE(current.ok()) << current.error().message;
  EXPECT_EQ(current->status, changed.status);
  EXPECT_TRUE(createSync(*store, cluster("ns", "z")).ok());
}

// Every replica reports itself whether it leads or not, and reads every replica's report: both
// see both, a stopped replica's report stops advancing but stays listed, and a replica that
// comes back continues its count.
TEST_F(EtcdElectionTest, EveryReplicaSeesEveryReplicasServiceReport) {
  auto start = [&](const std::string& host) {
    EtcdServiceReportsOptions options;
    options.endpoints = {etcd_->endpoint()};
    options.prefix = prefix_;
    auto reports = makeEtcdServiceReports(options);
    EXPECT_TRUE(reports.ok()) << reports.error().message;
    if (reports.ok()) (*reports)->start(host, 50ms);
    return reports.ok() ? std::move(*reports) : nullptr;
  };
  auto find = [](const EtcdServiceReports& reports, const std::string& host) {
    for (const auto& report : reports.reports()) {
      if (report.host == host) return report;
    }
    return ServiceReport{};
  };
  auto a = start("replica-a");
  auto b = start("replica-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(eventually([&] { return find(*a, "replica-b").report_count >= 2; }));
  ASSERT_TRUE(eventually([&] { return find(*b, "replica-a").report_count >= 2; }));
  auto listed = b->reports();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].host, "replica-a");  // sorted by host
  EXPECT_EQ(listed[1].host, "replica-b");
  EXPECT_LE(listed[0].created_at, listed[0].updated_at);

  a->stop();
  const ServiceReport last = find(*a, "replica-a");
  // b reads a's last report, which no longer advances, and keeps listing a.
  ASSERT_TRUE(eventually([&] { return find(*b, "replica-a").report_count == last.report_count; }));
  const uint64_t b_count = find(*b, "replica-b").report_count;
  ASSERT_TRUE(eventually([&] { return find(*b, "replica-b").report_count > b_count + 2; }));
  EXPECT_EQ(find(*b, "replica-a").report_count, last.report_count);
  EXPECT_EQ(find(*b, "replica-a").updated_at, last.updated_at);

  a = start("replica-a");
  ASSERT_TRUE(eventually([&] { return find(*b, "replica-a").report_count > last.report_count; }));
  EXPECT_EQ(find(*b, "replica-a").created_at, last.created_at);
}

TEST_F(EtcdElectionTest, TimingFollowsClientGosRule) {
  EXPECT_TRUE(validateElectionTiming({}).ok());
  EXPECT_FALSE(validateElectionTiming({10000ms, 10000ms, 2000ms}).ok());
  EXPECT_FALSE(validateElectionTiming({15000ms, 2000ms, 2000ms}).ok());
  EXPECT_FALSE(validateElectionTiming({15500ms, 10000ms, 2000ms}).ok());
  EXPECT_FALSE(validateElectionTiming({15000ms, 10000ms, 0ms}).ok());
}

TEST(SoleLeaderTest, LeadsFromTheStartUntilStopped) {
  util::MetricsRegistry metrics;
  auto elector = makeSoleLeader("only:1", &metrics);
  EXPECT_FALSE(elector->leading());
  std::vector<LeaderTerm> terms;
  elector->start({[&](const LeaderTerm& term) { terms.push_back(term); }, {}});
  EXPECT_TRUE(elector->leading());
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0].identity, "only:1");
  EXPECT_EQ(elector->leader(), "only:1");
  EXPECT_NE(metrics.render().find("magnumd_leader 1\n"), std::string::npos) << metrics.render();
  elector->stop();
  EXPECT_FALSE(elector->leading());
  EXPECT_NE(metrics.render().find("magnumd_leader 0\n"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::store
