#include "secrets/cluster_secrets.h"

#include <fmt/format.h>

#include "drivers/coe/kubernetes/bootstrap.h"
#include "pki/certificate.h"
#include "util/json.h"

namespace magnumd::secrets {

using util::ErrorCode;
using util::makeError;

namespace {

// One wrapped private part: its JSON member and the purpose bound into its ciphertext.
struct Part {
  std::string_view member;  // "clusterCa"
  std::string_view purpose; // "ca.key", the file kubeadm reads it from
};
constexpr Part kClusterCa{"clusterCa", "ca.key"};
constexpr Part kEtcdCa{"etcdCa", "etcd/ca.key"};
constexpr Part kFrontProxyCa{"frontProxyCa", "front-proxy-ca.key"};
constexpr std::string_view kServiceAccount = "serviceAccount";
constexpr std::string_view kServiceAccountPurpose = "sa.key";
constexpr std::string_view kTokenPurpose = "bootstrap-token";

std::string aad(std::string_view uid, std::string_view purpose) {
  return fmt::format("{}/{}", uid, purpose);
}

api::ObjectKey keyFor(const api::Object& cluster) {
  return {api::Kind::ClusterSecret, cluster.metadata.namespace_, cluster.metadata.name};
}

util::Error corrupt(const api::Object& secret, std::string_view what) {
  return makeError(ErrorCode::Internal,
                   fmt::format("cluster secret {}/{} cannot be read: {}", secret.metadata.namespace_,
                               secret.metadata.name, what));
}

}  // namespace

util::Result<std::vector<CaSummary>> summarize(const pki::ClusterPki& pki) {
  std::vector<CaSummary> out;
  for (auto [name, ca] : {std::pair{"cluster", &pki.cluster_ca}, std::pair{"etcd", &pki.etcd_ca},
                          std::pair{"front-proxy", &pki.front_proxy_ca}}) {
    ASSIGN_OR_RETURN(auto info, pki::inspectCertificate(ca->cert_pem));
    out.push_back({name, info.sha256_fingerprint, info.not_after});
  }
  return out;
}

ClusterSecretStore::ClusterSecretStore(store::Store& store, const pki::KeyEncryptionKey& kek,
                                       const util::Clock& clock, SecretOptions options)
    : store_(store), kek_(kek), clock_(clock), options_(options) {}

util::Result<api::Object> ClusterSecretStore::generate(const api::Object& cluster) const {
  const std::string& uid = cluster.metadata.uid;
  ASSIGN_OR_RETURN(auto pki, pki::makeClusterPki({options_.algorithm, options_.ca_validity,
                                                     clock_.now()}));
  ASSIGN_OR_RETURN(auto token, coe::kubernetes::generateBootstrapToken());

  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("clusterUid", util::str(uid, a), a);
  doc.AddMember("keyId", util::str(kek_.keyId(), a), a);
  doc.AddMember("keyAlgorithm", util::str(pki::keyAlgorithmName(options_.algorithm), a), a);
  for (auto [part, ca] : {std::pair{kClusterCa, &pki.cluster_ca}, std::pair{kEtcdCa, &pki.etcd_ca},
                          std::pair{kFrontProxyCa, &pki.front_proxy_ca}}) {
    ASSIGN_OR_RETURN(auto wrapped, kek_.wrap(ca->key_pem, aad(uid, part.purpose)));
    util::Json entry(rapidjson::kObjectType);
    entry.AddMember("cert", util::str(ca->cert_pem, a), a);
    entry.AddMember("key", util::str(wrapped, a), a);
    doc.AddMember(util::str(part.member, a), entry, a);
  }
  ASSIGN_OR_RETURN(auto sa_key, kek_.wrap(pki.service_account.private_key_pem,
                                             aad(uid, kServiceAccountPurpose)));
  util::Json sa(rapidjson::kObjectType);
  sa.AddMember("public", util::str(pki.service_account.public_key_pem, a), a);
  sa.AddMember("private", util::str(sa_key, a), a);
  doc.AddMember(util::str(kServiceAccount, a), sa, a);
  ASSIGN_OR_RETURN(auto wrapped_token, kek_.wrap(token, aad(uid, kTokenPurpose)));
  doc.AddMember("bootstrapToken", util::str(wrapped_token, a), a);
  doc.AddMember("tokenExpires",
                util::str(util::formatRfc3339(clock_.now() + options_.token_ttl), a), a);

  api::Object secret;
  secret.kind = api::Kind::ClusterSecret;
  secret.metadata.name = cluster.metadata.name;
  secret.metadata.namespace_ = cluster.metadata.namespace_;
  secret.metadata.labels["magnumd.io/cluster-uid"] = uid;
  secret.spec = util::toJson(doc);
  return secret;
}

util::Result<ClusterSecrets> ClusterSecretStore::decode(const api::Object& secret,
                                                        const std::string& uid) const {
  auto parsed = util::parseJson(secret.spec);
  if (!parsed.ok()) return corrupt(secret, parsed.error().message);
  const util::Json& doc = *parsed;
  if (util::stringMember(doc, "clusterUid").value_or("") != uid) {
    return makeError(ErrorCode::NotFound,
                     fmt::format("cluster secret {}/{} belongs to another cluster of that name",
                                 secret.metadata.namespace_, secret.metadata.name));
  }
  auto unwrap = [&](std::string_view wrapped, std::string_view purpose) -> util::Result<std::string> {
    auto plain = kek_.unwrap(wrapped, aad(uid, purpose));
    if (!plain.ok()) return corrupt(secret, fmt::format("{}: {}", purpose, plain.error().message));
    return plain;
  };
  ClusterSecrets out;
  out.cluster_uid = uid;
  for (auto [part, ca] : {std::pair{kClusterCa, &out.pki.cluster_ca},
                          std::pair{kEtcdCa, &out.pki.etcd_ca},
                          std::pair{kFrontProxyCa, &out.pki.front_proxy_ca}}) {
    const util::Json* entry = util::member(doc, part.member);
    if (entry == nullptr || !entry->IsObject()) return corrupt(secret, fmt::format("{} is missing", part.member));
    ca->cert_pem = util::stringMember(*entry, "cert").value_or("");
    ASSIGN_OR_RETURN(ca->key_pem, unwrap(util::stringMember(*entry, "key").value_or(""), part.purpose));
  }
  const util::Json* sa = util::member(doc, kServiceAccount);
  if (sa == nullptr || !sa->IsObject()) return corrupt(secret, "serviceAccount is missing");
  out.pki.service_account.public_key_pem = util::stringMember(*sa, "public").value_or("");
  ASSIGN_OR_RETURN(out.pki.service_account.private_key_pem,
                      unwrap(util::stringMember(*sa, "private").value_or(""), kServiceAccountPurpose));
  ASSIGN_OR_RETURN(out.bootstrap_token,
                      unwrap(util::stringMember(doc, "bootstrapToken").value_or(""), kTokenPurpose));
  auto expires = util::parseRfc3339(util::stringMember(doc, "tokenExpires").value_or(""));
  if (!expires) return corrupt(secret, "tokenExpires is not an RFC 3339 time");
  out.token_expires = *expires;
  return out;
}

util::Result<ClusterSecrets> ClusterSecretStore::load(const api::Object& cluster) const {
  ASSIGN_OR_RETURN(auto secret, store_.get(keyFor(cluster)));
  return decode(secret, cluster.metadata.uid);
}

util::Result<ClusterSecrets> ClusterSecretStore::ensure(const api::Object& cluster) {
  if (cluster.metadata.uid.empty()) {
    return makeError(ErrorCode::Internal, "cluster secrets need the cluster's uid");
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto stored = store_.get(keyFor(cluster));
    if (stored.ok()) {
      auto secrets = decode(*stored, cluster.metadata.uid);
      if (secrets.ok() || secrets.error().code != ErrorCode::NotFound) return secrets;
      // Left by an older cluster of the same name (its delete did not finish): replace it.
      auto removed = store::removeSync(store_, keyFor(cluster), stored->metadata.resource_version);
      if (!removed.ok() && removed.error().code != ErrorCode::NotFound &&
          removed.error().code != ErrorCode::Conflict) {
        return removed.takeError();
      }
      continue;
    }
    if (stored.error().code != ErrorCode::NotFound) return stored.takeError();
    ASSIGN_OR_RETURN(auto fresh, generate(cluster));
    auto created = store::createSync(store_, std::move(fresh));
    if (created.ok()) return decode(*created, cluster.metadata.uid);
    if (created.error().code != ErrorCode::AlreadyExists) return created.takeError();
    // Another writer won: read what it stored.
  }
  return makeError(ErrorCode::Conflict,
                   fmt::format("cluster secret {}/{} keeps changing; retry",
                               cluster.metadata.namespace_, cluster.metadata.name));
}

util::Status ClusterSecretStore::remove(const api::Object& cluster) {
  auto stored = store_.get(keyFor(cluster));
  if (!stored.ok()) {
    return stored.error().code == ErrorCode::NotFound ? util::Status{} : stored.takeError();
  }
  auto parsed = util::parseJson(stored->spec);
  if (parsed.ok() && util::stringMember(*parsed, "clusterUid").value_or("") != cluster.metadata.uid) {
    return {};  // a newer cluster's
  }
  auto removed = store::removeSync(store_, keyFor(cluster), stored->metadata.resource_version);
  if (!removed.ok() && removed.error().code != ErrorCode::NotFound) return removed.takeError();
  return {};
}

util::Status ClusterSecretStore::checkKey() const {
  store::ListOptions options;
  options.kind = api::Kind::ClusterSecret;
  ASSIGN_OR_RETURN(auto listed, store_.list(options));
  for (const auto& secret : listed.items) {
    auto parsed = util::parseJson(secret.spec);
    if (!parsed.ok()) return corrupt(secret, parsed.error().message);
    auto wrapped = util::stringMember(*parsed, "bootstrapToken").value_or("");
    auto id = pki::wrappedKeyId(wrapped);
    if (!id.ok()) return corrupt(secret, id.error().message);
    if (*id != kek_.keyId()) {
      return makeError(ErrorCode::Invalid,
                       fmt::format("the encryption key file holds key {}, but cluster secret {}/{} "
                                   "was encrypted with key {}; start with the key file that "
                                   "encrypted the stored secrets",
                                   kek_.keyId(), secret.metadata.namespace_, secret.metadata.name,
                                   *id));
    }
    auto uid = util::stringMember(*parsed, "clusterUid").value_or("");
    auto plain = kek_.unwrap(wrapped, aad(uid, kTokenPurpose));
    if (!plain.ok()) return corrupt(secret, plain.error().message);
  }
  return {};
}

}  // namespace magnumd::secrets
