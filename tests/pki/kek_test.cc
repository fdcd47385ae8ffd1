#include "pki/kek.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include "pki/encoding.h"
#include "tests/pki/pki_test_util.h"

namespace magnumd::pki {
namespace {

class Kek : public ::testing::Test {
 protected:
  KeyEncryptionKey makeKey(const std::string& name) {
    std::string path = dir_.file(name);
    EXPECT_TRUE(generateKeyFile(path));
    auto kek = KeyEncryptionKey::load(path);
    EXPECT_TRUE(kek) << kek.error().message;
    return std::move(kek).value();
  }
  testing::TempDir dir_;
};

const std::string kCaKey = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49...\n";

TEST_F(Kek, GeneratedKeyFileIsOwnerOnlyBase64AndNeverOverwritten) {
  mode_t old_umask = ::umask(0);  // even a permissive umask must not widen the mode
  std::string path = dir_.file("kek");
  auto created = generateKeyFile(path);
  ::umask(old_umask);
  ASSERT_TRUE(created) << created.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::string content = testing::run("cat " + path);
  ASSERT_EQ(content.size(), 45u);
  EXPECT_EQ(content.back(), '\n');
  auto bytes = base64Decode(content.substr(0, 44));
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->size(), 32u);

  auto again = generateKeyFile(path);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, util::ErrorCode::AlreadyExists);
  EXPECT_EQ(testing::run("cat " + path), content);

  // The key id is what an operator can compute from the file.
  auto kek = KeyEncryptionKey::load(path);
  ASSERT_TRUE(kek) << kek.error().message;
  std::string id = testing::run("base64 -d " + path + " | sha256sum | cut -c1-16");
  EXPECT_EQ(kek->keyId() + "\n", id);
}

TEST_F(Kek, WrapUnwrapRoundTrip) {
  KeyEncryptionKey kek = makeKey("kek");
  auto wrapped = kek.wrap(kCaKey, "uid-1/ca.key");
  ASSERT_TRUE(wrapped) << wrapped.error().message;
  EXPECT_EQ(wrapped->rfind("v1:" + kek.keyId() + ":", 0), 0u) << *wrapped;
  EXPECT_EQ(wrapped->find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(*wrappedKeyId(*wrapped), kek.keyId());
  auto unwrapped = kek.unwrap(*wrapped, "uid-1/ca.key");
  ASSERT_TRUE(unwrapped) << unwrapped.error().message;
  EXPECT_EQ(*unwrapped, kCaKey);

  // A fresh nonce each time: the same key wrapped twice gives different ciphertexts.
  EXPECT_NE(*kek.wrap(kCaKey, "uid-1/ca.key"), *wrapped);
  EXPECT_EQ(*kek.unwrap(*kek.wrap("", "uid-1/empty"), "uid-1/empty"), "");
}

TEST_F(Kek, AnotherKeyFileIsNamedNotMistakenForTampering) {
  KeyEncryptionKey kek = makeKey("kek");
  KeyEncryptionKey other = makeKey("other");
  ASSERT_NE(kek.keyId(), other.keyId());
  auto wrapped = kek.wrap(kCaKey, "uid-1/ca.key");
  ASSERT_TRUE(wrapped);
  auto unwrapped = other.unwrap(*wrapped, "uid-1/ca.key");
  ASSERT_FALSE(unwrapped);
  EXPECT_EQ(unwrapped.error().message,
            "wrapped with key id " + kek.keyId() + "; the key file has id " + other.keyId());
}

TEST_F(Kek, TamperedDataOrAnotherOwnerFailsAuthentication) {
  KeyEncryptionKey kek = makeKey("kek");
  std::string wrapped = *kek.wrap(kCaKey, "uid-1/ca.key");

  std::string tampered = wrapped;
  char& c = tampered[tampered.size() / 2];
  c = c == 'A' ? 'B' : 'A';
  auto a = kek.unwrap(tampered, "uid-1/ca.key");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("authentication failed"), std::string::npos)
      << a.error().message;

  // The same ciphertext moved to another cluster, or presented as another key of this one.
  EXPECT_FALSE(kek.unwrap(wrapped, "uid-2/ca.key"));
  EXPECT_FALSE(kek.unwrap(wrapped, "uid-1/etcd-ca.key"));
  EXPECT_FALSE(kek.unwrap(wrapped.substr(0, wrapped.size() - 4), "uid-1/ca.key"));

  auto format = kek.unwrap("v2:" + wrapped.substr(3), "uid-1/ca.key");
  ASSERT_FALSE(format);
  EXPECT_EQ(format.error().message, "wrapped key: unknown format; expected v1:<key id>:<base64>");
}

TEST_F(Kek, KeyFileProblemsAreClearErrors) {
  auto missing = KeyEncryptionKey::load(dir_.file("absent"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, util::ErrorCode::NotFound);
  EXPECT_NE(missing.error().message.find(dir_.file("absent")), std::string::npos);

  std::string loose = dir_.file("loose");
  ASSERT_TRUE(generateKeyFile(loose));
  ASSERT_EQ(::chmod(loose.c_str(), 0640), 0);
  auto readable = KeyEncryptionKey::load(loose);
  ASSERT_FALSE(readable);
  EXPECT_EQ(readable.error().message, "key-encryption key file " + loose +
                                          " has mode 0640; it must be readable by its owner "
                                          "only (chmod 600 " +
                                          loose + ")");

  std::string short_key = dir_.file("short");
  testing::writeFile(short_key, testing::run("openssl rand -base64 16"));
  ASSERT_EQ(::chmod(short_key.c_str(), 0600), 0);
  auto too_short = KeyEncryptionKey::load(short_key);
  ASSERT_FALSE(too_short);
  EXPECT_EQ(too_short.error().message,
            "key-encryption key file " + short_key +
                ": decodes to 16 bytes; expected 32 random bytes in base64 (`openssl rand "
                "-base64 32`)");

  std::string raw = dir_.file("raw");
  testing::writeFile(raw, std::string(32, '\x01'));
  ASSERT_EQ(::chmod(raw.c_str(), 0600), 0);
  auto not_base64 = KeyEncryptionKey::load(raw);
  ASSERT_FALSE(not_base64);
  EXPECT_NE(not_base64.error().message.find("is not one line of base64"), std::string::npos);

  auto directory = KeyEncryptionKey::load(dir_.path());
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("is not a regular file"), std::string::npos)
      << directory.error().message;
}

TEST_F(Kek, OpensslRandOutputIsAValidKeyFile) {
  std::string path = dir_.file("kek");
  testing::writeFile(path, testing::run("openssl rand -base64 32"));
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  auto kek = KeyEncryptionKey::load(path);
  ASSERT_TRUE(kek) << kek.error().message;
  EXPECT_EQ(*kek->unwrap(*kek->wrap("x", "a"), "a"), "x");
}

}  // namespace
}  // namespace magnumd::pki
