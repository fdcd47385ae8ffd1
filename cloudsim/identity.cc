#include "cloudsim/identity.h"

#include <fmt/format.h>

#include <algorithm>

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::makeError;

constexpr const char* kAuthRequired = "The request you have made requires authentication.";
constexpr const char* kDomainId = "default";
constexpr const char* kDomainName = "Default";

util::Error unauthorized(std::string message = kAuthRequired) {
  return makeError(ErrorCode::Unauthorized, std::move(message));
}

util::Error badRequest(std::string message) {
  return makeError(ErrorCode::BadRequest, std::move(message));
}

// Only the Default domain exists; a domain reference must name it by id or name.
bool isDefaultDomain(const util::Json* domain) {
  if (domain == nullptr) return true;
  if (!domain->IsObject()) return false;
  auto id = util::stringMember(*domain, "id");
  auto name = util::stringMember(*domain, "name");
  if (id) return *id == kDomainId;
  if (name) return *name == kDomainName;
  return false;
}

std::vector<std::string> stringList(const util::Json* v) {
  std::vector<std::string> out;
  if (v == nullptr) return out;
  if (v->IsString()) out.emplace_back(v->GetString(), v->GetStringLength());
  if (v->IsArray()) {
    for (const auto& item : v->GetArray()) {
      if (item.IsString()) out.emplace_back(item.GetString(), item.GetStringLength());
    }
  }
  return out;
}

}  // namespace

Identity::Identity(const util::Clock& clock, IdGenerator& ids, std::chrono::seconds token_ttl,
                   size_t max_tokens)
    : clock_(clock), ids_(ids), ttl_(token_ttl), max_tokens_(max_tokens) {}

uint32_t Identity::addProject(std::string name, std::string id) {
  for (uint32_t i = 0; i < projects_.size(); ++i) {
    if (projects_[i].name == name) return i;
  }
  if (id.empty()) id = stableHexId("project", name);
  projects_.push_back(Project{std::move(id), std::move(name), "", true});
  return static_cast<uint32_t>(projects_.size() - 1);
}

uint32_t Identity::role(std::string_view name) {
  for (uint32_t i = 0; i < role_names_.size(); ++i) {
    if (role_names_[i] == name) return i;
  }
  role_names_.emplace_back(name);
  role_ids_.push_back(stableHexId("role", name));
  return static_cast<uint32_t>(role_names_.size() - 1);
}

void Identity::loadDefaults() {
  uint32_t admin_project = addProject("admin", "");
  uint32_t demo_project = addProject("demo", "");
  uint32_t admin_role = role("admin");
  uint32_t member_role = role("member");
  role("reader");
  users_.push_back(User{stableHexId("user", "admin"), "admin", "password", admin_project,
                        {{admin_project, admin_role}, {demo_project, admin_role}}});
  users_.push_back(User{stableHexId("user", "demo"), "demo", "password", demo_project,
                        {{demo_project, member_role}}});
}

util::Result<uint32_t> Identity::addUser(const util::Json& entry, size_t index) {
  auto where = [&](std::string_view field) { return fmt::format("users[{}].{}", index, field); };
  if (!entry.IsObject()) return badRequest(fmt::format("users[{}]: must be an object", index));
  auto name = util::stringMember(entry, "name");
  auto password = util::stringMember(entry, "password");
  if (!name || name->empty()) return badRequest(where("name") + ": required string");
  if (!password) return badRequest(where("password") + ": required string");
  User user{util::stringMember(entry, "id").value_or(stableHexId("user", *name)), *name, *password,
            kNone, {}};
  // Shorthand `project: demo` + `role(s)`, or a list `projects: [{name, roles}]`.
  auto grant = [&](const std::string& project_name, const util::Json* roles) {
    uint32_t p = addProject(project_name, "");
    auto names = stringList(roles);
    if (names.empty()) names.emplace_back("member");
    for (const auto& r : names) user.grants.push_back({p, role(r)});
    if (user.default_project == kNone) user.default_project = p;
  };
  if (auto project = util::stringMember(entry, "project")) {
    const util::Json* roles = util::member(entry, "roles");
    grant(*project, roles ? roles : util::member(entry, "role"));
  }
  if (const util::Json* list = util::member(entry, "projects"); list && list->IsArray()) {
    for (const auto& p : list->GetArray()) {
      auto pname = p.IsString() ? std::optional<std::string>(p.GetString())
                                : util::stringMember(p, "name");
      if (!pname) return badRequest(where("projects") + ": each entry needs a name");
      grant(*pname, p.IsObject() ? util::member(p, "roles") : nullptr);
    }
  }
  for (const auto& existing : users_) {
    if (existing.name == user.name) return badRequest(where("name") + ": duplicate user " + *name);
  }
  users_.push_back(std::move(user));
  return static_cast<uint32_t>(users_.size() - 1);
}

