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
constexpr std::string_view kPreviousPrefix = "previous/";

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

std::string_view rotationName(Rotation r) {
  switch (r) {
    case Rotation::Trust: return "trust";
    case Rotation::Sign: return "sign";
    case Rotation::Drop: return "drop";
    case Rotation::None: break;
  }
  return "";
}

namespace {

// One CA as a bundle: `first` signs (its key), both are trusted.
pki::CertificateAuthority bundle(const pki::CertificateAuthority& first,
                                 const pki::CertificateAuthority& second) {
  return {first.cert_pem + second.cert_pem, first.key_pem};
}

pki::ClusterPki bundles(const pki::ClusterPki& first, const pki::ClusterPki& second) {
  return {bundle(first.cluster_ca, second.cluster_ca), bundle(first.etcd_ca, second.etcd_ca),
          bundle(first.front_proxy_ca, second.front_proxy_ca), first.service_account};
}

}  // namespace

util::Result<pki::ClusterPki> ClusterSecrets::nodePki(const api::CaSet& set) const {
  if (set.step == api::CaStep::Alone && set.generation == generation) return pki;
  if (previous && set.generation + 1 == generation && set.step == api::CaStep::Alone)
    return *previous;
  if (previous && set.generation == generation && rotation != Rotation::None) {
    return set.step == api::CaStep::Trust ? bundles(*previous, pki) : bundles(pki, *previous);
  }
  return makeError(ErrorCode::Conflict,
                   fmt::format("CA set \"{}\" is not kept any more (the CAs are at generation "
                               "{})",
                               api::formatCaSet(set), generation));
}

api::CaSet ClusterSecrets::clusterInfoCaSet() const {
  switch (rotation) {
    case Rotation::Trust:
    case Rotation::Sign: return {generation, api::CaStep::Trust, ""};
    case Rotation::Drop:
    case Rotation::None: break;
  }
  return {generation, api::CaStep::Alone, ""};
}

api::CaSet ClusterSecrets::wantedCaSet() const {
  const bool written = cluster_info == api::formatCaSet(clusterInfoCaSet());
  switch (rotation) {
    case Rotation::Trust:
      return written ? api::CaSet{generation, api::CaStep::Trust, ""}
                     : api::CaSet{generation - 1, api::CaStep::Alone, ""};
    case Rotation::Sign: return {generation, api::CaStep::Sign, ""};
    case Rotation::Drop:
      return written ? api::CaSet{generation, api::CaStep::Alone, ""}
                     : api::CaSet{generation, api::CaStep::Sign, ""};
    case Rotation::None: break;
  }
  return {generation, api::CaStep::Alone, ""};
}

pki::CertificateAuthority ClusterSecrets::clientAuthority() const {
  if (!previous || rotation == Rotation::None) return pki.cluster_ca;
  // Step 1: API servers of the old set trust only the old CA. From step 2 on every API server
  // trusts the new one, and only it remains at the end.
  return rotation == Rotation::Trust ? bundle(previous->cluster_ca, pki.cluster_ca)
                                     : bundle(pki.cluster_ca, previous->cluster_ca);
}

ClusterSecretStore::ClusterSecretStore(store::Store& store, const pki::KeyEncryptionKey& kek,
                                       const util::Clock& clock, SecretOptions options)
    : store_(store), kek_(kek), clock_(clock), options_(options) {}

