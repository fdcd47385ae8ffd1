// A cluster's credentials endpoints (/ca, /certificates, /kubeconfig): who may use them, what bad
// CSRs get back, what a kubeconfig holds, and that keys stay out of logs and caches.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <rapidjson/pointer.h>

#include <span>

#include "pki/certificate.h"
#include "pki/encoding.h"
#include "pki/key.h"
#include "server/credential_policy.h"
#include "tests/pki/pki_test_util.h"
#include "tests/server/api_fixture.h"
#include "util/yaml.h"

namespace magnumd::server::testing {
namespace {

using V = http::verb;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kApiAddress = "https://127.0.0.1:6443";
constexpr const char* kPem = "application/x-pem-file";

std::string decodeBase64(const std::string& text) {
  auto decoded = pki::base64Decode(text);
  EXPECT_TRUE(decoded.has_value()) << "not base64: " << text.substr(0, 40);
  return decoded.value_or("");
}

// A P-256 key and a CSR for it, as a user makes them with openssl req.
struct Request {
  pki::EvpPkeyPtr key;
  std::string csr;
};
Request csrFor(const std::string& common_name, const std::vector<std::string>& groups = {}) {
  Request r{pki::testing::makeEcKey("P-256"), ""};
  r.csr = pki::testing::makeCsrPem(*r.key, common_name, groups);
  return r;
}

std::string swarmTemplateJson(const std::string& ns, const std::string& name) {
  return fmt::format(
      R"({{"apiVersion":"container-infra/v1","kind":"ClusterTemplate","metadata":{{"name":"{}","namespace":"{}"}},)"
      R"("spec":{{"coe":"swarm","image":"fedora-atomic","keypair":"demo-key","externalNetwork":"public",)"
      R"("networkDriver":"docker"}}}})",
      name, ns);
}

class CredentialsTest : public ApiTest {
 protected:
  static std::string path(const std::string& ns, const std::string& name, const std::string& sub) {
    return fmt::format("{}/namespaces/{}/clusters/{}/{}", kBase, ns, name, sub);
  }

  // A cluster whose PKI exists (as the reconciler makes it) and whose API is up at kApiAddress.
  api::Object makeCluster(const std::string& ns, const std::string& name, bool with_pki = true,
                          const std::string& api_address = kApiAddress,
                          const std::string& coe = "kubernetes") {
    std::string tmpl = coe + "-tmpl";
    auto made = coe == "kubernetes"
                    ? createTemplate(ns, tmpl)
                    : call(V::post, fmt::format("{}/namespaces/{}/clustertemplates", kBase, ns),
                           swarmTemplateJson(ns, tmpl));
    EXPECT_TRUE(made.code == 201u || made.code == 409u) << made.body;
    auto created = createCluster(ns, name, tmpl);
    EXPECT_EQ(created.code, 201u) << created.body;
    std::string status =
        fmt::format(R"({{"status":{{"phase":"{}","apiAddress":"{}"}}}})",
                    api_address.empty() ? "CREATE_IN_PROGRESS" : "CREATE_COMPLETE", api_address);
    auto patched =
        call(V::patch, fmt::format("{}/namespaces/{}/clusters/{}/status", kBase, ns, name), status,
             kAdmin, "application/merge-patch+json");
    EXPECT_EQ(patched.code, 200u) << patched.body;
    auto cluster = store_->get({api::Kind::Cluster, ns, name});
    EXPECT_TRUE(cluster.ok());
    if (with_pki) EXPECT_TRUE(secrets_->ensure(*cluster).ok());
    return *cluster;
  }

  pki::CertificateAuthority clusterCa(const api::Object& cluster) {
    auto loaded = secrets_->load(cluster);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    return loaded.ok() ? loaded->pki.cluster_ca : pki::CertificateAuthority{};
  }

  Reply sign(const std::string& ns, const std::string& name, const std::string& csr,
             const std::string& token, const std::string& accept = {},
             const std::string& query = {}) {
    return call(V::post, path(ns, name, "certificates") + query, csr, token, kPem, accept);
  }