util::Status Identity::addAppCredentialEntry(const util::Json& entry, size_t index) {
  auto where = [&](std::string_view f) {
    return fmt::format("application_credentials[{}].{}", index, f);
  };
  auto user_name = util::stringMember(entry, "user");
  auto secret = util::stringMember(entry, "secret");
  auto name = util::stringMember(entry, "name");
  if (!user_name) return badRequest(where("user") + ": required user name");
  if (!secret || secret->empty()) return badRequest(where("secret") + ": required string");
  if (!name) return badRequest(where("name") + ": required string");
  auto u = std::find_if(users_.begin(), users_.end(),
                        [&](const User& x) { return x.name == *user_name; });
  if (u == users_.end()) return badRequest(where("user") + ": unknown user " + *user_name);
  AppCredential cred;
  cred.id = util::stringMember(entry, "id").value_or(stableHexId("appcred", *name + "/" + *user_name));
  cred.name = *name;
  cred.secret = *secret;
  cred.user = static_cast<uint32_t>(u - users_.begin());
  auto project = util::stringMember(entry, "project");
  cred.project = project ? addProject(*project, "") : u->default_project;
  if (cred.project == kNone) return badRequest(where("project") + ": user has no default project");
  auto names = stringList(util::member(entry, "roles"));
  if (names.empty()) {
    cred.roles = rolesOn(*u, cred.project);
  } else {
    for (const auto& r : names) cred.roles.push_back(role(r));
  }
  if (auto expires = util::stringMember(entry, "expires_at")) {
    cred.expires = util::parseRfc3339(*expires);
    if (!cred.expires) return badRequest(where("expires_at") + ": not an RFC 3339 time: " + *expires);
  }
  app_credentials_.push_back(std::move(cred));
  return {};
}

util::Status Identity::load(const util::Json& doc) {
  if (!doc.IsObject()) return badRequest("users file: top level must be a mapping");
  role("admin");
  role("member");
  role("reader");
  if (const util::Json* projects = util::member(doc, "projects"); projects && projects->IsArray()) {
    for (const auto& p : projects->GetArray()) {
      auto name = p.IsString() ? std::optional<std::string>(p.GetString()) : util::stringMember(p, "name");
      if (!name) return badRequest("projects: each entry needs a name");
      addProject(*name, p.IsObject() ? util::stringMember(p, "id").value_or("") : "");
    }
  }
  const util::Json* users = util::member(doc, "users");
  if (users == nullptr || !users->IsArray() || users->Empty()) {
    return badRequest("users file: `users` must be a non-empty list");
  }
  for (rapidjson::SizeType i = 0; i < users->Size(); ++i) {
    auto added = addUser((*users)[i], i);
    if (!added.ok()) return added.takeError();
  }
  if (const util::Json* creds = util::member(doc, "application_credentials"); creds && creds->IsArray()) {
    for (rapidjson::SizeType i = 0; i < creds->Size(); ++i) {
      RETURN_IF_ERROR(addAppCredentialEntry((*creds)[i], i));
    }
  }
  return {};
}

std::vector<uint32_t> Identity::rolesOn(const User& user, uint32_t project) const {
  std::vector<uint32_t> out;
  for (const auto& g : user.grants) {
    if (g.project == project) out.push_back(g.role);
  }
  return out;
}

util::Result<uint32_t> Identity::passwordUser(const util::Json& password) {
  const util::Json* user = util::member(password, "user");
  if (user == nullptr || !user->IsObject()) {
    return badRequest("Invalid input for field 'identity/password/user': required object");
  }
  auto secret = util::stringMember(*user, "password");
  if (!secret) return badRequest("Invalid input for field 'identity/password/user/password': required string");
  auto id = util::stringMember(*user, "id");
  auto name = util::stringMember(*user, "name");
  if (!id && !name) return badRequest("Invalid input for field 'identity/password/user': 'id' or 'name' is required");
  if (name && !id && util::member(*user, "domain") == nullptr) {
    return badRequest("Invalid input for field 'identity/password/user': a user name needs a domain");
  }
  for (uint32_t i = 0; i < users_.size(); ++i) {
    const User& u = users_[i];
    bool match = id ? u.id == *id : (u.name == *name && isDefaultDomain(util::member(*user, "domain")));
    if (match) {
      if (u.password != *secret) return unauthorized();
      return i;
    }
  }
  return unauthorized();
}

