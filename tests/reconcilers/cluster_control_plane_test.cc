// The Cluster reconciler with the cluster's own API in the picture (a scripted ControlPlaneSource
// instead of the observer): CREATE_COMPLETE and UPDATE_COMPLETE only once every server is a Ready
// Node, nodeStartupTimeout failing the create with the node named, ControlPlaneReady and
// NodesReady from the API, Magnum's health fields, and the COEs and clusters it leaves alone.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "controller/object_helpers.h"
#include "drivers/coe/coe_driver.h"
#include "tests/reconcilers/harness.h"

namespace magnumd::reconcilers::testing {
namespace {

using namespace std::chrono_literals;
using drivers::kube::ApiFailure;
using drivers::kube::ApiObservation;
using drivers::kube::NodeInfo;
using Op = FakeCloudDriver::Op;

// What the observer would have seen, set by each test.
class ScriptedControlPlane final : public ControlPlaneSource {
 public:
  util::Status track(const std::string& uid, const ControlPlaneTarget& target) override {
    std::lock_guard lock(mutex);
    tracked[uid] = target.api_url;
    ca_of[uid] = target.ca.cert_pem;
    return track_error ? util::Status(*track_error) : util::Status{};
  }
  void untrack(const std::string& uid) override {
    std::lock_guard lock(mutex);
    tracked.erase(uid);
    seen.erase(uid);
  }
  std::optional<ApiObservation> observation(const std::string& uid) const override {
    std::lock_guard lock(mutex);
    auto it = seen.find(uid);
    if (it == seen.end() || !tracked.count(uid)) return std::nullopt;
    return it->second;
  }

  drivers::Task<drivers::kube::DrainProgress> drainStep(std::string uid,
                                                        std::string node) override {
    std::lock_guard lock(mutex);
    drained.push_back(node);
    if (!tracked.count(uid)) co_return util::makeError(util::ErrorCode::Unavailable, "not tracked");
    drivers::kube::DrainProgress progress;
    progress.pods_left = pods_left;
    co_return progress;
  }
  drivers::StatusTask deleteNode(std::string uid, std::string node) override {
    std::lock_guard lock(mutex);
    deleted_nodes.push_back(node);
    if (!tracked.count(uid)) co_return util::makeError(util::ErrorCode::Unavailable, "not tracked");
    co_return util::Status{};
  }

  drivers::StatusTask setClusterInfoCa(std::string uid, std::string ca_bundle_pem) override {
    std::lock_guard lock(mutex);
    if (!tracked.count(uid)) co_return util::makeError(util::ErrorCode::Unavailable, "not tracked");
    if (cluster_info_error) co_return *cluster_info_error;
    cluster_info[uid] = std::move(ca_bundle_pem);
    co_return util::Status{};
  }

  drivers::StatusTask refreshBootstrapToken(std::string uid, std::string token,
                                            util::SystemTime expires) override {
    std::lock_guard lock(mutex);
    if (!tracked.count(uid)) co_return util::makeError(util::ErrorCode::Unavailable, "not tracked");
    if (token_write_fails) co_return util::makeError(util::ErrorCode::Internal, "403 Forbidden");
    tokens[uid] = {std::move(token), expires};
    co_return util::Status{};
  }

  mutable std::mutex mutex;
  std::map<std::string, std::pair<std::string, util::SystemTime>> tokens;  // uid -> refreshed
  bool token_write_fails = false;
  std::map<std::string, std::string> cluster_info;  // uid -> CA bundle written
  std::optional<util::Error> cluster_info_error;
  std::vector<std::string> drained;        // nodes, in call order
  std::vector<std::string> deleted_nodes;  // Node objects deleted
  int64_t pods_left = 0;                   // what every drain step reports
  std::map<std::string, std::string> tracked;  // uid -> API URL
  std::map<std::string, std::string> ca_of;
  std::map<std::string, ApiObservation> seen;
  std::optional<util::Error> track_error;
};

const api::Condition* condition(const api::ClusterStatus& st, std::string_view type) {
  return api::findCondition(st.conditions, type);
}

class ClusterControlPlaneTest : public ReconcilerTest {
 protected:
  void SetUp() override {
    ReconcilerTest::SetUp();
    useControlPlane(secrets_.get());
  }

  // The reconciler with the scripted API; `secrets` null: magnumd keeps no cluster CAs.
  void useControlPlane(secrets::ClusterSecretStore* secrets) {
    ClusterDeps deps{*store_, *nodegroups_, *clouds_, events_, clock_};
    deps.secrets = secrets;
    deps.control_plane = &api_;
    cluster_reconciler_ = std::make_unique<ClusterReconciler>(deps, options_);
  }

  // A Kubernetes cluster whose stack completed with every server ACTIVE; its API not seen yet.
  std::string createCompletedStack(const std::string& name, int64_t masters, int64_t workers,
                                   const std::string& extra = "") {
    createTemplate();
    auto cluster = createCluster(name, masters, workers, extra);
    reconcileCluster(name);
    cloudSettles();
    reconcileCluster(name);
    return cluster.metadata.uid;
  }

