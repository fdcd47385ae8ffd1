#include "secrets/cluster_secrets.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "pki/certificate.h"
#include "tests/controller/fakes.h"
#include "tests/controller/store_fixture.h"
#include "util/json.h"

namespace magnumd::secrets {
namespace {

class ClusterSecretsTest : public controller::testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    kek_ = loadKey("kek");
    secrets_ = std::make_unique<ClusterSecretStore>(*store_, *kek_, clock_);
  }

  std::unique_ptr<pki::KeyEncryptionKey> loadKey(const std::string& name) {
    auto path = (std::filesystem::path(dir_) / name).string();
    EXPECT_TRUE(pki::generateKeyFile(path).ok());
    auto kek = pki::KeyEncryptionKey::load(path);
    EXPECT_TRUE(kek.ok()) << kek.error().message;
    return std::make_unique<pki::KeyEncryptionKey>(std::move(*kek));
  }

  api::Object cluster(const std::string& name, const std::string& uid) {
    auto o = object(api::Kind::Cluster, name);
    o.metadata.uid = uid;
    return o;
  }

  api::Object stored(const std::string& name) {
    auto s = store_->get({api::Kind::ClusterSecret, "demo", name});
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : api::Object{};
  }

  controller::testing::FakeClock clock_;
  std::unique_ptr<pki::KeyEncryptionKey> kek_;
  std::unique_ptr<ClusterSecretStore> secrets_;
};

TEST_F(ClusterSecretsTest, GeneratesOnceAndReturnsTheStoredSecretsAfterwards) {
  auto c = cluster("prod", "uid-1");
  auto first = secrets_->ensure(c);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = secrets_->ensure(c);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->pki.cluster_ca.cert_pem, second->pki.cluster_ca.cert_pem);
  EXPECT_EQ(first->pki.cluster_ca.key_pem, second->pki.cluster_ca.key_pem);
  EXPECT_EQ(first->bootstrap_token, second->bootstrap_token);
  EXPECT_EQ(first->token_expires, clock_.now() + std::chrono::hours(24));
  // A second store object on the same store (another process after a crash) reads the same CA.
  ClusterSecretStore other(*store_, *kek_, clock_);
  auto loaded = other.load(c);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->pki.etcd_ca.key_pem, first->pki.etcd_ca.key_pem);
  EXPECT_EQ(loaded->pki.service_account.private_key_pem,
            first->pki.service_account.private_key_pem);
  auto listed = store_->list({api::Kind::ClusterSecret, "", nullptr, 0, {}});
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->items.size(), 1u);
}

TEST_F(ClusterSecretsTest, StoresNoPrivateKeyOrTokenInPlaintext) {
  auto c = cluster("prod", "uid-1");
  auto s = secrets_->ensure(c);
  ASSERT_TRUE(s.ok());
  const std::string spec = stored("prod").spec;
  EXPECT_EQ(spec.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(spec.find(s->bootstrap_token), std::string::npos);
  EXPECT_NE(spec.find("BEGIN CERTIFICATE"), std::string::npos);  // public parts stay readable
  EXPECT_NE(spec.find("v1:" + kek_->keyId() + ":"), std::string::npos);
}

TEST_F(ClusterSecretsTest, CertificatesAreCasWithKubeadmsNames) {
  auto s = secrets_->ensure(cluster("prod", "uid-1"));
  ASSERT_TRUE(s.ok());
  auto summary = summarize(s->pki);
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->size(), 3u);
  EXPECT_EQ((*summary)[0].name, "cluster");
  EXPECT_EQ((*summary)[0].not_after, clock_.now() + pki::kDefaultCaValidity);
  auto info = pki::inspectCertificate(s->pki.cluster_ca.cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->common_name, "kubernetes");
  EXPECT_EQ((*summary)[0].fingerprint, info->sha256_fingerprint);
}

TEST_F(ClusterSecretsTest, AStaleSecretOfAnOlderClusterWithTheSameNameIsReplaced) {
  auto old = secrets_->ensure(cluster("prod", "uid-old"));
  ASSERT_TRUE(old.ok());
  auto newer = cluster("prod", "uid-new");
  EXPECT_EQ(secrets_->load(newer).error().code, util::ErrorCode::NotFound);
  // Removing on behalf of the new cluster leaves the old one's alone (it is not its own).
  ASSERT_TRUE(secrets_->remove(newer).ok());
  ASSERT_TRUE(store_->get({api::Kind::ClusterSecret, "demo", "prod"}).ok());
  auto fresh = secrets_->ensure(newer);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_NE(fresh->pki.cluster_ca.cert_pem, old->pki.cluster_ca.cert_pem);
  EXPECT_EQ(fresh->cluster_uid, "uid-new");
  ASSERT_TRUE(secrets_->remove(newer).ok());
  EXPECT_FALSE(store_->get({api::Kind::ClusterSecret, "demo", "prod"}).ok());
  EXPECT_TRUE(secrets_->remove(newer).ok());  // absent is success
}

