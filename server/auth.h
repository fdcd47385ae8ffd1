// Bearer-token authentication and role-based authorization.
//
// Token file: CSV lines `token,user,namespace-or-*,role` with role admin, member or reader;
// blank lines and lines starting with # are ignored.
//   admin  — every verb, including the /status subresource and Events (controller-owned data)
//   member — read everything in scope; create, update, patch and delete ClusterTemplates,
//            Clusters and NodeGroups (not /status, not Events, not Quotas)
//   reader — get, list and watch only
//   healer — a reader that may also write a Cluster's status.healthStatus and
//            status.healthStatusReason (magnum-auto-healer's `cluster:update_health_status`)
// A token whose namespace is not `*` sees and touches only that namespace.
// A cluster's credentials follow the same rules: reading its CA (clusters/ca) is a get; signing a
// CSR (clusters/certificates) and fetching a kubeconfig (clusters/kubeconfig) are creates, so
// readers get the CA only.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/route.h"
#include "util/result.h"

namespace magnumd::server {

enum class Role { Reader, Member, Admin, Healer };
const char* roleName(Role role);

struct Identity {
  std::string user;
  std::string namespace_ = "*";  // "*": every namespace
  Role role = Role::Reader;
  // The Keystone role names of the token, which Magnum's policy rules test beside those `role`
  // implies (magnum_policy.h); empty for token-file identities.
  std::vector<std::string> roles;
  bool allNamespaces() const { return namespace_ == "*"; }
};

enum class Verb { Get, List, Watch, Create, Update, Patch, Delete };
const char* verbName(Verb verb);
inline bool isWrite(Verb v) { return v != Verb::Get && v != Verb::List && v != Verb::Watch; }

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The identity a bearer token belongs to; nullopt for unknown tokens.
  virtual std::optional<Identity> authenticate(std::string_view token) const = 0;
};

// Tokens are kept as SHA-256 digests, so lookups do not compare secrets byte by byte.
class TokenAuthenticator final : public Authenticator {
 public:
  // Parses token file text; errors name `source` and the line: "tokens.csv:3: role ...".
  static util::Result<std::unique_ptr<TokenAuthenticator>> parse(std::string_view text,
                                                                 std::string_view source);
  static util::Result<std::unique_ptr<TokenAuthenticator>> loadFile(const std::string& path);

  void add(std::string_view token, Identity identity);
  size_t size() const { return identities_.size(); }
  std::optional<Identity> authenticate(std::string_view token) const override;

 private:
  std::map<std::string, Identity> identities_;  // sha256(token) -> identity
};

// Forbidden (with a kube-style message naming user, verb, resource and namespace) unless the
// identity may perform `verb` on `path`.
util::Status authorize(const Identity& identity, Verb verb, const ResourcePath& path);

// SHA-256 of a token: how tokens are keyed in memory, so no map holds a secret in clear.
std::string tokenDigest(std::string_view token);

// The token from "Authorization: Bearer <token>"; empty when absent or another scheme.
std::string_view bearerToken(std::string_view authorization_header);

}  // namespace magnumd::server
