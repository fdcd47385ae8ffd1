#include "pki/kek.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "pki/encoding.h"
#include "pki/openssl_error.h"
#include "pki/openssl_ptr.h"
#include "util/file.h"

namespace magnumd::pki {
namespace {

using util::ErrorCode;

constexpr std::string_view kVersion = "v1";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kKeyIdHexChars = 16;
// 44 characters of base64 plus a line ending; anything much longer is not a key file.
constexpr size_t kMaxKeyFileBytes = 256;

std::string systemError(const std::string& what) { return what + ": " + std::strerror(errno); }

// Wipes a std::string's bytes before it is freed (decoded key material).
struct Wiped {
  std::string& text;
  ~Wiped() { OPENSSL_cleanse(text.data(), text.size()); }
};

std::string keyIdOf(const std::array<unsigned char, kKeyEncryptionKeyBytes>& key) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(key.data(), key.size(), digest.data());
  return hexLower(std::span(digest).first(kKeyIdHexChars / 2));
}

std::string header(std::string_view key_id) {
  return std::string(kVersion) + ":" + std::string(key_id) + ":";
}


}  // namespace

KeyEncryptionKey::KeyEncryptionKey(KeyEncryptionKey&& other) noexcept
    : key_(other.key_), key_id_(std::move(other.key_id_)) {
  OPENSSL_cleanse(other.key_.data(), other.key_.size());
}

KeyEncryptionKey& KeyEncryptionKey::operator=(KeyEncryptionKey&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    key_id_ = std::move(other.key_id_);
    OPENSSL_cleanse(other.key_.data(), other.key_.size());
  }
  return *this;
}

KeyEncryptionKey::~KeyEncryptionKey() { OPENSSL_cleanse(key_.data(), key_.size()); }

util::Result<KeyEncryptionKey> KeyEncryptionKey::load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return util::makeError(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Internal,
                           systemError("key-encryption key file " + path) +
                               (errno == ENOENT ? " (create one with `openssl rand -base64 32`, "
                                                  "mode 0600)"
                                                : ""));
  }
  struct stat st {};
  std::string content(kMaxKeyFileBytes + 1, '\0');
  Wiped wipe{content};
  ssize_t n = -1;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0) {
    n = ::read(fd, content.data(), content.size());
  }
  int read_errno = errno;
  ::close(fd);
  if (!S_ISREG(st.st_mode)) {
    return util::makeError(ErrorCode::Invalid,
                           "key-encryption key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return util::makeError(ErrorCode::Invalid,
                           "key-encryption key file " + path + " has mode " + mode +
                               "; it must be readable by its owner only (chmod 600 " + path + ")");
  }
  if (n < 0) {
    errno = read_errno;
    return util::makeError(ErrorCode::Internal,
                           systemError("reading key-encryption key file " + path));
  }
  content.resize(static_cast<size_t>(n));
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
    content.pop_back();
  }
  std::string bytes;
  Wiped wipe_bytes{bytes};
  bool decoded = false;
  // At most kMaxKeyFileBytes were kept; one more byte read means the file is too long.
  std::optional<std::string> text =
      content.size() <= kMaxKeyFileBytes ? base64Decode(content) : std::nullopt;
  if (text) {
    bytes.swap(*text);  // the decoded key now lives only in `bytes`, wiped on return
    decoded = true;
  }
  if (!decoded || bytes.size() != kKeyEncryptionKeyBytes) {
    return util::makeError(ErrorCode::Invalid,
                           "key-encryption key file " + path + ": " +
                               (decoded ? "decodes to " + std::to_string(bytes.size()) + " bytes"
                                        : std::string("is not one line of base64")) +
                               "; expected 32 random bytes in base64 (`openssl rand -base64 32`)");
  }
  KeyEncryptionKey kek;
  std::memcpy(kek.key_.data(), bytes.data(), kek.key_.size());
  kek.key_id_ = keyIdOf(kek.key_);
  return kek;
}