TEST_F(ClusterSecretsTest, AWrappedKeyMovedToAnotherClusterDoesNotDecrypt) {
  ASSERT_TRUE(secrets_->ensure(cluster("a", "uid-a")).ok());
  // Copy a's secret under b's name with b's uid: the ciphertexts are bound to uid-a.
  auto copy = stored("a");
  auto doc = util::parseJson(copy.spec);
  ASSERT_TRUE(doc.ok());
  (*doc)["clusterUid"].SetString("uid-b", doc->GetAllocator());
  api::Object moved = object(api::Kind::ClusterSecret, "b", util::toJson(*doc));
  create(moved);
  auto loaded = secrets_->load(cluster("b", "uid-b"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, util::ErrorCode::Internal);
  EXPECT_NE(loaded.error().message.find("ca.key"), std::string::npos) << loaded.error().message;
}

TEST_F(ClusterSecretsTest, AnotherKeyFileIsNamedAtStartup) {
  ASSERT_TRUE(secrets_->ensure(cluster("prod", "uid-1")).ok());
  EXPECT_TRUE(secrets_->checkKey().ok());
  auto wrong = loadKey("other");
  ClusterSecretStore with_wrong(*store_, *wrong, clock_);
  auto check = with_wrong.checkKey();
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.error().message.find(wrong->keyId()), std::string::npos);
  EXPECT_NE(check.error().message.find(kek_->keyId()), std::string::npos);
  EXPECT_FALSE(with_wrong.load(cluster("prod", "uid-1")).ok());
}