util::Result<uint32_t> Identity::appCredentialFor(const util::Json& cred) {
  auto secret = util::stringMember(cred, "secret");
  if (!secret) return badRequest("Invalid input for field 'identity/application_credential/secret': required string");
  auto id = util::stringMember(cred, "id");
  auto name = util::stringMember(cred, "name");
  std::optional<uint32_t> owner;
  if (!id) {
    if (!name) return badRequest("Invalid input for field 'identity/application_credential': 'id' or 'name' is required");
    const util::Json* user = util::member(cred, "user");
    if (user == nullptr) return badRequest("Invalid input for field 'identity/application_credential': a name needs a user");
    auto uid = util::stringMember(*user, "id");
    auto uname = util::stringMember(*user, "name");
    for (uint32_t i = 0; i < users_.size(); ++i) {
      if ((uid && users_[i].id == *uid) ||
          (uname && users_[i].name == *uname && isDefaultDomain(util::member(*user, "domain")))) {
        owner = i;
      }
    }
    if (!owner) return unauthorized();
  }
  for (uint32_t i = 0; i < app_credentials_.size(); ++i) {
    const AppCredential& c = app_credentials_[i];
    bool match = id ? c.id == *id : (c.name == *name && c.user == *owner);
    if (!match) continue;
    if (c.secret != *secret) return unauthorized();
    if (c.expires && *c.expires <= clock_.now()) return unauthorized();
    return i;
  }
  return unauthorized();
}

util::Result<uint32_t> Identity::scopeProject(const util::Json* scope, const User& user) {
  if (scope == nullptr) return kNone;
  if (!scope->IsObject()) return badRequest("Invalid input for field 'scope': must be an object");
  const util::Json* project = util::member(*scope, "project");
  if (project == nullptr) {
    return unauthorized("cloudsim supports project-scoped and unscoped tokens only");
  }
  auto id = util::stringMember(*project, "id");
  auto name = util::stringMember(*project, "name");
  std::optional<uint32_t> found;
  for (uint32_t i = 0; i < projects_.size(); ++i) {
    if (id ? projects_[i].id == *id
           : (name && projects_[i].name == *name && isDefaultDomain(util::member(*project, "domain")))) {
      found = i;
    }
  }
  if (!found || rolesOn(user, *found).empty()) {
    return unauthorized(fmt::format("User {} has no access to project {}", user.id,
                                    id ? *id : name.value_or("")));
  }
  return *found;
}

util::Result<std::string> Identity::authenticate(const util::Json& body) {
  const util::Json* auth = util::member(body, "auth");
  const util::Json* identity = auth ? util::member(*auth, "identity") : nullptr;
  if (identity == nullptr || !identity->IsObject()) {
    return badRequest("Invalid input for field 'auth/identity': required object");
  }
  auto methods = stringList(util::member(*identity, "methods"));
  if (methods.empty()) return badRequest("Invalid input for field 'identity/methods': required non-empty list");
  const util::Json* scope = util::member(*auth, "scope");
  Token token;
  const std::string& method = methods.front();
  if (method == "password") {
    const util::Json* password = util::member(*identity, "password");
    if (password == nullptr) return badRequest("Invalid input for field 'identity/password': required object");
    ASSIGN_OR_RETURN(token.user, passwordUser(*password));
    ASSIGN_OR_RETURN(token.project, scopeProject(scope, users_[token.user]));
  } else if (method == "application_credential") {
    const util::Json* cred = util::member(*identity, "application_credential");
    if (cred == nullptr) return badRequest("Invalid input for field 'identity/application_credential': required object");
    if (scope != nullptr) return unauthorized("Application credentials cannot request a scope.");
    ASSIGN_OR_RETURN(uint32_t c, appCredentialFor(*cred));
    token.app_credential = c;
    token.user = app_credentials_[c].user;
    token.project = app_credentials_[c].project;
  } else if (method == "token") {
    auto id = util::stringMember(util::member(*identity, "token") ? *util::member(*identity, "token") : *identity, "id");
    const Token* existing = id ? validate(*id) : nullptr;
    if (existing == nullptr) return unauthorized();
    token.user = existing->user;
    ASSIGN_OR_RETURN(token.project, scopeProject(scope, users_[token.user]));
  } else {
    return unauthorized(fmt::format("Attempted to authenticate with an unsupported method: {}", method));
  }
  if (token.app_credential != kNone) {
    token.roles = app_credentials_[token.app_credential].roles;
  } else if (token.project != kNone) {
    token.roles = rolesOn(users_[token.user], token.project);
  }
  return issue(std::move(token));
}

std::string Identity::issue(Token token) {
  if (tokens_.size() >= max_tokens_) sweepTokens();
  token.issued = clock_.now();
  token.expires = token.issued + ttl_;
  if (token.app_credential != kNone) {
    const auto& expires = app_credentials_[token.app_credential].expires;
    if (expires && *expires < token.expires) token.expires = *expires;
  }
  token.audit_id = ids_.hex32().substr(0, 22);
  std::string id = "gAAAA" + ids_.hex32() + ids_.hex32();
  tokens_.emplace(id, std::move(token));
  return id;
}