  static void expectClientCertificate(const std::string& cert, const std::string& ca_pem,
                                      const std::string& subject) {
    auto now = std::chrono::system_clock::now();
    auto verified = pki::verifyChain(cert, ca_pem, now, pki::ExtendedKeyUsage::ClientAuth);
    EXPECT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_FALSE(pki::verifyChain(cert, ca_pem, now, pki::ExtendedKeyUsage::ServerAuth).ok());
    auto info = pki::inspectCertificate(cert);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->subject, subject);
    EXPECT_FALSE(info->is_ca);
  }
};

// --- /ca ---------------------------------------------------------------------------------

TEST_F(CredentialsTest, CaIsServedToEveryoneWhoMayReadTheCluster) {
  auto cluster = makeCluster("team-a", "prod");
  std::string ca_pem = clusterCa(cluster).cert_pem;
  for (const char* token : {kAdmin, kAdminA, kMemberA, kReaderAll}) {
    auto ca = call(V::get, path("team-a", "prod", "ca"), "", token);
    EXPECT_EQ(ca.code, 200u) << token << ": " << ca.body;
    EXPECT_EQ(ca.content_type, kPem);
    EXPECT_EQ(ca.body, ca_pem);
  }
  makeCluster("team-b", "theirs");
  auto other = call(V::get, path("team-b", "theirs", "ca"), "", kMemberA);
  EXPECT_EQ(other.code, 403u);
  EXPECT_THAT(other.str("/message"),
              HasSubstr(R"(User "alice" cannot get resource "clusters/ca")"));
  EXPECT_EQ(call(V::get, path("team-a", "prod", "ca"), "", "").code, 401u);
  EXPECT_EQ(call(V::post, path("team-a", "prod", "ca"), "x", kAdmin).code, 405u);
}

TEST_F(CredentialsTest, CaAsJsonCarriesTheFingerprintAndOtherCasOnRequest) {
  auto cluster = makeCluster("team-a", "prod");
  auto secrets = secrets_->load(cluster);
  ASSERT_TRUE(secrets.ok());
  auto json = call(V::get, path("team-a", "prod", "ca"), "", kReaderAll, "application/json",
                   "application/json");
  ASSERT_EQ(json.code, 200u) << json.body;
  EXPECT_EQ(json.str("/pem"), secrets->pki.cluster_ca.cert_pem);
  EXPECT_EQ(json.str("/clusterUid"), cluster.metadata.uid);
  EXPECT_EQ(json.str("/type"), "kubernetes");
  EXPECT_EQ(json.str("/sha256Fingerprint"),
            pki::inspectCertificate(secrets->pki.cluster_ca.cert_pem)->sha256_fingerprint);
  EXPECT_EQ(call(V::get, path("team-a", "prod", "ca") + "?type=etcd", "", kReaderAll).body,
            secrets->pki.etcd_ca.cert_pem);
  EXPECT_EQ(call(V::get, path("team-a", "prod", "ca") + "?type=front-proxy", "", kReaderAll).body,
            secrets->pki.front_proxy_ca.cert_pem);
  auto bad = call(V::get, path("team-a", "prod", "ca") + "?type=kubelet", "", kReaderAll);
  EXPECT_EQ(bad.code, 400u);
  EXPECT_THAT(bad.str("/message"), HasSubstr("not one of kubernetes, etcd, front-proxy"));
  auto html =
      call(V::get, path("team-a", "prod", "ca"), "", kReaderAll, "application/json", "text/html");
  EXPECT_EQ(html.code, 406u);
  EXPECT_EQ(html.reason(), "NotAcceptable");
}

TEST_F(CredentialsTest, MissingClusterOrMissingPkiIsNamed) {
  auto none = call(V::get, path("team-a", "nope", "ca"), "", kAdmin);
  EXPECT_EQ(none.code, 404u);
  EXPECT_EQ(none.str("/message"), R"(clusters "nope" not found)");
  EXPECT_EQ(sign("team-a", "nope", csrFor("root").csr, kAdmin).code, 404u);
  EXPECT_EQ(call(V::get, path("team-a", "nope", "kubeconfig"), "", kAdmin).code, 404u);

  // The reconciler has not generated this cluster's CA yet.
  makeCluster("team-a", "young", /*with_pki=*/false);
  for (const auto& reply : {call(V::get, path("team-a", "young", "ca"), "", kAdmin),
                            sign("team-a", "young", csrFor("root").csr, kAdmin),
                            call(V::get, path("team-a", "young", "kubeconfig"), "", kAdmin)}) {
    EXPECT_EQ(reply.code, 409u) << reply.body;
    EXPECT_EQ(reply.reason(), "Conflict");
    EXPECT_EQ(reply.str("/message"),
              R"(clusters "young" has no certificate authority yet (phase CREATE_COMPLETE): )"
              "magnumd creates it when it first reconciles the cluster; retry in a moment");
  }
}

TEST_F(CredentialsTest, WithoutClusterSecretsTheEndpointsAreUnavailable) {
  stop();
  with_secrets_ = false;
  start(WatchOptions{});
  ASSERT_EQ(createTemplate("team-a", "k8s").code, 201u);
  ASSERT_EQ(createCluster("team-a", "prod", "k8s").code, 201u);
  for (const auto& reply : {call(V::get, path("team-a", "prod", "ca"), "", kAdmin),
                            sign("team-a", "prod", csrFor("root").csr, kAdmin),
                            call(V::get, path("team-a", "prod", "kubeconfig"), "", kAdmin)}) {
    EXPECT_EQ(reply.code, 503u) << reply.body;
    EXPECT_THAT(reply.str("/message"), HasSubstr("--encryption-key-file"));
  }
}

TEST_F(CredentialsTest, SubresourcesExistOnlyOnClusters) {
  ASSERT_EQ(createTemplate("team-a", "k8s").code, 201u);
  EXPECT_EQ(call(V::get, fmt::format("{}/namespaces/team-a/clustertemplates/k8s/ca", kBase)).code,
            404u);
  EXPECT_EQ(call(V::get, fmt::format("{}/namespaces/team-a/clusters/prod/secrets", kBase)).code,
            404u);
}

// --- /certificates ----------------------------------------------------------------------------

TEST_F(CredentialsTest, SigningNeedsWriteAccessToTheCluster) {
  auto cluster = makeCluster("team-a", "prod");
  makeCluster("team-b", "theirs");
  auto reader = sign("team-a", "prod", csrFor("rita").csr, kReaderAll);
  EXPECT_EQ(reader.code, 403u);
  EXPECT_THAT(reader.str("/message"),
              HasSubstr(R"(User "rita" cannot create resource "clusters/certificates")"));
  EXPECT_THAT(reader.str("/message"), HasSubstr("read-only"));
  auto elsewhere = sign("team-b", "theirs", csrFor("alice").csr, kMemberA);
  EXPECT_EQ(elsewhere.code, 403u);
  EXPECT_THAT(elsewhere.str("/message"), HasSubstr(R"(limited to namespace "team-a")"));
  EXPECT_EQ(call(V::get, path("team-a", "prod", "certificates"), "", kAdmin).code, 405u);

  auto member = sign("team-a", "prod", csrFor("alice").csr, kMemberA);
  ASSERT_EQ(member.code, 201u) << member.body;
  EXPECT_EQ(member.content_type, kPem);
  EXPECT_EQ(member.cache_control, "no-store");
  expectClientCertificate(member.body, clusterCa(cluster).cert_pem, "CN=alice");
}

TEST_F(CredentialsTest, AMemberHasCertificatesSignedOnlyForItself) {
  auto cluster = makeCluster("team-a", "prod");
  auto own_group = sign("team-a", "prod", csrFor("alice", {"magnumd:members"}).csr, kMemberA);
  ASSERT_EQ(own_group.code, 201u) << own_group.body;
  expectClientCertificate(own_group.body, clusterCa(cluster).cert_pem,
                          "CN=alice,O=magnumd:members");

  auto masters = sign("team-a", "prod", csrFor("alice", {"system:masters"}).csr, kMemberA);
  EXPECT_EQ(masters.code, 403u);
  EXPECT_EQ(masters.reason(), "Forbidden");
  EXPECT_EQ(masters.str("/message"),
            "CSR: O=system:masters (unrestricted cluster-admin) is signed only for "
            "administrators; your role is member");
  auto someone_else = sign("team-a", "prod", csrFor("ops").csr, kMemberA);
  EXPECT_EQ(someone_else.code, 403u);
  EXPECT_EQ(someone_else.str("/message"),
            "CSR: CN=ops is not your user name; a member may have certificates signed only for "
            "itself (CN=alice); an admin may sign any subject");
  auto other_group = sign("team-a", "prod", csrFor("alice", {"ops-team"}).csr, kMemberA);
  EXPECT_EQ(other_group.code, 403u);
  EXPECT_THAT(other_group.str("/message"), HasSubstr("O=ops-team is not a group of yours"));
  EXPECT_THAT(other_group.str("/message"), HasSubstr("(magnumd:members)"));
}

TEST_F(CredentialsTest, AnAdminMaySignAnySubjectIncludingSystemMasters) {
  auto cluster = makeCluster("team-a", "prod");
  auto seed_csr = csrFor("admin", {"system:masters"});  // the seed's RBAC example
  for (const char* token : {kAdmin, kAdminA}) {
    auto signed_cert = sign("team-a", "prod", seed_csr.csr, token);
    ASSERT_EQ(signed_cert.code, 201u) << signed_cert.body;
    expectClientCertificate(signed_cert.body, clusterCa(cluster).cert_pem,
                            "CN=admin,O=system:masters");
    // The certificate is for the CSR's key, not one of magnumd's.
    auto x509 = pki::parseCertificatePem(signed_cert.body);
    ASSERT_TRUE(x509.ok());
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(x509->get()), seed_csr.key.get()), 1);
  }
}

