#include "pki/key.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "tests/pki/pki_test_util.h"

namespace magnumd::pki {
namespace {

TEST(Key, EcdsaP256RoundTripsThroughPkcs8AndSpki) {
  auto key = generateKey(KeyAlgorithm::EcdsaP256);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(describeKey(**key), "ECDSA P-256");

  auto private_pem = privateKeyToPem(**key);
  ASSERT_TRUE(private_pem);
  EXPECT_EQ(private_pem->rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << *private_pem;
  auto public_pem = publicKeyToPem(**key);
  ASSERT_TRUE(public_pem);
  EXPECT_EQ(public_pem->rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u) << *public_pem;

  auto parsed_private = parsePrivateKeyPem(*private_pem);
  ASSERT_TRUE(parsed_private) << parsed_private.error().message;
  auto parsed_public = parsePublicKeyPem(*public_pem);
  ASSERT_TRUE(parsed_public) << parsed_public.error().message;
  EXPECT_EQ(EVP_PKEY_eq(key->get(), parsed_private->get()), 1);
  EXPECT_EQ(EVP_PKEY_eq(parsed_public->get(), parsed_private->get()), 1);
}

TEST(Key, RsaKeysHaveTheRequestedSize) {
  auto key = generateKey(KeyAlgorithm::Rsa2048);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(describeKey(**key), "RSA 2048 bits");
  auto pem = privateKeyToPem(**key);
  ASSERT_TRUE(pem);
  auto parsed = parsePrivateKeyPem(*pem);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(EVP_PKEY_get_bits(parsed->get()), 2048);
}

TEST(Key, AlgorithmNamesAreKubeadms) {
  EXPECT_EQ(*parseKeyAlgorithm("ECDSA-P256"), KeyAlgorithm::EcdsaP256);
  EXPECT_EQ(*parseKeyAlgorithm("RSA-4096"), KeyAlgorithm::Rsa4096);
  EXPECT_STREQ(keyAlgorithmName(KeyAlgorithm::Rsa3072), "RSA-3072");
  auto bad = parseKeyAlgorithm("rsa");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, util::ErrorCode::Invalid);
  EXPECT_EQ(bad.error().message,
            "key algorithm \"rsa\" is not one of ECDSA-P256, RSA-2048, RSA-3072, RSA-4096");
}

TEST(Key, EncryptedKeyIsRefusedWithoutPromptingForAPassphrase) {
  auto key = testing::makeEcKey("P-256");
  BioPtr bio(BIO_new(BIO_s_mem()));
  char password[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), password, 6,
                                          nullptr, nullptr),
            1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  auto parsed = parsePrivateKeyPem(std::string(data, static_cast<size_t>(size)));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, util::ErrorCode::BadRequest);
  EXPECT_NE(parsed.error().message.find("not an unencrypted PEM private key"), std::string::npos)
      << parsed.error().message;
}

TEST(Key, GarbageAndOversizedInputAreErrors) {
  auto garbage = parsePrivateKeyPem("hello");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, util::ErrorCode::BadRequest);
  auto huge = parsePublicKeyPem(std::string(kMaxPemBytes + 1, 'A'));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, util::ErrorCode::TooLarge);
}

}  // namespace
}  // namespace magnumd::pki
