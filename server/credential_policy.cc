#include "server/credential_policy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace magnumd::server {

using util::ErrorCode;
using util::makeError;

std::optional<ClientIdentity> kubeconfigIdentity(const Identity& caller) {
  switch (caller.role) {
    case Role::Admin:
      return ClientIdentity{caller.user, {std::string(kSystemMastersGroup)}};
    case Role::Member:
      return ClientIdentity{caller.user, {std::string(kMembersGroup)}};
    case Role::Reader:
    case Role::Healer:
      return std::nullopt;
  }
  return std::nullopt;
}

util::Status checkRequestedSubject(const Identity& caller, const pki::CertificateRequest& request) {
  if (caller.role == Role::Admin) return {};
  auto own = kubeconfigIdentity(caller);
  if (!own) {
    return makeError(ErrorCode::Forbidden, fmt::format("role {} may not have certificates signed",
                                                       roleName(caller.role)));
  }
  if (request.common_name != own->user) {
    return makeError(ErrorCode::Forbidden,
                     fmt::format("CSR: CN={} is not your user name; a {} may have certificates "
                                 "signed only for itself (CN={}); an admin may sign any subject",
                                 request.common_name, roleName(caller.role), own->user));
  }
  for (const auto& group : request.organizations) {
    if (group == kSystemMastersGroup) {
      return makeError(ErrorCode::Forbidden,
                       fmt::format("CSR: O=system:masters (unrestricted cluster-admin) is signed "
                                   "only for administrators; your role is {}",
                                   roleName(caller.role)));
    }
    if (std::find(own->groups.begin(), own->groups.end(), group) == own->groups.end()) {
      return makeError(
          ErrorCode::Forbidden,
          fmt::format("CSR: O={} is not a group of yours; a {}'s certificate may carry only the "
                      "groups magnumd gives its role ({}), or none; an admin may sign any subject",
                      group, roleName(caller.role), fmt::join(own->groups, ", ")));
    }
  }
  return {};
}

util::Result<std::chrono::seconds> parseExpiration(std::optional<int64_t> seconds) {
  if (!seconds) return kDefaultClientValidity;
  if (*seconds < kMinClientValidity.count() || *seconds > kMaxClientValidity.count()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("expirationSeconds: {} is not between {} (10 minutes) and {} (one "
                                 "year)",
                                 *seconds, kMinClientValidity.count(), kMaxClientValidity.count()));
  }
  return std::chrono::seconds(*seconds);
}

}  // namespace magnumd::server
