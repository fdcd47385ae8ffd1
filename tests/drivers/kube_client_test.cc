// The cluster API client against an HTTPS server that behaves like kube-apiserver: mutual TLS
// with the cluster's CA, /version, /readyz, /healthz and paged /api/v1/nodes.
#include "drivers/kube/kube_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "tests/drivers/run_task.h"
#include "tests/support/tls_server.h"

namespace magnumd::drivers::kube {
namespace {

using namespace std::chrono_literals;
using magnumd::testing::TestPki;
using magnumd::testing::TestReply;
using magnumd::testing::TlsServerOptions;
using magnumd::testing::TlsTestServer;
using testing::runTask;

std::string nodeJson(const std::string& name, const std::string& ready, const std::string& role,
                     const std::string& group) {
  std::string labels = fmt::format(
      R"("kubernetes.io/hostname":"{}","magnum.openstack.org/nodegroup":"{}")", name, group);
  if (!role.empty()) labels += fmt::format(R"(,"node-role.kubernetes.io/{}":"")", role);
  return fmt::format(
      R"({{"kind":"Node","metadata":{{"name":"{}","labels":{{{}}}}},"status":{{"conditions":[)"
      R"({{"type":"MemoryPressure","status":"False"}},)"
      R"({{"type":"Ready","status":"{}","reason":"{}","message":"{}"}}],)"
      R"("nodeInfo":{{"kubeletVersion":"v1.32.4"}}}}}})",
      name, labels, ready, ready == "True" ? "KubeletReady" : "KubeletNotReady",
      ready == "True" ? "kubelet is posting ready status" : "container runtime network not ready");
}

// What a kube-apiserver answers, per path; tests change it.
struct FakeApi {
  std::mutex mutex;
  std::map<std::string, TestReply> replies;
  std::vector<std::string> seen;  // paths with query
  bool anonymous_seen = false;

  TestReply handle(const net::Request& req, bool client_cert) {
    std::lock_guard lock(mutex);
    std::string target(req.target());
    seen.push_back(target);
    if (!client_cert) anonymous_seen = true;
    auto it = replies.find(target);
    if (it == replies.end()) it = replies.find(target.substr(0, target.find('?')));
    if (it == replies.end())
      return TestReply{
          404, R"({"kind":"Status","message":"the server could not find the requested resource"})"};
    return it->second;
  }
};

class KubeClientTest : public ::testing::Test {
 protected:
  KubeClientTest() : pki(TestPki::make()), me(pki.client("magnumd", {"system:masters"})) {
    api.replies["/version"] = {
        200, R"({"major":"1","minor":"32","gitVersion":"v1.32.4","platform":"linux/amd64"})"};
    api.replies["/readyz"] = {200, "ok", "text/plain"};
    api.replies["/api/v1/nodes"] = {
        200,
        fmt::format(R"({{"kind":"NodeList","metadata":{{}},"items":[{},{},{}]}})",
                    nodeJson("prod-default-worker-0", "True", "", "default-worker"),
                    nodeJson("prod-default-master-0", "True", "control-plane", "default-master"),
                    nodeJson("prod-default-worker-1", "False", "", "default-worker"))};
    TlsServerOptions o;
    o.serving = pki.serving({"127.0.0.1"});
    o.client_ca_pem = pki.ca.cert_pem;
    server = std::make_unique<TlsTestServer>(
        o, [this](const net::Request& r, bool c) { return api.handle(r, c); });
    http::HttpClientOptions ho;
    ho.connect_timeout = 2s;
    ho.request_timeout = 1s;
    ho.retry.max_attempts = 1;
    http = std::move(http::HttpClient::create(io.get_executor(), ho).value());
  }

  http::TlsContextPtr identity(const std::string& ca_pem, const pki::IssuedCertificate* cert) {
    auto made =
        http::makeTlsContext({ca_pem, cert ? cert->cert_pem : "", cert ? cert->key_pem : ""});
    EXPECT_TRUE(made.ok()) << made.error().message;
    return *made;
  }

