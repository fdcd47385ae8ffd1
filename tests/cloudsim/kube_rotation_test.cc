// A cluster CA rotation done by hand, the way magnumd rolls it: cluster-info first, then three
// rolls of every node (trust both CAs, sign with the new one, drop the old one), masters first.
// Done in that order every node stays Ready; done in the wrong order the kubelets that trust only
// the old CA lose the masters that sign with the new one, and say so. Also cluster-info itself:
// what kubeadm init writes there, and how a PATCH or PUT of it is checked.
#include <gtest/gtest.h>

#include "cloudsim/kube_api.h"
#include "pki/certificate.h"
#include "tests/cloudsim/kube_fixture.h"
#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

using namespace std::chrono_literals;

const char* kTemplate = R"(heat_template_version: 2018-08-31
parameters:
  m0: {type: string}
  m1: {type: string}
  w0: {type: string}
  w1: {type: string}
resources:
  m0:
    type: OS::Nova::Server
    properties: {name: prod-master-0, flavor: m1.small, image: ubuntu, user_data: {get_param: m0}, user_data_format: RAW}
  m1:
    type: OS::Nova::Server
    properties: {name: prod-master-1, flavor: m1.small, image: ubuntu, user_data: {get_param: m1}, user_data_format: RAW}
  w0:
    type: OS::Nova::Server
    properties: {name: prod-node-0, flavor: m1.small, image: ubuntu, user_data: {get_param: w0}, user_data_format: RAW}
  w1:
    type: OS::Nova::Server
    properties: {name: prod-node-1, flavor: m1.small, image: ubuntu, user_data: {get_param: w1}, user_data_format: RAW}
)";

constexpr const char* kMergePatch = "application/merge-patch+json";
constexpr const char* kUnknownAuthority = "x509: certificate signed by unknown authority";

using Strings = std::vector<std::string>;

class KubeRotationTest : public SimTest {
 protected:
  static void SetUpTestSuite() {
    old_ = new pki::CertificateAuthority(pki::makeClusterPki().value().cluster_ca);
    new_ = new pki::CertificateAuthority(pki::makeClusterPki().value().cluster_ca);
  }
  static void TearDownTestSuite() {
    delete old_;
    delete new_;
  }

  void SetUp() override {
    sim.kube().setListenerHost(&listeners);
    token = login();
    old_hash = pki::caCertHash(old_->cert_pem).value();
    new_hash = pki::caCertHash(new_->cert_pem).value();
  }

  // What each step of the rotation writes on a node: ca.crt (a bundle while both CAs are valid,
  // the signing CA first), ca.key (the signing CA's) and the join configuration's pins.
  enum class Step { Before, Trust, Sign, Drop };
  pki::CertificateAuthority masterCa(Step step) const {
    switch (step) {
      case Step::Before:
        return *old_;
      case Step::Trust:
        return {old_->cert_pem + new_->cert_pem, old_->key_pem};
      case Step::Sign:
        return {new_->cert_pem + old_->cert_pem, new_->key_pem};
      case Step::Drop:
        return *new_;
    }
    return {};
  }
  Strings pins(Step step) const {
    if (step == Step::Before) return {old_hash};
    if (step == Step::Drop) return {new_hash};
    return {old_hash, new_hash};
  }
  std::string master(Step step, const std::string& index) const {
    return masterUserData(masterCa(step), kToken, pins(step), index);
  }
  // Workers carry ca.crt too, so that each step changes their user_data and replaces them: a
  // kubelet keeps the client certificate it got when it joined.
  std::string worker(Step step) const {
    std::string user_data = joinUserData(kToken, pins(step));
    const std::string files = "write_files:\n";
    user_data.insert(
        user_data.find(files) + files.size(),
        "- path: /etc/kubernetes/pki/ca.crt\n  content: |\n" + indent(masterCa(step).cert_pem, 4));
    return user_data;
  }

