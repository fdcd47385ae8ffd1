// What magnumd's day-2 operations need from a simulated cluster, without sockets: per-node
// kubelet versions and the API server's version through a replace-based upgrade, the Node
// timeline under /sim/v1, the never_join and never_ready_images faults, and the requests kubectl
// cordon / drain / delete node send (PATCH, pod list, eviction, DELETE).
#include <gtest/gtest.h>

#include "cloudsim/kube_api.h"
#include "pki/certificate.h"
#include "tests/cloudsim/kube_fixture.h"
#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

using namespace std::chrono_literals;

// Two masters of a master group (member 0 inits), three workers; each server's user_data is a
// parameter so an update replaces exactly the servers whose user_data changed.
const char* kTemplate = R"(heat_template_version: 2018-08-31
parameters:
  m0: {type: string}
  m1: {type: string}
  w0: {type: string}
  w1: {type: string}
  w2: {type: string}
  w2_image: {type: string, default: ubuntu-2204-kube-v1.30.4}
resources:
  m0:
    type: OS::Nova::Server
    properties: {name: prod-master-0, flavor: m1.small, image: ubuntu-2204-kube-v1.30.4, user_data: {get_param: m0}, user_data_format: RAW}
  m1:
    type: OS::Nova::Server
    properties: {name: prod-master-1, flavor: m1.small, image: ubuntu-2204-kube-v1.30.4, user_data: {get_param: m1}, user_data_format: RAW}
  w0:
    type: OS::Nova::Server
    properties: {name: prod-node-0, flavor: m1.small, image: ubuntu-2204-kube-v1.30.4, user_data: {get_param: w0}, user_data_format: RAW}
  w1:
    type: OS::Nova::Server
    properties: {name: prod-node-1, flavor: m1.small, image: ubuntu-2204-kube-v1.30.4, user_data: {get_param: w1}, user_data_format: RAW}
  w2:
    type: OS::Nova::Server
    properties: {name: prod-node-2, flavor: m1.small, image: {get_param: w2_image}, user_data: {get_param: w2}, user_data_format: RAW}
)";

constexpr const char* kStrategic = "application/strategic-merge-patch+json";

class KubeDay2Test : public SimTest {
 protected:
  static void SetUpTestSuite() {
    ca_ = new pki::CertificateAuthority(pki::makeCertificateAuthority("kubernetes").value());
    hash_ = new std::string(pki::caCertHash(ca_->cert_pem).value());
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete hash_;
  }

  void SetUp() override {
    sim.kube().setListenerHost(&listeners);
    token = login();
  }

  // Creates the stack; servers turn ACTIVE (and join) on the next tick(2s).
  void createStack(const std::string& w2_image = "ubuntu-2204-kube-v1.30.4") {
    std::string params = "{\"m0\":" + quote(masterUserData(*ca_, kToken, *hash_, "0")) +
                         ",\"m1\":" + quote(masterUserData(*ca_, kToken, *hash_, "1")) +
                         ",\"w0\":" + quote(joinUserData(kToken, *hash_)) +
                         ",\"w1\":" + quote(joinUserData(kToken, *hash_)) + ",\"w2\":" +
                         quote(joinUserData(kToken, *hash_, "worker", nullptr, "v1.29.9")) +
                         ",\"w2_image\":" + quote(w2_image) + "}";
    Reply r = call("POST", heat() + "/stacks",
                   R"({"stack_name":"prod","template":)" + quote(kTemplate) + R"(,"parameters":)" +
                       params + "}",
                   token);
    ASSERT_EQ(r.status, 201) << r.body;
    stack_id = str(r.json["stack"]["id"]);
    href = heat() + "/stacks/prod/" + stack_id;
  }

  void update(const std::string& parameters) {
    Reply r = call("PATCH", href, R"({"parameters":)" + parameters + "}", token);
    ASSERT_EQ(r.status, 202) << r.body;
    tick(2s);
  }

  KubeCluster& cluster() {
    KubeCluster* c = sim.kube().byStackId(stack_id);
    EXPECT_NE(c, nullptr);
    return *c;
  }