  ApiObservation observe(KubeClientOptions options = {}, http::TlsContextPtr tls = nullptr,
                         std::string url = "") {
    KubeClient client(*http, options);
    if (!tls) tls = identity(pki.ca.cert_pem, &me);
    return runTask(io, client.observe(url.empty() ? server->url() : url, tls));
  }

  boost::asio::io_context io;
  TestPki pki;
  pki::IssuedCertificate me;
  FakeApi api;
  std::unique_ptr<TlsTestServer> server;
  std::unique_ptr<http::HttpClient> http;
};

TEST_F(KubeClientTest, ObservesVersionReadinessAndNodes) {
  auto o = observe();
  EXPECT_TRUE(o.reachable) << o.error;
  EXPECT_EQ(o.failure, ApiFailure::None);
  EXPECT_EQ(o.git_version, "v1.32.4");
  EXPECT_TRUE(o.ready) << o.readiness_error;
  ASSERT_TRUE(o.nodes_listed) << o.error;
  ASSERT_EQ(o.nodes.size(), 3u);
  // Sorted by name, whatever order the API used.
  EXPECT_EQ(o.nodes[0].name, "prod-default-master-0");
  EXPECT_EQ(o.nodes[0].roles, std::vector<std::string>{"control-plane"});
  EXPECT_EQ(o.nodes[0].nodegroup, "default-master");
  EXPECT_EQ(o.nodes[0].kubelet_version, "v1.32.4");
  EXPECT_TRUE(o.nodes[0].isReady());
  const auto* sick = o.node("prod-default-worker-1");
  ASSERT_NE(sick, nullptr);
  EXPECT_EQ(sick->ready, "False");
  EXPECT_EQ(sick->ready_reason, "KubeletNotReady");
  EXPECT_EQ(sick->ready_message, "container runtime network not ready");
  EXPECT_TRUE(sick->roles.empty());
  EXPECT_EQ(o.node("prod-default-worker-9"), nullptr);
  // Every request came with magnumd's certificate, nodes in pages.
  EXPECT_FALSE(api.anonymous_seen);
  EXPECT_EQ(api.seen, (std::vector<std::string>{"/version", "/readyz", "/api/v1/nodes?limit=500"}));
}

TEST_F(KubeClientTest, AnApiServerFromAnotherCaIsNotTrusted) {
  auto other = TestPki::make("kubernetes");
  auto o = observe({}, identity(other.ca.cert_pem, &me));
  EXPECT_FALSE(o.reachable);
  EXPECT_EQ(o.failure, ApiFailure::Tls);
  EXPECT_NE(o.error.find("certificate verify failed"), std::string::npos) << o.error;
  EXPECT_TRUE(api.seen.empty());
  EXPECT_FALSE(o.nodes_listed);
}

TEST_F(KubeClientTest, WithoutAClientCertificateTheApiRefusesUs) {
  auto o = observe({}, identity(pki.ca.cert_pem, nullptr));
  EXPECT_FALSE(o.reachable);
  EXPECT_EQ(o.failure, ApiFailure::Tls) << o.error;
  EXPECT_TRUE(api.seen.empty());
}

TEST_F(KubeClientTest, ASlowApiTimesOut) {
  api.replies["/version"].delay = 2s;
  auto o = observe();
  EXPECT_FALSE(o.reachable);
  EXPECT_EQ(o.failure, ApiFailure::Timeout);
  EXPECT_NE(o.error.find("timed out"), std::string::npos) << o.error;
}

TEST_F(KubeClientTest, NobodyListeningIsAConnectFailure) {
  uint16_t port;
  {
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto o = observe({}, nullptr, fmt::format("https://127.0.0.1:{}", port));
  EXPECT_FALSE(o.reachable);
  EXPECT_EQ(o.failure, ApiFailure::Connect);
  EXPECT_NE(o.error.find("connecting to"), std::string::npos) << o.error;
}

TEST_F(KubeClientTest, AnOversizedNodeListIsRefusedNotBuffered) {
  KubeClientOptions small;
  small.max_nodes_response_bytes = 1024;
  auto o = observe(small);
  EXPECT_TRUE(o.reachable);
  EXPECT_FALSE(o.nodes_listed);
  EXPECT_EQ(o.failure, ApiFailure::TooLarge);
  EXPECT_NE(o.error.find("exceeds 1024 bytes"), std::string::npos) << o.error;

  api.replies["/version"].body =
      R"({"gitVersion":"v1.32.4","padding":")" + std::string(70000, 'x') + "\"}";
  auto big_version = observe();
  EXPECT_FALSE(big_version.reachable);
  EXPECT_EQ(big_version.failure, ApiFailure::TooLarge);
}

TEST_F(KubeClientTest, HttpErrorsSayWhatTheApiSaid) {
  api.replies["/api/v1/nodes"] = {
      403,
      R"({"kind":"Status","status":"Failure","message":"nodes is forbidden: User \"magnumd\" cannot list resource \"nodes\"","reason":"Forbidden","code":403})"};
  auto o = observe();
  EXPECT_TRUE(o.reachable);
  EXPECT_FALSE(o.nodes_listed);
  EXPECT_EQ(o.failure, ApiFailure::HttpStatus);
  EXPECT_EQ(
      o.error,
      R"(GET /api/v1/nodes: HTTP 403: nodes is forbidden: User "magnumd" cannot list resource "nodes")");

