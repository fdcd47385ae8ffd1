#include "audit/cluster_audit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <thread>

#include "tests/audit/recording_sink.h"
#include "tests/controller/store_fixture.h"
#include "util/json.h"

namespace magnumd::audit {
namespace {

using testing::Recorded;
using testing::RecordingSink;

api::Object cluster(std::string spec = R"({"clusterTemplate":"k8s","nodeCount":1})",
                    std::string status = "{}") {
  api::Object c;
  c.kind = api::Kind::Cluster;
  c.metadata.name = "prod";
  c.metadata.namespace_ = "demo";
  c.metadata.uid = "uid-1";
  c.spec = std::move(spec);
  c.status = std::move(status);
  return c;
}

api::Object withPhase(std::string_view phase, std::string_view reason = "") {
  return cluster(R"({"clusterTemplate":"k8s","nodeCount":1})",
                 fmt::format(R"({{"phase":"{}","statusReason":"{}"}})", phase, reason));
}

const Initiator kAlice{"alice", "demo"};

TEST(PendingEvent, CreateUpdateAndDeleteOfAClusterStartAnOperation) {
  auto created = pendingEvent(kAlice, nullptr, cluster(), false);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->action, Action::Create);
  EXPECT_EQ(created->outcome, Outcome::Pending);
  EXPECT_EQ(created->initiator, kAlice);
  EXPECT_EQ(created->target.uid, "uid-1");

  auto before = cluster();
  auto scaled = cluster(R"({"clusterTemplate":"k8s","nodeCount":3})");
  auto updated = pendingEvent(kAlice, &before, scaled, false);
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->action, Action::Update);
  EXPECT_EQ(updated->target.node_count, 3);

  auto deleting = before;
  deleting.metadata.deletion_timestamp = "2026-12-07T16:00:00Z";
  auto deleted = pendingEvent(kAlice, &before, deleting, true);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->action, Action::Delete);
}

TEST(PendingEvent, NothingForMetadataOnlyWritesRepeatedDeletesOrOtherKinds) {
  auto before = cluster();
  auto labelled = before;
  labelled.metadata.labels["team"] = "a";
  EXPECT_FALSE(pendingEvent(kAlice, &before, labelled, false));

  auto deleting = before;
  deleting.metadata.deletion_timestamp = "2026-12-07T16:00:00Z";
  EXPECT_FALSE(pendingEvent(kAlice, &deleting, deleting, true));

  auto tmpl = cluster();
  tmpl.kind = api::Kind::ClusterTemplate;
  EXPECT_FALSE(pendingEvent(kAlice, nullptr, tmpl, false));
}

TEST(NodeGroupResizeEvent, ANodeCountChangeIsAnUpdateOfItsCluster) {
  api::Object group;
  group.kind = api::Kind::NodeGroup;
  group.metadata.name = "gpu";
  group.metadata.namespace_ = "demo";
  group.spec = R"({"cluster":"prod","role":"worker","nodeCount":1})";
  auto resized = group;
  resized.spec = R"({"cluster":"prod","role":"worker","nodeCount":4})";
  auto event = nodeGroupResizeEvent(kAlice, group, resized, cluster());
  ASSERT_TRUE(event);
  EXPECT_EQ(event->action, Action::Update);
  EXPECT_EQ(event->outcome, Outcome::Pending);
  EXPECT_EQ(event->target.uid, "uid-1");
  EXPECT_EQ(event->initiator, kAlice);
  auto bounded = group;
  bounded.spec = R"({"cluster":"prod","role":"worker","nodeCount":1,"maxNodeCount":5})";
  EXPECT_FALSE(nodeGroupResizeEvent(kAlice, group, bounded, cluster()));
}