  net::Response kubeCall(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& content_type = "",
                         const std::string& accept = "") {
    net::Request req{net::http::string_to_verb(method), target, 11};
    if (!accept.empty()) req.set(net::http::field::accept, accept);
    if (!content_type.empty()) req.set(net::http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    return handleKubeApi(sim.kube(), cluster(), req, true, clock.now());
  }
  util::JsonDoc kubeJson(const std::string& target, const std::string& accept = "") {
    net::Response res = kubeCall("GET", target, "", "", accept);
    EXPECT_EQ(res.result_int(), 200) << target << ": " << res.body();
    return util::parseJson(res.body()).value();
  }
  // NAME -> STATUS, from the node Table kubectl prints.
  std::map<std::string, std::string> statusColumn() {
    std::map<std::string, std::string> out;
    auto t = kubeJson("/api/v1/nodes", kTable);
    for (const auto& row : t["rows"].GetArray()) out[str(row["cells"][0])] = str(row["cells"][1]);
    return out;
  }
  std::map<std::string, std::string> versions() {
    std::map<std::string, std::string> out;
    for (const auto& [name, node] : cluster().nodes) out[name] = node.version;
    return out;
  }
  std::string serverId(const std::string& name) {
    for (uint32_t i = 0; i < sim.nova().slots(); ++i) {
      const Server& s = sim.nova().at(i);
      if (s.name == name && !s.purged && s.vm != VmState::Deleted) return s.id;
    }
    return "";
  }
  void setServer(const std::string& name, const std::string& status) {
    Reply r = call("POST", "/sim/v1/servers/" + serverId(name) + "/status",
                   R"({"status":")" + status + R"("})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  Reply timeline(const std::string& query = "") {
    return call("GET", "/sim/v1/clusters/" + stack_id + "/timeline" + query);
  }
  std::vector<std::string> podsOn(const std::string& node) {
    auto list = kubeJson("/api/v1/pods?fieldSelector=spec.nodeName%3D" + node);
    EXPECT_EQ(str(list["kind"]), "PodList");
    std::vector<std::string> out;
    for (const auto& pod : list["items"].GetArray()) out.push_back(str(pod["metadata"]["name"]));
    return out;
  }

  static pki::CertificateAuthority* ca_;
  static std::string* hash_;
  FakeListeners listeners;
  std::string token, stack_id, href;
};
pki::CertificateAuthority* KubeDay2Test::ca_ = nullptr;
std::string* KubeDay2Test::hash_ = nullptr;

TEST_F(KubeDay2Test, EachKubeletRunsTheVersionItsServerWasBootstrappedWith) {
  createStack();
  tick(2s);
  using Versions = std::map<std::string, std::string>;
  // Masters from their ClusterConfiguration, prod-node-2 from KUBERNETES_VERSION in its
  // bootstrap.env, the others from kubeadm-config.
  EXPECT_EQ(versions(), (Versions{{"prod-master-0", "v1.30.4"},
                                  {"prod-master-1", "v1.30.4"},
                                  {"prod-node-0", "v1.30.4"},
                                  {"prod-node-1", "v1.30.4"},
                                  {"prod-node-2", "v1.29.9"}}));

  // A rolling upgrade, masters first: the API reports the oldest master until the last is new.
  update(R"({"m1":)" + quote(masterUserData(*ca_, kToken, *hash_, "1", "v1.31.2")) + "}");
  EXPECT_EQ(cluster().version, "v1.31.2");  // kubeadm-config
  EXPECT_EQ(str(kubeJson("/version")["gitVersion"]), "v1.30.4");
  update(R"({"w1":)" + quote(joinUserData(kToken, *hash_, "big-worker")) + "}");
  EXPECT_EQ(versions(), (Versions{{"prod-master-0", "v1.30.4"},
                                  {"prod-master-1", "v1.31.2"},
                                  {"prod-node-0", "v1.30.4"},
                                  {"prod-node-1", "v1.31.2"},
                                  {"prod-node-2", "v1.29.9"}}));
  auto node = kubeJson("/api/v1/nodes/prod-node-1");
  EXPECT_EQ(str(node["status"]["nodeInfo"]["kubeletVersion"]), "v1.31.2");
  auto table = kubeJson("/api/v1/nodes", kTable);
  EXPECT_EQ(str(table["rows"][3]["cells"][4]), "v1.31.2");  // VERSION column, prod-node-1
  EXPECT_EQ(str(table["rows"][2]["cells"][4]), "v1.30.4");  // prod-node-0, not replaced

  update(R"({"m0":)" + quote(masterUserData(*ca_, kToken, *hash_, "0", "v1.31.2")) + "}");
  auto version = kubeJson("/version");
  EXPECT_EQ(str(version["gitVersion"]), "v1.31.2");
  EXPECT_EQ(str(version["minor"]), "31");
  Reply clusters = call("GET", "/sim/v1/clusters");
  EXPECT_EQ(str(clusters.json["clusters"][0]["version"]), "v1.31.2");
  EXPECT_EQ(str(clusters.json["clusters"][0]["nodes"][2]["version"]), "v1.30.4");

  EXPECT_TRUE(versionLess("v1.30.9", "v1.30.10"));
  EXPECT_TRUE(versionLess("v1.9.0", "v1.10.0"));
  EXPECT_FALSE(versionLess("v1.31.0", "v1.30.10"));
}

TEST_F(KubeDay2Test, TheTimelineRecordsReadinessAndItsMinimum) {
  createStack();
  tick(2s);
  Reply start = timeline();
  ASSERT_EQ(start.status, 200) << start.body;
  EXPECT_TRUE(start.json["running"].GetBool());
  const auto& workers = start.json["summary"]["workers"];
  EXPECT_EQ(workers["ready"].GetUint(), 3u);
  EXPECT_EQ(workers["min_ready"].GetUint(), 0u);  // from the start: before any worker joined
  EXPECT_EQ(start.json["summary"]["masters"]["ready"].GetUint(), 2u);
  ASSERT_EQ(start.json["events"].Size(), 5u);
  EXPECT_EQ(str(start.json["events"][0]["event"]), "joined");
  EXPECT_EQ(str(start.json["events"][0]["role"]), "master");
  uint64_t mark = start.json["last_seq"].GetUint64();

  // One worker at a time goes NotReady (a fault, then a stopped server): never fewer than 2.
  std::string base = "/sim/v1/clusters/" + stack_id + "/nodes/";
  tick(1s);
  ASSERT_EQ(call("POST", base + "prod-node-0", R"({"ready":false})").status, 200);
  tick(1s);
  ASSERT_EQ(call("POST", base + "prod-node-0", R"({"ready":true})").status, 200);
  tick(1s);
  setServer("prod-node-1", "SHUTOFF");
  auto unknown = kubeJson("/api/v1/nodes/prod-node-1");
  EXPECT_EQ(str(unknown["status"]["conditions"][0]["status"]), "Unknown");
  EXPECT_EQ(str(unknown["status"]["conditions"][0]["reason"]), "NodeStatusUnknown");
  EXPECT_EQ(statusColumn()["prod-node-1"], "Unknown");
  tick(1s);
  setServer("prod-node-1", "ACTIVE");
  Reply after = timeline("?after=" + std::to_string(mark));
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.json["summary"]["workers"]["min_ready"].GetUint(), 2u);
  EXPECT_EQ(after.json["summary"]["workers"]["ready"].GetUint(), 3u);
  EXPECT_EQ(after.json["summary"]["masters"]["min_ready"].GetUint(), 2u);
  std::vector<std::string> seen;
  for (const auto& e : after.json["events"].GetArray())
    seen.push_back(str(e["node"]) + " " + str(e["event"]) + " " + str(e["ready_workers"]));
  EXPECT_EQ(seen, (std::vector<std::string>{"prod-node-0 notready 2", "prod-node-0 ready 3",
                                            "prod-node-1 notready 2", "prod-node-1 ready 3"}));

  // Two at once: the minimum since then is 1; a `since` after they recovered sees 3.
  std::string second = str(after.json["events"][1]["time"]);
  tick(1s);
  ASSERT_EQ(call("POST", base + "prod-node-0", R"({"ready":false})").status, 200);
  ASSERT_EQ(call("POST", base + "prod-node-2", R"({"ready":false})").status, 200);
  tick(1s);
  ASSERT_EQ(call("POST", base + "prod-node-0", R"({"ready":true})").status, 200);
  ASSERT_EQ(call("POST", base + "prod-node-2", R"({"ready":true})").status, 200);
  EXPECT_EQ(timeline("?since=" + second).json["summary"]["workers"]["min_ready"].GetUint(), 1u);
  tick(1s);
  std::string later = util::formatRfc3339(clock.now());
  EXPECT_EQ(timeline("?since=" + later).json["summary"]["workers"]["min_ready"].GetUint(), 3u);

  EXPECT_EQ(timeline("?since=yesterday").status, 400);
  EXPECT_EQ(timeline("?after=-1").status, 400);
  EXPECT_EQ(call("GET", "/sim/v1/clusters/nope/timeline").status, 404);

  // The timeline outlives the cluster: every server deleted, the API stopped.
  for (const char* name :
       {"prod-master-0", "prod-master-1", "prod-node-0", "prod-node-1", "prod-node-2"}) {
    ASSERT_EQ(call("DELETE", "/sim/v1/servers/" + serverId(name)).status, 204);
  }
  EXPECT_EQ(sim.kube().byStackId(stack_id), nullptr);
  Reply gone = timeline();
  ASSERT_EQ(gone.status, 200);
  EXPECT_FALSE(gone.json["running"].GetBool());
  EXPECT_EQ(gone.json["summary"]["workers"]["nodes"].GetUint(), 0u);
  EXPECT_EQ(str(gone.json["events"][gone.json["events"].Size() - 1]["event"]), "deleted");
}

TEST_F(KubeDay2Test, NeverJoinAndNeverReadyImageFaults) {
  Reply set = call("POST", "/sim/v1/faults",
                   R"({"never_join":["prod-node-1"],"never_ready_images":[")" +
                       imageId("ubuntu-broken") + R"("]})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(str(set.json["never_join"][0]), "prod-node-1");
  createStack("ubuntu-broken");
  tick(2s);
  std::map<std::string, std::string> status = statusColumn();
  EXPECT_EQ(status, (std::map<std::string, std::string>{{"prod-master-0", "Ready"},
                                                        {"prod-master-1", "Ready"},
                                                        {"prod-node-0", "Ready"},
                                                        {"prod-node-2", "NotReady"}}));
  auto broken = kubeJson("/api/v1/nodes/prod-node-2");
  EXPECT_NE(str(broken["status"]["conditions"][0]["message"]).find("cni plugin not initialized"),
            std::string::npos);
  Reply t = timeline();
  EXPECT_EQ(t.json["summary"]["workers"]["nodes"].GetUint(), 2u);
  EXPECT_EQ(t.json["summary"]["workers"]["ready"].GetUint(), 1u);

  // Clearing the faults heals nothing that already happened: cloud-init ran once.
  ASSERT_EQ(call("DELETE", "/sim/v1/faults").status, 200);
  tick(2s);
  EXPECT_EQ(statusColumn().count("prod-node-1"), 0u);
  EXPECT_EQ(statusColumn()["prod-node-2"], "NotReady");
  std::string base = "/sim/v1/clusters/" + stack_id + "/nodes/";
  ASSERT_EQ(call("POST", base + "prod-node-2", R"({"ready":true})").status, 200);
  EXPECT_EQ(statusColumn()["prod-node-2"], "Ready");

  // A glob by name: the replacement of prod-node-0 never joins either.
  ASSERT_EQ(call("POST", "/sim/v1/faults", R"({"never_join":["prod-node-?"]})").status, 200);
  update(R"({"w0":)" + quote(joinUserData(kToken, *hash_, "big-worker")) + "}");
  EXPECT_EQ(statusColumn().count("prod-node-0"), 0u);

  for (const char* bad :
       {R"({"never_join":"prod-*"})", R"({"never_join":[""]})", R"({"never_ready_images":[7]})"}) {
    EXPECT_EQ(call("POST", "/sim/v1/faults", bad).status, 400) << bad;
  }
  EXPECT_TRUE(globMatch("prod-node-*", "prod-node-12"));
  EXPECT_TRUE(globMatch("*-node-?", "prod-node-1"));
  EXPECT_FALSE(globMatch("*-node-?", "prod-node-12"));
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_FALSE(globMatch("", "x"));
}