  // The API answers, listing every live server as a Ready Node except those named.
  void apiShows(const std::string& uid, std::set<std::string> not_ready = {},
                std::set<std::string> missing = {}) {
    ApiObservation o;
    o.reachable = true;
    o.git_version = "v1.32.6";
    o.ready = true;
    o.nodes_listed = true;
    for (const auto& s : fake_->servers()) {
      if (missing.count(s.name)) continue;
      NodeInfo n{s.name, not_ready.count(s.name) ? "False" : "True"};
      if (not_ready.count(s.name)) {
        auto since = not_ready_since.find(s.name);
        if (since == not_ready_since.end()) {
          since = not_ready_since.emplace(s.name, util::formatRfc3339(clock_.now())).first;
        }
        n.ready_since = since->second;
        n.ready_reason = "KubeletNotReady";
        n.ready_message = "container runtime network not ready";
      }
      o.nodes.push_back(n);
    }
    std::sort(o.nodes.begin(), o.nodes.end(),
              [](const NodeInfo& a, const NodeInfo& b) { return a.name < b.name; });
    std::lock_guard lock(api_.mutex);
    api_.seen[uid] = o;
  }
  void apiFails(const std::string& uid, ApiFailure failure, std::string error) {
    ApiObservation o;
    o.failure = failure;
    o.error = std::move(error);
    std::lock_guard lock(api_.mutex);
    api_.seen[uid] = o;
  }