TEST_F(ClusterSecretsTest, ARotationKeepsBothGenerationsUntilItsEnd) {
  auto c = cluster("prod", "uid-1");
  auto first = secrets_->ensure(c);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->generation, 0);
  EXPECT_EQ(first->rotation, Rotation::None);
  EXPECT_EQ(first->clientAuthority().cert_pem, first->pki.cluster_ca.cert_pem);

  auto begun = secrets_->beginRotation(c, 1, api::kCaRequested);
  ASSERT_TRUE(begun.ok()) << begun.error().message;
  EXPECT_EQ(begun->generation, 1);
  EXPECT_EQ(begun->rotation, Rotation::Trust);
  ASSERT_TRUE(begun->previous);
  EXPECT_EQ(begun->previous->cluster_ca.cert_pem, first->pki.cluster_ca.cert_pem);
  EXPECT_NE(begun->pki.cluster_ca.cert_pem, first->pki.cluster_ca.cert_pem);
  // The service-account keys stay: rotating them would void every service-account token.
  EXPECT_EQ(begun->pki.service_account.private_key_pem, first->pki.service_account.private_key_pem);
  // Idempotent: a pass after a crash does not make a third CA.
  auto again = secrets_->beginRotation(c, 1, api::kCaRequested);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->pki.cluster_ca.cert_pem, begun->pki.cluster_ca.cert_pem);
  // Read back from the store by another process: the same state.
  ClusterSecretStore other(*store_, *kek_, clock_);
  auto loaded = other.load(c);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->previous->cluster_ca.key_pem, first->pki.cluster_ca.key_pem);
  EXPECT_EQ(loaded->reason, api::kCaRequested);
  // Nothing secret in the clear.
  EXPECT_EQ(stored("prod").spec.find("PRIVATE KEY"), std::string::npos);

  const std::string old_ca = first->pki.cluster_ca.cert_pem;
  const std::string new_ca = begun->pki.cluster_ca.cert_pem;
  // Step 1 until cluster-info holds both: new servers still get the old set alone.
  EXPECT_EQ(begun->wantedCaSet(), (api::CaSet{0, api::CaStep::Alone, ""}));
  EXPECT_EQ(begun->clusterInfoCaSet(), (api::CaSet{1, api::CaStep::Trust, ""}));
  auto trust = begun->nodePki({1, api::CaStep::Trust, ""});
  ASSERT_TRUE(trust.ok());
  EXPECT_EQ(trust->cluster_ca.cert_pem, old_ca + new_ca);
  EXPECT_EQ(trust->cluster_ca.key_pem, first->pki.cluster_ca.key_pem);
  auto hashes = pki::caCertHashes(trust->cluster_ca.cert_pem);
  ASSERT_TRUE(hashes.ok());
  EXPECT_EQ(hashes->size(), 2u);
  // Clients during step 1: certificates from the old CA (every API server trusts it), trusting
  // both.
  EXPECT_EQ(begun->clientAuthority().cert_pem, old_ca + new_ca);
  EXPECT_EQ(begun->clientAuthority().key_pem, first->pki.cluster_ca.key_pem);

  auto written = secrets_->update(c, [](ClusterSecrets& s) -> util::Status {
    s.cluster_info = "g1-trust";
    return {};
  });
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->wantedCaSet(), (api::CaSet{1, api::CaStep::Trust, ""}));

  auto sign = secrets_->update(c, [](ClusterSecrets& s) -> util::Status {
    s.rotation = Rotation::Sign;
    return {};
  });
  ASSERT_TRUE(sign.ok());
  EXPECT_EQ(sign->wantedCaSet(), (api::CaSet{1, api::CaStep::Sign, ""}));
  auto signing = sign->nodePki({1, api::CaStep::Sign, ""});
  ASSERT_TRUE(signing.ok());
  EXPECT_EQ(signing->cluster_ca.cert_pem, new_ca + old_ca);
  EXPECT_EQ(signing->cluster_ca.key_pem, begun->pki.cluster_ca.key_pem);
  EXPECT_EQ(sign->clientAuthority().key_pem, begun->pki.cluster_ca.key_pem);
  // The old set is still renderable (servers of it are being replaced).
  EXPECT_TRUE(sign->nodePki({0, api::CaStep::Alone, ""}).ok());

  auto drop = secrets_->update(c, [](ClusterSecrets& s) -> util::Status {
    s.rotation = Rotation::Drop;
    return {};
  });
  ASSERT_TRUE(drop.ok());
  // Step 3 until cluster-info holds only the new CA: the signing set stays wanted.
  EXPECT_EQ(drop->wantedCaSet(), (api::CaSet{1, api::CaStep::Sign, ""}));
  auto done = secrets_->update(c, [](ClusterSecrets& s) -> util::Status {
    s.cluster_info = "g1";
    s.rotation = Rotation::None;
    s.previous.reset();
    return {};
  });
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->wantedCaSet(), (api::CaSet{1, api::CaStep::Alone, ""}));
  EXPECT_EQ(done->clientAuthority().cert_pem, new_ca);
  auto gone = done->nodePki({1, api::CaStep::Trust, ""});
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message.find("g1-trust"), std::string::npos) << gone.error().message;
  // The next rotation goes from 1 to 2 only.
  auto skip = secrets_->beginRotation(c, 3, api::kCaRequested);
  ASSERT_FALSE(skip.ok());
  EXPECT_EQ(skip.error().code, util::ErrorCode::Conflict);
}

TEST_F(ClusterSecretsTest, PreviousAndCurrentKeysCannotBeSwapped) {
  auto c = cluster("prod", "uid-1");
  ASSERT_TRUE(secrets_->ensure(c).ok());
  ASSERT_TRUE(secrets_->beginRotation(c, 1, api::kCaExpiring).ok());
  auto object = stored("prod");
  auto doc = util::parseJson(object.spec);
  ASSERT_TRUE(doc.ok());
  // Move the previous cluster CA's ciphertext into the current one's place.
  std::string previous_key = util::stringMember((*doc)["previous"]["clusterCa"], "key").value();
  std::string current_key = util::stringMember((*doc)["clusterCa"], "key").value();
  auto at = object.spec.find(current_key);
  ASSERT_NE(at, std::string::npos);
  object.spec.replace(at, current_key.size(), previous_key);
  ASSERT_TRUE(store::updateSync(*store_, object, object.metadata.resource_version).ok());
  auto loaded = secrets_->load(c);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("ca.key"), std::string::npos) << loaded.error().message;
}

TEST_F(ClusterSecretsTest, RsaIsAnOption) {
  SecretOptions options;
  options.algorithm = pki::KeyAlgorithm::Rsa2048;
  ClusterSecretStore rsa(*store_, *kek_, clock_, options);
  auto s = rsa.ensure(cluster("rsa", "uid-rsa"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_NE(stored("rsa").spec.find("\"keyAlgorithm\":\"RSA-2048\""), std::string::npos)
      << stored("rsa").spec.substr(0, 200);
}

}  // namespace
}  // namespace magnumd::secrets