TEST_F(KubeDay2Test, CordonAndUncordonAsKubectlPatchesThem) {
  createStack();
  tick(2s);
  net::Response cordoned = kubeCall("PATCH", "/api/v1/nodes/prod-node-0",
                                    R"({"spec":{"unschedulable":true}})", kStrategic);
  ASSERT_EQ(cordoned.result_int(), 200) << cordoned.body();
  auto node = util::parseJson(cordoned.body()).value();
  EXPECT_TRUE(node["spec"]["unschedulable"].GetBool());
  EXPECT_EQ(str(node["spec"]["taints"][0]["key"]), "node.kubernetes.io/unschedulable");
  EXPECT_EQ(statusColumn()["prod-node-0"], "Ready,SchedulingDisabled");
  EXPECT_EQ(cluster().events.back().type, "MODIFIED");
  EXPECT_TRUE(cluster().events.back().node.unschedulable);
  Reply t = timeline();
  EXPECT_EQ(str(t.json["events"][t.json["events"].Size() - 1]["event"]), "cordoned");
  EXPECT_EQ(t.json["summary"]["workers"]["schedulable"].GetUint(), 2u);
  EXPECT_EQ(t.json["summary"]["workers"]["ready"].GetUint(), 3u);

  // kubectl uncordon's two-way strategic merge patch deletes the field.
  ASSERT_EQ(kubeCall("PATCH", "/api/v1/nodes/prod-node-0", R"({"spec":{"unschedulable":null}})",
                     "application/merge-patch+json")
                .result_int(),
            200);
  EXPECT_EQ(statusColumn()["prod-node-0"], "Ready");
  EXPECT_FALSE(kubeJson("/api/v1/nodes/prod-node-0")["spec"].HasMember("unschedulable"));

  net::Response labelled = kubeCall(
      "PATCH", "/api/v1/nodes/prod-node-0",
      R"({"metadata":{"labels":{"team":"a","magnum.openstack.org/role":null}}})", kStrategic);
  ASSERT_EQ(labelled.result_int(), 200) << labelled.body();
  EXPECT_EQ(cluster().nodes.at("prod-node-0").labels.at("team"), "a");
  EXPECT_EQ(cluster().nodes.at("prod-node-0").labels.count("magnum.openstack.org/role"), 0u);

  // A dry run changes nothing; what cloudsim cannot patch is refused, naming the field.
  ASSERT_EQ(kubeCall("PATCH", "/api/v1/nodes/prod-node-1?dryRun=All",
                     R"({"spec":{"unschedulable":true}})", kStrategic)
                .result_int(),
            200);
  EXPECT_FALSE(cluster().nodes.at("prod-node-1").unschedulable);
  net::Response taints =
      kubeCall("PATCH", "/api/v1/nodes/prod-node-1", R"({"spec":{"taints":[]}})", kStrategic);
  EXPECT_EQ(taints.result_int(), 422);
  EXPECT_NE(taints.body().find("spec.taints"), std::string::npos) << taints.body();
  EXPECT_EQ(kubeCall("PATCH", "/api/v1/nodes/prod-node-1", R"([{"op":"add"}])",
                     "application/json-patch+json")
                .result_int(),
            415);
  net::Response stale = kubeCall("PATCH", "/api/v1/nodes/prod-node-1",
                                 R"({"metadata":{"resourceVersion":"1"}})", kStrategic);
  EXPECT_EQ(stale.result_int(), 409);
  EXPECT_EQ(str(util::parseJson(stale.body()).value()["reason"]), "Conflict");
  EXPECT_EQ(kubeCall("PATCH", "/api/v1/nodes/nope", R"({"spec":{}})", kStrategic).result_int(),
            404);
}