  ScriptedControlPlane api_;
  std::map<std::string, std::string> not_ready_since;  // node -> when apiShows first made it NotReady
};

TEST_F(ClusterControlPlaneTest, CreateCompletesOnlyOnceEveryServerIsAReadyNode) {
  auto uid = createCompletedStack("prod", 1, 2);
  // The stack is complete, but nobody has looked at the cluster's API yet.
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_IN_PROGRESS");
  EXPECT_NE(st.status_reason.find(
                "waiting for magnumd's first look at the cluster's API at https://192.0.2.10:6443"),
            std::string::npos)
      << st.status_reason;
  EXPECT_EQ(api_.tracked[uid], "https://192.0.2.10:6443");
  EXPECT_EQ(api_.ca_of[uid],
            secrets_->load(get(api::Kind::Cluster, "prod"))->pki.cluster_ca.cert_pem);
  EXPECT_EQ(condition(st, "ControlPlaneReady")->reason, "NotProbed");
  EXPECT_EQ(condition(st, "StackReady")->status, "True");
  EXPECT_EQ(condition(st, "Ready")->status, "False");

  // The API answers; one worker has not joined yet.
  apiShows(uid, {}, {"c-default-worker-1"});
  reconcileCluster("prod");
  st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_IN_PROGRESS");
  EXPECT_NE(st.status_reason.find("waiting for 1 of 3 nodes to become Ready in the cluster's API: "
                                  "c-default-worker-1: not joined"),
            std::string::npos)
      << st.status_reason;
  EXPECT_EQ(condition(st, "ControlPlaneReady")->status, "True");
  EXPECT_EQ(condition(st, "ControlPlaneReady")->reason, "APIReady");
  EXPECT_EQ(condition(st, "NodesReady")->status, "False");
  EXPECT_EQ(condition(st, "NodesReady")->reason, "NodesNotJoined");
  EXPECT_EQ(condition(st, "NodesReady")->message,
            "2/3 expected nodes are Ready Nodes; c-default-worker-1: not joined");
  ASSERT_TRUE(st.api.has_value());
  EXPECT_EQ(*st.api, (api::ClusterApiStatus{true, 2, 2, 3}));
  EXPECT_EQ(st.health_status, "UNHEALTHY");
  EXPECT_EQ(st.health_status_reason["api"], "ok");
  EXPECT_EQ(st.health_status_reason["c-default-worker-1.Ready"], "False");
  EXPECT_EQ(st.health_status_reason["c-default-worker-0.Ready"], "True");

  // It joins NotReady (no CNI yet): still waiting, and the message says why.
  apiShows(uid, {"c-default-worker-1"});
  reconcileCluster("prod");
  st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_IN_PROGRESS");
  EXPECT_EQ(condition(st, "NodesReady")->reason, "NodesNotReady");
  EXPECT_NE(condition(st, "NodesReady")
                ->message.find("c-default-worker-1: NotReady (KubeletNotReady: container runtime "
                               "network not ready)"),
            std::string::npos)
      << condition(st, "NodesReady")->message;

  apiShows(uid);
  reconcileCluster("prod");
  st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_COMPLETE");
  EXPECT_EQ(st.coe_version, "v1.32.6") << "from /version, not the template's kube_tag";
  EXPECT_EQ(*st.api, (api::ClusterApiStatus{true, 3, 3, 3}));
  EXPECT_EQ(condition(st, "NodesReady")->reason, "AllNodesReady");
  EXPECT_EQ(condition(st, "Ready")->status, "True");
  EXPECT_EQ(st.health_status, "HEALTHY");
  EXPECT_EQ(st.health_status_reason.size(), 4u);  // api + 3 nodes

  // Nothing changed: no write.
  const auto revision = store_->currentRevision();
  reconcileCluster("prod");
  EXPECT_EQ(store_->currentRevision(), revision);
}

TEST_F(ClusterControlPlaneTest, ANodeThatNeverJoinsFailsTheCreateNamingIt) {
  auto uid = createCompletedStack("prod", 1, 2, R"("nodeStartupTimeout":"5m")");
  apiShows(uid, {}, {"c-default-worker-1"});
  auto waiting = reconcileCluster("prod");
  ASSERT_TRUE(waiting.requeue_after.has_value());
  EXPECT_LE(*waiting.requeue_after, std::chrono::seconds(5 * 60 + 1))
      << "back when the node's time is up";
  EXPECT_EQ(clusterStatus("prod").phase, "CREATE_IN_PROGRESS");

  clock_.advance(4min);
  reconcileCluster("prod");
  EXPECT_EQ(clusterStatus("prod").phase, "CREATE_IN_PROGRESS");

  clock_.advance(2min);
  reconcileCluster("prod");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_FAILED");
  EXPECT_EQ(st.status_reason,
            "node c-default-worker-1 did not become Ready in the cluster's API within "
            "nodeStartupTimeout (5m): "
            "c-default-worker-1: not joined");
  EXPECT_EQ(condition(st, "NodesReady")->reason, "NodeStartupTimeout");
  EXPECT_EQ(condition(st, "Ready")->status, "False");
  EXPECT_EQ(liveStacks().size(), 1u) << "the stack is fine: nothing is deleted or retried";

  // A late join is still welcome: the phase follows what is observed.
  apiShows(uid);
  reconcileCluster("prod");
  EXPECT_EQ(clusterStatus("prod").phase, "CREATE_COMPLETE");
}

TEST_F(ClusterControlPlaneTest, AnUnreachableApiFailsTheCreateWithTheReason) {
  auto uid = createCompletedStack("prod", 1, 1);
  apiFails(uid, ApiFailure::Tls,
           "TLS handshake with https://192.0.2.10:6443: certificate verify failed (SSL routines) "
           "(self-signed certificate)");
  reconcileCluster("prod");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_IN_PROGRESS");
  EXPECT_EQ(condition(st, "ControlPlaneReady")->status, "False");
  EXPECT_EQ(condition(st, "ControlPlaneReady")->reason, "APICertificateRejected");
  EXPECT_EQ(condition(st, "NodesReady")->status, "Unknown");
  EXPECT_EQ(condition(st, "NodesReady")->reason, "APIUnreachable");
  EXPECT_EQ(st.coe_version, "v1.32.4") << "never observed: the template's kube_tag";
  EXPECT_EQ(*st.api, (api::ClusterApiStatus{false, 0, 0, 2}));
  EXPECT_NE(st.health_status_reason["api"].find("certificate verify failed"), std::string::npos);

  clock_.advance(11min);  // the default nodeStartupTimeout
  reconcileCluster("prod");
  st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_FAILED");
  EXPECT_EQ(st.status_reason,
            "nodes c-default-master-0, c-default-worker-0 did not become Ready in the cluster's "
            "API within "
            "nodeStartupTimeout (10m): the cluster's API at https://192.0.2.10:6443 is not "
            "reachable: TLS handshake "
            "with https://192.0.2.10:6443: certificate verify failed (SSL routines) (self-signed "
            "certificate)");
}

TEST_F(ClusterControlPlaneTest, ANodeNotReadyAfterCompletionShowsInNodesReadyNotInThePhase) {
  auto uid = createCompletedStack("prod", 1, 2);
  apiShows(uid);
  reconcileCluster("prod");
  ASSERT_EQ(clusterStatus("prod").phase, "CREATE_COMPLETE");

  apiShows(uid, {"c-default-worker-0"});
  clock_.advance(1h);
  auto result = reconcileCluster("prod");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_COMPLETE");
  EXPECT_EQ(condition(st, "NodesReady")->status, "False");
  EXPECT_EQ(condition(st, "NodesReady")->reason, "NodesNotReady");
  EXPECT_EQ(condition(st, "Ready")->status, "False");
  EXPECT_EQ(st.health_status, "UNHEALTHY");
  EXPECT_EQ(st.health_status_reason["c-default-worker-0.Ready"], "False");
  // No node deadline to wait for; only the join token's refresh, half a day after it was made.
  ASSERT_TRUE(result.requeue_after.has_value());
  EXPECT_GT(*result.requeue_after, 10h) << "no deadline to wait for but the join token's";

  // The API goes away: the last version it told stays.
  apiFails(uid, ApiFailure::Connect, "connecting to https://192.0.2.10:6443: Connection refused");
  reconcileCluster("prod");
  st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_COMPLETE");
  EXPECT_EQ(st.coe_version, "v1.32.6");
  EXPECT_EQ(condition(st, "ControlPlaneReady")->reason, "APIUnreachable");
  EXPECT_EQ(st.health_status_reason["api"],
            "connecting to https://192.0.2.10:6443: Connection refused");
}

TEST_F(ClusterControlPlaneTest, ScaleUpCompletesOnceTheNewNodeIsReady) {
  auto uid = createCompletedStack("prod", 1, 1);
  apiShows(uid);
  reconcileCluster("prod");
  ASSERT_EQ(clusterStatus("prod").phase, "CREATE_COMPLETE");

  patchSpec(api::Kind::Cluster, "prod", R"({"nodeCount":2})");
  reconcileCluster("prod");
  EXPECT_EQ(clusterStatus("prod").phase, "UPDATE_IN_PROGRESS");
  cloudSettles();
  reconcileCluster("prod");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "UPDATE_IN_PROGRESS");
  // The last observation predates the new server.
  EXPECT_NE(st.status_reason.find("waiting for 1 of 3 nodes to become Ready in the cluster's API: "
                                  "c-default-worker-1: not joined"),
            std::string::npos)
      << st.status_reason;

