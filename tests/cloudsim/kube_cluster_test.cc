// The simulated kube-apiserver without sockets: which servers become Nodes (token and CA pin
// checks), what kubectl's requests get back (discovery content types, the node Table), the stack's
// api_address, and the /sim/v1/clusters faults.
#include <gtest/gtest.h>

#include "cloudsim/kube_api.h"
#include "pki/certificate.h"
#include "tests/cloudsim/kube_fixture.h"
#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

using namespace std::chrono_literals;

const char* kClusterTemplate = R"(heat_template_version: 2018-08-31
parameters:
  worker: {type: string}
  master0: {type: string}
  master1: {type: string}
  bad_token: {type: string}
  bad_hash: {type: string}
resources:
  worker:
    type: OS::Nova::Server
    properties: {name: prod-node-0, flavor: m1.small, image: ubuntu, user_data: {get_param: worker}, user_data_format: RAW}
  master0:
    type: OS::Nova::Server
    properties: {name: prod-master-0, flavor: m1.small, image: ubuntu, user_data: {get_param: master0}, user_data_format: RAW}
  master1:
    type: OS::Nova::Server
    properties: {name: prod-master-1, flavor: m1.small, image: ubuntu, user_data: {get_param: master1}, user_data_format: RAW}
  bad_token:
    type: OS::Nova::Server
    properties: {name: prod-node-1, flavor: m1.small, image: ubuntu, user_data: {get_param: bad_token}, user_data_format: RAW}
  bad_hash:
    type: OS::Nova::Server
    properties: {name: prod-node-2, flavor: m1.small, image: ubuntu, user_data: {get_param: bad_hash}, user_data_format: RAW}
outputs:
  api_address:
    value: {list_join: ['', ['https://', {get_attr: [master0, first_address]}, ':6443']]}
)";

class KubeClusterTest : public SimTest {
 protected:
  static void SetUpTestSuite() {
    ca_ = new pki::CertificateAuthority(pki::makeCertificateAuthority("kubernetes").value());
    other_ = new pki::CertificateAuthority(pki::makeCertificateAuthority("kubernetes").value());
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete other_;
  }

  void SetUp() override {
    sim.kube().setListenerHost(&listeners);
    token = login();
    std::string hash = pki::caCertHash(ca_->cert_pem).value();
    std::string params =
        "{\"worker\":" + quote(joinUserData(kToken, hash)) +
        ",\"master0\":" + quote(initUserData(*ca_, kToken)) +
        ",\"master1\":" + quote(joinUserData(kToken, hash, "master", ca_)) +
        ",\"bad_token\":" + quote(joinUserData("zzzzzz.0123456789abcdef", hash)) +
        ",\"bad_hash\":" + quote(joinUserData(kToken, pki::caCertHash(other_->cert_pem).value())) +
        "}";
    Reply r = call("POST", heat() + "/stacks",
                   R"({"stack_name":"prod","template":)" + quote(kClusterTemplate) +
                       R"(,"parameters":)" + params + "}",
                   token);
    ASSERT_EQ(r.status, 201) << r.body;
    stack_id = str(r.json["stack"]["id"]);
  }