TEST_F(KubeDay2Test, DrainEvictsWhatIsNotADaemonSetOrStaticPod) {
  createStack();
  tick(2s);
  // kubeadm's CoreDNS started on the first master, beside its static pods and kube-proxy.
  std::vector<std::string> on_master = podsOn("prod-master-0");
  ASSERT_EQ(on_master.size(), 7u);
  std::vector<std::string> coredns;
  for (const auto& name : on_master) {
    if (name.starts_with("coredns-")) coredns.push_back(name);
  }
  ASSERT_EQ(coredns.size(), 2u);
  EXPECT_EQ(podsOn("prod-node-0").size(), 1u);  // kube-proxy
  auto proxy = kubeJson("/api/v1/namespaces/kube-system/pods/" + podsOn("prod-node-0")[0]);
  EXPECT_EQ(str(proxy["metadata"]["ownerReferences"][0]["kind"]), "DaemonSet");
  auto etcd = kubeJson("/api/v1/namespaces/kube-system/pods/etcd-prod-master-0");
  EXPECT_TRUE(etcd["metadata"]["annotations"].HasMember("kubernetes.io/config.mirror"));
  auto ds = kubeJson("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy");
  EXPECT_EQ(ds["status"]["desiredNumberScheduled"].GetInt(), 5);
  EXPECT_EQ(kubeCall("GET", "/apis/apps/v1/namespaces/kube-system/daemonsets/other").result_int(),
            404);

  // kubectl drain: cordon, list the node's pods, evict those that are not DaemonSet or mirror
  // pods, wait until they are gone.
  ASSERT_EQ(kubeCall("PATCH", "/api/v1/nodes/prod-master-0", R"({"spec":{"unschedulable":true}})",
                     kStrategic)
                .result_int(),
            200);
  for (const auto& name : coredns) {
    net::Response evicted =
        kubeCall("POST", "/api/v1/namespaces/kube-system/pods/" + name + "/eviction",
                 R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":")" + name +
                     R"(","namespace":"kube-system"},"deleteOptions":{}})",
                 "application/json");
    ASSERT_EQ(evicted.result_int(), 201) << evicted.body();
    EXPECT_EQ(kubeCall("GET", "/api/v1/namespaces/kube-system/pods/" + name).result_int(), 404);
  }
  EXPECT_EQ(podsOn("prod-master-0").size(), 5u);
  auto dns = kubeJson("/api/v1/pods?labelSelector=k8s-app%3Dkube-dns");
  ASSERT_EQ(dns["items"].Size(), 2u);
  for (const auto& pod : dns["items"].GetArray()) {
    EXPECT_NE(str(pod["spec"]["nodeName"]), "prod-master-0");
    EXPECT_EQ(str(pod["status"]["phase"]), "Running");
  }

  net::Response mismatch =
      kubeCall("POST", "/api/v1/namespaces/kube-system/pods/etcd-prod-master-0/eviction",
               R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"other"}})");
  EXPECT_EQ(mismatch.result_int(), 400);
  EXPECT_EQ(kubeCall("POST", "/api/v1/namespaces/kube-system/pods/nope/eviction",
                     R"({"apiVersion":"policy/v1","kind":"Eviction"})")
                .result_int(),
            404);
  // A deleted mirror pod comes back under its name (the kubelet recreates it).
  std::string uid = str(etcd["metadata"]["uid"]);
  ASSERT_EQ(
      kubeCall("DELETE", "/api/v1/namespaces/kube-system/pods/etcd-prod-master-0").result_int(),
      200);
  EXPECT_NE(
      str(kubeJson("/api/v1/namespaces/kube-system/pods/etcd-prod-master-0")["metadata"]["uid"]),
      uid);

  EXPECT_EQ(kubeCall("GET", "/api/v1/pods?fieldSelector=spec.hostIP%3Dx").result_int(), 400);
  auto table = kubeJson("/api/v1/namespaces/kube-system/pods", kTable);
  EXPECT_EQ(str(table["kind"]), "Table");
  EXPECT_EQ(table["rows"].Size(), 15u);  // 5 kube-proxy, 2 x 4 static pods, 2 CoreDNS
  auto discovery = kubeJson("/api/v1");
  std::vector<std::string> resources;
  for (const auto& r : discovery["resources"].GetArray()) resources.push_back(str(r["name"]));
  EXPECT_EQ(resources,
            (std::vector<std::string>{"configmaps", "nodes", "pods", "pods/eviction", "secrets"}));
}