  apiShows(uid, {}, {"c-default-worker-1"});
  reconcileCluster("prod");
  EXPECT_EQ(clusterStatus("prod").phase, "UPDATE_IN_PROGRESS");
  apiShows(uid);
  reconcileCluster("prod");
  EXPECT_EQ(clusterStatus("prod").phase, "UPDATE_COMPLETE");
}

TEST_F(ClusterControlPlaneTest, AnUpdateGivesEveryNodeTheFullTimeoutFromWhenTheStackChanged) {
  auto uid = createCompletedStack("prod", 1, 1, R"("nodeStartupTimeout":"5m")");
  apiShows(uid);
  reconcileCluster("prod");
  ASSERT_EQ(clusterStatus("prod").phase, "CREATE_COMPLETE");

  // Hours later an old worker is NotReady when a scale-up completes: it has 5 minutes from the
  // update, not from its server's start long ago.
  clock_.advance(3h);
  patchSpec(api::Kind::Cluster, "prod", R"({"nodeCount":2})");
  reconcileCluster("prod");
  cloudSettles();
  apiShows(uid, {"c-default-worker-0"});
  reconcileCluster("prod");
  EXPECT_EQ(clusterStatus("prod").phase, "UPDATE_IN_PROGRESS");
  clock_.advance(4min);
  reconcileCluster("prod");
  EXPECT_EQ(clusterStatus("prod").phase, "UPDATE_IN_PROGRESS");
  clock_.advance(2min);
  reconcileCluster("prod");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "UPDATE_FAILED");
  EXPECT_EQ(st.status_reason,
            "node c-default-worker-0 did not become Ready in the cluster's API within "
            "nodeStartupTimeout (5m): "
            "c-default-worker-0: NotReady (KubeletNotReady: container runtime network not ready)");
}

TEST_F(ClusterControlPlaneTest, APrivateApiIsNotProbedAndIsUnknownAsInMagnum) {
  auto uid = createCompletedStack("prod", 1, 1, R"("floatingIpEnabled":false)");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_COMPLETE");
  EXPECT_FALSE(api_.tracked.count(uid));
  EXPECT_EQ(st.health_status, "UNKNOWN");
  EXPECT_EQ(st.health_status_reason["api"], "The cluster prod is not accessible.");
  EXPECT_EQ(condition(st, "ControlPlaneReady")->status, "Unknown");
  EXPECT_EQ(condition(st, "ControlPlaneReady")->reason, "NotAccessible");
  EXPECT_FALSE(st.api.has_value());
  EXPECT_EQ(condition(st, "Ready")->status, "True");
}

TEST_F(ClusterControlPlaneTest, OtherCoesKeepNovasView) {
  auto spec = api::admitSpec(
      api::Kind::ClusterTemplate,
      R"({"coe":"swarm","image":"fedora-atomic","keypair":"demo-key",)"
      R"("externalNetwork":"public","flavor":"m1.small","masterFlavor":"m1.medium"})");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  create(object(api::Kind::ClusterTemplate, "k8s", *spec));  // the name the harness's clusters use
  createCluster("swarm", 1, 1);
  reconcileCluster("swarm");
  cloudSettles();
  reconcileCluster("swarm");
  auto st = clusterStatus("swarm");
  EXPECT_EQ(st.phase, "CREATE_COMPLETE");
  EXPECT_TRUE(api_.tracked.empty());
  EXPECT_EQ(condition(st, "ControlPlaneReady"), nullptr);
  EXPECT_EQ(condition(st, "NodesReady")->reason, "AllNodesActive");
  EXPECT_EQ(st.health_status, "HEALTHY");
  EXPECT_FALSE(st.api.has_value());
}

TEST_F(ClusterControlPlaneTest, WithoutClusterCasNovasViewIsKeptAndStatusSaysWhy) {
  useControlPlane(nullptr);
  createTemplate();
  createCluster("old", 1, 1);
  reconcileCluster("old");
  cloudSettles();
  reconcileCluster("old");
  auto st = clusterStatus("old");
  EXPECT_EQ(st.phase, "CREATE_COMPLETE");
  EXPECT_TRUE(api_.tracked.empty());
  EXPECT_EQ(condition(st, "ControlPlaneReady")->reason, "NoClusterCA");
  EXPECT_EQ(condition(st, "Ready")->status, "True");
}

TEST_F(ClusterControlPlaneTest, AFailedClientCertificateIsReportedAndTheCreateWaits) {
  api_.track_error = util::makeError(
      util::ErrorCode::Invalid,
      "cannot issue magnumd's client certificate from the cluster CA: the CA expired");
  auto uid = createCompletedStack("prod", 1, 1);
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "CREATE_IN_PROGRESS");
  EXPECT_EQ(condition(st, "ControlPlaneReady")->reason, "ClientCertificateFailed");
  EXPECT_NE(st.status_reason.find("the CA expired"), std::string::npos) << st.status_reason;
  EXPECT_EQ(st.health_status, "UNKNOWN");
}

TEST_F(ClusterControlPlaneTest, DeletingAClusterStopsProbingIt) {
  auto uid = createCompletedStack("prod", 1, 1);
  ASSERT_TRUE(api_.tracked.count(uid));
  deleteObject(api::Kind::Cluster, "prod");
  reconcileCluster("prod");
  EXPECT_FALSE(api_.tracked.count(uid));
}

// ---- auto-heal

class ClusterAutoHealTest : public ClusterControlPlaneTest {
 protected:
  // A cluster of 1 master and `workers` workers, complete, every node Ready.
  std::string readyCluster(int64_t workers, const std::string& extra = R"("healthCheck":{"enabled":true})") {
    auto uid = createCompletedStack("prod", 1, workers, extra);
    apiShows(uid);
    reconcileCluster("prod");
    EXPECT_EQ(clusterStatus("prod").phase, "CREATE_COMPLETE");
    return uid;
  }
};

