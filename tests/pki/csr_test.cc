#include "pki/csr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "pki/certificate.h"
#include "tests/pki/pki_test_util.h"

namespace magnumd::pki {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

const util::SystemTime kNow = std::chrono::system_clock::from_time_t(1'760'000'000);

class Csr : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = makeCertificateAuthority("kubernetes", {.now = kNow});
    ASSERT_TRUE(ca) << ca.error().message;
    ca_ = std::move(ca).value();
  }
  util::Result<std::string> sign(const std::string& csr, SigningPolicy policy = {}) {
    if (!policy.now) policy.now = kNow;
    return signClientCsr(ca_, csr, policy);
  }
  void expectRefused(const std::string& csr, util::ErrorCode code, const std::string& message) {
    auto signed_cert = sign(csr);
    ASSERT_FALSE(signed_cert);
    EXPECT_EQ(signed_cert.error().code, code) << signed_cert.error().message;
    EXPECT_EQ(signed_cert.error().message, message);
  }
  CertificateAuthority ca_;
};

TEST_F(Csr, GoodEcdsaCsrBecomesAClientCertificateOnly) {
  auto key = testing::makeEcKey("P-256");
  // The CSR also asks for a SAN and CA:TRUE: neither may be copied into what is signed.
  std::string csr =
      testing::makeCsrPem(*key, "alice", {"developers", "qa"}, nullptr, "evil.example");
  auto cert = sign(csr);
  ASSERT_TRUE(cert) << cert.error().message;
  auto info = inspectCertificate(*cert);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->common_name, "alice");
  EXPECT_THAT(info->organizations, ElementsAre("developers", "qa"));
  EXPECT_TRUE(info->dns_names.empty());
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->not_after, kNow + 8760h);
  EXPECT_TRUE(verifyChain(*cert, ca_.cert_pem, kNow, ExtendedKeyUsage::ClientAuth));
  EXPECT_FALSE(verifyChain(*cert, ca_.cert_pem, kNow, ExtendedKeyUsage::ServerAuth));
  X509Ptr x509 = std::move(parseCertificatePem(*cert)).value();
  EXPECT_EQ(X509_get_extended_key_usage(x509.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  // The certificate is for the CSR's key.
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(x509.get()), key.get()), 1);
}

TEST_F(Csr, GoodRsaAndP384CsrsAreSigned) {
  auto rsa = testing::makeRsaKey(2048);
  auto rsa_cert = sign(testing::makeCsrPem(*rsa, "bob"));
  ASSERT_TRUE(rsa_cert) << rsa_cert.error().message;
  EXPECT_TRUE(verifyChain(*rsa_cert, ca_.cert_pem, kNow, ExtendedKeyUsage::ClientAuth));
  auto p384 = testing::makeEcKey("P-384");
  auto p384_cert = sign(testing::makeCsrPem(*p384, "carol"));
  ASSERT_TRUE(p384_cert) << p384_cert.error().message;
}

TEST_F(Csr, CsrFromTheOpensslCliIsSigned) {
  testing::TempDir dir;
  std::string csr =
      testing::run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                   dir.file("key.pem") + " -subj '/O=system:authenticated/CN=dave' 2>/dev/null");
  auto cert = sign(csr);
  ASSERT_TRUE(cert) << cert.error().message;
  EXPECT_EQ(inspectCertificate(*cert)->subject, "CN=dave,O=system:authenticated");
}

TEST_F(Csr, WeakOrUnsupportedKeysAreRefused) {
  auto rsa1024 = testing::makeRsaKey(1024);
  expectRefused(testing::makeCsrPem(*rsa1024, "eve"), util::ErrorCode::Invalid,
                "CSR: RSA key of 1024 bits; at least 2048 are required");
  auto p521 = testing::makeEcKey("P-521");
  expectRefused(testing::makeCsrPem(*p521, "eve"), util::ErrorCode::Invalid,
                "CSR: ECDSA P-521 key; accepted are ECDSA P-256, ECDSA P-384, or RSA of "
                "2048-8192 bits");
}

TEST_F(Csr, SignatureMustVerify) {
  auto key = testing::makeEcKey("P-256");
  auto other = testing::makeEcKey("P-256");
  expectRefused(testing::makeCsrPem(*key, "mallory", {}, other.get()), util::ErrorCode::Invalid,
                "CSR: signature does not verify");
}

