// Magnum's policy for its v1 API: the rules of magnum/common/policies/*.py by operation
// (cluster:create, cluster:get_all_all_projects, cluster:update_health_status,
// certificate:rotate_ca, credential:rotate, ...) with Magnum's default check strings, overridable
// by a policy file in oslo.policy's YAML format (`"cluster:create": "role:admin"`), as an operator
// of Magnum writes it (policy_rules.h says which part of the syntax).
//
// The defaults are Magnum's, with one addition: Magnum's "cluster user" (the trustee the in-cluster
// magnum-auto-healer authenticates as) is magnumd's healer role, so `cluster_user` is
// `role:healer and project_id:%(project_id)s` and `admin_or_project_member_user_or_cluster_user`
// (the default of cluster:update_health_status) admits it again, as Magnum did before it removed
// its trust manager.
//
// The caller's credentials are its identity: user_id the user, project_id its namespace (for an
// identity of every namespace, the project of the object it acts on: it holds its role in every
// project), roles the Keystone roles of its token and those magnumd's role
// implies (admin: admin, member, reader; member: member, reader; healer: healer, reader), and
// is_admin whether `context_is_admin` allows it (as Magnum's RequestContext computes it).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "server/auth.h"
#include "server/policy_rules.h"
#include "util/result.h"

namespace magnumd::server::magnum {

class Policy {
 public:
  // Magnum's defaults.
  static std::shared_ptr<const Policy> defaults();
  // Magnum's defaults with the rules of a policy file's text; errors name `source` and the rule
  // and position (or the YAML line), and are meant to stop magnumd at start-up.
  static util::Result<std::shared_ptr<const Policy>> withOverrides(std::string_view yaml,
                                                                   std::string_view source);
  static util::Result<std::shared_ptr<const Policy>> loadFile(const std::string& path);

  static policy::Credentials credentialsOf(const Identity& identity, const policy::RuleSet& rules);

  // Forbidden with Magnum's message ("Policy doesn't allow cluster:create to be performed.")
  // unless rule `name` allows `identity` on `target`. A target without project_id or user_id
  // gets the caller's, as Magnum's policy.enforce defaults them.
  util::Status enforce(std::string_view name, const Identity& identity,
                       policy::Target target = {}) const;
  bool allows(std::string_view name, const Identity& identity, policy::Target target = {}) const;
  // Whether `identity` is an admin as Magnum's RequestContext.is_admin says (context_is_admin).
  bool isAdmin(const Identity& identity) const { return allows("context_is_admin", identity); }

  const policy::RuleSet& rules() const { return rules_; }

 private:
  Policy() = default;
  policy::RuleSet rules_;
};

}  // namespace magnumd::server::magnum