util::Result<std::string> KeyEncryptionKey::wrap(std::string_view plaintext,
                                                 std::string_view aad) const {
  clearOpensslErrors();
  if (plaintext.size() > kMaxWrapPlaintext) {
    return util::makeError(ErrorCode::Invalid,
                           "wrap: " + std::to_string(plaintext.size()) + " bytes; at most " +
                               std::to_string(kMaxWrapPlaintext) + " are wrapped");
  }
  const std::string authenticated = header(key_id_) + std::string(aad);
  std::vector<unsigned char> sealed(kNonceBytes + plaintext.size() + kTagBytes);
  unsigned char* nonce = sealed.data();
  unsigned char* ciphertext = nonce + kNonceBytes;
  unsigned char* tag = ciphertext + plaintext.size();
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  bool ok =
      ctx && RAND_bytes(nonce, static_cast<int>(kNonceBytes)) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(authenticated.data()),
                        static_cast<int>(authenticated.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), ciphertext, &length,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), ciphertext + length, &length) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), tag) == 1;
  if (!ok) return opensslError(ErrorCode::Internal, "wrap: AES-256-GCM encryption");
  return header(key_id_) + base64Encode(sealed);
}

util::Result<std::string> wrappedKeyId(std::string_view wrapped) {
  std::string prefix = std::string(kVersion) + ":";
  if (wrapped.substr(0, prefix.size()) != prefix ||
      wrapped.size() < prefix.size() + kKeyIdHexChars + 1 ||
      wrapped[prefix.size() + kKeyIdHexChars] != ':') {
    return util::makeError(ErrorCode::Invalid,
                           "wrapped key: unknown format; expected v1:<key id>:<base64>");
  }
  return std::string(wrapped.substr(prefix.size(), kKeyIdHexChars));
}

util::Result<std::string> KeyEncryptionKey::unwrap(std::string_view wrapped,
                                                   std::string_view aad) const {
  clearOpensslErrors();
  ASSIGN_OR_RETURN(std::string key_id, wrappedKeyId(wrapped));
  if (key_id != key_id_) {
    return util::makeError(ErrorCode::Invalid,
                           "wrapped with key id " + key_id + "; the key file has id " + key_id_);
  }
  std::string_view body = wrapped.substr(header(key_id).size());
  std::optional<std::string> decoded =
      body.size() <= 4 * (kMaxWrapPlaintext + kNonceBytes + kTagBytes + 2) / 3 ? base64Decode(body)
                                                                               : std::nullopt;
  if (!decoded || decoded->size() < kNonceBytes + kTagBytes) {
    return util::makeError(ErrorCode::Invalid, "wrapped key: the body is not v1 base64 data");
  }
  const std::string sealed = std::move(*decoded);
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  const unsigned char* ciphertext = nonce + kNonceBytes;
  size_t ciphertext_size = sealed.size() - kNonceBytes - kTagBytes;
  auto* tag = const_cast<unsigned char*>(ciphertext + ciphertext_size);
  const std::string authenticated = header(key_id_) + std::string(aad);
  std::string plaintext(ciphertext_size, '\0');
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(authenticated.data()),
                        static_cast<int>(authenticated.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &length,
                        ciphertext, static_cast<int>(ciphertext_size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()) + length,
                          &length) == 1;
  if (!ok) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    clearOpensslErrors();
    return util::makeError(ErrorCode::Invalid,
                           "wrapped key: authentication failed (the data was altered, or it was "
                           "wrapped for another owner or purpose than \"" +
                               std::string(aad) + "\")");
  }
  return plaintext;
}

util::Status generateKeyFile(const std::string& path) {
  std::array<unsigned char, kKeyEncryptionKeyBytes> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return opensslError(ErrorCode::Internal, "generating a key-encryption key");
  }
  std::string content = base64Encode(key) + "\n";
  OPENSSL_cleanse(key.data(), key.size());
  Wiped wipe{content};
  auto written = util::writeSecretFile(path, content, util::SecretFileMode::CreateOnly);
  if (!written.ok() && written.error().code == ErrorCode::AlreadyExists) {
    return util::makeError(ErrorCode::AlreadyExists,
                           "key file " + path +
                               " already exists; refusing to overwrite it, since it may protect "
                               "keys that are already stored");
  }
  return written;
}

}  // namespace magnumd::pki
