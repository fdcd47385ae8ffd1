// magnumd --dev's TLS and kubeconfig (cmd/dev_mode.cc): a CA made once and kept, a serving
// certificate issued for loopback and re-issued only when it no longer fits, private files 0600,
// and a kubeconfig that names the server, the CA, the admin token and namespace demo.
#include "cmd/dev_mode.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pki/certificate.h"
#include "tests/server/api_fixture.h"
#include "util/yaml.h"

namespace magnumd::cmd {
namespace {

using server::testing::TempDir;

const std::vector<std::string> kLoopback{"127.0.0.1", "::1", "localhost"};

util::SystemTime now() { return *util::parseRfc3339("2026-11-25T12:00:00Z"); }

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

unsigned mode(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 0777;
}

TEST(DevTls, MakesACaAndAServingCertificateForLoopbackWithPrivateKeys) {
  TempDir dir;
  auto tls = ensureDevTls(dir.path(), kLoopback, now());
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  EXPECT_TRUE(tls->ca_created);
  EXPECT_TRUE(tls->cert_issued);
  EXPECT_EQ(tls->ca_path, dir.path() + "/ca.crt");
  EXPECT_EQ(mode(dir.path() + "/ca.key"), 0600u);
  EXPECT_EQ(mode(tls->key_path), 0600u);
  std::string cert = read(tls->cert_path);
  EXPECT_TRUE(pki::verifyChain(cert, tls->ca_pem, now(), pki::ExtendedKeyUsage::ServerAuth).ok());
  auto info = pki::inspectCertificate(cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->dns_names, std::vector<std::string>{"localhost"});
  EXPECT_EQ(info->ip_addresses.size(), 2u);
  EXPECT_EQ(read(tls->ca_path), tls->ca_pem);
}

TEST(DevTls, KeepsTheCaAndReissuesOnlyWhenTheCertificateNoLongerFits) {
  TempDir dir;
  auto first = ensureDevTls(dir.path(), kLoopback, now());
  ASSERT_TRUE(first.ok());
  std::string cert = read(first->cert_path);

  auto again = ensureDevTls(dir.path(), kLoopback, now());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->ca_created);
  EXPECT_FALSE(again->cert_issued);
  EXPECT_EQ(read(again->cert_path), cert);
  EXPECT_EQ(again->ca_pem, first->ca_pem);

  // A new listen address, a certificate near its end, or a key that does not match.
  auto wider = ensureDevTls(dir.path(), {"127.0.0.1", "::1", "localhost", "10.1.2.3"}, now());
  ASSERT_TRUE(wider.ok());
  EXPECT_TRUE(wider->cert_issued);
  EXPECT_FALSE(wider->ca_created);
  EXPECT_EQ(wider->ca_pem, first->ca_pem);
  auto late = ensureDevTls(dir.path(), kLoopback, now() + std::chrono::hours(24 * 350));
  EXPECT_TRUE(late->cert_issued);
  std::filesystem::remove(late->key_path);
  auto keyless = ensureDevTls(dir.path(), kLoopback, now());
  EXPECT_TRUE(keyless->cert_issued);
  EXPECT_EQ(mode(keyless->key_path), 0600u);
}

TEST(DevTls, ALoneCaKeyIsAnErrorAndALoneCertificateIsReplaced) {
  TempDir dir;
  ASSERT_TRUE(ensureDevTls(dir.path(), kLoopback, now()).ok());
  std::string ca = read(dir.path() + "/ca.crt");
  std::filesystem::remove(dir.path() + "/ca.crt");
  auto lone_key = ensureDevTls(dir.path(), kLoopback, now());
  ASSERT_FALSE(lone_key.ok());
  EXPECT_NE(lone_key.error().message.find("ca.key exists without"), std::string::npos);

  std::filesystem::remove(dir.path() + "/ca.key");
  std::ofstream(dir.path() + "/ca.crt") << ca;  // an interrupted creation
  auto fresh = ensureDevTls(dir.path(), kLoopback, now());
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_TRUE(fresh->ca_created);
  EXPECT_TRUE(fresh->cert_issued);  // the old one was signed by the old CA
  EXPECT_NE(fresh->ca_pem, ca);
}

TEST(DevKubeconfig, NamesTheServerTheCaTheAdminTokenAndNamespaceDemo) {
  TempDir dir;
  auto path = writeDevKubeconfig(dir.path(), "https://127.0.0.1:9511", "CA PEM\n", "s3cret");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(mode(*path), 0600u);
  auto docs = util::parseYamlDocuments(read(*path));
  ASSERT_TRUE(docs.ok());
  const auto& k = docs->front();
  EXPECT_STREQ(k["current-context"].GetString(), "magnumd-dev");
  EXPECT_STREQ(k["contexts"][0]["context"]["namespace"].GetString(), "demo");
  EXPECT_STREQ(k["contexts"][0]["context"]["user"].GetString(), "admin");
  EXPECT_STREQ(k["clusters"][0]["cluster"]["server"].GetString(), "https://127.0.0.1:9511");
  EXPECT_STREQ(k["clusters"][0]["cluster"]["certificate-authority-data"].GetString(),
               "Q0EgUEVNCg==");
  EXPECT_STREQ(k["users"][0]["user"]["token"].GetString(), "s3cret");
  EXPECT_FALSE(k["users"][0]["user"].HasMember("client-key-data"));

  auto plain = writeDevKubeconfig(dir.path(), "http://127.0.0.1:9511", "", "s3cret");
  auto plain_docs = util::parseYamlDocuments(read(*plain));
  EXPECT_FALSE(
      plain_docs->front()["clusters"][0]["cluster"].HasMember("certificate-authority-data"));
}

TEST(DevInstructions, ShowKubectlAndMagnumctlWithTheKubeconfig) {
  DevToken token{"/data/admin.token", "t", true};
  std::string tls =
      devInstructions(token, {"https://127.0.0.1:9511", "/data/kubeconfig", "/data/ca.crt"});
  EXPECT_NE(tls.find("export KUBECONFIG=/data/kubeconfig\n"), std::string::npos);
  EXPECT_NE(tls.find("kubectl get clusters -A"), std::string::npos);
  EXPECT_NE(tls.find("curl --cacert /data/ca.crt"), std::string::npos);
  std::string plain = devInstructions(token, {"http://127.0.0.1:9511", "/data/kubeconfig", ""});
  EXPECT_NE(plain.find("export MAGNUMD_URL=http://127.0.0.1:9511"), std::string::npos);
  EXPECT_NE(plain.find("export KUBECONFIG=/data/kubeconfig"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::cmd