  net::Response kube(const std::string& target, bool authenticated = true,
                     const std::string& accept = "") {
    return kubeCall("GET", target, "", "", accept, authenticated);
  }
  net::Response kubeCall(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& content_type = "",
                         const std::string& accept = "", bool authenticated = true) {
    net::Request req{net::http::string_to_verb(method), target, 11};
    if (!accept.empty()) req.set(net::http::field::accept, accept);
    if (!content_type.empty()) req.set(net::http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    KubeCluster* c = sim.kube().byStackId(stack_id);
    EXPECT_NE(c, nullptr);
    if (c == nullptr) return net::Response{net::http::status::service_unavailable, 11};
    return handleKubeApi(sim.kube(), *c, req, authenticated, clock.now());
  }

  static pki::CertificateAuthority* ca_;
  static pki::CertificateAuthority* other_;
  FakeListeners listeners;
  std::string token, stack_id;
};
pki::CertificateAuthority* KubeClusterTest::ca_ = nullptr;
pki::CertificateAuthority* KubeClusterTest::other_ = nullptr;

constexpr const char* kAggregatedAccept =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"
    "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

TEST_F(KubeClusterTest, OnlyServersWithTheClustersTokenAndCaPinBecomeNodes) {
  EXPECT_EQ(sim.kube().byStackId(stack_id), nullptr);  // nothing before the first master is ACTIVE
  tick(2s);
  const KubeCluster* c = sim.kube().byStackId(stack_id);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->version, "v1.30.4");
  EXPECT_EQ(c->port, 16443);
  std::vector<std::string> names;
  for (const auto& [name, node] : c->nodes) names.push_back(name);
  // prod-node-0 came up before the cluster existed and joined once it did; prod-node-1 (wrong
  // token) and prod-node-2 (CA pin of another CA) never appear.
  EXPECT_EQ(names, (std::vector<std::string>{"prod-master-0", "prod-master-1", "prod-node-0"}));
  EXPECT_EQ(c->nodes.at("prod-master-1").labels.count("node-role.kubernetes.io/control-plane"), 1u);
  EXPECT_EQ(c->nodes.at("prod-node-0").labels.count("node-role.kubernetes.io/control-plane"), 0u);
  EXPECT_EQ(c->nodes.at("prod-node-0").labels.at("magnum.openstack.org/role"), "worker");

  Reply out = call("GET", heat() + "/stacks/prod/" + stack_id + "/outputs/api_address", "", token);
  EXPECT_EQ(str(out.json["output"]["output_value"]), "https://127.0.0.1:16443") << out.body;
}

