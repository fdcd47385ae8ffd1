// Keystone's admin operations on cloudsim's identity state: projects, users and role grants, with
// Keystone's validation and its error wording (keystone/exception.py), so the messages the
// openstack CLI prints are the ones an operator knows.
#include <fmt/format.h>

#include <algorithm>

#include "cloudsim/identity.h"

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::makeError;

util::Error invalidInput(std::string_view field, std::string_view why) {
  return makeError(ErrorCode::BadRequest,
                   fmt::format("Invalid input for field '{}': {}", field, why));
}

util::Error notFound(std::string_view what, std::string_view id) {
  return makeError(ErrorCode::NotFound, fmt::format("Could not find {}: {}.", what, id));
}

// The object under `root` ({"project": {...}}), or BadRequest as Keystone's schema check says it.
util::Result<const util::Json*> rootObject(const util::Json& body, const char* root) {
  const util::Json* object = util::member(body, root);
  if (object == nullptr || !object->IsObject()) {
    return invalidInput(root, fmt::format("'{}' is a required property", root));
  }
  return object;
}

util::Result<std::string> requiredName(const util::Json& object) {
  const util::Json* name = util::member(object, "name");
  if (name == nullptr) return invalidInput("name", "'name' is a required property");
  if (!name->IsString() || name->GetStringLength() == 0 || name->GetStringLength() > 255) {
    return invalidInput("name", "must be a string of 1 to 255 characters");
  }
  return std::string(name->GetString(), name->GetStringLength());
}

// Only the Default domain exists: any other domain_id is a domain Keystone would not find.
util::Status checkDomain(const util::Json& object) {
  const util::Json* domain = util::member(object, "domain_id");
  if (domain == nullptr || domain->IsNull()) return {};
  if (!domain->IsString()) return invalidInput("domain_id", "must be a string");
  if (std::string_view(domain->GetString()) != "default") {
    return notFound("domain", domain->GetString());
  }
  return {};
}

}  // namespace

util::Result<uint32_t> Identity::createProject(const util::Json& body) {
  ASSIGN_OR_RETURN(const util::Json* project, rootObject(body, "project"));
  ASSIGN_OR_RETURN(std::string name, requiredName(*project));
  RETURN_IF_ERROR(checkDomain(*project));
  if (const util::Json* parent = util::member(*project, "parent_id");
      parent != nullptr && parent->IsString() &&
      std::string_view(parent->GetString()) != "default") {
    return makeError(ErrorCode::BadRequest,
                     "cloudsim supports projects directly under the Default domain only");
  }
  for (const auto& p : projects_) {
    if (p.name == name) {
      return makeError(ErrorCode::Conflict,
                       fmt::format("Conflict occurred attempting to store project - it is not "
                                   "permitted to have two projects with the same name in the same "
                                   "domain : {}.",
                                   name));
    }
  }
  Project created{ids_.hex32(), name, util::stringMember(*project, "description").value_or(""),
                  util::boolMember(*project, "enabled").value_or(true)};
  projects_.push_back(std::move(created));
  return static_cast<uint32_t>(projects_.size() - 1);
}

util::Result<uint32_t> Identity::createUser(const util::Json& body) {
  ASSIGN_OR_RETURN(const util::Json* user, rootObject(body, "user"));
  ASSIGN_OR_RETURN(std::string name, requiredName(*user));
  RETURN_IF_ERROR(checkDomain(*user));
  for (const auto& u : users_) {
    if (u.name == name) {
      return makeError(ErrorCode::Conflict,
                       fmt::format("Conflict occurred attempting to store user - Duplicate entry "
                                   "found with name {} at domain ID default.",
                                   name));
    }
  }
  User created{ids_.hex32(), name, util::stringMember(*user, "password").value_or(""), kNone, {}};
  if (auto project_id = util::stringMember(*user, "default_project_id")) {
    auto project = findProjectById(*project_id);
    if (!project) return notFound("project", *project_id);
    created.default_project = *project;
  }
  users_.push_back(std::move(created));
  return static_cast<uint32_t>(users_.size() - 1);
}

util::Result<Grant> Identity::resolveGrant(std::string_view project_id, std::string_view user_id,
                                           std::string_view role_id, uint32_t& user) const {
  auto role = findRoleById(role_id);
  if (!role) return notFound("role", role_id);
  auto u = findUserById(user_id);
  if (!u) return notFound("user", user_id);
  auto project = findProjectById(project_id);
  if (!project) return notFound("project", project_id);
  user = *u;
  return Grant{*project, *role};
}

util::Status Identity::grantRole(std::string_view project_id, std::string_view user_id,
                                 std::string_view role_id) {
  uint32_t user = kNone;
  ASSIGN_OR_RETURN(Grant grant, resolveGrant(project_id, user_id, role_id, user));
  auto& grants = users_[user].grants;
  bool held = std::any_of(grants.begin(), grants.end(), [&](const Grant& g) {
    return g.project == grant.project && g.role == grant.role;
  });
  if (!held) grants.push_back(grant);  // PUT is idempotent in Keystone too
  return {};
}

util::Status Identity::revokeRole(std::string_view project_id, std::string_view user_id,
                                  std::string_view role_id) {
  RETURN_IF_ERROR(checkRole(project_id, user_id, role_id));
  uint32_t user = kNone;
  ASSIGN_OR_RETURN(Grant grant, resolveGrant(project_id, user_id, role_id, user));
  std::erase_if(users_[user].grants,
                [&](const Grant& g) { return g.project == grant.project && g.role == grant.role; });
  return {};
}

util::Status Identity::checkRole(std::string_view project_id, std::string_view user_id,
                                 std::string_view role_id) const {
  uint32_t user = kNone;
  ASSIGN_OR_RETURN(Grant grant, resolveGrant(project_id, user_id, role_id, user));
  const auto& grants = users_[user].grants;
  bool held = std::any_of(grants.begin(), grants.end(), [&](const Grant& g) {
    return g.project == grant.project && g.role == grant.role;
  });
  if (!held) {
    return makeError(ErrorCode::NotFound,
                     fmt::format("Could not find role assignment with role: {}, user or group: {}, "
                                 "project, domain, or system: {}.",
                                 role_id, user_id, project_id));
  }
  return {};
}

std::optional<uint32_t> Identity::findRoleById(std::string_view id) const {
  for (uint32_t i = 0; i < role_ids_.size(); ++i) {
    if (role_ids_[i] == id) return i;
  }
  return std::nullopt;
}

}  // namespace magnumd::cloudsim
