#include "pki/key.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <utility>

#include "pki/openssl_error.h"

namespace magnumd::pki {
namespace {

using util::ErrorCode;

constexpr std::array<std::pair<KeyAlgorithm, const char*>, 4> kAlgorithmNames{{
    {KeyAlgorithm::EcdsaP256, "ECDSA-P256"},
    {KeyAlgorithm::Rsa2048, "RSA-2048"},
    {KeyAlgorithm::Rsa3072, "RSA-3072"},
    {KeyAlgorithm::Rsa4096, "RSA-4096"},
}};

// Refuses to prompt on the terminal for an encrypted key's passphrase.
int noPassphrase(char*, int, int, void*) { return -1; }

util::Result<BioPtr> readOnlyBio(std::string_view pem, std::string_view what) {
  if (pem.size() > kMaxPemBytes) {
    return util::makeError(ErrorCode::TooLarge,
                           std::string(what) + ": " + std::to_string(pem.size()) +
                               " bytes; at most " + std::to_string(kMaxPemBytes) + " are read");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return opensslError(ErrorCode::Internal, what);
  return bio;
}

util::Result<std::string> drain(BIO& bio, std::string_view what) {
  char* data = nullptr;
  long size = BIO_get_mem_data(&bio, &data);
  if (size <= 0 || data == nullptr) return opensslError(ErrorCode::Internal, what);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

const char* keyAlgorithmName(KeyAlgorithm algorithm) {
  for (const auto& [value, name] : kAlgorithmNames) {
    if (value == algorithm) return name;
  }
  return "unknown";
}

util::Result<KeyAlgorithm> parseKeyAlgorithm(std::string_view name) {
  std::string valid;
  for (const auto& [value, known] : kAlgorithmNames) {
    if (name == known) return value;
    valid += valid.empty() ? known : std::string(", ") + known;
  }
  return util::makeError(ErrorCode::Invalid,
                         "key algorithm \"" + std::string(name) + "\" is not one of " + valid);
}

util::Result<EvpPkeyPtr> generateKey(KeyAlgorithm algorithm) {
  clearOpensslErrors();
  EvpPkeyPtr key;
  switch (algorithm) {
    case KeyAlgorithm::EcdsaP256:
      key.reset(EVP_EC_gen("P-256"));
      break;
    case KeyAlgorithm::Rsa2048:
      key.reset(EVP_RSA_gen(2048));
      break;
    case KeyAlgorithm::Rsa3072:
      key.reset(EVP_RSA_gen(3072));
      break;
    case KeyAlgorithm::Rsa4096:
      key.reset(EVP_RSA_gen(4096));
      break;
  }
  if (!key) {
    return opensslError(ErrorCode::Internal,
                        std::string("generating a ") + keyAlgorithmName(algorithm) + " key");
  }
  return key;
}

util::Result<std::string> privateKeyToPem(EVP_PKEY& key) {
  clearOpensslErrors();
  // Secure-heap memory is wiped when freed, so the plaintext key leaves no copy behind here.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), &key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return opensslError(ErrorCode::Internal, "encoding a private key as PKCS#8 PEM");
  }
  return drain(*bio, "encoding a private key as PKCS#8 PEM");
}

util::Result<std::string> publicKeyToPem(EVP_PKEY& key) {
  clearOpensslErrors();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), &key) != 1) {
    return opensslError(ErrorCode::Internal, "encoding a public key as PEM");
  }
  return drain(*bio, "encoding a public key as PEM");
}

util::Result<EvpPkeyPtr> parsePrivateKeyPem(std::string_view pem) {
  clearOpensslErrors();
  ASSIGN_OR_RETURN(BioPtr bio, readOnlyBio(pem, "private key PEM"));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  if (!key) {
    return opensslError(ErrorCode::BadRequest, "private key: not an unencrypted PEM private key");
  }
  return key;
}

util::Result<EvpPkeyPtr> parsePublicKeyPem(std::string_view pem) {
  clearOpensslErrors();
  ASSIGN_OR_RETURN(BioPtr bio, readOnlyBio(pem, "public key PEM"));
  EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, noPassphrase, nullptr));
  if (!key) return opensslError(ErrorCode::BadRequest, "public key: not a PEM \"PUBLIC KEY\"");
  return key;
}

std::string describeKey(const EVP_PKEY& key) {
  switch (EVP_PKEY_get_base_id(&key)) {
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(EVP_PKEY_get_bits(&key)) + " bits";
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t length = 0;
      if (EVP_PKEY_get_group_name(&key, group, sizeof group, &length) != 1) {
        clearOpensslErrors();
        return "ECDSA (unknown curve)";
      }
      std::string_view name(group, length);
      if (name == "prime256v1" || name == "P-256") return "ECDSA P-256";
      if (name == "secp384r1" || name == "P-384") return "ECDSA P-384";
      if (name == "secp521r1" || name == "P-521") return "ECDSA P-521";
      return "ECDSA " + std::string(name);
    }
    default: {
      const char* type = EVP_PKEY_get0_type_name(&key);
      return type != nullptr ? type : "unknown key type";
    }
  }
}

}  // namespace magnumd::pki
