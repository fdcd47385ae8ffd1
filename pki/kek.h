// The key-encryption key (KEK) that protects every private key magnumd stores (CA keys, sa.key):
// keys live in the store only as AES-256-GCM ciphertext made here.
//
// Key file: 32 random bytes, base64-encoded on one line (44 characters, optional trailing
// newline), the output of `openssl rand -base64 32`. Base64 rather than raw bytes so that the
// file survives copy-paste into a Kubernetes Secret or a config-management variable. The file must
// be a regular file readable by its owner only (mode 0600 or 0400); anything looser is refused.
//
// Wrapped form: "v1:<key id>:<base64(nonce[12] | ciphertext | tag[16])>". The key id is the first
// 8 bytes, in hex, of SHA-256 over the 32 key bytes (`base64 -d FILE | sha256sum | cut -c1-16`),
// so a value wrapped under another key file is named as such instead of failing as "tampered".
// Nonces are random (96 bits): one KEK can safely wrap 2^32 values, far beyond one key per
// cluster and purpose.
//
// Associated data binds a wrapped key to its owner: pass "<cluster uid>/<purpose>" (for example
// "6f1c.../ca.key"), and the ciphertext cannot be moved to another cluster or swapped with the
// etcd CA's key in the store without unwrap failing. The header "v1:<key id>:" is authenticated
// too.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "util/result.h"

namespace magnumd::pki {

inline constexpr size_t kKeyEncryptionKeyBytes = 32;
// A PKCS#8 RSA-4096 key is about 3.3 KiB; nothing magnumd wraps comes near this.
inline constexpr size_t kMaxWrapPlaintext = 64 * 1024;

class KeyEncryptionKey {
 public:
  // Errors name the file and what is wrong with it: missing, not a regular file, group- or
  // world-accessible mode, not base64, or not 32 bytes.
  static util::Result<KeyEncryptionKey> load(const std::string& path);

  KeyEncryptionKey(KeyEncryptionKey&& other) noexcept;
  KeyEncryptionKey& operator=(KeyEncryptionKey&& other) noexcept;
  KeyEncryptionKey(const KeyEncryptionKey&) = delete;
  KeyEncryptionKey& operator=(const KeyEncryptionKey&) = delete;
  ~KeyEncryptionKey();  // wipes the key bytes

  // 16 lowercase hex characters; safe to log.
  const std::string& keyId() const { return key_id_; }

  util::Result<std::string> wrap(std::string_view plaintext, std::string_view aad) const;
  // Authenticates before returning anything: a wrong key file, tampered ciphertext or a different
  // `aad` is an error, never garbage plaintext.
  util::Result<std::string> unwrap(std::string_view wrapped, std::string_view aad) const;

 private:
  KeyEncryptionKey() = default;
  std::array<unsigned char, kKeyEncryptionKeyBytes> key_{};
  std::string key_id_;
};

// The key id a wrapped value names, read without any key.
util::Result<std::string> wrappedKeyId(std::string_view wrapped);

// Creates `path` with 32 fresh random bytes in the format above, mode 0600 from the moment it
// exists (O_CREAT|O_EXCL), and fsyncs it. An existing file is never overwritten (AlreadyExists):
// it may be the key that protects everything already stored.
util::Status generateKeyFile(const std::string& path);

}  // namespace magnumd::pki
