// Join tokens with a lifetime, as a kubeadm cluster keeps them: kubeadm init's
// kube-system/bootstrap-token-<id> Secret expires after the InitConfiguration's ttl, the token
// cleaner removes it, and a join needs a valid one at the moment the server boots. A client keeps
// the token alive by rewriting the Secret (PUT, or POST once it is gone), as magnumd does. The
// fake clock moves time; workers are added by a stack update, so each boots when the test says.
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
  master: {type: string}
  worker: {type: string}
  workers: {type: number, default: 1}
resources:
  master:
    type: OS::Nova::Server
    properties: {name: prod-master-0, flavor: m1.small, image: ubuntu, user_data: {get_param: master}, user_data_format: RAW}
  workers:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: workers}
      resource_def:
        type: OS::Nova::Server
        properties: {name: prod-node-%index%, flavor: m1.small, image: ubuntu, user_data: {get_param: worker}, user_data_format: RAW}
)";

constexpr const char* kSecrets = "/api/v1/namespaces/kube-system/secrets";
constexpr const char* kSecret = "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef";

std::string b64(const std::string& s) { return base64(s); }

// What magnumd's KubeClient writes (drivers/kube bootstrapTokenSecretJson).
std::string tokenSecret(SystemTime expires, const std::string& secret = "0123456789abcdef") {
  return fmt::format(
      R"({{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"bootstrap-token-abcdef",)"
      R"("namespace":"kube-system"}},"type":"bootstrap.kubernetes.io/token","data":{{)"
      R"("token-id":"{}","token-secret":"{}","expiration":"{}",)"
      R"("usage-bootstrap-authentication":"{}","usage-bootstrap-signing":"{}",)"
      R"("auth-extra-groups":"{}"}}}})",
      b64("abcdef"), b64(secret), b64(util::formatRfc3339(expires)), b64("true"), b64("true"),
      b64("system:bootstrappers:kubeadm:default-node-token"));
}

class KubeTokensTest : public SimTest {
 protected:
  static void SetUpTestSuite() {
    ca_ = new pki::CertificateAuthority(pki::makeCertificateAuthority("kubernetes").value());
  }
  static void TearDownTestSuite() { delete ca_; }

  void SetUp() override {
    sim.kube().setListenerHost(&listeners);
    token = login();
  }

  // The master inits with a token valid for `ttl`; one worker joins at once.
  void createCluster(const std::string& ttl = "1m0s") {
    std::string master = initUserData(*ca_, kToken);
    master.replace(master.find("ttl: 24h0m0s"), 12, "ttl: " + ttl);
    std::string worker = joinUserData(kToken, pki::caCertHash(ca_->cert_pem).value());
    Reply r = call("POST", heat() + "/stacks",
                   R"({"stack_name":"prod","template":)" + quote(kTemplate) +
                       R"(,"parameters":{"master":)" + quote(master) + R"(,"worker":)" +
                       quote(worker) + "}}",
                   token);
    ASSERT_EQ(r.status, 201) << r.body;
    stack_id = str(r.json["stack"]["id"]);
    tick(2s);
    ASSERT_NE(sim.kube().byStackId(stack_id), nullptr);
    started = clock.now();
    ASSERT_TRUE(hasNode("prod-node-0"));
  }

  // A stack update to `count` workers; the new ones boot (and join, or not) now.
  void scaleTo(int count) {
    Reply r = call("PATCH", heat() + "/stacks/prod/" + stack_id,
                   fmt::format(R"({{"parameters":{{"workers":{}}}}})", count), token);
    ASSERT_EQ(r.status, 202) << r.body;
    tick(2s);
  }

  bool hasNode(const std::string& name) {
    KubeCluster* c = sim.kube().byStackId(stack_id);
    return c != nullptr && c->nodes.count(name) == 1;
  }

  // The reasons /sim/v1/clusters gives for the joins the cluster refused.
  std::vector<std::string> refusals() {
    Reply r = call("GET", "/sim/v1/clusters");
    std::vector<std::string> out;
    for (const auto& c : r.json["clusters"].GetArray()) {
      if (str(c["stack_id"]) != stack_id) continue;
      for (const auto& refusal : c["join_refusals"].GetArray())
        out.push_back(str(refusal["server"]) + ": " + str(refusal["reason"]));
    }
    return out;
  }

  // The tokens /sim/v1/clusters shows: "id expiration".
  std::vector<std::string> simTokens() {
    Reply r = call("GET", "/sim/v1/clusters");
    std::vector<std::string> out;
    for (const auto& c : r.json["clusters"].GetArray()) {
      if (str(c["stack_id"]) != stack_id) continue;
      for (const auto& t : c["bootstrap_tokens"].GetArray())
        out.push_back(str(t["id"]) + " " + str(t["expiration"]));
    }
    return out;
  }