TEST_F(KubeClusterTest, AnswersKubectlDiscoveryVersionAndNodeTable) {
  tick(2s);
  net::Response v = kube("/version?timeout=32s", false);
  EXPECT_EQ(v.result_int(), 200);
  auto version = util::parseJson(v.body()).value();
  EXPECT_EQ(str(version["major"]), "1");
  EXPECT_EQ(str(version["minor"]), "30");
  EXPECT_EQ(str(version["gitVersion"]), "v1.30.4");

  net::Response api = kube("/api?timeout=32s", true, kAggregatedAccept);
  EXPECT_EQ(api[net::http::field::content_type],
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  auto discovery = util::parseJson(api.body()).value();
  EXPECT_EQ(str(discovery["items"][0]["versions"][0]["resources"][1]["resource"]), "nodes");
  net::Response apis = kube("/apis?timeout=32s", true, kAggregatedAccept);
  EXPECT_EQ(apis.result_int(), 200);
  auto groups = util::parseJson(apis.body()).value();
  ASSERT_EQ(groups["items"].Size(), 1u);  // apps/v1, for kubectl drain's DaemonSet lookups
  EXPECT_EQ(str(groups["items"][0]["metadata"]["name"]), "apps");
  EXPECT_EQ(str(util::parseJson(kube("/api", true, "application/json").body()).value()["kind"]),
            "APIVersions");

  clock.advance(150s);
  net::Response table = kube("/api/v1/nodes?limit=500", true, kTable);
  ASSERT_EQ(table.result_int(), 200) << table.body();
  auto t = util::parseJson(table.body()).value();
  EXPECT_EQ(str(t["kind"]), "Table");
  ASSERT_EQ(t["columnDefinitions"].Size(), 10u);
  ASSERT_EQ(t["rows"].Size(), 3u);
  const auto& master = t["rows"][0]["cells"];
  EXPECT_EQ(str(master[0]), "prod-master-0");
  EXPECT_EQ(str(master[1]), "Ready");
  EXPECT_EQ(str(master[2]), "control-plane");
  EXPECT_EQ(str(master[3]), "2m30s");
  EXPECT_EQ(str(master[4]), "v1.30.4");
  EXPECT_EQ(str(t["rows"][2]["cells"][2]), "<none>");

  auto list = util::parseJson(kube("/api/v1/nodes").body()).value();
  EXPECT_EQ(str(list["kind"]), "NodeList");
  EXPECT_EQ(str(list["items"][0]["status"]["nodeInfo"]["kubeletVersion"]), "v1.30.4");
  EXPECT_EQ(str(list["items"][0]["status"]["conditions"][0]["status"]), "True");
  EXPECT_EQ(str(list["items"][0]["status"]["addresses"][0]["type"]), "InternalIP");

  // Watch events for `kubectl get nodes -w`: one-row Tables, columns in the first event only.
  const KubeCluster& c = *sim.kube().byStackId(stack_id);
  const KubeNode& worker = c.nodes.at("prod-node-0");
  auto first = util::parseJson(watchEventLine(c, "ADDED", worker, true, true, clock.now())).value();
  EXPECT_EQ(str(first["type"]), "ADDED");
  EXPECT_EQ(first["object"]["columnDefinitions"].Size(), 10u);
  EXPECT_EQ(str(first["object"]["rows"][0]["cells"][0]), "prod-node-0");
  auto next =
      util::parseJson(watchEventLine(c, "MODIFIED", worker, true, false, clock.now())).value();
  EXPECT_FALSE(next["object"].HasMember("columnDefinitions"));
  auto plain =
      util::parseJson(watchEventLine(c, "DELETED", worker, false, false, clock.now())).value();
  EXPECT_EQ(str(plain["object"]["kind"]), "Node");

  net::Response missing = kube("/api/v1/nodes/nope");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(str(util::parseJson(missing.body()).value()["reason"]), "NotFound");
  EXPECT_EQ(kube("/api/v1/nodes", false).result_int(), 401);
  EXPECT_EQ(kube("/healthz", false).body(), "ok");
}

TEST_F(KubeClusterTest, DeletedServersLeaveAndFaultsShowInTheApi) {
  tick(2s);
  const KubeCluster* c = sim.kube().byStackId(stack_id);
  ASSERT_NE(c, nullptr);
  std::string worker_id = c->nodes.at("prod-node-0").server_id;
  EXPECT_EQ(call("DELETE", "/sim/v1/servers/" + worker_id).status, 204);
  EXPECT_EQ(c->nodes.count("prod-node-0"), 0u);

  std::string base = "/sim/v1/clusters/" + stack_id;
  EXPECT_EQ(call("POST", base + "/nodes/prod-master-1", R"({"ready":false})").status, 200);
  auto t = util::parseJson(kube("/api/v1/nodes", true, kTable).body()).value();
  EXPECT_EQ(str(t["rows"][1]["cells"][1]), "NotReady");
  EXPECT_EQ(call("POST", base, R"({"healthz_failing":true})").status, 200);
  EXPECT_EQ(kube("/healthz", false).result_int(), 500);
  EXPECT_TRUE(listeners.running);
  Reply stopped = call("POST", base, R"({"api_running":false})");
  EXPECT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_FALSE(listeners.running);
  EXPECT_EQ(call("POST", base, R"({"api_running":true})").status, 200);
  EXPECT_TRUE(listeners.running);
  EXPECT_EQ(call("POST", base, R"({"bogus":1})").status, 400);
  Reply list = call("GET", "/sim/v1/clusters");
  EXPECT_EQ(str(list.json["clusters"][0]["api_address"]), "https://127.0.0.1:16443");
}

// Masters as magnumd renders them: one ResourceGroup, one user_data for all, carrying init and
// join and MEMBER_INDEX=%index%, which Heat fills in per member.
const char* kMasterGroupTemplate = R"(heat_template_version: 2018-08-31
parameters:
  user_data: {type: string, hidden: true}
  count: {type: number, default: 3}
resources:
  masters:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      resource_def:
        type: OS::Nova::Server
        properties: {name: prod-master-%index%, flavor: m1.small, image: ubuntu, user_data: {get_param: user_data}, user_data_format: RAW}
)";