  void createStack() {
    std::string params = "{\"m0\":" + quote(master(Step::Before, "0")) +
                         ",\"m1\":" + quote(master(Step::Before, "1")) +
                         ",\"w0\":" + quote(worker(Step::Before)) +
                         ",\"w1\":" + quote(worker(Step::Before)) + "}";
    Reply r = call("POST", heat() + "/stacks",
                   R"({"stack_name":"prod","template":)" + quote(kTemplate) + R"(,"parameters":)" +
                       params + "}",
                   token);
    ASSERT_EQ(r.status, 201) << r.body;
    stack_id = str(r.json["stack"]["id"]);
    href = heat() + "/stacks/prod/" + stack_id;
    tick(2s);
  }

  // Replaces one server (its user_data changed); the new one boots and joins.
  void roll(const std::string& param, const std::string& user_data) {
    Reply r =
        call("PATCH", href, "{\"parameters\":{\"" + param + "\":" + quote(user_data) + "}}", token);
    ASSERT_EQ(r.status, 202) << r.body;
    tick(2s);
  }
  void rollAll(Step step) {
    roll("m0", master(step, "0"));
    roll("m1", master(step, "1"));
    roll("w0", worker(step));
    roll("w1", worker(step));
  }

  KubeCluster& cluster() {
    KubeCluster* c = sim.kube().byStackId(stack_id);
    EXPECT_NE(c, nullptr);
    return *c;
  }
  net::Response kubeCall(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& content_type = "",
                         bool authenticated = true) {
    net::Request req{net::http::string_to_verb(method), target, 11};
    if (!content_type.empty()) req.set(net::http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    return handleKubeApi(sim.kube(), cluster(), req, authenticated, clock.now());
  }
  static std::string clusterInfoPatch(const std::string& ca_pems) {
    return R"({"data":{"kubeconfig":)" + quote(clusterInfoKubeconfig("10.0.0.5:6443", ca_pems)) +
           "}}";
  }
  void setClusterInfo(const std::string& ca_pems) {
    net::Response r = kubeCall("PATCH", "/api/v1/namespaces/kube-public/configmaps/cluster-info",
                               clusterInfoPatch(ca_pems), kMergePatch);
    ASSERT_EQ(r.result_int(), 200) << r.body();
  }
  // "name ready", per node, and the Ready condition's message of those that are not.
  std::map<std::string, std::string> readiness() {
    std::map<std::string, std::string> out;
    for (const auto& [name, node] : cluster().nodes) {
      out[name] = node.ready ? "Ready" : "NotReady";
    }
    return out;
  }
  static std::map<std::string, std::string> allReady() {
    return {{"prod-master-0", "Ready"},
            {"prod-master-1", "Ready"},
            {"prod-node-0", "Ready"},
            {"prod-node-1", "Ready"}};
  }
  util::JsonDoc simCluster() {
    Reply r = call("GET", "/sim/v1/clusters");
    EXPECT_EQ(r.status, 200) << r.body;
    return util::parseJson(util::toJson(r.json["clusters"][0])).value();
  }
  static Strings strings(const util::Json& list) {
    Strings out;
    for (const auto& v : list.GetArray()) out.push_back(str(v));
    return out;
  }
  std::vector<std::string> timelineEvents(const std::string& event) {
    Reply r = call("GET", "/sim/v1/clusters/" + stack_id + "/timeline");
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    for (const auto& e : r.json["events"].GetArray()) {
      if (str(e["event"]) == event) out.push_back(str(e["node"]));
    }
    return out;
  }

  static pki::CertificateAuthority* old_;
  static pki::CertificateAuthority* new_;
  FakeListeners listeners;
  std::string token, stack_id, href, old_hash, new_hash;
};
pki::CertificateAuthority* KubeRotationTest::old_ = nullptr;
pki::CertificateAuthority* KubeRotationTest::new_ = nullptr;

TEST_F(KubeRotationTest, InTheRightOrderEveryNodeStaysReadyAtEveryStep) {
  createStack();
  ASSERT_EQ(readiness(), allReady());
  auto before = simCluster();
  EXPECT_EQ(strings(before["cluster_info_cas"]), Strings{old_hash});
  EXPECT_EQ(strings(before["api_servers"]), (Strings{"prod-master-0", "prod-master-1"}));

  setClusterInfo(old_->cert_pem + new_->cert_pem);
  EXPECT_EQ(cluster().cluster_info.cas, (Strings{old_hash, new_hash}));
  for (Step step : {Step::Trust, Step::Sign}) {
    for (const auto& [param, user_data] :
         std::vector<std::pair<std::string, std::string>>{{"m0", master(step, "0")},
                                                          {"m1", master(step, "1")},
                                                          {"w0", worker(step)},
                                                          {"w1", worker(step)}}) {
      roll(param, user_data);
      ASSERT_EQ(readiness(), allReady()) << "after rolling " << param;
    }
  }
  // Mid-rotation: every node trusts both CAs; the masters sign with the new one, and so did the
  // leader that signed the workers' kubelet certificates.
  auto mid = simCluster();
  for (const auto& node : mid["nodes"].GetArray()) {
    EXPECT_EQ(strings(node["trusted_cas"]).size(), 2u) << str(node["name"]);
    EXPECT_EQ(str(node["client_ca"]), new_hash) << str(node["name"]);
    if (str(node["role"]) == "master") {
      EXPECT_EQ(strings(node["trusted_cas"]), (Strings{new_hash, old_hash}));
      EXPECT_EQ(str(node["signing_ca"]), new_hash);
    } else {
      EXPECT_TRUE(node["signing_ca"].IsNull());
    }
  }

  setClusterInfo(new_->cert_pem);
  for (const auto& [param, user_data] :
       std::vector<std::pair<std::string, std::string>>{{"m0", master(Step::Drop, "0")},
                                                        {"m1", master(Step::Drop, "1")},
                                                        {"w0", worker(Step::Drop)},
                                                        {"w1", worker(Step::Drop)}}) {
    roll(param, user_data);
    ASSERT_EQ(readiness(), allReady()) << "after dropping the old CA on " << param;
  }
  auto after = simCluster();
  EXPECT_EQ(strings(after["cluster_info_cas"]), Strings{new_hash});
  for (const auto& node : after["nodes"].GetArray()) {
    EXPECT_EQ(strings(node["trusted_cas"]), Strings{new_hash}) << str(node["name"]);
    EXPECT_EQ(str(node["client_ca"]), new_hash) << str(node["name"]);
  }
  // Twelve replacements, and no node was ever NotReady.
  EXPECT_EQ(timelineEvents("notready"), Strings{});
  EXPECT_EQ(timelineEvents("joined").size(), 4u + 12u);
  // A node that still pins the old CA only can no longer join.
  roll("w1", worker(Step::Before));
  EXPECT_EQ(cluster().nodes.count("prod-node-1"), 0u);
}

TEST_F(KubeRotationTest, SigningWithTheNewCaBeforeTheWorkersTrustItMakesThemNotReady) {
  createStack();
  // cluster-info is forgotten: the workers rolled in step 1 join trusting the old CA only (what
  // cluster-info says), whatever their pins.
  rollAll(Step::Trust);
  ASSERT_EQ(readiness(), allReady());
  EXPECT_EQ(cluster().nodes.at("prod-node-0").trust.trusted, Strings{old_hash});

  roll("m0", master(Step::Sign, "0"));
  EXPECT_EQ(readiness(), (std::map<std::string, std::string>{{"prod-master-0", "Ready"},
                                                             {"prod-master-1", "Ready"},
                                                             {"prod-node-0", "NotReady"},
                                                             {"prod-node-1", "NotReady"}}));
  net::Response node = kubeCall("GET", "/api/v1/nodes/prod-node-0");
  ASSERT_EQ(node.result_int(), 200);
  auto node_json = util::parseJson(node.body()).value();
  const auto& ready = node_json["status"]["conditions"][0];
  EXPECT_EQ(str(ready["status"]), "False");
  EXPECT_EQ(str(ready["reason"]), "KubeletNotReady");
  EXPECT_NE(str(ready["message"]).find(kUnknownAuthority), std::string::npos)
      << str(ready["message"]);
  EXPECT_NE(str(ready["message"]).find("prod-master-0"), std::string::npos);
  EXPECT_EQ(timelineEvents("notready"), (Strings{"prod-node-0", "prod-node-1"}));

  // Once the master that signs with the new CA is gone, the workers are Ready again.
  roll("m0", master(Step::Trust, "0"));
  EXPECT_EQ(readiness(), allReady());
  EXPECT_EQ(timelineEvents("ready"), (Strings{"prod-node-0", "prod-node-1"}));
}

TEST_F(KubeRotationTest, AMasterThatTrustsOnlyTheNewCaRefusesTheOldKubelets) {
  createStack();
  setClusterInfo(old_->cert_pem + new_->cert_pem);
  // Step 3 on a master while the others still trust the old CA only: it shares a CA with
  // cluster-info, so it joins, but neither the old masters nor the kubelets trust it.
  roll("m1", master(Step::Drop, "1"));
  auto state = readiness();
  EXPECT_EQ(state["prod-node-0"], "NotReady");
  EXPECT_EQ(state["prod-master-0"], "NotReady");
  std::string message = cluster().nodes.at("prod-node-0").trust_problem;
  EXPECT_NE(message.find("prod-master-1"), std::string::npos) << message;
  EXPECT_NE(message.find(kUnknownAuthority), std::string::npos) << message;
}

TEST_F(KubeRotationTest, AWorkerLeftOutOfTheSigningStepIsRefusedOnceTheOldCaIsDropped) {
  createStack();
  setClusterInfo(old_->cert_pem + new_->cert_pem);
  rollAll(Step::Trust);
  roll("m0", master(Step::Sign, "0"));
  roll("m1", master(Step::Sign, "1"));
  roll("w0", worker(Step::Sign));  // prod-node-1 keeps its step-1 kubelet certificate
  ASSERT_EQ(readiness(), allReady());
  EXPECT_EQ(cluster().nodes.at("prod-node-0").trust.client_ca, new_hash);
  EXPECT_EQ(cluster().nodes.at("prod-node-1").trust.client_ca, old_hash);
  setClusterInfo(new_->cert_pem);
  roll("m0", master(Step::Drop, "0"));
  EXPECT_EQ(readiness()["prod-node-0"], "Ready");
  EXPECT_EQ(readiness()["prod-node-1"], "NotReady");
  std::string message = cluster().nodes.at("prod-node-1").trust_problem;
  EXPECT_EQ(message.rfind("Unauthorized: kube-apiserver on prod-master-0", 0), 0u) << message;
  EXPECT_NE(message.find(kUnknownAuthority), std::string::npos) << message;
}

TEST_F(KubeRotationTest, JoinersMustPinACaOfClusterInfo) {
  createStack();
  // The new CA is not in cluster-info yet: pinning it alone, or carrying it alone, is refused.
  roll("w0", joinUserData(kToken, new_hash));
  EXPECT_EQ(cluster().nodes.count("prod-node-0"), 0u);
  roll("m1", master(Step::Drop, "1"));
  EXPECT_EQ(cluster().nodes.count("prod-master-1"), 0u);
  setClusterInfo(old_->cert_pem + new_->cert_pem);
  roll("w1", joinUserData(kToken, new_hash));
  EXPECT_EQ(cluster().nodes.count("prod-node-1"), 1u);
}

TEST_F(KubeRotationTest, ClusterInfoIsKubeadmsAndAPatchMustKeepItAKubeconfig) {
  createStack();
  const std::string path = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
  net::Response got = kubeCall("GET", path);
  ASSERT_EQ(got.result_int(), 200) << got.body();
  auto cm = util::parseJson(got.body()).value();
  EXPECT_EQ(str(cm["kind"]), "ConfigMap");
  EXPECT_EQ(str(cm["metadata"]["namespace"]), "kube-public");
  std::string kubeconfig = str(cm["data"]["kubeconfig"]);
  EXPECT_NE(kubeconfig.find("server: https://10.0.0.5:6443"), std::string::npos) << kubeconfig;
  auto cas = clusterInfoCas(kubeconfig);
  ASSERT_TRUE(cas.ok()) << cas.error().message;
  ASSERT_EQ(cas->size(), 1u);
  EXPECT_EQ(cas->front().hash, old_hash);
  std::string version = str(cm["metadata"]["resourceVersion"]);

  EXPECT_EQ(kubeCall("GET", path, "", "", false).result_int(), 401);
  EXPECT_EQ(kubeCall("GET", "/api/v1/namespaces/default/configmaps/cluster-info").result_int(),
            404);
  EXPECT_EQ(kubeCall("PATCH", path, clusterInfoPatch(new_->cert_pem), "application/json-patch+json")
                .result_int(),
            415);

  auto refused = [&](const std::string& body, const std::string& content_type = kMergePatch) {
    net::Response r = kubeCall("PATCH", path, body, content_type);
    EXPECT_EQ(r.result_int(), 422) << body << " -> " << r.body();
    return util::parseJson(r.body()).value();
  };
  auto garbage = refused(R"({"data":{"kubeconfig":"apiVersion: v1\nclusters:\n- cluster:\n    )"
                         R"(certificate-authority-data: bm90IGEgY2VydGlmaWNhdGU=\n"}})");
  EXPECT_EQ(str(garbage["reason"]), "Invalid");
  EXPECT_EQ(str(garbage["details"]["causes"][0]["field"]), "data.kubeconfig");
  EXPECT_NE(str(garbage["message"]).find("clusters[0].cluster.certificate-authority-data"),
            std::string::npos)
      << str(garbage["message"]);
  refused(
      R"({"data":{"kubeconfig":"clusters:\n- cluster:\n    certificate-authority-data: @@\n"}})");
  refused(R"({"data":{"kubeconfig":"[not, a, kubeconfig"}})");
  refused(R"({"data":{"kubeconfig":null}})");
  refused(R"({"data":{"kubeconfig":7}})");
  refused(R"({"binaryData":{}})");
  EXPECT_EQ(cluster().cluster_info.cas, Strings{old_hash});  // nothing changed
  EXPECT_EQ(
      kubeCall("PATCH", path, R"({"metadata":{"resourceVersion":"1"},"data":{}})", kMergePatch)
          .result_int(),
      409);

  // A dry run answers what would be, and keeps what is.
  net::Response dry =
      kubeCall("PATCH", path + "?dryRun=All", clusterInfoPatch(new_->cert_pem), kMergePatch);
  EXPECT_EQ(dry.result_int(), 200) << dry.body();
  EXPECT_EQ(cluster().cluster_info.cas, Strings{old_hash});

  net::Response patched = kubeCall("PATCH", path, clusterInfoPatch(new_->cert_pem), kMergePatch);
  ASSERT_EQ(patched.result_int(), 200) << patched.body();
  EXPECT_NE(str(util::parseJson(patched.body()).value()["metadata"]["resourceVersion"]), version);
  EXPECT_EQ(cluster().cluster_info.cas, Strings{new_hash});

  // PUT replaces the whole ConfigMap, as kubectl replace sends it.
  auto current = util::parseJson(patched.body()).value();
  std::string put = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cluster-info",)"
                    R"("namespace":"kube-public","resourceVersion":")" +
                    str(current["metadata"]["resourceVersion"]) + R"("},"data":{"kubeconfig":)" +
                    quote(clusterInfoKubeconfig("10.0.0.5:6443", old_->cert_pem + new_->cert_pem)) +
                    "}}";
  net::Response replaced = kubeCall("PUT", path, put, "application/json");
  ASSERT_EQ(replaced.result_int(), 200) << replaced.body();
  EXPECT_EQ(cluster().cluster_info.cas, (Strings{old_hash, new_hash}));
  EXPECT_EQ(kubeCall("PUT", path, put, "application/json").result_int(), 409);  // stale version
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