  api.replies["/version"] = {401, R"({"kind":"Status","message":"Unauthorized","code":401})"};
  auto refused = observe();
  EXPECT_FALSE(refused.reachable);
  EXPECT_EQ(refused.failure, ApiFailure::HttpStatus);
  EXPECT_EQ(refused.error, "GET /version: HTTP 401: Unauthorized");
}

TEST_F(KubeClientTest, AFailingReadyzIsNotReadyAndOldServersUseHealthz) {
  api.replies["/readyz"] = {500, "[-]etcd failed: reason withheld\nreadyz check failed\n",
                            "text/plain"};
  auto o = observe();
  EXPECT_TRUE(o.reachable);
  EXPECT_FALSE(o.ready);
  EXPECT_EQ(o.readiness_error, "HTTP 500: [-]etcd failed: reason withheld; readyz check failed");
  EXPECT_TRUE(o.nodes_listed);  // nodes are still worth knowing

  api.replies.erase("/readyz");
  api.replies["/healthz"] = {200, "ok", "text/plain"};
  auto old = observe();
  EXPECT_TRUE(old.ready) << old.readiness_error;
}

TEST_F(KubeClientTest, FollowsContinueTokensWithinABound) {
  api.replies["/api/v1/nodes?limit=2"] = {
      200, fmt::format(R"({{"metadata":{{"continue":"abc+/="}},"items":[{},{}]}})",
                       nodeJson("n-0", "True", "", "g"), nodeJson("n-1", "True", "", "g"))};
  api.replies["/api/v1/nodes?limit=2&continue=abc%2B%2F%3D"] = {
      200, fmt::format(R"({{"metadata":{{}},"items":[{}]}})", nodeJson("n-2", "False", "", "g"))};
  KubeClientOptions paged;
  paged.nodes_page_size = 2;
  auto o = observe(paged);
  ASSERT_TRUE(o.nodes_listed) << o.error;
  ASSERT_EQ(o.nodes.size(), 3u);
  EXPECT_EQ(o.nodes[2].name, "n-2");

  // A server that never stops paging is cut off.
  api.replies["/api/v1/nodes?limit=2&continue=abc%2B%2F%3D"] = api.replies["/api/v1/nodes?limit=2"];
  paged.max_node_pages = 3;
  auto endless = observe(paged);
  EXPECT_FALSE(endless.nodes_listed);
  EXPECT_EQ(endless.failure, ApiFailure::TooLarge);
}

TEST_F(KubeClientTest, ADrainStepCordonsAndEvictsWhatKubectlDrainWould) {
  const std::string node = "prod-default-worker-1";
  api.replies["/api/v1/nodes/" + node] = {200, nodeJson(node, "False", "", "default-worker")};
  api.replies["/api/v1/pods"] = {
      200,
      R"({"kind":"PodList","metadata":{},"items":[)"
      R"({"metadata":{"name":"web-1","namespace":"default"},"status":{"phase":"Running"}},)"
      R"({"metadata":{"name":"db-0","namespace":"data"},"status":{"phase":"Running"}},)"
      R"({"metadata":{"name":"gone","namespace":"default"},"status":{"phase":"Running"}},)"
      R"({"metadata":{"name":"kube-proxy-x","namespace":"kube-system","ownerReferences":[{"kind":"DaemonSet","name":"kube-proxy"}]}},)"
      R"({"metadata":{"name":"etcd-x","namespace":"kube-system","annotations":{"kubernetes.io/config.mirror":"abc"}}},)"
      R"({"metadata":{"name":"job-1","namespace":"default"},"status":{"phase":"Succeeded"}},)"
      R"({"metadata":{"name":"old","namespace":"default","deletionTimestamp":"2026-12-07T00:00:00Z"}}]})"};
  api.replies["/api/v1/namespaces/default/pods/web-1/eviction"] = {201, R"({"kind":"Status"})"};
  api.replies["/api/v1/namespaces/data/pods/db-0/eviction"] = {
      429, R"({"kind":"Status","message":"Cannot evict pod as it would violate the pod's disruption budget."})"};
  KubeClient client(*http);
  auto step = runTask(io, client.drainStep(server->url(), identity(pki.ca.cert_pem, &me), node));
  ASSERT_TRUE(step.ok()) << step.error().message;
  EXPECT_TRUE(step->node_found);
  // web-1 evicted (still leaving), db-0 refused by its budget, old terminating; gone was gone.
  EXPECT_EQ(step->pods_left, 3);
  EXPECT_EQ(step->evictions_refused, 1);
  std::vector<std::string> expected = {
      "/api/v1/nodes/" + node,
      "/api/v1/pods?fieldSelector=spec.nodeName%3D" + node + "&limit=500",
      "/api/v1/namespaces/default/pods/web-1/eviction",
      "/api/v1/namespaces/data/pods/db-0/eviction",
      "/api/v1/namespaces/default/pods/gone/eviction"};
  EXPECT_EQ(api.seen, expected);

  // No such node: nothing to drain. Deleting it is done either way.
  KubeClient again(*http);
  auto missing =
      runTask(io, again.drainStep(server->url(), identity(pki.ca.cert_pem, &me), "nobody"));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->node_found);
  EXPECT_TRUE(
      runTask(io, again.deleteNode(server->url(), identity(pki.ca.cert_pem, &me), node)).ok());
  EXPECT_TRUE(
      runTask(io, again.deleteNode(server->url(), identity(pki.ca.cert_pem, &me), "nobody")).ok());
  api.replies["/api/v1/nodes/" + node] = {403, R"({"kind":"Status","message":"forbidden"})"};
  auto refused =
      runTask(io, again.deleteNode(server->url(), identity(pki.ca.cert_pem, &me), node));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "deleting node prod-default-worker-1: HTTP 403: forbidden");
}

