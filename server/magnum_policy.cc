#include "server/magnum_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <span>
#include <sstream>
#include <utility>

#include "util/yaml.h"

namespace magnumd::server::magnum {
namespace {

using util::ErrorCode;
using util::makeError;

// magnum/common/policies/base.py (master), plus the cluster user as magnumd's healer role.
constexpr std::pair<std::string_view, std::string_view> kBaseRules[] = {
    {"context_is_admin", "role:admin"},
    {"admin_or_owner", "is_admin:True or project_id:%(project_id)s"},
    {"admin_or_user", "is_admin:True or user_id:%(user_id)s"},
    {"is_user", "user_id:%(user_id)s"},
    {"cluster_user", "role:healer and project_id:%(project_id)s"},
    {"project_member", "role:member and project_id:%(project_id)s"},
    {"project_reader", "role:reader and project_id:%(project_id)s"},
    {"admin_or_project_reader", "(rule:context_is_admin) or (rule:project_reader)"},
    {"admin_or_project_member", "(rule:context_is_admin) or (rule:project_member)"},
    {"admin_or_project_member_user",
     "(rule:context_is_admin) or ((rule:project_member) and (rule:is_user))"},
    {"admin_or_project_member_user_or_cluster_user",
     "(rule:context_is_admin) or ((rule:project_member) and (rule:is_user)) or "
     "(rule:cluster_user)"},
    {"project_member_deny_cluster_user", "(rule:project_member)"},
    {"admin_or_project_member_deny_cluster_user",
     "(rule:context_is_admin) or (rule:project_member)"},
    {"project_reader_deny_cluster_user", "(rule:project_reader)"},
    {"admin_or_project_reader_deny_cluster_user",
     "(rule:context_is_admin) or (rule:project_reader)"},
    {"admin_or_project_reader_user",
     "(rule:context_is_admin) or ((rule:project_reader) and (rule:is_user))"},
};

constexpr std::string_view kAdmin = "rule:context_is_admin";
constexpr std::string_view kProjectMember = "rule:project_member_deny_cluster_user";
constexpr std::string_view kAdminOrMember = "rule:admin_or_project_member";
constexpr std::string_view kAdminOrMemberUser = "rule:admin_or_project_member_user";
constexpr std::string_view kAdminOrMemberDeny = "rule:admin_or_project_member_deny_cluster_user";
constexpr std::string_view kAdminOrReader = "rule:admin_or_project_reader";
constexpr std::string_view kAdminOrReaderDeny = "rule:admin_or_project_reader_deny_cluster_user";
constexpr std::string_view kAdminOrReaderUser = "rule:admin_or_project_reader_user";
constexpr std::string_view kHealth = "rule:admin_or_project_member_user_or_cluster_user";

// magnum/common/policies/{cluster,cluster_template,nodegroup,certificate,credential,quota,stats,
// magnum_service}.py. Federations are not served, so neither are their rules.
constexpr std::pair<std::string_view, std::string_view> kOperationRules[] = {
    {"cluster:create", kAdminOrMemberDeny},
    {"cluster:delete", kAdminOrMemberDeny},
    {"cluster:delete_all_projects", kAdmin},
    {"cluster:detail", kAdminOrReaderDeny},
    {"cluster:detail_all_projects", kAdmin},
    {"cluster:get", kAdminOrReaderDeny},
    {"cluster:get_one_all_projects", kAdmin},
    {"cluster:get_all", kAdminOrReaderDeny},
    {"cluster:get_all_all_projects", kAdmin},
    {"cluster:update", kAdminOrMemberDeny},
    {"cluster:update_health_status", kHealth},
    {"cluster:update_all_projects", kAdmin},
    {"cluster:resize", kAdminOrMemberDeny},
    {"cluster:upgrade", kAdminOrMemberDeny},
    {"cluster:upgrade_all_projects", kAdmin},
    {"clustertemplate:create", kAdminOrMemberDeny},
    {"clustertemplate:delete", kAdminOrMember},
    {"clustertemplate:delete_all_projects", kAdmin},
    {"clustertemplate:detail_all_projects", kAdmin},
    {"clustertemplate:detail", kAdminOrReaderDeny},
    {"clustertemplate:get", kAdminOrReaderDeny},
    {"clustertemplate:get_one_all_projects", kAdmin},
    {"clustertemplate:get_all", kAdminOrReaderDeny},
    {"clustertemplate:get_all_all_projects", kAdmin},
    {"clustertemplate:update", kAdminOrMember},
    {"clustertemplate:update_all_projects", kAdmin},
    {"clustertemplate:publish", kAdmin},
    {"nodegroup:get", kAdminOrReader},
    {"nodegroup:get_all", kAdminOrReader},
    {"nodegroup:get_all_all_projects", kAdmin},
    {"nodegroup:get_one_all_projects", kAdmin},
    {"nodegroup:create", kAdminOrMember},
    {"nodegroup:delete", kAdminOrMember},
    {"nodegroup:update", kAdminOrMember},
    {"certificate:create", kAdminOrMemberUser},
    {"certificate:get", kAdminOrReaderUser},
    {"certificate:rotate_ca", kAdminOrMember},
    {"credential:rotate", kProjectMember},
    {"quota:create", kAdmin},
    {"quota:delete", kAdmin},
    {"quota:get", kAdminOrReader},
    {"quota:get_all", kAdmin},
    {"quota:update", kAdmin},
    {"stats:get_all", kAdminOrReader},
    {"magnum-service:get_all", kAdmin},
};

policy::RuleSet defaultRules() {
  policy::RuleSet rules;
  using Rules = std::span<const std::pair<std::string_view, std::string_view>>;
  for (Rules list : {Rules(kBaseRules), Rules(kOperationRules)}) {
    for (const auto& [name, check] : list) {
      [[maybe_unused]] auto ok = rules.set(name, check);
      assert(ok.ok());
    }
  }
  return rules;
}

// The project an identity of every namespace is scoped to when an operation names none.
constexpr std::string_view kEveryProject = "*";

std::vector<std::string> impliedRoles(Role role) {
  switch (role) {
    case Role::Admin:
      return {"admin", "member", "reader"};
    case Role::Member:
      return {"member", "reader"};
    case Role::Healer:
      return {"healer", "reader"};
    case Role::Reader:
      return {"reader"};
  }
  return {};
}

}  // namespace

std::shared_ptr<const Policy> Policy::defaults() {
  static const std::shared_ptr<const Policy> kDefaults = [] {
    std::shared_ptr<Policy> p(new Policy());
    p->rules_ = defaultRules();
    return p;
  }();
  return kDefaults;
}

util::Result<std::shared_ptr<const Policy>> Policy::withOverrides(std::string_view yaml,
                                                                  std::string_view source) {
  util::YamlLimits limits;
  limits.max_documents = 1;
  limits.max_depth = 4;
  limits.max_nodes = 10000;
  auto docs = util::parseYamlDocuments(yaml, limits);
  if (!docs.ok()) {
    return makeError(ErrorCode::Invalid, fmt::format("{}: {}", source, docs.error().message));
  }
  std::shared_ptr<Policy> p(new Policy());
  p->rules_ = defaultRules();
  if (!docs->empty()) {
    const util::Json& doc = docs->front();
    if (!doc.IsObject()) {
      return makeError(ErrorCode::Invalid,
                       fmt::format("{}: expected a mapping of rule names to check strings, "
                                   "e.g. \"cluster:create\": \"role:admin\"",
                                   source));
    }
    for (const auto& m : doc.GetObject()) {
      std::string_view name(m.name.GetString(), m.name.GetStringLength());
      if (!m.value.IsString()) {
        return makeError(
            ErrorCode::Invalid,
            fmt::format("{}: rule \"{}\": the check string must be a quoted string", source, name));
      }
      std::string_view check(m.value.GetString(), m.value.GetStringLength());
      if (auto ok = p->rules_.set(name, check); !ok.ok()) {
        return makeError(ErrorCode::Invalid, fmt::format("{}: {}", source, ok.error().message));
      }
    }
  }
  if (auto ok = p->rules_.validate(); !ok.ok()) {
    return makeError(ErrorCode::Invalid, fmt::format("{}: {}", source, ok.error().message));
  }
  return std::shared_ptr<const Policy>(std::move(p));
}

util::Result<std::shared_ptr<const Policy>> Policy::loadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return makeError(ErrorCode::Invalid,
                     fmt::format("policy file {}: cannot be read: {}", path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return withOverrides(text.str(), path);
}

policy::Credentials Policy::credentialsOf(const Identity& identity, const policy::RuleSet& rules) {
  policy::Credentials who;
  who.user_id = identity.user;
  if (!identity.allNamespaces()) who.project_id = identity.namespace_;
  // A Keystone token lists its roles, and usually those they imply (admin: member, reader); the
  // implied ones are added when it does not, as Keystone's default roles imply them.
  who.roles = identity.roles;
  for (std::string& implied : impliedRoles(identity.role)) {
    if (std::find(who.roles.begin(), who.roles.end(), implied) == who.roles.end()) {
      who.roles.push_back(std::move(implied));
    }
  }
  who.is_admin = rules.allows("context_is_admin", who, {});
  return who;
}

bool Policy::allows(std::string_view name, const Identity& identity, policy::Target target) const {
  policy::Credentials who = credentialsOf(identity, rules_);
  if (identity.allNamespaces()) {
    // An identity of every namespace holds its role in every project: it is scoped to the
    // project of what it acts on.
    auto it = target.find("project_id");
    who.project_id = it != target.end() ? it->second : std::string(kEveryProject);
  }
  target.try_emplace("project_id", who.project_id);
  target.try_emplace("user_id", who.user_id);
  return rules_.allows(name, who, target);
}

util::Status Policy::enforce(std::string_view name, const Identity& identity,
                             policy::Target target) const {
  if (allows(name, identity, std::move(target))) return {};
  return makeError(ErrorCode::Forbidden,
                   fmt::format("Policy doesn't allow {} to be performed.", name));
}

}  // namespace magnumd::server::magnum
