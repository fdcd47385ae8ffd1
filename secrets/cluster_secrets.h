// What magnumd keeps secret about each cluster: its CAs and service-account keys (laid out as
// kubeadm expects them) and the bootstrap token nodes join with. Generated exactly once per
// cluster and kept in the store as an internal ClusterSecret object (named like the Cluster, in its
// namespace) whose private parts are AES-256-GCM ciphertext under the key-encryption key
// (pki/kek.h), bound to the cluster's uid and the key's purpose.
//
// Exactly once: the secret is generated in memory and written with a create, which the store
// refuses when one exists; the loser of any race (or a pass after a crash) reads the stored one.
// A crash between generating and storing leaves nothing behind, and no node ever saw the lost
// CA, since user_data is rendered only from the stored secret.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "api/object.h"
#include "pki/ca.h"
#include "pki/kek.h"
#include "pki/key.h"
#include "store/store.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::secrets {

struct SecretOptions {
  pki::KeyAlgorithm algorithm = pki::KeyAlgorithm::EcdsaP256;
  std::chrono::seconds ca_validity = pki::kDefaultCaValidity;
  std::chrono::seconds token_ttl = std::chrono::hours(24);
};

struct ClusterSecrets {
  std::string cluster_uid;
  pki::ClusterPki pki;  // private keys in plaintext: never log, never put in a response
  std::string bootstrap_token;
  util::SystemTime token_expires{};
};

// What may be shown about a cluster's CAs (status, describe): no key material.
struct CaSummary {
  std::string name;         // "cluster", "etcd", "front-proxy"
  std::string fingerprint;  // SHA-256, "AB:CD:..."
  util::SystemTime not_after{};
};
util::Result<std::vector<CaSummary>> summarize(const pki::ClusterPki& pki);

class ClusterSecretStore {
 public:
  ClusterSecretStore(store::Store& store, const pki::KeyEncryptionKey& kek, const util::Clock& clock,
                     SecretOptions options = {});

  // The cluster's secrets, generated and stored on the first call. Blocking (a store write):
  // never call on an I/O thread.
  util::Result<ClusterSecrets> ensure(const api::Object& cluster);
  // The stored secrets; NotFound before ensure(), or when the stored secret belongs to an older
  // cluster of the same name. Reads memory only.
  util::Result<ClusterSecrets> load(const api::Object& cluster) const;
  // Removes the cluster's secret (and only its own, by uid). Absent is success.
  util::Status remove(const api::Object& cluster);

  // Startup check: every stored secret names this key (a wrong --encryption-key-file is an error
  // naming both key ids, never silent).
  util::Status checkKey() const;

  const pki::KeyEncryptionKey& kek() const { return kek_; }

 private:
  util::Result<api::Object> generate(const api::Object& cluster) const;
  util::Result<ClusterSecrets> decode(const api::Object& secret, const std::string& uid) const;

  store::Store& store_;
  const pki::KeyEncryptionKey& kek_;
  const util::Clock& clock_;
  SecretOptions options_;
};

}  // namespace magnumd::secrets