TEST(KubeParsers, ReadyTransitionTimeAndCordonAreRead) {
  auto page = parseNodeList(
      R"({"items":[{"metadata":{"name":"a"},"spec":{"unschedulable":true},"status":{"conditions":[)"
      R"({"type":"Ready","status":"False","lastTransitionTime":"2026-12-07T10:00:00Z"}]}}]})");
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->nodes.size(), 1u);
  EXPECT_EQ(page->nodes[0].ready_since, "2026-12-07T10:00:00Z");
  EXPECT_TRUE(page->nodes[0].unschedulable);
}

TEST(KubeParsers, MalformedBodiesAreErrorsAndMessagesAreBounded) {
  EXPECT_FALSE(parseVersion("not json").ok());
  EXPECT_FALSE(parseVersion(R"({"major":"1"})").ok());
  EXPECT_EQ(*parseVersion(R"({"gitVersion":"v1.30.1"})"), "v1.30.1");
  EXPECT_FALSE(parseNodeList(R"({"kind":"NodeList"})").ok());
  EXPECT_FALSE(parseNodeList("[]").ok());
  auto empty = parseNodeList(R"({"items":null})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->nodes.empty());

  // A node without a Ready condition is Unknown; a long message is cut.
  auto page = parseNodeList(
      R"({"items":[{"metadata":{"name":"a"}},)"
      R"({"metadata":{"name":"b"},"status":{"conditions":[{"type":"Ready","status":"Maybe","message":")" +
          std::string(1000, 'm') + R"("}]}}]})",
      100);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->nodes.size(), 2u);
  EXPECT_EQ(page->nodes[0].ready, "Unknown");
  EXPECT_EQ(page->nodes[1].ready, "Unknown");
  EXPECT_EQ(page->nodes[1].ready_message.size(), 103u);

  EXPECT_EQ(describeHttpError(502, ""), "HTTP 502");
  EXPECT_EQ(describeHttpError(500, "boom\n"), "HTTP 500: boom");
}

