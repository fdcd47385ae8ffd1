// Keystone v3's admin API over HTTP: projects, users, roles and role assignments, with the bodies
// of Keystone's api-ref samples (project-create-response.json, user-create-response.json,
// roles-list-response.json, role-assignments-list-response.json). Listing projects is open to
// every token (a non-admin sees the projects it has a role on); everything else that changes
// state, or shows other users, needs the admin role, as Keystone's default policy has it.
#include <fmt/format.h>

#include <algorithm>

#include "cloudsim/sim.h"

namespace magnumd::cloudsim {
namespace {

using util::Json;
using util::JsonAlloc;

std::string keystoneRoot(const Call& call) { return call.base + "/identity/v3"; }

Json selfLink(JsonAlloc& a, const std::string& url) {
  Json links(rapidjson::kObjectType);
  links.AddMember("self", util::str(url, a), a);
  return links;
}

Json listLinks(JsonAlloc& a, const std::string& url) {
  Json links = selfLink(a, url);
  links.AddMember("previous", Json(), a);
  links.AddMember("next", Json(), a);
  return links;
}

Json projectJson(JsonAlloc& a, const Project& p, const Call& call) {
  Json j(rapidjson::kObjectType);
  j.AddMember("description", util::str(p.description, a), a);
  j.AddMember("domain_id", "default", a);
  j.AddMember("enabled", p.enabled, a);
  j.AddMember("id", util::str(p.id, a), a);
  j.AddMember("is_domain", false, a);
  j.AddMember("links", selfLink(a, keystoneRoot(call) + "/projects/" + p.id), a);
  j.AddMember("name", util::str(p.name, a), a);
  j.AddMember("parent_id", "default", a);
  j.AddMember("tags", Json(rapidjson::kArrayType), a);
  j.AddMember("options", Json(rapidjson::kObjectType), a);
  return j;
}

Json userJson(JsonAlloc& a, Identity& id, const User& u, const Call& call) {
  Json j(rapidjson::kObjectType);
  if (u.default_project != kNone) {
    j.AddMember("default_project_id", util::str(id.project(u.default_project).id, a), a);
  }
  j.AddMember("domain_id", "default", a);
  j.AddMember("enabled", true, a);
  j.AddMember("id", util::str(u.id, a), a);
  j.AddMember("links", selfLink(a, keystoneRoot(call) + "/users/" + u.id), a);
  j.AddMember("name", util::str(u.name, a), a);
  j.AddMember("options", Json(rapidjson::kObjectType), a);
  j.AddMember("password_expires_at", Json(), a);
  return j;
}

Json roleJson(JsonAlloc& a, Identity& id, uint32_t r, const Call& call) {
  Json j(rapidjson::kObjectType);
  j.AddMember("id", util::str(id.roleId(r), a), a);
  j.AddMember("links", selfLink(a, keystoneRoot(call) + "/roles/" + id.roleId(r)), a);
  j.AddMember("name", util::str(id.roleName(r), a), a);
  j.AddMember("domain_id", Json(), a);
  j.AddMember("description", Json(), a);
  j.AddMember("options", Json(rapidjson::kObjectType), a);
  return j;
}

Response forbidden(std::string_view action) {
  return keystoneError(
      http::status::forbidden,
      fmt::format("You are not authorized to perform the requested action: {}.", action));
}

Response methodNotAllowed() {
  return keystoneError(http::status::method_not_allowed,
                       "The method is not allowed for the requested URL.");
}

Response errorReply(const util::Error& e, const Call& call) {
  return keystoneError(statusOf(e.code), e.message, call.base);
}

Response single(http::status status, const char* root, Json value, util::JsonDoc& doc) {
  doc.AddMember(util::str(root, doc.GetAllocator()), value, doc.GetAllocator());
  return jsonReply(status, doc);
}

bool hasRoleOn(const User& u, uint32_t project) {
  return std::any_of(u.grants.begin(), u.grants.end(),
                     [&](const Grant& g) { return g.project == project; });
}

Response projects(Sim& sim, Call& call, const Token& caller) {
  Identity& id = sim.identity();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  const bool admin = id.isAdmin(caller);
  if (call.seg.size() == 2 && call.method == "POST") {
    if (!admin) return forbidden("identity:create_project");
    auto body = parseBody(call);
    if (!body.ok()) return keystoneError(http::status::bad_request, body.error().message);
    auto created = id.createProject(*body);
    if (!created.ok()) return errorReply(created.error(), call);
    return single(http::status::created, "project", projectJson(a, id.project(*created), call),
                  doc);
  }
  if (call.seg.size() == 2 && call.method == "GET") {
    auto name = call.query.get("name");
    Json list(rapidjson::kArrayType);
    for (uint32_t i = 0; i < id.projects().size(); ++i) {
      const Project& p = id.project(i);
      if (name && p.name != *name) continue;
      if (!admin && !hasRoleOn(id.user(caller.user), i)) continue;
      list.PushBack(projectJson(a, p, call), a);
    }
    doc.AddMember("projects", list, a);
    doc.AddMember("links", listLinks(a, keystoneRoot(call) + "/projects"), a);
    return jsonReply(http::status::ok, doc);
  }
  if (call.seg.size() != 3)
    return keystoneError(http::status::not_found, "The resource could not be found.");
  if (call.method != "GET") return methodNotAllowed();
  auto project = id.findProjectById(call.seg[2]);
  if (project && !admin && !hasRoleOn(id.user(caller.user), *project))
    return forbidden("identity:get_project");
  if (!project)
    return keystoneError(http::status::not_found,
                         fmt::format("Could not find project: {}.", call.seg[2]));
  return single(http::status::ok, "project", projectJson(a, id.project(*project), call), doc);
}

// /v3/projects/{p}/users/{u}/roles[/{r}]
Response projectUserRoles(Sim& sim, Call& call, const Token& caller) {
  Identity& id = sim.identity();
  const std::string& project_id = call.seg[2];
  const std::string& user_id = call.seg[4];
  if (!id.isAdmin(caller)) return forbidden("identity:create_grant");
  if (call.seg.size() == 6) {
    if (call.method != "GET") return methodNotAllowed();
    auto project = id.findProjectById(project_id);
    auto user = id.findUserById(user_id);
    if (!project)
      return keystoneError(http::status::not_found,
                           fmt::format("Could not find project: {}.", project_id));
    if (!user)
      return keystoneError(http::status::not_found,
                           fmt::format("Could not find user: {}.", user_id));
    util::JsonDoc doc;
    doc.SetObject();
    auto& a = doc.GetAllocator();
    Json list(rapidjson::kArrayType);
    for (const Grant& g : id.user(*user).grants) {
      if (g.project == *project) list.PushBack(roleJson(a, id, g.role, call), a);
    }
    doc.AddMember("roles", list, a);
    doc.AddMember("links",
                  listLinks(a, keystoneRoot(call) + "/projects/" + project_id + "/users/" +
                                   user_id + "/roles"),
                  a);
    return jsonReply(http::status::ok, doc);
  }
  const std::string& role_id = call.seg[6];
  util::Status done;
  if (call.method == "PUT") {
    done = id.grantRole(project_id, user_id, role_id);
  } else if (call.method == "DELETE") {
    done = id.revokeRole(project_id, user_id, role_id);
  } else if (call.method == "GET" || call.method == "HEAD") {
    done = id.checkRole(project_id, user_id, role_id);
  } else {
    return methodNotAllowed();
  }
  if (!done.ok()) return errorReply(done.error(), call);
  return emptyReply(http::status::no_content);
}

Response users(Sim& sim, Call& call, const Token& caller) {
  Identity& id = sim.identity();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  const bool admin = id.isAdmin(caller);
  if (call.seg.size() == 2 && call.method == "POST") {
    if (!admin) return forbidden("identity:create_user");
    auto body = parseBody(call);
    if (!body.ok()) return keystoneError(http::status::bad_request, body.error().message);
    auto created = id.createUser(*body);
    if (!created.ok()) return errorReply(created.error(), call);
    return single(http::status::created, "user", userJson(a, id, id.user(*created), call), doc);
  }
  if (call.seg.size() == 2 && call.method == "GET") {
    if (!admin) return forbidden("identity:list_users");
    auto name = call.query.get("name");
    Json list(rapidjson::kArrayType);
    for (const User& u : id.users()) {
      if (!name || u.name == *name) list.PushBack(userJson(a, id, u, call), a);
    }
    doc.AddMember("users", list, a);
    doc.AddMember("links", listLinks(a, keystoneRoot(call) + "/users"), a);
    return jsonReply(http::status::ok, doc);
  }
  if (call.seg.size() != 3)
    return keystoneError(http::status::not_found, "The resource could not be found.");
  if (call.method != "GET") return methodNotAllowed();
  if (!admin && id.user(caller.user).id != call.seg[2]) return forbidden("identity:get_user");
  auto user = id.findUserById(call.seg[2]);
  if (!user)
    return keystoneError(http::status::not_found,
                         fmt::format("Could not find user: {}.", call.seg[2]));
  return single(http::status::ok, "user", userJson(a, id, id.user(*user), call), doc);
}

Response roles(Sim& sim, Call& call) {
  Identity& id = sim.identity();
  if (call.method != "GET") return methodNotAllowed();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  if (call.seg.size() == 3) {
    auto role = id.findRoleById(call.seg[2]);
    if (!role)
      return keystoneError(http::status::not_found,
                           fmt::format("Could not find role: {}.", call.seg[2]));
    return single(http::status::ok, "role", roleJson(a, id, *role, call), doc);
  }
  auto name = call.query.get("name");
  Json list(rapidjson::kArrayType);
  for (uint32_t r = 0; r < id.roleCount(); ++r) {
    if (!name || id.roleName(r) == *name) list.PushBack(roleJson(a, id, r, call), a);
  }
  doc.AddMember("roles", list, a);
  doc.AddMember("links", listLinks(a, keystoneRoot(call) + "/roles"), a);
  return jsonReply(http::status::ok, doc);
}

// GET /v3/role_assignments, filtered by user.id, scope.project.id and role.id; include_names adds
// the names beside the ids, as Keystone does.
Response roleAssignments(Sim& sim, Call& call, const Token& caller) {
  Identity& id = sim.identity();
  if (call.method != "GET") return methodNotAllowed();
  auto user_filter = call.query.get("user.id");
  auto project_filter = call.query.get("scope.project.id");
  auto role_filter = call.query.get("role.id");
  const bool names = call.query.has("include_names");
  // A non-admin may list only its own assignments (identity:list_role_assignments).
  if (!id.isAdmin(caller) && user_filter != id.user(caller.user).id) {
    return forbidden("identity:list_role_assignments");
  }
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  // Names, with the owning domain for projects and users (roles here are global).
  auto ref = [&](const std::string& ident, const std::string& name, bool in_domain) {
    Json j(rapidjson::kObjectType);
    j.AddMember("id", util::str(ident, a), a);
    if (names) {
      j.AddMember("name", util::str(name, a), a);
      if (in_domain) {
        Json domain(rapidjson::kObjectType);
        domain.AddMember("id", "default", a);
        domain.AddMember("name", "Default", a);
        j.AddMember("domain", domain, a);
      }
    }
    return j;
  };
  Json list(rapidjson::kArrayType);
  for (const User& u : id.users()) {
    if (user_filter && u.id != *user_filter) continue;
    for (const Grant& g : u.grants) {
      const Project& p = id.project(g.project);
      if (project_filter && p.id != *project_filter) continue;
      if (role_filter && id.roleId(g.role) != *role_filter) continue;
      Json entry(rapidjson::kObjectType);
      Json links(rapidjson::kObjectType);
      links.AddMember("assignment",
                      util::str(fmt::format("{}/projects/{}/users/{}/roles/{}", keystoneRoot(call),
                                            p.id, u.id, id.roleId(g.role)),
                                a),
                      a);
      entry.AddMember("links", links, a);
      entry.AddMember("role", ref(id.roleId(g.role), id.roleName(g.role), false), a);
      Json scope(rapidjson::kObjectType);
      scope.AddMember("project", ref(p.id, p.name, true), a);
      entry.AddMember("scope", scope, a);
      entry.AddMember("user", ref(u.id, u.name, true), a);
      list.PushBack(entry, a);
    }
  }
  doc.AddMember("role_assignments", list, a);
  doc.AddMember("links", listLinks(a, keystoneRoot(call) + "/role_assignments"), a);
  return jsonReply(http::status::ok, doc);
}

// Only the Default domain exists; clients look it up by id or by name.
Response domains(Call& call) {
  if (call.method != "GET") return methodNotAllowed();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  auto domain = [&] {
    Json d(rapidjson::kObjectType);
    d.AddMember("description", "The default domain", a);
    d.AddMember("enabled", true, a);
    d.AddMember("id", "default", a);
    d.AddMember("links", selfLink(a, keystoneRoot(call) + "/domains/default"), a);
    d.AddMember("name", "Default", a);
    d.AddMember("tags", Json(rapidjson::kArrayType), a);
    d.AddMember("options", Json(rapidjson::kObjectType), a);
    return d;
  };
  if (call.seg.size() == 3) {
    if (call.seg[2] != "default")
      return keystoneError(http::status::not_found,
                           fmt::format("Could not find domain: {}.", call.seg[2]));
    return single(http::status::ok, "domain", domain(), doc);
  }
  auto name = call.query.get("name");
  Json list(rapidjson::kArrayType);
  if (!name || *name == "Default") list.PushBack(domain(), a);
  doc.AddMember("domains", list, a);
  doc.AddMember("links", listLinks(a, keystoneRoot(call) + "/domains"), a);
  return jsonReply(http::status::ok, doc);
}

}  // namespace

std::optional<Response> handleIdentityAdmin(Sim& sim, Call& call, const Token& caller) {
  const auto& seg = call.seg;
  const std::string_view collection =
      seg.size() >= 2 ? std::string_view(seg[1]) : std::string_view();
  if (collection == "projects") {
    if (seg.size() <= 3) return projects(sim, call, caller);
    if ((seg.size() == 6 || seg.size() == 7) && seg[3] == "users" && seg[5] == "roles") {
      return projectUserRoles(sim, call, caller);
    }
  }
  if (collection == "users" && seg.size() <= 3) return users(sim, call, caller);
  if (collection == "roles" && seg.size() <= 3) return roles(sim, call);
  if (collection == "role_assignments" && seg.size() == 2)
    return roleAssignments(sim, call, caller);
  if (collection == "domains" && seg.size() <= 3) return domains(call);
  return std::nullopt;
}

}  // namespace magnumd::cloudsim