TEST(OutcomeEvent, AFinalPhaseReportsItsOperationsOutcome) {
  struct Case {
    std::string from, to;
    std::optional<Action> action;
    Outcome outcome;
  };
  std::vector<Case> cases = {
      {"", "CREATE_IN_PROGRESS", std::nullopt, Outcome::Success},
      {"CREATE_IN_PROGRESS", "CREATE_COMPLETE", Action::Create, Outcome::Success},
      {"CREATE_IN_PROGRESS", "CREATE_FAILED", Action::Create, Outcome::Failure},
      {"CREATE_COMPLETE", "UPDATE_IN_PROGRESS", std::nullopt, Outcome::Success},
      {"UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", Action::Update, Outcome::Success},
      {"UPDATE_IN_PROGRESS", "ROLLBACK_COMPLETE", Action::Update, Outcome::Success},
      {"UPDATE_IN_PROGRESS", "UPDATE_FAILED", Action::Update, Outcome::Failure},
      {"DELETE_IN_PROGRESS", "DELETE_FAILED", Action::Delete, Outcome::Failure},
      {"CREATE_COMPLETE", "CREATE_COMPLETE", std::nullopt, Outcome::Success},
  };
  for (const auto& c : cases) {
    auto event = outcomeEvent(withPhase(c.from), withPhase(c.to, "stack failed: quota"));
    ASSERT_EQ(event.has_value(), c.action.has_value()) << c.from << " -> " << c.to;
    if (!event) continue;
    EXPECT_EQ(event->action, *c.action) << c.to;
    EXPECT_EQ(event->outcome, c.outcome) << c.to;
    EXPECT_EQ(event->reason, c.outcome == Outcome::Failure ? "stack failed: quota" : "") << c.to;
  }
}

class ClusterAuditorTest : public controller::testing::StoreFixture {};

// One recorded notification's CADF payload fields.
struct Seen {
  std::string event_type, outcome, user, target;
};
Seen seen(const Notification& n) {
  auto doc = util::parseJson(n.body);
  EXPECT_TRUE(doc.ok());
  const auto& p = (*doc)["payload"];
  return {n.event_type, util::stringMember(p, "outcome").value_or(""),
          util::stringMember(p["initiator"], "id").value_or(""),
          util::stringMember(p["target"], "id").value_or("")};
}

TEST_F(ClusterAuditorTest, ALifeFromTheApiAndTheStatusIsPendingThenSuccessNamingTheCaller) {
  util::MetricsRegistry registry;
  Recorded recorded;
  AuditNotifier notifier(NotifierOptions{}, registry);
  notifier.addSink(std::make_unique<RecordingSink>(recorded));
  notifier.start();
  ClusterAuditor auditor(*store_, notifier);
  auditor.start();
  ASSERT_TRUE(auditor.waitForSync(std::chrono::seconds(20)));

  auto stored = create(object(api::Kind::Cluster, "prod", R"({"clusterTemplate":"k8s"})"));
  auditor.onApiWrite(kAlice, nullptr, stored, false);
  ASSERT_TRUE(recorded.waitFor(1));
  stored.status = R"({"phase":"CREATE_IN_PROGRESS"})";
  stored = store::updateStatusSync(*store_, stored, 0).value();
  stored.status = R"({"phase":"CREATE_COMPLETE"})";
  stored = store::updateStatusSync(*store_, stored, 0).value();
  ASSERT_TRUE(recorded.waitFor(2));
  // An update nobody asked for (an auto-heal replacement) is magnumd's own.
  stored.status = R"({"phase":"UPDATE_IN_PROGRESS"})";
  stored = store::updateStatusSync(*store_, stored, 0).value();
  stored.status = R"({"phase":"UPDATE_COMPLETE"})";
  stored = store::updateStatusSync(*store_, stored, 0).value();
  ASSERT_TRUE(recorded.waitFor(3));
  auto deleting = stored;
  deleting.metadata.deletion_timestamp = "2026-12-07T16:00:00Z";
  auditor.onApiWrite({"bob", "demo"}, &stored, deleting, true);
  remove(stored);
  ASSERT_TRUE(recorded.waitFor(5));
  auditor.stop();
  notifier.stop(std::chrono::seconds(5));

  auto got = recorded.snapshot();
  ASSERT_EQ(got.size(), 5u);
  const std::string uid = stored.metadata.uid;
  std::vector<std::vector<std::string>> expected = {
      {"magnum.cluster.create", "pending", "alice"},
      {"magnum.cluster.create", "success", "alice"},  // the outcome names who asked
      {"magnum.cluster.update", "success", "magnumd"},
      {"magnum.cluster.delete", "pending", "bob"},
      {"magnum.cluster.delete", "success", "bob"},
  };
  for (size_t i = 0; i < got.size(); ++i) {
    auto s = seen(got[i]);
    EXPECT_EQ((std::vector<std::string>{s.event_type, s.outcome, s.user}), expected[i]) << i;
    EXPECT_EQ(s.target, uid) << i;
  }
}