TEST_F(ClusterAutoHealTest, ANodeNotReadyForLongerThanTheTimeoutIsDrainedAndReplaced) {
  auto uid = readyCluster(3);
  apiShows(uid, {"c-default-worker-1"});
  auto result = reconcileCluster("prod");
  auto st = clusterStatus("prod");
  ASSERT_TRUE(st.health_check.has_value());
  EXPECT_TRUE(st.health_check->unhealthy.empty()) << "not NotReady for 5 minutes yet";
  EXPECT_EQ(st.health_check->healthy_nodes, 3);
  ASSERT_TRUE(result.requeue_after.has_value());
  EXPECT_LE(*result.requeue_after, 5min + 1s) << "back when the timeout passes";

  clock_.advance(5min + 1s);
  reconcileCluster("prod");
  EXPECT_EQ(api_.drained, std::vector<std::string>{"c-default-worker-1"});
  EXPECT_EQ(api_.deleted_nodes, std::vector<std::string>{"c-default-worker-1"});
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 1);
  EXPECT_EQ(fake_->calls(Op::PatchStack), 1);
  EXPECT_TRUE(hasReason(events_, "NodeRemediating"));
  st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "UPDATE_IN_PROGRESS");
  EXPECT_NE(st.status_reason.find("auto-heal: replacing unhealthy nodes c-default-worker-1 "
                                  "(NodeNotReady)"),
            std::string::npos)
      << st.status_reason;
  ASSERT_EQ(st.health_check->remediations.size(), 1u);
  EXPECT_EQ(st.health_check->remediations[0].node, "c-default-worker-1");
  EXPECT_EQ(st.health_check->remediations[0].reason, "NodeNotReady");
  EXPECT_EQ(condition(st, "RemediationAllowed")->status, "True");

  // While the stack updates nothing more is replaced; once it is back and the node is Ready,
  // the cluster is healthy and the remediation is remembered.
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 1);
  cloudSettles();
  not_ready_since.clear();
  apiShows(uid);
  reconcileCluster("prod");
  st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "UPDATE_COMPLETE");
  EXPECT_EQ(st.health_status, "HEALTHY");
  EXPECT_EQ(st.health_check->remediations.size(), 1u);

  // Unhealthy again within minHealthyPeriod (1h): left for an operator.
  apiShows(uid, {"c-default-worker-1"});
  clock_.advance(6min);
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 1);
  st = clusterStatus("prod");
  EXPECT_EQ(condition(st, "RemediationAllowed")->reason, "MinHealthyPeriod")
      << condition(st, "RemediationAllowed")->message;
}

TEST_F(ClusterAutoHealTest, ADrainWaitsForPodsUntilNodeDrainTimeout) {
  auto uid = readyCluster(3);
  api_.pods_left = 2;
  apiShows(uid, {"c-default-worker-0"});
  reconcileCluster("prod");
  clock_.advance(6min);
  auto result = reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 0);
  ASSERT_TRUE(result.requeue_after.has_value());
  EXPECT_LE(*result.requeue_after, 5s);
  auto st = clusterStatus("prod");
  ASSERT_EQ(st.health_check->draining.size(), 1u);
  EXPECT_EQ(st.health_check->draining[0].node, "c-default-worker-0");
  EXPECT_EQ(st.health_check->draining[0].pods_left, 2);

  clock_.advance(1min);
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 0);
  clock_.advance(1min + 1s);  // nodeDrainTimeout (2m) passed since the drain started
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 1);
  EXPECT_TRUE(hasReason(events_, "NodeDrainTimeout"));
  EXPECT_TRUE(clusterStatus("prod").health_check->draining.empty());
}

TEST_F(ClusterAutoHealTest, ThreeOfFiveWorkersNotReadyTripTheShortCircuit) {
  auto uid = readyCluster(5);
  apiShows(uid, {"c-default-worker-0", "c-default-worker-1", "c-default-worker-2"});
  reconcileCluster("prod");
  clock_.advance(10min);
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 0);
  EXPECT_TRUE(api_.drained.empty());
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.health_check->unhealthy.size(), 3u);
  EXPECT_EQ(st.health_check->remediations_allowed, 0);
  EXPECT_EQ(condition(st, "RemediationAllowed")->status, "False");
  EXPECT_EQ(condition(st, "RemediationAllowed")->reason, "TooManyUnhealthy");
  EXPECT_EQ(st.health_status, "UNHEALTHY");
}

TEST_F(ClusterAutoHealTest, OffUnlessEnabledByTheSpecOrTheLabel) {
  auto uid = readyCluster(3, "");
  apiShows(uid, {"c-default-worker-0"});
  reconcileCluster("prod");
  clock_.advance(10min);
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 0);
  auto st = clusterStatus("prod");
  EXPECT_FALSE(st.health_check.has_value());
  EXPECT_EQ(condition(st, "RemediationAllowed"), nullptr);

  patchSpec(api::Kind::Cluster, "prod", R"({"labels":{"auto_healing_enabled":"true"}})");
  reconcileCluster("prod");
  st = clusterStatus("prod");
  ASSERT_TRUE(st.health_check.has_value());
  EXPECT_TRUE(st.health_check->enabled);
}