util::Result<std::string> ClusterSecretStore::encode(const ClusterSecrets& secrets) const {
  const std::string& uid = secrets.cluster_uid;
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("clusterUid", util::str(uid, a), a);
  doc.AddMember("keyId", util::str(kek_.keyId(), a), a);
  doc.AddMember("keyAlgorithm", util::str(pki::keyAlgorithmName(options_.algorithm), a), a);
  // The CAs of one generation under `prefix` ("" for the current ones, "previous/" for the
  // ones a rotation replaces): the prefix is bound into each key's ciphertext, so the two sets
  // cannot be swapped.
  auto add_cas = [&](util::Json& into, const pki::ClusterPki& pki,
                     std::string_view prefix) -> util::Status {
    for (auto [part, ca] : {std::pair{kClusterCa, &pki.cluster_ca},
                            std::pair{kEtcdCa, &pki.etcd_ca},
                            std::pair{kFrontProxyCa, &pki.front_proxy_ca}}) {
      ASSIGN_OR_RETURN(auto wrapped,
                       kek_.wrap(ca->key_pem, aad(uid, fmt::format("{}{}", prefix, part.purpose))));
      util::Json entry(rapidjson::kObjectType);
      entry.AddMember("cert", util::str(ca->cert_pem, a), a);
      entry.AddMember("key", util::str(wrapped, a), a);
      into.AddMember(util::str(part.member, a), entry, a);
    }
    return {};
  };
  RETURN_IF_ERROR(add_cas(doc, secrets.pki, ""));
  ASSIGN_OR_RETURN(auto sa_key, kek_.wrap(secrets.pki.service_account.private_key_pem,
                                          aad(uid, kServiceAccountPurpose)));
  util::Json sa(rapidjson::kObjectType);
  sa.AddMember("public", util::str(secrets.pki.service_account.public_key_pem, a), a);
  sa.AddMember("private", util::str(sa_key, a), a);
  doc.AddMember(util::str(kServiceAccount, a), sa, a);
  ASSIGN_OR_RETURN(auto wrapped_token, kek_.wrap(secrets.bootstrap_token, aad(uid, kTokenPurpose)));
  doc.AddMember("bootstrapToken", util::str(wrapped_token, a), a);
  doc.AddMember("tokenExpires", util::str(util::formatRfc3339(secrets.token_expires), a), a);
  doc.AddMember("tokenTtlSeconds", static_cast<int64_t>(secrets.token_ttl.count()), a);
  doc.AddMember("generation", secrets.generation, a);
  if (secrets.rotation != Rotation::None) {
    doc.AddMember("rotation", util::str(rotationName(secrets.rotation), a), a);
    doc.AddMember("reason", util::str(secrets.reason, a), a);
    doc.AddMember("rotationStarted",
                  util::str(util::formatRfc3339(secrets.rotation_started), a), a);
  }
  if (secrets.previous) {
    util::Json previous(rapidjson::kObjectType);
    RETURN_IF_ERROR(add_cas(previous, *secrets.previous, kPreviousPrefix));
    doc.AddMember("previous", previous, a);
  }
  if (!secrets.cluster_info.empty())
    doc.AddMember("clusterInfo", util::str(secrets.cluster_info, a), a);
  if (!secrets.renewal.empty()) doc.AddMember("renewal", util::str(secrets.renewal, a), a);
  return util::toJson(doc);
}