class KubeMasterGroupTest : public KubeClusterTest {
 protected:
  void SetUp() override {
    sim.kube().setListenerHost(&listeners);
    token = login();
    std::string hash = pki::caCertHash(ca_->cert_pem).value();
    std::string params =
        "{\"user_data\":" + quote(masterUserData(*ca_, kToken, hash, "%index%")) + "}";
    Reply r = call("POST", heat() + "/stacks",
                   R"({"stack_name":"prod","template":)" + quote(kMasterGroupTemplate) +
                       R"(,"parameters":)" + params + "}",
                   token);
    ASSERT_EQ(r.status, 201) << r.body;
    stack_id = str(r.json["stack"]["id"]);
    href = heat() + "/stacks/prod/" + stack_id;
  }

  std::string serverId(const std::string& name) {
    for (uint32_t i = 0; i < sim.nova().slots(); ++i) {
      const Server& s = sim.nova().at(i);
      if (s.name == name && !s.purged && s.vm != VmState::Deleted) return s.id;
    }
    return "";
  }
  void activate(const std::string& name) {
    Reply r =
        call("POST", "/sim/v1/servers/" + serverId(name) + "/status", R"({"status":"ACTIVE"})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::vector<std::string> nodes() {
    std::vector<std::string> out;
    if (const KubeCluster* c = sim.kube().byStackId(stack_id)) {
      for (const auto& [name, node] : c->nodes) out.push_back(name);
    }
    return out;
  }

  std::string href;
};

TEST_F(KubeMasterGroupTest, MemberZeroInitsTheOthersWaitForItAndJoinAsControlPlane) {
  activate("prod-master-1");
  // Member 1 does not init: it waits for the API.
  EXPECT_EQ(sim.kube().byStackId(stack_id), nullptr);
  activate("prod-master-0");
  EXPECT_EQ(nodes(), (std::vector<std::string>{"prod-master-0", "prod-master-1"}));
  tick(2s);  // member 2 comes up once the cluster runs and joins straight away
  EXPECT_EQ(nodes(), (std::vector<std::string>{"prod-master-0", "prod-master-1", "prod-master-2"}));
  const KubeCluster* c = sim.kube().byStackId(stack_id);
  for (const auto& [name, node] : c->nodes) {
    EXPECT_EQ(node.labels.count("node-role.kubernetes.io/control-plane"), 1u) << name;
  }
  EXPECT_EQ(c->ca_hash, pki::caCertHash(ca_->cert_pem).value());
}

TEST_F(KubeMasterGroupTest, AReplacedMemberZeroJoinsTheRunningCluster) {
  tick(2s);
  ASSERT_EQ(nodes().size(), 3u);
  const KubeCluster* before = sim.kube().byStackId(stack_id);
  EXPECT_EQ(call("DELETE", "/sim/v1/servers/" + serverId("prod-master-0")).status, 204);
  EXPECT_EQ(nodes(), (std::vector<std::string>{"prod-master-1", "prod-master-2"}));
  // Heat replaces the deleted server on the next update; the new member 0 finds the API running.
  ASSERT_EQ(call("PATCH", href, R"({"parameters":{}})", token).status, 202);
  tick(2s);
  EXPECT_EQ(sim.kube().byStackId(stack_id), before);
  EXPECT_EQ(nodes(), (std::vector<std::string>{"prod-master-0", "prod-master-1", "prod-master-2"}));
}

TEST(HumanDurationTest, MatchesKubectlAges) {
  EXPECT_EQ(humanDuration(45s), "45s");
  EXPECT_EQ(humanDuration(119s), "119s");
  EXPECT_EQ(humanDuration(5min + 3s), "5m3s");
  EXPECT_EQ(humanDuration(42min), "42m");
  EXPECT_EQ(humanDuration(3h + 10min), "3h10m");
  EXPECT_EQ(humanDuration(30h), "30h");
  EXPECT_EQ(humanDuration(std::chrono::hours(24 * 3 + 2)), "3d2h");
  EXPECT_EQ(humanDuration(std::chrono::hours(24 * 40)), "40d");
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
