#include "pki/certificate.h"

#include <gtest/gtest.h>

#include "pki/ca.h"
#include "tests/pki/pki_test_util.h"

namespace magnumd::pki {
namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// kubeadm's documented recipe for --discovery-token-ca-cert-hash, for any key type.
std::string opensslCaCertHash(const std::string& ca_file) {
  std::string out = testing::run("openssl x509 -pubkey -noout -in " + ca_file +
                                 " | openssl pkey -pubin -outform DER | openssl dgst -sha256");
  // "SHA2-256(stdin)= 3f9a..." or "(stdin)= 3f9a..." depending on the openssl version.
  return "sha256:" + trim(out.substr(out.rfind(' ') + 1));
}

TEST(Certificate, CaCertHashMatchesKubeadmsOpensslRecipe) {
  for (KeyAlgorithm algorithm : {KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048}) {
    auto ca = makeCertificateAuthority("kubernetes", {.algorithm = algorithm});
    ASSERT_TRUE(ca) << ca.error().message;
    testing::TempDir dir;
    testing::writeFile(dir.file("ca.crt"), ca->cert_pem);
    auto hash = caCertHash(ca->cert_pem);
    ASSERT_TRUE(hash) << hash.error().message;
    EXPECT_EQ(hash->size(), 7u + 64u);
    EXPECT_EQ(*hash, opensslCaCertHash(dir.file("ca.crt"))) << keyAlgorithmName(algorithm);
  }
}

TEST(Certificate, FingerprintAndDatesMatchTheOpensslCli) {
  auto ca = makeCertificateAuthority("front-proxy-ca");
  ASSERT_TRUE(ca);
  testing::TempDir dir;
  testing::writeFile(dir.file("ca.crt"), ca->cert_pem);
  auto info = inspectCertificate(ca->cert_pem);
  ASSERT_TRUE(info);
  EXPECT_EQ(
      "sha256 Fingerprint=" + info->sha256_fingerprint,
      trim(testing::run("openssl x509 -noout -fingerprint -sha256 -in " + dir.file("ca.crt"))));
  EXPECT_EQ("serial=" + info->serial, trim(testing::run("openssl x509 -noout -serial -in " +
                                                        dir.file("ca.crt") + " | tr A-F a-f")));
  // `openssl x509 -checkend N` exits 0 if the certificate is still valid N seconds from now.
  auto until_expiry = std::chrono::duration_cast<std::chrono::seconds>(
                          info->not_after - std::chrono::system_clock::now())
                          .count();
  EXPECT_TRUE(testing::succeeds("openssl x509 -noout -in " + dir.file("ca.crt") + " -checkend " +
                                std::to_string(until_expiry - 60)));
  EXPECT_FALSE(testing::succeeds("openssl x509 -noout -in " + dir.file("ca.crt") + " -checkend " +
                                 std::to_string(until_expiry + 60)));
}

TEST(Certificate, NotACertificateIsABadRequest) {
  auto info = inspectCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, util::ErrorCode::BadRequest);
  EXPECT_EQ(info.error().message.rfind("certificate: not a PEM certificate", 0), 0u);
  auto hash = caCertHash("garbage");
  ASSERT_FALSE(hash);
  EXPECT_EQ(hash.error().code, util::ErrorCode::BadRequest);
}

}  // namespace
}  // namespace magnumd::pki
