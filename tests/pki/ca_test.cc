#include "pki/ca.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "pki/certificate.h"
#include "tests/pki/pki_test_util.h"

namespace magnumd::pki {
namespace {

using namespace std::chrono_literals;

const util::SystemTime kNow = std::chrono::system_clock::from_time_t(1'760'000'000);

X509Ptr parse(const std::string& pem) {
  auto cert = parseCertificatePem(pem);
  EXPECT_TRUE(cert) << cert.error().message;
  return cert ? std::move(cert).value() : nullptr;
}

bool isCritical(X509* cert, int nid) {
  int index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

TEST(CertificateAuthority, HasTheExtensionsKubeadmExpects) {
  auto ca = makeCertificateAuthority("kubernetes", {.now = kNow});
  ASSERT_TRUE(ca) << ca.error().message;
  X509Ptr cert = parse(ca->cert_pem);
  ASSERT_TRUE(cert);

  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_TRUE(isCritical(cert.get(), NID_basic_constraints));
  EXPECT_EQ(X509_get_pathlen(cert.get()), 0);
  EXPECT_TRUE(isCritical(cert.get(), NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(cert.get()),
            static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE));
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);

  auto info = inspectCertificate(ca->cert_pem);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->subject, "CN=kubernetes");
  EXPECT_EQ(info->issuer, "CN=kubernetes");
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->not_before, kNow - 5min);
  EXPECT_EQ(info->not_after, kNow + 87600h);
  // 128 random bits with the sign bit clear: 16 bytes, first below 0x80.
  ASSERT_EQ(info->serial.size(), 32u);
  EXPECT_LT(std::stoi(info->serial.substr(0, 2), nullptr, 16), 0x80);
  EXPECT_TRUE(verifyChain(ca->cert_pem, ca->cert_pem, kNow));
}

TEST(CertificateAuthority, OpensslCliReadsTheExtensions) {
  auto ca = makeCertificateAuthority("etcd-ca");
  ASSERT_TRUE(ca);
  testing::TempDir dir;
  testing::writeFile(dir.file("ca.crt"), ca->cert_pem);
  std::string text = testing::run("openssl x509 -noout -text -in " + dir.file("ca.crt"));
  EXPECT_NE(text.find("Subject: CN = etcd-ca"), std::string::npos) << text;
  EXPECT_NE(text.find("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("X509v3 Key Usage: critical\n                Digital Signature, "
                      "Certificate Sign, CRL Sign"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ecdsa-with-SHA256"), std::string::npos) << text;
  testing::writeFile(dir.file("ca.key"), ca->key_pem);
  // The key file is the certificate's key: same public key printed by both.
  EXPECT_EQ(testing::run("openssl x509 -noout -pubkey -in " + dir.file("ca.crt")),
            testing::run("openssl pkey -pubout -in " + dir.file("ca.key")));
}

TEST(CertificateAuthority, ValidityIsConfigurableAndBounded) {
  auto ca = makeCertificateAuthority("kubernetes", {.validity = 48h, .now = kNow});
  ASSERT_TRUE(ca);
  EXPECT_EQ(inspectCertificate(ca->cert_pem)->not_after, kNow + 48h);

  auto zero = makeCertificateAuthority("kubernetes", {.validity = 0s});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, util::ErrorCode::Invalid);
  EXPECT_NE(zero.error().message.find("validity"), std::string::npos);
  auto empty_name = makeCertificateAuthority("");
  ASSERT_FALSE(empty_name);
  EXPECT_EQ(empty_name.error().message, "CA: subject CN is empty");
}

TEST(CertificateAuthority, EveryCaHasItsOwnSerialAndKey) {
  auto a = makeCertificateAuthority("kubernetes");
  auto b = makeCertificateAuthority("kubernetes");
  ASSERT_TRUE(a && b);
  EXPECT_NE(inspectCertificate(a->cert_pem)->serial, inspectCertificate(b->cert_pem)->serial);
  EXPECT_NE(a->key_pem, b->key_pem);
}

TEST(CertificateAuthority, LoadRefusesAKeyThatIsNotTheCertificates) {
  auto a = makeCertificateAuthority("kubernetes");
  auto b = makeCertificateAuthority("kubernetes");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(loadCertificateAuthority(*a));
  auto mixed = loadCertificateAuthority({a->cert_pem, b->key_pem});
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().message, "CA: the private key does not belong to the certificate");
}

TEST(ClusterPki, HasKubeadmsThreeCasAndAServiceAccountKeyPair) {
  auto pki = makeClusterPki({.now = kNow});
  ASSERT_TRUE(pki) << pki.error().message;
  EXPECT_EQ(inspectCertificate(pki->cluster_ca.cert_pem)->subject, "CN=kubernetes");
  EXPECT_EQ(inspectCertificate(pki->etcd_ca.cert_pem)->subject, "CN=etcd-ca");
  EXPECT_EQ(inspectCertificate(pki->front_proxy_ca.cert_pem)->subject, "CN=front-proxy-ca");
  for (const auto* ca : {&pki->cluster_ca, &pki->etcd_ca, &pki->front_proxy_ca}) {
    EXPECT_TRUE(loadCertificateAuthority(*ca));
    EXPECT_EQ(inspectCertificate(ca->cert_pem)->not_after, kNow + kDefaultCaValidity);
  }
  EXPECT_NE(pki->cluster_ca.key_pem, pki->etcd_ca.key_pem);
  EXPECT_NE(pki->etcd_ca.key_pem, pki->front_proxy_ca.key_pem);

  auto sa_private = parsePrivateKeyPem(pki->service_account.private_key_pem);
  auto sa_public = parsePublicKeyPem(pki->service_account.public_key_pem);
  ASSERT_TRUE(sa_private && sa_public);
  EXPECT_EQ(EVP_PKEY_eq(sa_private->get(), sa_public->get()), 1);
  EXPECT_EQ(describeKey(**sa_private), "ECDSA P-256");
}

TEST(ClusterPki, RsaOnRequest) {
  auto pki = makeClusterPki({.algorithm = KeyAlgorithm::Rsa2048});
  ASSERT_TRUE(pki) << pki.error().message;
  auto loaded = loadCertificateAuthority(pki->cluster_ca);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(describeKey(*loaded->key), "RSA 2048 bits");
  EXPECT_EQ(describeKey(**parsePrivateKeyPem(pki->service_account.private_key_pem)),
            "RSA 2048 bits");
}

}  // namespace
}  // namespace magnumd::pki