TEST_F(ClusterAutoHealTest, MagnumAutoHealerOwnsHealthWhenTheLabelsSaySo) {
  auto uid = readyCluster(
      3, R"("labels":{"auto_healing_enabled":"true","auto_healing_controller":"magnum-auto-healer"})");
  // What the in-cluster healer wrote stays.
  auto cluster = get(api::Kind::Cluster, "prod");
  auto st = clusterStatus("prod");
  st.health_status = "UNHEALTHY";
  st.health_status_reason = {{"c-default-worker-0.NodeCondition", "error"}};
  ASSERT_TRUE(controller::patchStatus(*store_, cluster, api::encodeClusterStatus(st)).ok());
  apiShows(uid, {"c-default-worker-0"});
  reconcileCluster("prod");
  clock_.advance(10min);
  reconcileCluster("prod");
  EXPECT_EQ(fake_->calls(Op::MarkUnhealthy), 0);
  st = clusterStatus("prod");
  EXPECT_EQ(st.health_status, "UNHEALTHY");
  EXPECT_EQ(st.health_status_reason,
            (api::StringMap{{"c-default-worker-0.NodeCondition", "error"}}));
  EXPECT_FALSE(st.health_check.has_value());
}

// ---- rolling upgrade

class ClusterRolloutTest : public ClusterControlPlaneTest {
 protected:
  // Passes of a cloud that settles and an API that shows every server as a Ready Node (except
  // those named), until the cluster's rollout is done or `max_steps` passes went by. Records
  // the fewest Ready workers the API showed.
  void rollOut(const std::string& uid, int max_steps, std::set<std::string> never_ready = {}) {
    for (int step = 0; step < max_steps; ++step) {
      clock_.advance(drain_step);  // pods take this long to leave (nodeDrainTimeout 2m)
      // A pass while the stack applies the last step takes no step of its own. (Servers that
      // linger after their removal are covered end to end: tests/e2e/test_day2.py.)
      observe();
      reconcileCluster("prod");
      cloudSettles();
      std::set<std::string> not_ready;
      int64_t ready_workers = 0;
      for (const auto& s : fake_->servers()) {
        bool bad = false;
        for (const auto& prefix : never_ready) bad = bad || s.name.starts_with(prefix);
        if (bad) not_ready.insert(s.name);
        if (!bad && s.metadata.at(std::string(coe::kMetaRole)) == "worker") ready_workers++;
      }
      min_ready_workers = std::min(min_ready_workers, ready_workers);
      apiShows(uid, not_ready);
      reconcileCluster("prod");
      auto st = clusterStatus("prod");
      if (st.rollout && st.rollout->phase == "Complete" && st.phase == "UPDATE_COMPLETE") return;
      // Mid-rollout the cluster is never Ready, even between steps when every node is.
      EXPECT_EQ(condition(st, "Ready")->status, "False") << condition(st, "Ready")->message;
      if (condition(st, "StackReady")->status == "True" &&
          condition(st, "NodesReady")->status == "True") {
        EXPECT_EQ(condition(st, "Ready")->reason, st.rollout->phase == "Stalled"
                                                      ? "RolloutStalled"
                                                      : "RollingUpdate");
        between_steps++;
      }
    }
  }
  std::vector<std::string> serverNames() {
    std::vector<std::string> out;
    for (const auto& s : fake_->servers()) out.push_back(s.name);
    std::sort(out.begin(), out.end());
    return out;
  }
  int64_t min_ready_workers = 1 << 30;
  int between_steps = 0;  // passes where every condition but the rollout was True
  std::chrono::milliseconds drain_step{0};
};

TEST_F(ClusterRolloutTest, AKubeTagChangeReplacesMastersFirstThenWorkersKeepingThemReady) {
  auto uid = createCompletedStack("prod", 1, 3);
  apiShows(uid);
  reconcileCluster("prod");
  ASSERT_EQ(clusterStatus("prod").phase, "CREATE_COMPLETE");
  ASSERT_EQ(clusterStatus("prod").rollout->phase, "Complete");

  // Old nodes keep a pod until nodeDrainTimeout: passes between steps see every node Ready.
  api_.pods_left = 1;
  drain_step = std::chrono::minutes(1);
  patchSpec(api::Kind::Cluster, "prod", R"({"labels":{"kube_tag":"v1.33.1"}})");
  reconcileCluster("prod");
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "UPDATE_IN_PROGRESS");
  EXPECT_EQ(st.rollout->phase, "Progressing");
  EXPECT_EQ(st.rollout->target_version, "v1.33.1");
  EXPECT_NE(st.status_reason.find("rolling update: default-master: 0/1 Ready on r1 (v1.33.1"),
            std::string::npos)
      << st.status_reason;
  ASSERT_EQ(st.rollout->node_groups.size(), 2u);
  EXPECT_EQ(st.rollout->node_groups[0].revisions.size(), 2u) << "masters first";
  EXPECT_EQ(st.rollout->node_groups[1].revisions.size(), 1u) << "workers wait";
  EXPECT_EQ(condition(st, "Ready")->status, "False");

  rollOut(uid, 60);
  st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "UPDATE_COMPLETE") << st.status_reason;
  EXPECT_EQ(st.rollout->phase, "Complete");
  EXPECT_EQ(st.rollout->updated_nodes, 4);
  EXPECT_EQ(serverNames(), (std::vector<std::string>{"c-default-master-r1-0", "c-default-worker-r1-0",
                                                     "c-default-worker-r1-1", "c-default-worker-r1-2"}));
  EXPECT_GE(min_ready_workers, 3) << "maxUnavailable 0: never fewer Ready workers than the count";
  EXPECT_GT(between_steps, 0) << "the RollingUpdate reason was seen";
  // Every old node was drained (a step per pass until nodeDrainTimeout) and its Node deleted
  // before its server went.
  std::sort(api_.drained.begin(), api_.drained.end());
  api_.drained.erase(std::unique(api_.drained.begin(), api_.drained.end()), api_.drained.end());
  EXPECT_EQ(api_.drained, (std::vector<std::string>{"c-default-master-0", "c-default-worker-0",
                                                    "c-default-worker-1", "c-default-worker-2"}));
  // Settled: another pass changes nothing.
  const auto revision = store_->currentRevision();
  const auto patches = fake_->calls(Op::PatchStack);
  reconcileCluster("prod");
  EXPECT_EQ(store_->currentRevision(), revision);
  EXPECT_EQ(fake_->calls(Op::PatchStack), patches);
}