util::Result<api::Object> ClusterSecretStore::generate(const api::Object& cluster) const {
  ClusterSecrets secrets;
  secrets.cluster_uid = cluster.metadata.uid;
  ASSIGN_OR_RETURN(secrets.pki, pki::makeClusterPki({options_.algorithm, options_.ca_validity,
                                                     clock_.now()}));
  ASSIGN_OR_RETURN(secrets.bootstrap_token, coe::kubernetes::generateBootstrapToken());
  secrets.token_expires = clock_.now() + options_.token_ttl;
  secrets.token_ttl = options_.token_ttl;

  api::Object secret;
  secret.kind = api::Kind::ClusterSecret;
  secret.metadata.name = cluster.metadata.name;
  secret.metadata.namespace_ = cluster.metadata.namespace_;
  secret.metadata.labels["magnumd.io/cluster-uid"] = cluster.metadata.uid;
  ASSIGN_OR_RETURN(secret.spec, encode(secrets));
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
  auto read_cas = [&](const util::Json& from, pki::ClusterPki& pki,
                      std::string_view prefix) -> util::Status {
    for (auto [part, ca] : {std::pair{kClusterCa, &pki.cluster_ca},
                            std::pair{kEtcdCa, &pki.etcd_ca},
                            std::pair{kFrontProxyCa, &pki.front_proxy_ca}}) {
      const util::Json* entry = util::member(from, part.member);
      if (entry == nullptr || !entry->IsObject())
        return corrupt(secret, fmt::format("{}{} is missing", prefix, part.member));
      ca->cert_pem = util::stringMember(*entry, "cert").value_or("");
      ASSIGN_OR_RETURN(ca->key_pem, unwrap(util::stringMember(*entry, "key").value_or(""),
                                           fmt::format("{}{}", prefix, part.purpose)));
    }
    return {};
  };
  ClusterSecrets out;
  out.cluster_uid = uid;
  RETURN_IF_ERROR(read_cas(doc, out.pki, ""));
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
  if (auto ttl = util::intMember(doc, "tokenTtlSeconds"); ttl && *ttl > 0) {
    out.token_ttl = std::chrono::seconds(*ttl);
  }
  if (const util::Json* g = util::member(doc, "generation"); g != nullptr) {
    if (!g->IsInt64() || g->GetInt64() < 0) return corrupt(secret, "generation is not a count");
    out.generation = g->GetInt64();
  }
  auto rotation = util::stringMember(doc, "rotation").value_or("");
  if (rotation.empty()) {
    out.rotation = Rotation::None;
  } else if (rotation == rotationName(Rotation::Trust)) {
    out.rotation = Rotation::Trust;
  } else if (rotation == rotationName(Rotation::Sign)) {
    out.rotation = Rotation::Sign;
  } else if (rotation == rotationName(Rotation::Drop)) {
    out.rotation = Rotation::Drop;
  } else {
    return corrupt(secret, fmt::format("rotation \"{}\" is not a step", rotation));
  }
  if (out.rotation != Rotation::None) {
    out.reason = util::stringMember(doc, "reason").value_or("");
    out.rotation_started =
        util::parseRfc3339(util::stringMember(doc, "rotationStarted").value_or(""))
            .value_or(util::SystemTime{});
  }
  if (const util::Json* previous = util::member(doc, "previous"); previous != nullptr) {
    if (!previous->IsObject()) return corrupt(secret, "previous is not an object");
    pki::ClusterPki old;
    RETURN_IF_ERROR(read_cas(*previous, old, kPreviousPrefix));
    old.service_account = out.pki.service_account;
    out.previous = std::move(old);
  }
  if (out.rotation != Rotation::None && !out.previous)
    return corrupt(secret, "a rotation without the previous CAs");
  out.cluster_info = util::stringMember(doc, "clusterInfo").value_or("");
  out.renewal = util::stringMember(doc, "renewal").value_or("");
  return out;
}

util::Result<ClusterSecrets> ClusterSecretStore::update(
    const api::Object& cluster, const std::function<util::Status(ClusterSecrets&)>& change) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(auto stored, store_.get(keyFor(cluster)));
    ASSIGN_OR_RETURN(auto secrets, decode(stored, cluster.metadata.uid));
    RETURN_IF_ERROR(change(secrets));
    const auto rv = stored.metadata.resource_version;
    ASSIGN_OR_RETURN(stored.spec, encode(secrets));
    auto written = store::updateSync(store_, std::move(stored), rv);
    if (written.ok()) return decode(*written, cluster.metadata.uid);
    if (written.error().code != ErrorCode::Conflict) return written.takeError();
  }
  return makeError(ErrorCode::Conflict,
                   fmt::format("cluster secret {}/{} keeps changing; retry",
                               cluster.metadata.namespace_, cluster.metadata.name));
}

util::Result<ClusterSecrets> ClusterSecretStore::beginRotation(const api::Object& cluster,
                                                               int64_t generation,
                                                               std::string_view reason) {
  // The new keys are made before the compare-and-swap, outside any retry: a crash before the
  // write leaves nothing, since no node and no kubeconfig ever saw them.
  ASSIGN_OR_RETURN(auto fresh, pki::makeClusterPki({options_.algorithm, options_.ca_validity,
                                                    clock_.now()}));
  return update(cluster, [&](ClusterSecrets& s) -> util::Status {
    if (s.generation >= generation) return {};  // begun already (or done)
    if (s.rotation != Rotation::None || generation != s.generation + 1) {
      return makeError(ErrorCode::Conflict,
                       fmt::format("cannot rotate to CA generation {}: the CAs are at generation "
                                   "{}{}",
                                   generation, s.generation,
                                   s.rotation != Rotation::None ? " and rotating" : ""));
    }
    fresh.service_account = s.pki.service_account;
    s.previous = std::move(s.pki);
    s.pki = std::move(fresh);
    s.generation = generation;
    s.rotation = Rotation::Trust;
    s.reason = std::string(reason);
    s.rotation_started = clock_.now();
    return {};
  });
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