TEST_F(KubeDay2Test, ADeletedNodeComesBackWhenItsServerRestarts) {
  createStack();
  tick(2s);
  net::Response deleted = kubeCall("DELETE", "/api/v1/nodes/prod-node-0");
  ASSERT_EQ(deleted.result_int(), 200) << deleted.body();
  EXPECT_EQ(str(util::parseJson(deleted.body()).value()["kind"]), "Node");
  EXPECT_EQ(kubeCall("GET", "/api/v1/nodes/prod-node-0").result_int(), 404);
  EXPECT_TRUE(podsOn("prod-node-0").empty());
  EXPECT_EQ(cluster().events.back().type, "DELETED");
  tick(10s);  // the kubelet keeps running and does not register again by itself
  EXPECT_EQ(kubeCall("GET", "/api/v1/nodes/prod-node-0").result_int(), 404);
  setServer("prod-node-0", "SHUTOFF");
  setServer("prod-node-0", "ACTIVE");
  auto back = kubeJson("/api/v1/nodes/prod-node-0");
  EXPECT_EQ(str(back["status"]["conditions"][0]["status"]), "True");
  EXPECT_EQ(str(back["status"]["nodeInfo"]["kubeletVersion"]), "v1.30.4");
  EXPECT_EQ(podsOn("prod-node-0").size(), 1u);
  std::vector<std::string> events;
  Reply t = timeline();
  for (const auto& e : t.json["events"].GetArray()) {
    if (str(e["node"]) == "prod-node-0") events.push_back(str(e["event"]));
  }
  EXPECT_EQ(events, (std::vector<std::string>{"joined", "deleted", "joined"}));

  // Deleting every Node object leaves the API server running; it stops when the servers go.
  for (const char* name :
       {"prod-master-0", "prod-master-1", "prod-node-0", "prod-node-1", "prod-node-2"}) {
    ASSERT_EQ(kubeCall("DELETE", std::string("/api/v1/nodes/") + name).result_int(), 200);
  }
  EXPECT_TRUE(cluster().nodes.empty());
  EXPECT_EQ(str(kubeJson("/version")["gitVersion"]), "v1.30.4");  // kubeadm-config's
  EXPECT_TRUE(listeners.running);
  for (const char* name :
       {"prod-master-0", "prod-master-1", "prod-node-0", "prod-node-1", "prod-node-2"}) {
    ASSERT_EQ(call("DELETE", "/sim/v1/servers/" + serverId(name)).status, 204);
  }
  EXPECT_EQ(sim.kube().byStackId(stack_id), nullptr);
  EXPECT_FALSE(listeners.running);
}