TEST_F(ClusterRolloutTest, AnImageThatNeverGetsReadyStallsAfterTheFirstNodeAndRevertingRecovers) {
  auto uid = createCompletedStack("prod", 1, 3);
  apiShows(uid);
  reconcileCluster("prod");
  // Workers only (a NodeGroup-like change through the cluster's flavor would do too).
  patchSpec(api::Kind::Cluster, "prod", R"({"flavor":"m1.broken"})");
  rollOut(uid, 6, {"c-default-worker-r1-"});
  clock_.advance(11min);  // past nodeStartupTimeout
  rollOut(uid, 2, {"c-default-worker-r1-"});
  auto st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "UPDATE_FAILED");
  EXPECT_EQ(st.rollout->phase, "Stalled");
  EXPECT_NE(st.status_reason.find("c-default-worker-r1-0 of r1"), std::string::npos)
      << st.status_reason;
  EXPECT_EQ(serverNames(), (std::vector<std::string>{"c-default-master-0", "c-default-worker-0",
                                                     "c-default-worker-1", "c-default-worker-2",
                                                     "c-default-worker-r1-0"}))
      << "one new server, no old one touched";

  patchSpec(api::Kind::Cluster, "prod", R"({"flavor":null})");
  rollOut(uid, 10, {"c-default-worker-r1-"});
  st = clusterStatus("prod");
  EXPECT_EQ(st.phase, "UPDATE_COMPLETE") << st.status_reason;
  EXPECT_EQ(serverNames(), (std::vector<std::string>{"c-default-master-0", "c-default-worker-0",
                                                     "c-default-worker-1", "c-default-worker-2"}));
}

TEST_F(ClusterRolloutTest, AMasterWhoseAddressIsTheApiIsNeverReplacedByARollout) {
  auto uid = createCompletedStack("prod", 1, 1, R"("floatingIpEnabled":false,"masterLbEnabled":false)");
  patchSpec(api::Kind::Cluster, "prod", R"({"labels":{"kube_tag":"v1.33.1"}})");
  reconcileCluster("prod");
  auto st = clusterStatus("prod");
  ASSERT_TRUE(st.rollout.has_value());
  EXPECT_EQ(st.rollout->phase, "Stalled");
  EXPECT_NE(st.status_reason.find("default-master: cannot be replaced: without masterLbEnabled or "
                                  "floatingIpEnabled"),
            std::string::npos)
      << st.status_reason;
  EXPECT_EQ(st.phase, "UPDATE_FAILED");
  for (const auto& s : fake_->servers()) {
    EXPECT_EQ(s.name.find("-r1-"), std::string::npos) << s.name << ": nothing new, workers wait too";
  }
}

