#include "pki/leaf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "tests/pki/pki_test_util.h"

namespace magnumd::pki {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

const util::SystemTime kNow = std::chrono::system_clock::from_time_t(1'760'000'000);

class Leaf : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = makeCertificateAuthority("kubernetes", {.now = kNow});
    ASSERT_TRUE(ca) << ca.error().message;
    ca_ = std::move(ca).value();
  }
  CertificateAuthority ca_;
};

LeafSpec apiserverSpec() {
  LeafSpec spec;
  spec.common_name = "kube-apiserver";
  spec.usage = ExtendedKeyUsage::ServerAuth;
  spec.dns_names = {"kubernetes", "kubernetes.default.svc.cluster.local", "master-0"};
  spec.ip_addresses = {"10.96.0.1", "172.24.4.10", "::1"};
  spec.now = kNow;
  return spec;
}

TEST_F(Leaf, ServingCertificateCarriesItsSansAndVerifiesForServerAuthOnly) {
  auto issued = issueLeaf(ca_, apiserverSpec());
  ASSERT_TRUE(issued) << issued.error().message;
  auto info = inspectCertificate(issued->cert_pem);
  ASSERT_TRUE(info);
  EXPECT_THAT(info->dns_names,
              ElementsAre("kubernetes", "kubernetes.default.svc.cluster.local", "master-0"));
  EXPECT_THAT(info->ip_addresses, ElementsAre("10.96.0.1", "172.24.4.10", "::1"));
  EXPECT_EQ(info->issuer, "CN=kubernetes");
  EXPECT_FALSE(info->is_ca);

  EXPECT_TRUE(verifyChain(issued->cert_pem, ca_.cert_pem, kNow, ExtendedKeyUsage::ServerAuth));
  auto as_client = verifyChain(issued->cert_pem, ca_.cert_pem, kNow, ExtendedKeyUsage::ClientAuth);
  ASSERT_FALSE(as_client);
  EXPECT_NE(as_client.error().message.find("unsuitable certificate purpose"), std::string::npos)
      << as_client.error().message;

  // The openssl CLI agrees, including the hostname and IP checks a TLS client makes.
  testing::TempDir dir;
  testing::writeFile(dir.file("ca.crt"), ca_.cert_pem);
  testing::writeFile(dir.file("apiserver.crt"), issued->cert_pem);
  std::string verify =
      "openssl verify -attime 1760000000 -CAfile " + dir.file("ca.crt") + " -purpose sslserver ";
  EXPECT_TRUE(
      testing::succeeds(verify + "-verify_hostname kubernetes " + dir.file("apiserver.crt")));
  EXPECT_TRUE(testing::succeeds(verify + "-verify_ip 10.96.0.1 " + dir.file("apiserver.crt")));
  EXPECT_FALSE(
      testing::succeeds(verify + "-verify_hostname evil.example " + dir.file("apiserver.crt")));
}

TEST_F(Leaf, ClientCertificateCarriesUserAndGroups) {
  LeafSpec spec{
      .common_name = "kubernetes-admin", .organizations = {"kubeadm:cluster-admins"}, .now = kNow};
  auto issued = issueLeaf(ca_, spec);
  ASSERT_TRUE(issued) << issued.error().message;
  auto info = inspectCertificate(issued->cert_pem);
  EXPECT_EQ(info->common_name, "kubernetes-admin");
  EXPECT_THAT(info->organizations, ElementsAre("kubeadm:cluster-admins"));
  EXPECT_TRUE(info->dns_names.empty());
  EXPECT_TRUE(verifyChain(issued->cert_pem, ca_.cert_pem, kNow, ExtendedKeyUsage::ClientAuth));
  EXPECT_FALSE(verifyChain(issued->cert_pem, ca_.cert_pem, kNow, ExtendedKeyUsage::ServerAuth));

  X509Ptr cert = std::move(parseCertificatePem(issued->cert_pem)).value();
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  // authorityKeyIdentifier names the CA's subjectKeyIdentifier.
  X509Ptr ca = std::move(parseCertificatePem(ca_.cert_pem)).value();
  ASSERT_NE(X509_get0_authority_key_id(cert.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert.get()),
                                  X509_get0_subject_key_id(ca.get())),
            0);
}