void Identity::sweepTokens() {
  SystemTime now = clock_.now();
  std::erase_if(tokens_, [&](const auto& kv) { return kv.second.expires <= now; });
  // Still full of live tokens: drop the oldest half rather than grow without bound.
  if (tokens_.size() >= max_tokens_) {
    std::vector<SystemTime> issued;
    issued.reserve(tokens_.size());
    for (const auto& [id, t] : tokens_) issued.push_back(t.issued);
    auto mid = issued.begin() + static_cast<std::ptrdiff_t>(issued.size() / 2);
    std::nth_element(issued.begin(), mid, issued.end());
    SystemTime cutoff = *mid;
    std::erase_if(tokens_, [&](const auto& kv) { return kv.second.issued <= cutoff; });
  }
}

const Token* Identity::validate(std::string_view token_id) const {
  auto it = tokens_.find(std::string(token_id));
  if (it == tokens_.end() || it->second.expires <= clock_.now()) return nullptr;
  return &it->second;
}

bool Identity::revoke(std::string_view token_id) { return tokens_.erase(std::string(token_id)) > 0; }

bool Identity::isAdmin(const Token& token) const {
  return std::any_of(token.roles.begin(), token.roles.end(),
                     [&](uint32_t r) { return role_names_[r] == "admin"; });
}

std::optional<uint32_t> Identity::findProjectById(std::string_view id) const {
  for (uint32_t i = 0; i < projects_.size(); ++i) {
    if (projects_[i].id == id) return i;
  }
  return std::nullopt;
}

std::optional<uint32_t> Identity::findUserById(std::string_view id) const {
  for (uint32_t i = 0; i < users_.size(); ++i) {
    if (users_[i].id == id) return i;
  }
  return std::nullopt;
}

util::Result<uint32_t> Identity::createAppCredential(const Token& caller, std::string_view user_id,
                                                     const util::Json& body) {
  if (users_[caller.user].id != user_id) {
    return makeError(ErrorCode::Forbidden, "You are not authorized to perform the requested action: identity:create_application_credential.");
  }
  if (caller.project == kNone) return makeError(ErrorCode::Forbidden, "An application credential needs a project-scoped token");
  if (caller.app_credential != kNone) return makeError(ErrorCode::Forbidden, "Application credentials cannot create application credentials");
  const util::Json* cred = util::member(body, "application_credential");
  if (cred == nullptr || !cred->IsObject()) return badRequest("Invalid input for field 'application_credential': required object");
  auto name = util::stringMember(*cred, "name");
  if (!name || name->empty() || name->size() > 255) return badRequest("Invalid input for field 'application_credential/name': required string of 1-255 characters");
  for (const auto& c : app_credentials_) {
    if (c.user == caller.user && c.name == *name) {
      return makeError(ErrorCode::Conflict, fmt::format("Conflict occurred attempting to store application_credential - Duplicate entry found with name {}.", *name));
    }
  }
  AppCredential c;
  c.id = ids_.hex32();
  c.name = *name;
  c.secret = util::stringMember(*cred, "secret").value_or(ids_.hex32());
  c.description = util::stringMember(*cred, "description").value_or("");
  c.user = caller.user;
  c.project = caller.project;
  c.unrestricted = util::boolMember(*cred, "unrestricted").value_or(false);
  c.roles = caller.roles;
  if (const util::Json* roles = util::member(*cred, "roles"); roles && roles->IsArray() && !roles->Empty()) {
    c.roles.clear();
    for (const auto& r : roles->GetArray()) {
      auto rname = util::stringMember(r, "name");
      auto rid = util::stringMember(r, "id");
      auto it = std::find_if(caller.roles.begin(), caller.roles.end(), [&](uint32_t x) {
        return (rname && role_names_[x] == *rname) || (rid && role_ids_[x] == *rid);
      });
      if (it == caller.roles.end()) return makeError(ErrorCode::Forbidden, "Cannot grant a role the caller does not hold");
      c.roles.push_back(*it);
    }
  }
  if (auto expires = util::stringMember(*cred, "expires_at")) {
    c.expires = util::parseRfc3339(*expires);
    if (!c.expires) return badRequest("Invalid input for field 'application_credential/expires_at': " + *expires);
  }
  app_credentials_.push_back(std::move(c));
  return static_cast<uint32_t>(app_credentials_.size() - 1);
}

bool Identity::deleteAppCredential(const Token& caller, std::string_view user_id, std::string_view id) {
  if (users_[caller.user].id != user_id) return false;
  for (auto& c : app_credentials_) {
    if (c.id == id && c.user == caller.user) {
      c.secret.clear();  // indices stay valid for issued tokens; an empty secret never matches
      c.expires = SystemTime{};
      c.name += "#deleted";
      return true;
    }
  }
  return false;
}

}  // namespace magnumd::cloudsim