// A CA rotation end to end over the fake cloud, every node Ready at once: cluster-info first,
// then three rolls of every node (masters first), magnumd's own identity following each step,
// and the old CAs forgotten at the end.
TEST_F(ClusterControlPlaneTest, ACaRotationRollsEveryNodeThreeTimesAndEndsOnTheNewCa) {
  auto uid = createCompletedStack("prod", 1, 2);
  apiShows(uid);
  reconcileCluster("prod");
  ASSERT_EQ(clusterStatus("prod").phase, "CREATE_COMPLETE");
  auto live = store_->get({api::Kind::Cluster, "demo", "prod"});
  ASSERT_TRUE(live.ok());
  auto before = secrets_->load(*live);
  ASSERT_TRUE(before.ok());
  const std::string old_ca = before->pki.cluster_ca.cert_pem;
  auto st = clusterStatus("prod");
  ASSERT_TRUE(st.ca_rotation);
  EXPECT_EQ(st.ca_rotation->phase, api::kCaComplete);
  EXPECT_EQ(st.ca_rotation->generation, 0);

  patchSpec(api::Kind::Cluster, "prod", R"({"caGeneration":1})");
  std::vector<std::string> phases;
  std::vector<std::string> identities;  // the CA bundles magnumd's identity came from
  {
    std::lock_guard lock(api_.mutex);
    identities.push_back(api_.ca_of[uid]);
  }
  std::set<std::string> pki_seen;
  for (int i = 0; i < 200; ++i) {
    reconcileCluster("prod");
    cloudSettles();
    apiShows(uid);
    st = clusterStatus("prod");
    if (st.ca_rotation && (phases.empty() || phases.back() != st.ca_rotation->phase))
      phases.push_back(st.ca_rotation->phase);
    {
      std::lock_guard lock(api_.mutex);
      if (identities.empty() || identities.back() != api_.ca_of[uid])
        identities.push_back(api_.ca_of[uid]);
    }
    if (st.rollout) {
      for (const auto& g : st.rollout->node_groups)
        for (const auto& r : g.revisions) pki_seen.insert(r.pki);
    }
    if (st.ca_rotation && st.ca_rotation->phase == api::kCaComplete &&
        st.ca_rotation->generation == 1 && st.phase == "UPDATE_COMPLETE")
      break;
  }
  ASSERT_TRUE(st.ca_rotation);
  EXPECT_EQ(st.ca_rotation->phase, api::kCaComplete) << st.status_reason;
  EXPECT_EQ(st.ca_rotation->generation, 1);
  EXPECT_EQ(st.ca_rotation->reason, api::kCaRequested);
  EXPECT_FALSE(st.ca_rotation->last_completed.empty());
  EXPECT_EQ(phases, (std::vector<std::string>{"TrustingNewCa", "SigningWithNewCa", "DroppingOldCa",
                                              "Complete"}));
  EXPECT_EQ(pki_seen, (std::set<std::string>{"", "g1-trust", "g1-sign", "g1"}));
  EXPECT_TRUE(hasReason(events_, "CARotationStarted"));
  EXPECT_TRUE(hasReason(events_, "CARotationStep"));
  EXPECT_TRUE(hasReason(events_, "CARotated"));

  auto after = secrets_->load(*live);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->generation, 1);
  EXPECT_FALSE(after->previous);
  const std::string new_ca = after->pki.cluster_ca.cert_pem;
  EXPECT_NE(new_ca, old_ca);
  // magnumd's identity: from the old CA, then trusting both while signed by the old one, then
  // by the new one, then the new CA alone.
  EXPECT_EQ(identities,
            (std::vector<std::string>{old_ca, old_ca + new_ca, new_ca + old_ca, new_ca}));
  {
    std::lock_guard lock(api_.mutex);
    EXPECT_EQ(api_.cluster_info[uid], new_ca);  // written with both first, then the new alone
  }
  // Three servers, each replaced three times: the names of the last revision remain.
  auto servers = fake_->servers();
  EXPECT_EQ(servers.size(), 3u);
  for (const auto& s : servers) EXPECT_NE(s.name.find("-r3-"), std::string::npos) << s.name;
}

// The join token every server boots with is kept valid in the cluster: rewritten once half of its
// 24 hours are gone, and not before, so a node added days later still joins.
TEST_F(ClusterControlPlaneTest, TheJoinTokenIsRefreshedInTheClusterAtHalfItsLifetime) {
  auto uid = createCompletedStack("prod", 1, 1);
  apiShows(uid);
  auto settled = reconcileCluster("prod");
  auto live = store_->get({api::Kind::Cluster, "demo", "prod"});
  ASSERT_TRUE(live.ok());
  auto before = secrets_->load(*live);
  ASSERT_TRUE(before.ok());
  {
    std::lock_guard lock(api_.mutex);
    EXPECT_EQ(api_.tokens.count(uid), 0u) << "a fresh token is left alone";
  }
  // Nothing else brings a settled cluster back: the pass asks to come back at the half-life.
  ASSERT_TRUE(settled.requeue_after.has_value());
  const auto half_life = before->token_expires - std::chrono::hours(12) - clock_.now();
  EXPECT_GE(*settled.requeue_after, half_life);
  EXPECT_LE(*settled.requeue_after, half_life + std::chrono::seconds(1));
  clock_.advance(std::chrono::hours(13));
  apiShows(uid);
  auto refreshed = reconcileCluster("prod");
  ASSERT_TRUE(refreshed.requeue_after.has_value());
  EXPECT_EQ(*refreshed.requeue_after, std::chrono::hours(12) + std::chrono::seconds(1));
  {
    std::lock_guard lock(api_.mutex);
    ASSERT_EQ(api_.tokens.count(uid), 1u);
    EXPECT_EQ(api_.tokens[uid].first, before->bootstrap_token);
    EXPECT_EQ(api_.tokens[uid].second, clock_.now() + std::chrono::hours(24));
  }
  auto after = secrets_->load(*live);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->token_expires, clock_.now() + std::chrono::hours(24));
  EXPECT_EQ(after->bootstrap_token, before->bootstrap_token);  // user_data unchanged

  // Unreachable API: nothing written, the pass goes on; once it answers again, it is refreshed.
  clock_.advance(std::chrono::hours(30));
  apiFails(uid, ApiFailure::Connect, "connection refused");
  reconcileCluster("prod");
  {
    std::lock_guard lock(api_.mutex);
    EXPECT_LT(api_.tokens[uid].second, clock_.now());
  }
  // A write that fails is tried again within a quarter of the lifetime.
  apiShows(uid);
  {
    std::lock_guard lock(api_.mutex);
    api_.token_write_fails = true;
  }
  auto failed = reconcileCluster("prod");
  ASSERT_TRUE(failed.requeue_after.has_value());
  EXPECT_LE(*failed.requeue_after, std::chrono::hours(6) + std::chrono::seconds(1));
  {
    std::lock_guard lock(api_.mutex);
    api_.token_write_fails = false;
    EXPECT_LT(api_.tokens[uid].second, clock_.now());
  }
  apiShows(uid);
  reconcileCluster("prod");
  std::lock_guard lock(api_.mutex);
  EXPECT_EQ(api_.tokens[uid].second, clock_.now() + std::chrono::hours(24));
}

}  // namespace
}  // namespace magnumd::reconcilers::testing