TEST_F(CredentialsTest, BadCsrsAreRefusedNamingWhatIsWrong) {
  makeCluster("team-a", "prod");
  auto garbage = sign("team-a", "prod", "hello, please sign me", kAdmin);
  EXPECT_EQ(garbage.code, 400u);
  EXPECT_EQ(garbage.reason(), "BadRequest");
  EXPECT_EQ(garbage.str("/message"), "CSR: not PEM (expected -----BEGIN CERTIFICATE REQUEST-----)");

  auto not_a_csr = sign(
      "team-a", "prod",
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", kAdmin);
  EXPECT_EQ(not_a_csr.code, 400u);
  EXPECT_THAT(not_a_csr.str("/message"), HasSubstr("not a PEM PKCS#10 certificate request"));

  std::string huge = csrFor("root").csr + std::string(20000, '#');
  auto oversized = sign("team-a", "prod", huge, kAdmin);
  EXPECT_EQ(oversized.code, 400u);
  EXPECT_THAT(oversized.str("/message"), HasSubstr("bytes; at most 16384 are accepted"));

  auto weak_key = pki::testing::makeRsaKey(1024);
  auto weak = sign("team-a", "prod", pki::testing::makeCsrPem(*weak_key, "root"), kAdmin);
  EXPECT_EQ(weak.code, 422u);
  EXPECT_EQ(weak.reason(), "Invalid");
  EXPECT_EQ(weak.str("/message"), "CSR: RSA key of 1024 bits; at least 2048 are required");

  auto p521 = pki::testing::makeEcKey("P-521");
  auto wrong_algorithm = sign("team-a", "prod", pki::testing::makeCsrPem(*p521, "root"), kAdmin);
  EXPECT_EQ(wrong_algorithm.code, 422u) << wrong_algorithm.body;
  EXPECT_EQ(
      wrong_algorithm.str("/message"),
      "CSR: ECDSA P-521 key; accepted are ECDSA P-256, ECDSA P-384, or RSA of 2048-8192 bits");

  auto signer = pki::testing::makeEcKey("P-256");
  auto forged_key = pki::testing::makeEcKey("P-256");
  auto forged = sign("team-a", "prod",
                     pki::testing::makeCsrPem(*forged_key, "root", {}, signer.get()), kAdmin);
  EXPECT_EQ(forged.code, 422u);
  EXPECT_EQ(forged.str("/message"), "CSR: signature does not verify");

  auto no_cn = sign("team-a", "prod", csrFor("").csr, kAdmin);
  EXPECT_EQ(no_cn.code, 422u);
  EXPECT_THAT(no_cn.str("/message"), HasSubstr("exactly one non-empty CN"));
}

TEST_F(CredentialsTest, JsonBodiesAndValidity) {
  auto cluster = makeCluster("team-a", "prod");
  util::JsonDoc body;
  body.SetObject();
  std::string csr = csrFor("root").csr;
  body.AddMember("csr", util::str(csr, body.GetAllocator()), body.GetAllocator());
  body.AddMember("expirationSeconds", 3600, body.GetAllocator());
  auto before = std::chrono::system_clock::now();
  auto json = call(V::post, path("team-a", "prod", "certificates"), util::toJson(body), kAdmin,
                   "application/json", "application/json");
  ASSERT_EQ(json.code, 201u) << json.body;
  EXPECT_EQ(json.cache_control, "no-store");
  EXPECT_EQ(json.str("/subject"), "CN=root");
  EXPECT_EQ(json.str("/clusterUid"), cluster.metadata.uid);
  auto info = pki::inspectCertificate(json.str("/pem"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(json.str("/serial"), info->serial);
  auto lifetime = info->not_after - before;
  EXPECT_GE(lifetime, std::chrono::minutes(59));
  EXPECT_LE(lifetime, std::chrono::minutes(61));

  // The default is a year, and a year is the most anyone gets.
  auto default_validity = sign("team-a", "prod", csr, kAdmin);
  ASSERT_EQ(default_validity.code, 201u);
  auto year = pki::inspectCertificate(default_validity.body)->not_after - before;
  EXPECT_GE(year, std::chrono::hours(8760) - std::chrono::minutes(1));
  EXPECT_LE(year, std::chrono::hours(8760) + std::chrono::minutes(1));
  auto too_long = sign("team-a", "prod", csr, kAdmin, "", "?expirationSeconds=31536001");
  EXPECT_EQ(too_long.code, 400u);
  EXPECT_EQ(too_long.str("/message"),
            "expirationSeconds: 31536001 is not between 600 (10 minutes) and 31536000 (one year)");
  EXPECT_EQ(sign("team-a", "prod", csr, kAdmin, "", "?expirationSeconds=60").code, 400u);
  EXPECT_EQ(sign("team-a", "prod", csr, kAdmin, "", "?expirationSeconds=soon").code, 400u);

  auto missing = call(V::post, path("team-a", "prod", "certificates"),
                      R"({"expirationSeconds":600})", kAdmin, "application/json");
  EXPECT_EQ(missing.code, 422u);
  EXPECT_THAT(missing.str("/message"), HasSubstr("csr: required"));
  auto unknown = call(V::post, path("team-a", "prod", "certificates"),
                      R"({"csr":"x","cluster_uuid":"y"})", kAdmin, "application/json");
  EXPECT_EQ(unknown.code, 400u);
  EXPECT_THAT(unknown.str("/message"), HasSubstr(R"(unknown field "cluster_uuid")"));
  auto yaml =
      call(V::post, path("team-a", "prod", "certificates"), "csr: x\n", kAdmin, "application/yaml");
  EXPECT_EQ(yaml.code, 415u);
}

// --- /kubeconfig ----------------------------------------------------------------------------

struct ParsedKubeconfig {
  util::JsonDoc doc;
  std::string at(const char* pointer) const {
    const util::Json* v = rapidjson::Pointer(pointer).Get(doc);
    return v != nullptr && v->IsString() ? v->GetString() : std::string();
  }
};

ParsedKubeconfig parseKubeconfig(const std::string& yaml) {
  auto docs = util::parseYamlDocuments(yaml);
  EXPECT_TRUE(docs.ok()) << yaml;
  ParsedKubeconfig out;
  if (docs.ok() && docs->size() == 1) out.doc = std::move(docs->front());
  return out;
}

TEST_F(CredentialsTest, KubeconfigForAnAdminIsClusterAdmin) {
  auto cluster = makeCluster("team-a", "prod");
  auto reply = call(V::get, path("team-a", "prod", "kubeconfig"), "", kAdmin);
  ASSERT_EQ(reply.code, 200u) << reply.body;
  EXPECT_EQ(reply.content_type, "application/yaml");
  EXPECT_EQ(reply.cache_control, "no-store");
  auto config = parseKubeconfig(reply.body);
  EXPECT_EQ(config.at("/apiVersion"), "v1");
  EXPECT_EQ(config.at("/kind"), "Config");
  EXPECT_EQ(config.at("/clusters/0/name"), "prod");
  EXPECT_EQ(config.at("/clusters/0/cluster/server"), kApiAddress);
  EXPECT_EQ(config.at("/contexts/0/name"), "default");
  EXPECT_EQ(config.at("/contexts/0/context/cluster"), "prod");
  EXPECT_EQ(config.at("/contexts/0/context/user"), "root");
  EXPECT_EQ(config.at("/current-context"), "default");
  EXPECT_EQ(config.at("/users/0/name"), "root");
  std::string ca_pem = decodeBase64(config.at("/clusters/0/cluster/certificate-authority-data"));
  EXPECT_EQ(ca_pem, clusterCa(cluster).cert_pem);
  std::string cert = decodeBase64(config.at("/users/0/user/client-certificate-data"));
  std::string key = decodeBase64(config.at("/users/0/user/client-key-data"));
  expectClientCertificate(cert, ca_pem, "CN=root,O=system:masters");
  // The key is the certificate's.
  auto parsed_key = pki::parsePrivateKeyPem(key);
  ASSERT_TRUE(parsed_key.ok()) << parsed_key.error().message;
  auto x509 = pki::parseCertificatePem(cert);
  ASSERT_TRUE(x509.ok());
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(x509->get()), parsed_key->get()), 1);
  // Each call issues a fresh key.
  auto again = parseKubeconfig(call(V::get, path("team-a", "prod", "kubeconfig"), "", kAdmin).body);
  EXPECT_NE(again.at("/users/0/user/client-key-data"), config.at("/users/0/user/client-key-data"));
}

TEST_F(CredentialsTest, KubeconfigForAMemberCarriesItsOwnNameAndTheMembersGroup) {
  auto cluster = makeCluster("team-a", "prod");
  auto reply =
      call(V::get, path("team-a", "prod", "kubeconfig") + "?expirationSeconds=7200", "", kMemberA);
  ASSERT_EQ(reply.code, 200u) << reply.body;
  auto config = parseKubeconfig(reply.body);
  EXPECT_EQ(config.at("/users/0/name"), "alice");
  std::string cert = decodeBase64(config.at("/users/0/user/client-certificate-data"));
  expectClientCertificate(cert, clusterCa(cluster).cert_pem, "CN=alice,O=magnumd:members");
  auto lifetime = pki::inspectCertificate(cert)->not_after - std::chrono::system_clock::now();
  EXPECT_LE(lifetime, std::chrono::hours(2));
  EXPECT_GE(lifetime, std::chrono::hours(2) - std::chrono::minutes(1));

  auto reader = call(V::get, path("team-a", "prod", "kubeconfig"), "", kReaderAll);
  EXPECT_EQ(reader.code, 403u);
  EXPECT_THAT(reader.str("/message"),
              HasSubstr(R"(User "rita" cannot create resource "clusters/kubeconfig")"));
  makeCluster("team-b", "theirs");
  EXPECT_EQ(call(V::get, path("team-b", "theirs", "kubeconfig"), "", kMemberA).code, 403u);
  EXPECT_EQ(call(V::post, path("team-a", "prod", "kubeconfig"), "{}", kAdmin).code, 405u);
}

TEST_F(CredentialsTest, KubeconfigAsJsonIsTheWholeBundle) {
  auto cluster = makeCluster("team-a", "prod");
  auto reply = call(V::get, path("team-a", "prod", "kubeconfig"), "", kMemberA, "application/json",
                    "application/json");
  ASSERT_EQ(reply.code, 200u) << reply.body;
  EXPECT_EQ(reply.cache_control, "no-store");
  EXPECT_EQ(reply.str("/coe"), "kubernetes");
  EXPECT_EQ(reply.str("/server"), kApiAddress);
  EXPECT_EQ(reply.str("/user"), "alice");
  EXPECT_EQ(reply.str("/groups"), R"(["magnumd:members"])");
  EXPECT_EQ(reply.str("/certificateAuthority"), clusterCa(cluster).cert_pem);
  expectClientCertificate(reply.str("/clientCertificate"), clusterCa(cluster).cert_pem,
                          "CN=alice,O=magnumd:members");
  auto config = parseKubeconfig(reply.str("/kubeconfig"));
  EXPECT_EQ(decodeBase64(config.at("/users/0/user/client-key-data")), reply.str("/clientKey"));
}

TEST_F(CredentialsTest, KubeconfigWaitsForTheApiAddressAndRefusesADeletingCluster) {
  makeCluster("team-a", "young", /*with_pki=*/true, /*api_address=*/"");
  auto early = call(V::get, path("team-a", "young", "kubeconfig"), "", kAdmin);
  EXPECT_EQ(early.code, 409u);
  EXPECT_EQ(early.str("/message"),
            R"(clusters "young" has no API address yet (phase CREATE_IN_PROGRESS); its )"
            "credentials are issued once its API is up");

  makeCluster("team-a", "going");
  ASSERT_EQ(
      call(V::patch, fmt::format("{}/namespaces/team-a/clusters/going", kBase),
           R"({"metadata":{"finalizers":["test/hold"]}})", kAdmin, "application/merge-patch+json")
          .code,
      200u);
  ASSERT_EQ(call(V::delete_, fmt::format("{}/namespaces/team-a/clusters/going", kBase)).code, 200u);
  for (const auto& reply : {call(V::get, path("team-a", "going", "kubeconfig"), "", kAdmin),
                            sign("team-a", "going", csrFor("root").csr, kAdmin)}) {
    EXPECT_EQ(reply.code, 409u);
    EXPECT_EQ(reply.str("/message"),
              R"(clusters "going" is being deleted: no certificates are issued for it)");
  }
  // Its CA can still be read, e.g. to reach it while it goes.
  EXPECT_EQ(call(V::get, path("team-a", "going", "ca"), "", kAdmin).code, 200u);
}

TEST_F(CredentialsTest, SwarmClustersGetTlsFilesNotAKubeconfig) {
  auto cluster = makeCluster("team-a", "hive", true, "tcp://172.24.4.5:2376", "swarm");
  auto yaml = call(V::get, path("team-a", "hive", "kubeconfig"), "", kMemberA);
  EXPECT_EQ(yaml.code, 400u);
  EXPECT_THAT(yaml.str("/message"), HasSubstr("runs swarm: it has no kubeconfig"));
  auto json = call(V::get, path("team-a", "hive", "kubeconfig"), "", kMemberA, "application/json",
                   "application/json");
  ASSERT_EQ(json.code, 200u) << json.body;
  EXPECT_EQ(json.str("/coe"), "swarm");
  EXPECT_EQ(json.str("/server"), "tcp://172.24.4.5:2376");
  EXPECT_EQ(json.str("/kubeconfig"), "");
  expectClientCertificate(json.str("/clientCertificate"), clusterCa(cluster).cert_pem,
                          "CN=alice,O=magnumd:members");
  EXPECT_TRUE(pki::parsePrivateKeyPem(json.str("/clientKey")).ok());
}

// --- audit -----------------------------------------------------------------------------------

TEST_F(CredentialsTest, IssuanceIsCountedLoggedAndObservedWithoutTheKey) {
  std::vector<std::pair<std::string, IssuedCredential>> observed;
  std::mutex mutex;
  stop();
  on_credential_issued_ = [&](const api::Object& cluster, const IssuedCredential& issued) {
    std::lock_guard lock(mutex);
    observed.emplace_back(cluster.metadata.name, issued);
  };
  start(WatchOptions{});
  makeCluster("team-a", "prod");

  ::testing::internal::CaptureStderr();
  auto reply = call(V::get, path("team-a", "prod", "kubeconfig"), "", kMemberA, "application/json",
                    "application/json");
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(reply.code, 200u) << reply.body;
  ASSERT_EQ(sign("team-a", "prod", csrFor("root").csr, kAdmin).code, 201u);

  std::string serial = pki::inspectCertificate(reply.str("/clientCertificate"))->serial;
  EXPECT_THAT(log, HasSubstr("issued a client certificate for cluster team-a/prod to user alice "
                             "(role member, kubeconfig): CN=alice,O=magnumd:members, serial " +
                             serial));
  // Neither the PEM nor any line of its base64 body reaches the log.
  std::string key = reply.str("/clientKey");
  EXPECT_THAT(log, Not(HasSubstr("PRIVATE KEY")));
  auto first_line = key.find('\n') + 1;
  EXPECT_THAT(log, Not(HasSubstr(key.substr(first_line, 40))));

  std::lock_guard lock(mutex);
  ASSERT_EQ(observed.size(), 2u);
  EXPECT_EQ(observed[0].first, "prod");
  EXPECT_EQ(observed[0].second.endpoint, "kubeconfig");
  EXPECT_EQ(observed[0].second.caller, "alice");
  EXPECT_EQ(observed[0].second.subject, "CN=alice,O=magnumd:members");
  EXPECT_EQ(observed[0].second.serial, serial);
  EXPECT_EQ(observed[1].second.endpoint, "certificates");
  EXPECT_EQ(observed[1].second.subject, "CN=root");

  auto metrics = call(V::get, "/metrics", "", kReaderAll);
  EXPECT_THAT(
      metrics.body,
      HasSubstr(R"(magnumd_credentials_issued_total{endpoint="kubeconfig",role="member"} 1)"));
  EXPECT_THAT(
      metrics.body,
      HasSubstr(R"(magnumd_credentials_issued_total{endpoint="certificates",role="admin"} 1)"));
  EXPECT_THAT(
      metrics.body,
      HasSubstr(
          R"(magnumd_api_requests_total{verb="create",resource="clusters/kubeconfig",code="200"} 1)"));
}

TEST(CredentialPolicy, IdentitiesPerRole) {
  auto admin = kubeconfigIdentity(Identity{"ops", "*", Role::Admin});
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->user, "ops");
  EXPECT_THAT(admin->groups, ElementsAre("system:masters"));
  auto member = kubeconfigIdentity(Identity{"alice", "team-a", Role::Member});
  ASSERT_TRUE(member.has_value());
  EXPECT_THAT(member->groups, ElementsAre("magnumd:members"));
  EXPECT_FALSE(kubeconfigIdentity(Identity{"rita", "*", Role::Reader}).has_value());
  EXPECT_EQ(*parseExpiration(std::nullopt), std::chrono::hours(8760));
  EXPECT_EQ(*parseExpiration(600), std::chrono::seconds(600));
  EXPECT_FALSE(parseExpiration(599).ok());
}

}  // namespace
}  // namespace magnumd::server::testing