  net::Response kube(const std::string& method, const std::string& target,
                     const std::string& body = "", bool authenticated = true) {
    net::Request req{net::http::string_to_verb(method), target, 11};
    if (!body.empty()) req.set(net::http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    KubeCluster* c = sim.kube().byStackId(stack_id);
    EXPECT_NE(c, nullptr);
    if (c == nullptr) return net::Response{net::http::status::service_unavailable, 11};
    return handleKubeApi(sim.kube(), *c, req, authenticated, clock.now());
  }

  static util::JsonDoc json(const net::Response& r) {
    auto doc = util::parseJson(r.body());
    EXPECT_TRUE(doc.ok()) << r.body();
    return doc.ok() ? std::move(*doc) : util::JsonDoc();
  }

  static pki::CertificateAuthority* ca_;
  FakeListeners listeners;
  std::string token, stack_id;
  SystemTime started;
};
pki::CertificateAuthority* KubeTokensTest::ca_ = nullptr;

TEST_F(KubeTokensTest, KubeadmInitWritesTheTokenSecretWithItsTtl) {
  createCluster();
  net::Response got = kube("GET", kSecret);
  ASSERT_EQ(got.result_int(), 200) << got.body();
  auto s = json(got);
  EXPECT_EQ(str(s["type"]), "bootstrap.kubernetes.io/token");
  EXPECT_EQ(str(s["metadata"]["namespace"]), "kube-system");
  EXPECT_FALSE(str(s["metadata"]["uid"]).empty());
  EXPECT_EQ(str(s["data"]["token-id"]), b64("abcdef"));
  EXPECT_EQ(str(s["data"]["token-secret"]), b64("0123456789abcdef"));
  EXPECT_EQ(str(s["data"]["expiration"]), b64(util::formatRfc3339(started + 1min)));
  EXPECT_EQ(str(s["data"]["usage-bootstrap-authentication"]), b64("true"));
  EXPECT_EQ(str(s["data"]["usage-bootstrap-signing"]), b64("true"));
  EXPECT_EQ(str(s["data"]["auth-extra-groups"]),
            b64("system:bootstrappers:kubeadm:default-node-token"));
  EXPECT_EQ(simTokens(),
            (std::vector<std::string>{"abcdef " + util::formatRfc3339(started + 1min)}));

  auto list = json(kube("GET", kSecrets));
  EXPECT_EQ(str(list["kind"]), "SecretList");
  ASSERT_EQ(list["items"].Size(), 1u);
  EXPECT_EQ(str(list["items"][0]["metadata"]["name"]), "bootstrap-token-abcdef");
  EXPECT_EQ(json(kube("GET", "/api/v1/namespaces/default/secrets"))["items"].Size(), 0u);
  EXPECT_EQ(kube("GET", kSecret, "", false).result_int(), 401);
}

TEST_F(KubeTokensTest, AJoinAfterTheTokenExpiredIsRefusedAndSaysWhy) {
  createCluster();
  tick(59s);
  scaleTo(2);  // boots 61 s after init
  EXPECT_FALSE(hasNode("prod-node-1"));
  auto why = refusals();
  ASSERT_EQ(why.size(), 1u);
  EXPECT_NE(why[0].find("prod-node-1: "), std::string::npos) << why[0];
  EXPECT_NE(why[0].find("bootstrap token abcdef expired at " + util::formatRfc3339(started + 1min)),
            std::string::npos)
      << why[0];
  EXPECT_EQ(why[0].find("0123456789abcdef"), std::string::npos) << "never the token's secret";
  // The token cleaner deleted it.
  EXPECT_EQ(kube("GET", kSecret).result_int(), 404);
  EXPECT_TRUE(simTokens().empty());
  EXPECT_TRUE(hasNode("prod-node-0")) << "a node that joined stays";
}

TEST_F(KubeTokensTest, APutThatMovesTheExpirationForwardLetsALaterJoinIn) {
  createCluster();
  tick(30s);
  auto before = json(kube("GET", kSecret));
  net::Response put = kube("PUT", kSecret, tokenSecret(clock.now() + 1min));
  ASSERT_EQ(put.result_int(), 200) << put.body();
  auto after = json(put);
  EXPECT_EQ(str(after["metadata"]["name"]), "bootstrap-token-abcdef");
  EXPECT_EQ(str(after["metadata"]["uid"]), str(before["metadata"]["uid"]));
  EXPECT_NE(str(after["metadata"]["resourceVersion"]), str(before["metadata"]["resourceVersion"]));
  EXPECT_EQ(str(after["data"]["expiration"]), b64(util::formatRfc3339(clock.now() + 1min)));

  tick(40s);  // past the expiration kubeadm init gave it
  scaleTo(2);
  EXPECT_TRUE(hasNode("prod-node-1")) << fmt::format("{}", fmt::join(refusals(), "; "));
  EXPECT_TRUE(refusals().empty());

  // A rewrite with a stale resourceVersion conflicts; one that names another token is invalid.
  std::string stale = tokenSecret(clock.now() + 1min);
  stale.replace(stale.find(R"("namespace")"), 0,
                R"("resourceVersion":)" + quote(str(before["metadata"]["resourceVersion"])) + ",");
  EXPECT_EQ(kube("PUT", kSecret, stale).result_int(), 409);
  net::Response other = kube("PUT", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-zzzzzz",
                             tokenSecret(clock.now() + 1min));
  EXPECT_EQ(other.result_int(), 404) << "PUT does not create: the client POSTs then";
}

TEST_F(KubeTokensTest, ASecretDeletedThenPostedAgainWorks) {
  createCluster();
  net::Response deleted = kube("DELETE", kSecret);
  ASSERT_EQ(deleted.result_int(), 200) << deleted.body();
  EXPECT_EQ(str(json(deleted)["status"]), "Success");
  EXPECT_EQ(kube("DELETE", kSecret).result_int(), 404);

  scaleTo(2);
  EXPECT_FALSE(hasNode("prod-node-1"));
  auto why = refusals();
  ASSERT_EQ(why.size(), 1u);
  EXPECT_NE(why[0].find("no Secret kube-system/bootstrap-token-abcdef"), std::string::npos)
      << why[0];

  net::Response posted = kube("POST", kSecrets, tokenSecret(clock.now() + 10min));
  ASSERT_EQ(posted.result_int(), 201) << posted.body();
  EXPECT_EQ(str(json(posted)["metadata"]["name"]), "bootstrap-token-abcdef");
  net::Response again = kube("POST", kSecrets, tokenSecret(clock.now() + 10min));
  EXPECT_EQ(again.result_int(), 409);
  EXPECT_EQ(str(json(again)["reason"]), "AlreadyExists");

  tick(2min);  // past the first expiration; within the new one
  scaleTo(3);
  EXPECT_TRUE(hasNode("prod-node-2"));
  EXPECT_FALSE(hasNode("prod-node-1")) << "kubeadm join ran once and failed";
}

TEST_F(KubeTokensTest, AMissingSecretIsNotFound) {
  createCluster();
  net::Response missing =
      kube("GET", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-zzzzzz");
  EXPECT_EQ(missing.result_int(), 404);
  auto status = json(missing);
  EXPECT_EQ(str(status["kind"]), "Status");
  EXPECT_EQ(str(status["reason"]), "NotFound");
  EXPECT_EQ(str(status["message"]), R"(secrets "bootstrap-token-zzzzzz" not found)");
  EXPECT_EQ(kube("GET", "/api/v1/namespaces/default/secrets/bootstrap-token-abcdef").result_int(),
            404);
}

TEST_F(KubeTokensTest, OnlyWellFormedBootstrapTokenSecretsAreKept) {
  createCluster();
  std::string opaque = tokenSecret(clock.now() + 1min);
  opaque.replace(opaque.find("bootstrap.kubernetes.io/token"), 29, "Opaque");
  net::Response refused = kube("POST", kSecrets, opaque);
  EXPECT_EQ(refused.result_int(), 422);
  EXPECT_NE(str(json(refused)["message"]).find("type"), std::string::npos);
  net::Response short_secret = kube("PUT", kSecret, tokenSecret(clock.now() + 1min, "tooshort"));
  EXPECT_EQ(short_secret.result_int(), 422);
  EXPECT_NE(str(json(short_secret)["message"]).find("data[token-secret]"), std::string::npos);
  // A dry run stores nothing.
  net::Response dry =
      kube("PUT", std::string(kSecret) + "?dryRun=All", tokenSecret(clock.now() + 10min));
  EXPECT_EQ(dry.result_int(), 200);
  EXPECT_EQ(str(json(kube("GET", kSecret))["data"]["expiration"]),
            b64(util::formatRfc3339(started + 1min)));
}

TEST_F(KubeTokensTest, ATtlOfZeroNeverExpires) {
  createCluster("0s");
  auto s = json(kube("GET", kSecret));
  EXPECT_FALSE(s["data"].HasMember("expiration"));
  tick(48h);
  token = login();  // Keystone's token expired meanwhile
  scaleTo(2);
  EXPECT_TRUE(hasNode("prod-node-1"));
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
