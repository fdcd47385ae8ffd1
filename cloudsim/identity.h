// Keystone v3 state: one domain ("Default", id "default"), projects, users with role grants,
// application credentials and issued tokens. HTTP lives in identity_api.cc.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cloudsim/support.h"
#include "util/json.h"
#include "util/result.h"

namespace magnumd::cloudsim {

struct Project {
  std::string id;
  std::string name;
  std::string description;
  bool enabled = true;
};

struct Grant {
  uint32_t project;
  uint32_t role;
};

struct User {
  std::string id;
  std::string name;
  std::string password;
  uint32_t default_project = kNone;
  std::vector<Grant> grants;
};

struct AppCredential {
  std::string id;
  std::string name;
  std::string secret;
  std::string description;
  uint32_t user = kNone;
  uint32_t project = kNone;
  std::vector<uint32_t> roles;
  std::optional<SystemTime> expires;
  bool unrestricted = false;
};

struct Token {
  uint32_t user = kNone;
  uint32_t project = kNone;  // kNone: unscoped
  std::vector<uint32_t> roles;
  SystemTime issued;
  SystemTime expires;
  uint32_t app_credential = kNone;
  std::string audit_id;
};

class Identity {
 public:
  Identity(const util::Clock& clock, IdGenerator& ids, std::chrono::seconds token_ttl,
           size_t max_tokens);

  // admin/password (role admin on project admin), demo/password (role member on project demo).
  void loadDefaults();
  // The --users file, already parsed from YAML or JSON. Errors name the entry and field.
  util::Status load(const util::Json& doc);

  // POST /v3/auth/tokens body. Returns the new token id; Unauthorized or BadRequest otherwise.
  util::Result<std::string> authenticate(const util::Json& body);
  // The token if it exists and has not expired.
  const Token* validate(std::string_view token_id) const;
  bool revoke(std::string_view token_id);

  util::Result<uint32_t> createAppCredential(const Token& caller, std::string_view user_id,
                                             const util::Json& body);
  bool deleteAppCredential(const Token& caller, std::string_view user_id, std::string_view id);

  // Admin calls (identity_admin.cc), as `openstack project create`, `user create` and `role add`
  // make them. Errors carry Keystone's wording: Conflict for a duplicate name, NotFound naming
  // the missing project, user or role, BadRequest naming the field.
  util::Result<uint32_t> createProject(const util::Json& body);
  util::Result<uint32_t> createUser(const util::Json& body);
  util::Status grantRole(std::string_view project_id, std::string_view user_id,
                         std::string_view role_id);
  util::Status revokeRole(std::string_view project_id, std::string_view user_id,
                          std::string_view role_id);
  util::Status checkRole(std::string_view project_id, std::string_view user_id,
                         std::string_view role_id) const;

  bool isAdmin(const Token& token) const;
  const User& user(uint32_t i) const { return users_[i]; }
  const Project& project(uint32_t i) const { return projects_[i]; }
  const std::string& roleId(uint32_t r) const { return role_ids_[r]; }
  const std::string& roleName(uint32_t r) const { return role_names_[r]; }
  const AppCredential& appCredential(uint32_t i) const { return app_credentials_[i]; }
  const std::vector<AppCredential>& appCredentials() const { return app_credentials_; }
  const std::vector<Project>& projects() const { return projects_; }
  const std::vector<User>& users() const { return users_; }
  size_t roleCount() const { return role_ids_.size(); }
  std::optional<uint32_t> findProjectById(std::string_view id) const;
  std::optional<uint32_t> findUserById(std::string_view id) const;
  std::optional<uint32_t> findRoleById(std::string_view id) const;
  size_t tokenCount() const { return tokens_.size(); }

 private:
  uint32_t addProject(std::string name, std::string id);
  uint32_t role(std::string_view name);
  util::Result<uint32_t> addUser(const util::Json& entry, size_t index);
  // The indices of a grant's three parts, or NotFound naming the first that does not exist.
  util::Result<Grant> resolveGrant(std::string_view project_id, std::string_view user_id,
                                   std::string_view role_id, uint32_t& user) const;
  util::Status addAppCredentialEntry(const util::Json& entry, size_t index);
  util::Result<uint32_t> passwordUser(const util::Json& password);
  util::Result<uint32_t> appCredentialFor(const util::Json& cred);
  util::Result<uint32_t> scopeProject(const util::Json* scope, const User& user);
  std::vector<uint32_t> rolesOn(const User& user, uint32_t project) const;
  std::string issue(Token token);
  void sweepTokens();

  const util::Clock& clock_;
  IdGenerator& ids_;
  std::chrono::seconds ttl_;
  size_t max_tokens_;
  std::vector<Project> projects_;
  std::vector<User> users_;
  std::vector<std::string> role_ids_, role_names_;
  std::vector<AppCredential> app_credentials_;
  std::unordered_map<std::string, Token> tokens_;
};

}  // namespace magnumd::cloudsim
