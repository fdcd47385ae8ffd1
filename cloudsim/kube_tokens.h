// Bootstrap tokens as a kubeadm cluster keeps them: kubeadm init turns each InitConfiguration
// bootstrapTokens entry into a Secret kube-system/bootstrap-token-<id> (type
// bootstrap.kubernetes.io/token) whose data.expiration is init time + ttl; `kubeadm join` with a
// token works only while such a Secret holds its id and secret, allows authentication and
// signing, and has not expired; the token cleaner deletes expired ones. Clients (magnumd) keep a
// token alive by rewriting its Secret. Only these Secrets are modelled, bounded in count and size.
// No HTTP here (kube_secrets_api.cc serves them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudsim/kube_bootstrap.h"
#include "util/json.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::cloudsim {

using util::SystemTime;

inline constexpr std::string_view kTokenSecretType = "bootstrap.kubernetes.io/token";
inline constexpr std::string_view kTokenSecretPrefix = "bootstrap-token-";
// kubeadm makes one Secret per configured token; magnumd one per cluster.
inline constexpr size_t kMaxTokenSecrets = 64;
// Keys plus decoded values of one Secret's data.
inline constexpr size_t kMaxTokenSecretBytes = 8192;
inline constexpr size_t kMaxTokenSecretKeys = 16;
// Token ids the cleaner removed, remembered so a refused join can say the token expired.
inline constexpr size_t kMaxCleanedTokens = 16;

struct TokenSecret {
  std::string id;                           // data.token-id; the name is bootstrap-token-<id>
  std::map<std::string, std::string> data;  // decoded values (base64 on the wire)
  std::optional<SystemTime> expires;        // data.expiration; none: never expires
  std::string uid;
  uint64_t resource_version = 0;
  SystemTime created;
};

struct CleanedToken {
  std::string id;
  SystemTime expired;
};

struct TokenSecrets {
  std::map<std::string, TokenSecret> by_id;
  std::deque<CleanedToken> cleaned;  // newest last
};

// "bootstrap-token-<id>".
std::string tokenSecretName(std::string_view id);

// The Secret kubeadm init writes for one bootstrapTokens entry at `now`.
TokenSecret initTokenSecret(const KubeadmToken& token, SystemTime now);

// A stored version of `secret` in the cluster of `stack_id`: its uid and resourceVersion.
void stampTokenSecret(TokenSecret& secret, std::string_view stack_id, uint64_t resource_version);

// The token cleaner: removes every Secret whose expiration is not after `now`.
void cleanExpiredTokens(TokenSecrets& tokens, SystemTime now);

// Why `token` ("<id>.<secret>") cannot authenticate a kubeadm join at `now` (after the cleaner
// ran), or "" when it can. Never contains the token's secret.
std::string joinTokenProblem(TokenSecrets& tokens, std::string_view token, SystemTime now);

// A Secret body of a POST or PUT to kube-system (`name`: the URL's, empty on POST). Errors:
// BadRequest for a body that is not a Secret, Invalid naming the field (`data.token-id`, `type`,
// ...) for one cloudsim does not keep. A Secret kube-apiserver would store but the bootstrap
// authenticator would ignore is refused, so a client's mistake shows at once.
util::Result<TokenSecret> readTokenSecret(const util::Json& body, std::string_view name);

// The Secret as kube-apiserver returns it (data base64-encoded).
void renderTokenSecret(const TokenSecret& secret, util::Json& out, util::JsonAlloc& a);
std::string tokenSecretJson(const TokenSecret& secret);

}  // namespace magnumd::cloudsim