TEST_F(Leaf, EtcdCertificatesServeAndAuthenticate) {
  LeafSpec spec{.common_name = "master-0",
                .usage = ExtendedKeyUsage::ServerAndClientAuth,
                .dns_names = {"master-0", "localhost"},
                .ip_addresses = {"127.0.0.1"},
                .now = kNow};
  auto issued = issueLeaf(ca_, spec, KeyAlgorithm::Rsa2048);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_TRUE(
      verifyChain(issued->cert_pem, ca_.cert_pem, kNow, ExtendedKeyUsage::ServerAndClientAuth));
  X509Ptr cert = std::move(parseCertificatePem(issued->cert_pem)).value();
  // RSA keys also get keyEncipherment, which TLS 1.2 RSA key exchange needs.
  EXPECT_EQ(X509_get_key_usage(cert.get()),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
}

TEST_F(Leaf, DefaultValidityIsOneYearAndNeverOutlivesTheCa) {
  auto year = issueLeaf(ca_, apiserverSpec());
  ASSERT_TRUE(year);
  auto info = inspectCertificate(year->cert_pem);
  EXPECT_EQ(info->not_before, kNow - 5min);
  EXPECT_EQ(info->not_after, kNow + 8760h);

  auto short_ca = makeCertificateAuthority("kubernetes", {.validity = 720h, .now = kNow});
  ASSERT_TRUE(short_ca);
  auto clamped = issueLeaf(*short_ca, apiserverSpec());
  ASSERT_TRUE(clamped);
  EXPECT_EQ(inspectCertificate(clamped->cert_pem)->not_after, kNow + 720h);

  LeafSpec late = apiserverSpec();
  late.now = kNow + 721h;
  auto expired = issueLeaf(*short_ca, late);
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message.find("the CA expired at"), std::string::npos)
      << expired.error().message;
}

TEST_F(Leaf, ChainFailsAfterExpiryAndAgainstAnotherCa) {
  auto issued = issueLeaf(ca_, apiserverSpec());
  ASSERT_TRUE(issued);
  auto expired = verifyChain(issued->cert_pem, ca_.cert_pem, kNow + 8761h);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().message, "certificate chain does not verify: certificate has expired");

  auto other = makeCertificateAuthority("kubernetes", {.now = kNow});
  ASSERT_TRUE(other);
  auto foreign = verifyChain(issued->cert_pem, other->cert_pem, kNow);
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().message.find("unable to get local issuer certificate"),
            std::string::npos)
      << foreign.error().message;
}

TEST_F(Leaf, BadSpecsAreRefusedWithTheReason) {
  LeafSpec no_sans = apiserverSpec();
  no_sans.dns_names.clear();
  no_sans.ip_addresses.clear();
  auto a = issueLeaf(ca_, no_sans);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message,
            "certificate kube-apiserver: a serving certificate needs at least one DNS name or IP "
            "address");

  LeafSpec bad_ip = apiserverSpec();
  bad_ip.ip_addresses = {"10.96.0.300"};
  auto b = issueLeaf(ca_, bad_ip);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message,
            "certificate: IP address \"10.96.0.300\" is not an IPv4 or IPv6 address");

  LeafSpec bad_dns = apiserverSpec();
  bad_dns.dns_names = {"kubernetes,IP:1.2.3.4"};
  auto c = issueLeaf(ca_, bad_dns);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, util::ErrorCode::Invalid);

  auto d = issueLeaf(ca_, LeafSpec{.common_name = "", .now = kNow});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "certificate: subject CN is empty");

  auto e = issueLeaf(ca_, LeafSpec{.common_name = "x", .validity = -1s});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, util::ErrorCode::Invalid);
}

}  // namespace
}  // namespace magnumd::pki