TEST_F(Csr, GarbageIsABadRequest) {
  expectRefused("hello", util::ErrorCode::BadRequest,
                "CSR: not PEM (expected -----BEGIN CERTIFICATE REQUEST-----)");
  auto broken =
      sign("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, util::ErrorCode::BadRequest);
  EXPECT_EQ(broken.error().message.rfind("CSR: not a PEM PKCS#10 certificate request", 0), 0u)
      << broken.error().message;
  // A certificate is not a CSR.
  auto cert = sign(ca_.cert_pem);
  ASSERT_FALSE(cert);
  EXPECT_EQ(cert.error().code, util::ErrorCode::BadRequest);
  expectRefused(std::string(kMaxCsrBytes + 1, '-'), util::ErrorCode::BadRequest,
                "CSR: 16385 bytes; at most 16384 are accepted");
}

TEST_F(Csr, SubjectNeedsExactlyOneCn) {
  auto key = testing::makeEcKey("P-256");
  expectRefused(testing::makeCsrPem(*key, "", {"developers"}), util::ErrorCode::Invalid,
                "CSR: subject has 0 CN values; exactly one non-empty CN (the user name) is "
                "required");
}

TEST_F(Csr, SystemMastersOnlyWhenThePolicyAllowsIt) {
  auto key = testing::makeEcKey("P-256");
  std::string csr = testing::makeCsrPem(*key, "root", {"developers", "system:masters"});
  expectRefused(csr, util::ErrorCode::Forbidden,
                "CSR: O=system:masters (unrestricted cluster-admin) is signed only for "
                "administrators");
  auto admin = sign(csr, {.allow_system_masters = true});
  ASSERT_TRUE(admin) << admin.error().message;
  EXPECT_THAT(inspectCertificate(*admin)->organizations,
              ElementsAre("developers", "system:masters"));
}

TEST_F(Csr, AParsedRequestIsSignedUnderTheSamePolicy) {
  auto key = testing::makeEcKey("P-256");
  auto request = parseCertificateRequest(testing::makeCsrPem(*key, "erin", {"system:masters"}));
  ASSERT_TRUE(request) << request.error().message;
  auto refused = signClientRequest(ca_, *request, {.now = kNow});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, util::ErrorCode::Forbidden);
  auto too_long = signClientRequest(ca_, *request,
                                    {.allow_system_masters = true, .validity = 8761h, .now = kNow});
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, util::ErrorCode::Invalid);
  auto cert = signClientRequest(ca_, *request,
                                {.allow_system_masters = true, .validity = 1h, .now = kNow});
  ASSERT_TRUE(cert) << cert.error().message;
  auto info = inspectCertificate(*cert);
  EXPECT_EQ(info->subject, "CN=erin,O=system:masters");
  EXPECT_EQ(info->not_after, kNow + 1h);
  EXPECT_TRUE(verifyChain(*cert, ca_.cert_pem, kNow, ExtendedKeyUsage::ClientAuth));
}

TEST_F(Csr, ValidityIsBoundedByThePolicy) {
  auto key = testing::makeEcKey("P-256");
  std::string csr = testing::makeCsrPem(*key, "alice");
  auto hour = sign(csr, {.validity = 1h});
  ASSERT_TRUE(hour);
  EXPECT_EQ(inspectCertificate(*hour)->not_after, kNow + 1h);
  auto two_years = sign(csr, {.validity = 2 * 8760h});
  ASSERT_FALSE(two_years);
  EXPECT_EQ(two_years.error().message,
            "signing policy: validity of 63072000s must be more than 0 and at most one year "
            "(8760h)");
}

TEST_F(Csr, LibraryMadeCsrIsWhatOpensslAndTheSignerAccept) {
  auto key = generateKey(KeyAlgorithm::EcdsaP256);
  ASSERT_TRUE(key);
  auto csr = makeCertificateRequest(**key, "magnumd", {"system:masters"});
  ASSERT_TRUE(csr) << csr.error().message;
  testing::TempDir dir;
  testing::writeFile(dir.file("req.csr"), *csr);
  EXPECT_NE(testing::run("openssl req -noout -verify -subject -in " + dir.file("req.csr") + " 2>&1")
                .find("subject=O = system:masters, CN = magnumd"),
            std::string::npos);
  auto parsed = parseCertificateRequest(*csr);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->common_name, "magnumd");
  EXPECT_THAT(parsed->organizations, ElementsAre("system:masters"));
  EXPECT_EQ(parsed->key, "ECDSA P-256");
  EXPECT_TRUE(sign(*csr, {.allow_system_masters = true}));
}

}  // namespace
}  // namespace magnumd::pki
