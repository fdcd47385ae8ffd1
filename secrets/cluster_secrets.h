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
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/ca_rotation.h"
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

// Where a CA rotation (api/ca_rotation.h) stands, as the secret records it: the secret is the
// one place that says which CAs exist, so a pass after a crash resumes from it.
enum class Rotation { None, Trust, Sign, Drop };
std::string_view rotationName(Rotation r);

struct ClusterSecrets {
  std::string cluster_uid;
  pki::ClusterPki pki;  // private keys in plaintext: never log, never put in a response
  std::string bootstrap_token;
  util::SystemTime token_expires{};
  // The token's lifetime at kubeadm init, as the cluster's user_data says it (kept per cluster:
  // a later --join-token-ttl must not change every server's user_data).
  std::chrono::seconds token_ttl{std::chrono::hours(24)};
  // Generation of `pki` (0: the CAs the cluster was created with). During a rotation `previous`
  // holds generation - 1's CAs (the service-account keys are not rotated: both hold the same).
  int64_t generation = 0;
  Rotation rotation = Rotation::None;
  std::optional<pki::ClusterPki> previous;
  // The CA set (api::formatCaSet) last written to the cluster's kube-public/cluster-info, which
  // joining nodes trust; "" until a rotation writes it.
  std::string cluster_info;
  // When the masters' certificates were last renewed by replacing them ("" never): part of their
  // CA set's name, so that a renewal is a rollout.
  std::string renewal;
  std::string reason;  // why the current rotation runs (api::kCaRequested / kCaExpiring)
  util::SystemTime rotation_started{};

  // The CAs a node of CA set `set` boots with: bundles (the signing CA first) during a rotation.
  // An error when that set is not kept any more.
  util::Result<pki::ClusterPki> nodePki(const api::CaSet& set) const;
  // The CA set new nodes get now, given whether cluster-info already holds it.
  api::CaSet wantedCaSet() const;
  // The CA set cluster-info must hold before new nodes of wantedCaSet() may join.
  api::CaSet clusterInfoCaSet() const;
  // What clients (magnumd's own identity, user kubeconfigs) are issued from: the certificate is
  // the bundle every API server of the cluster may present, signed certificates come from its
  // first CA (which every API server trusts at this step), and its key is that CA's key.
  pki::CertificateAuthority clientAuthority() const;
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

  // Starts the rotation to `generation` (current + 1): new CAs, the current ones kept as previous,
  // step Trust. Idempotent: a secret already at `generation` is returned as it is. `reason`:
  // api::kCaRequested or kCaExpiring.
  util::Result<ClusterSecrets> beginRotation(const api::Object& cluster, int64_t generation,
                                             std::string_view reason);
  // Rewrites the stored secret with `change` applied (a compare-and-swap on its
  // resourceVersion, retried on conflicts with a fresh read).
  util::Result<ClusterSecrets> update(const api::Object& cluster,
                                      const std::function<util::Status(ClusterSecrets&)>& change);

  // Startup check: every stored secret names this key (a wrong --encryption-key-file is an error
  // naming both key ids, never silent).
  util::Status checkKey() const;

  const pki::KeyEncryptionKey& kek() const { return kek_; }
  std::chrono::seconds tokenTtl() const { return options_.token_ttl; }
  const SecretOptions& options() const { return options_; }

 private:
  util::Result<api::Object> generate(const api::Object& cluster) const;
  util::Result<std::string> encode(const ClusterSecrets& secrets) const;
  util::Result<ClusterSecrets> decode(const api::Object& secret, const std::string& uid) const;

  store::Store& store_;
  const pki::KeyEncryptionKey& kek_;
  const util::Clock& clock_;
  SecretOptions options_;
};

}  // namespace magnumd::secrets
