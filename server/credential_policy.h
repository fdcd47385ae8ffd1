// Who gets which client certificate for a cluster: the identity a kubeconfig carries per role,
// the subjects a caller may have signed, and how long what is issued lives. No I/O: the
// credentials endpoints (credentials.h) apply it, tests read it like a table.
//
//   role    kubeconfig subject                   CSR subjects it may have signed
//   admin   CN=<user>, O=system:masters          any (O=system:masters included)
//   member  CN=<user>, O=magnumd:members         CN=<user>, O only magnumd:members (or none)
//   reader  none: the kubeconfig and signing need write access to the cluster
//
// A member may already delete the cluster, but not read what runs in it: the cluster's own RBAC
// decides that, and it decides by user name and groups. Letting a member choose either would let
// it claim any identity the cluster trusts, so magnumd asserts them, as it does for kubeconfigs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/csr.h"
#include "server/auth.h"
#include "util/result.h"

namespace magnumd::server {

// Kubernetes' built-in superuser group: RBAC cannot take its rights away (only a new CA can).
inline constexpr std::string_view kSystemMastersGroup = "system:masters";
// What a member's certificates carry; a cluster administrator binds roles to it, e.g.
// `kubectl create clusterrolebinding members-edit --clusterrole=edit --group=magnumd:members`.
inline constexpr std::string_view kMembersGroup = "magnumd:members";

// Validity of issued client certificates: the default and the largest a caller may ask for
// (one year, kubeadm's default for leaf certificates), the smallest (kube-apiserver's minimum
// CSR expirationSeconds), and never past the cluster CA's own expiry.
inline constexpr std::chrono::seconds kDefaultClientValidity = pki::kDefaultLeafValidity;
inline constexpr std::chrono::seconds kMaxClientValidity = pki::kDefaultLeafValidity;
inline constexpr std::chrono::seconds kMinClientValidity{600};

struct ClientIdentity {
  std::string user;                 // CN
  std::vector<std::string> groups;  // O
};

// The subject of the certificate a caller's kubeconfig gets. Readers get none (nullopt).
std::optional<ClientIdentity> kubeconfigIdentity(const Identity& caller);

// Forbidden, naming the offending part and what would be allowed, unless `caller` may have a
// certificate with the CSR's subject signed.
util::Status checkRequestedSubject(const Identity& caller, const pki::CertificateRequest& request);

// Parses an `expirationSeconds` value (query parameter or JSON field): absent means the default;
// BadRequest naming the bounds otherwise.
util::Result<std::chrono::seconds> parseExpiration(std::optional<int64_t> seconds);

}  // namespace magnumd::server