// Two replicas on one store, each with its own auditor and sink: the change one leader's
// controllers make is seen by both watches but reported once, by the leader; a pending event by
// the replica whose API took the write.
TEST_F(ClusterAuditorTest, OfTwoReplicasOnlyTheLeaderReportsOutcomesAndEachItsOwnApiWrites) {
  util::MetricsRegistry registry;
  Recorded on_leader, on_follower;
  AuditNotifier leader_notifier(NotifierOptions{}, registry);
  leader_notifier.addSink(std::make_unique<RecordingSink>(on_leader));
  leader_notifier.start();
  AuditNotifier follower_notifier(NotifierOptions{}, registry);
  follower_notifier.addSink(std::make_unique<RecordingSink>(on_follower));
  follower_notifier.start();
  ClusterAuditor leader(*store_, leader_notifier);
  ClusterAuditor follower(*store_, follower_notifier);
  follower.setReportsOutcomes(false);
  leader.start();
  follower.start();
  ASSERT_TRUE(leader.waitForSync(std::chrono::seconds(20)));
  ASSERT_TRUE(follower.waitForSync(std::chrono::seconds(20)));

  // The follower's API takes the create; the leader's controllers build the cluster.
  auto stored = create(object(api::Kind::Cluster, "prod", R"({"clusterTemplate":"k8s"})"));
  follower.onApiWrite(kAlice, nullptr, stored, false);
  stored.status = R"({"phase":"CREATE_COMPLETE"})";
  stored = store::updateStatusSync(*store_, stored, 0).value();
  ASSERT_TRUE(on_leader.waitFor(1));
  // The leader's API takes the delete.
  auto deleting = stored;
  deleting.metadata.deletion_timestamp = "2026-12-07T16:00:00Z";
  leader.onApiWrite({"bob", "demo"}, &stored, deleting, true);
  remove(stored);
  ASSERT_TRUE(on_leader.waitFor(3));
  // A create that fails, nobody's request known to the leader.
  auto later = create(object(api::Kind::Cluster, "later", R"({"clusterTemplate":"k8s"})"));
  later.status = R"({"phase":"CREATE_FAILED"})";
  later = store::updateStatusSync(*store_, later, 0).value();
  ASSERT_TRUE(on_leader.waitFor(4));
  // The follower's watch delivers the same changes about as soon; were it to report them, they
  // would be recorded by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  leader.stop();
  follower.stop();
  leader_notifier.stop(std::chrono::seconds(5));
  follower_notifier.stop(std::chrono::seconds(5));

  auto rows = [](Recorded& recorded) {
    std::vector<std::vector<std::string>> out;
    for (const auto& n : recorded.snapshot()) {
      auto s = seen(n);
      out.push_back({s.event_type, s.outcome, s.user});
    }
    return out;
  };
  EXPECT_EQ(rows(on_follower),
            (std::vector<std::vector<std::string>>{{"magnum.cluster.create", "pending", "alice"}}));
  EXPECT_EQ(rows(on_leader), (std::vector<std::vector<std::string>>{
                                 // Who asked is in the follower's pending event.
                                 {"magnum.cluster.create", "success", "magnumd"},
                                 {"magnum.cluster.delete", "pending", "bob"},
                                 {"magnum.cluster.delete", "success", "bob"},
                                 {"magnum.cluster.create", "failure", "magnumd"},
                             }));
}

}  // namespace
}  // namespace magnumd::audit
