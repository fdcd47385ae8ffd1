// Private keys: generation (ECDSA P-256 by default, RSA on request), PEM in and out.
// Private keys leave this module only as PKCS#8 PEM, public keys as SubjectPublicKeyInfo PEM,
// which is what kubeadm reads from ca.key and sa.key/sa.pub.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pki/openssl_ptr.h"
#include "util/result.h"

namespace magnumd::pki {

// kubeadm v1beta4 `encryptionAlgorithm` values, minus ECDSA-P384 (kubeadm 1.33+ only).
enum class KeyAlgorithm { EcdsaP256, Rsa2048, Rsa3072, Rsa4096 };

// "ECDSA-P256", "RSA-2048", ...: kubeadm's spelling.
const char* keyAlgorithmName(KeyAlgorithm algorithm);
// Parses kubeadm's spelling; the error lists the valid names.
util::Result<KeyAlgorithm> parseKeyAlgorithm(std::string_view name);

// Largest PEM document (key or certificate) pki/ parses; a 4096-bit RSA key is about 3.3 KiB.
inline constexpr size_t kMaxPemBytes = 64 * 1024;

util::Result<EvpPkeyPtr> generateKey(KeyAlgorithm algorithm);

// PKCS#8 "PRIVATE KEY", unencrypted: callers wrap it with a KeyEncryptionKey before storing.
util::Result<std::string> privateKeyToPem(EVP_PKEY& key);
// SubjectPublicKeyInfo "PUBLIC KEY".
util::Result<std::string> publicKeyToPem(EVP_PKEY& key);

// Accepts PKCS#8 and the traditional "RSA/EC PRIVATE KEY" forms; never prompts for a passphrase
// (an encrypted key is an error).
util::Result<EvpPkeyPtr> parsePrivateKeyPem(std::string_view pem);
util::Result<EvpPkeyPtr> parsePublicKeyPem(std::string_view pem);

// "ECDSA P-256", "RSA 2048 bits", "ED25519": for error messages and status.
std::string describeKey(const EVP_PKEY& key);

}  // namespace magnumd::pki