TEST(KubeconfigCaTest, ReplacesEveryClustersCaAndKeepsTheRest) {
  const std::string kubeconfig =
      "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: "
      "T0xE\n    server: https://203.0.113.7:6443\n  name: \"\"\ncontexts: null\n";
  auto replaced = replaceKubeconfigCa(kubeconfig, "NEW PEM\n");
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_NE(replaced->find("certificate-authority-data: TkVXIFBFTQo="), std::string::npos)
      << *replaced;
  EXPECT_EQ(replaced->find("T0xE"), std::string::npos) << *replaced;
  EXPECT_NE(replaced->find("server: https://203.0.113.7:6443"), std::string::npos) << *replaced;
  for (std::string_view bad : {"clusters: [", "kind: Config\n", "clusters:\n- name: x\n"}) {
    auto refused = replaceKubeconfigCa(bad, "PEM");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("cluster-info"), std::string::npos);
  }
}

TEST_F(KubeClientTest, ClusterInfoIsReadThenMergePatched) {
  const std::string path = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
  api.replies[path] = {
      200,
      R"({"kind":"ConfigMap","metadata":{"name":"cluster-info"},"data":{"kubeconfig":)"
      R"("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: T0xE\n)"
      R"(    server: https://203.0.113.7:6443\n  name: \"\"\n","jws-kubeconfig-abcdef":"x"}})"};
  KubeClient client(*http);
  auto written = runTask(io, client.setClusterInfoCa(server->url(), identity(pki.ca.cert_pem, &me),
                                                     "NEW PEM\n"));
  ASSERT_TRUE(written.ok()) << written.error().message;
  std::lock_guard lock(api.mutex);
  EXPECT_EQ(std::count(api.seen.begin(), api.seen.end(), path), 2) << "a GET then a PATCH";
}

TEST_F(KubeClientTest, AMissingClusterInfoIsNamed) {
  KubeClient client(*http);
  auto written = runTask(io, client.setClusterInfoCa(server->url(), identity(pki.ca.cert_pem, &me),
                                                     "NEW PEM\n"));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("cluster-info"), std::string::npos)
      << written.error().message;
}

}  // namespace
}  // namespace magnumd::drivers::kube