TEST_F(KubeDay2Test, WithNodesOutlivingServersADeletedServersNodeStaysUntilDeleted) {
  ASSERT_EQ(call("POST", "/sim/v1/faults", R"({"nodes_outlive_servers":true})").status, 200);
  createStack();
  tick(2s);
  ASSERT_EQ(call("DELETE", "/sim/v1/servers/" + serverId("prod-node-0")).status, 204);
  EXPECT_EQ(statusColumn()["prod-node-0"], "Unknown");
  EXPECT_EQ(podsOn("prod-node-0").size(), 1u);  // pods stay until the Node goes
  tick(11min);                                  // purged from Nova: still there
  EXPECT_EQ(statusColumn()["prod-node-0"], "Unknown");
  ASSERT_EQ(kubeCall("DELETE", "/api/v1/nodes/prod-node-0").result_int(), 200);
  EXPECT_EQ(statusColumn().count("prod-node-0"), 0u);
  EXPECT_TRUE(podsOn("prod-node-0").empty());
  std::vector<std::string> events;
  const auto seen = timeline();  // a range-for over a temporary's JSON would outlive the JSON
  for (const auto& e : seen.json["events"].GetArray()) {
    if (str(e["node"]) == "prod-node-0") events.push_back(str(e["event"]));
  }
  EXPECT_EQ(events, (std::vector<std::string>{"joined", "notready", "deleted"}));

  // A replacement under the same name takes the stale Node over.
  ASSERT_EQ(call("DELETE", "/sim/v1/servers/" + serverId("prod-node-1")).status, 204);
  update("{}");  // Heat replaces the servers deleted behind its back (prod-node-0 too)
  EXPECT_EQ(statusColumn()["prod-node-1"], "Ready");
  EXPECT_FALSE(cluster().nodes.at("prod-node-1").orphaned);
  EXPECT_EQ(statusColumn()["prod-node-0"], "Ready");

  // With every server gone the API stops, stale Nodes or not.
  for (const char* name :
       {"prod-master-0", "prod-master-1", "prod-node-0", "prod-node-1", "prod-node-2"}) {
    ASSERT_EQ(call("DELETE", "/sim/v1/servers/" + serverId(name)).status, 204);
  }
  EXPECT_EQ(sim.kube().byStackId(stack_id), nullptr);
  EXPECT_EQ(call("POST", "/sim/v1/faults", R"({"nodes_outlive_servers":1})").status, 400);
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
