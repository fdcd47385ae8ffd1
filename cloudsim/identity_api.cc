// Keystone v3 over HTTP: token issue/validate/revoke, catalog, the caller's projects, application
// credentials; the admin API (projects, users, roles) is in identity_admin_api.cc.
#include <fmt/format.h>

#include <algorithm>

#include "cloudsim/sim.h"

namespace magnumd::cloudsim {
namespace {

using util::Json;
using util::JsonAlloc;

Json endpoint(JsonAlloc& a, std::string_view service, std::string_view iface, const std::string& url) {
  Json e(rapidjson::kObjectType);
  e.AddMember("id", util::str(stableHexId("endpoint", fmt::format("{}/{}", service, iface)), a), a);
  e.AddMember("interface", util::str(iface, a), a);
  e.AddMember("region", "RegionOne", a);
  e.AddMember("region_id", "RegionOne", a);
  e.AddMember("url", util::str(url, a), a);
  return e;
}

Json catalog(JsonAlloc& a, const std::string& base, const Project* project,
             const std::vector<CatalogService>& extra) {
  struct Service {
    const char* type;
    const char* name;
    std::string url;
  };
  std::vector<Service> services = {{"identity", "keystone", base + "/identity"},
                                   {"compute", "nova", base + "/compute/v2.1"},
                                   {"image", "glance", base + "/image"}};
  if (project != nullptr) services.push_back({"orchestration", "heat", base + "/heat-api/v1/" + project->id});
  for (const auto& s : extra) services.push_back({s.type.c_str(), s.name.c_str(), s.url});
  Json out(rapidjson::kArrayType);
  for (const auto& s : services) {
    Json entry(rapidjson::kObjectType);
    Json endpoints(rapidjson::kArrayType);
    for (const char* iface : {"public", "internal", "admin"}) endpoints.PushBack(endpoint(a, s.type, iface, s.url), a);
    entry.AddMember("endpoints", endpoints, a);
    entry.AddMember("id", util::str(stableHexId("service", s.type), a), a);
    entry.AddMember("type", util::str(s.type, a), a);
    entry.AddMember("name", util::str(s.name, a), a);
    out.PushBack(entry, a);
  }
  return out;
}

Json domain(JsonAlloc& a) {
  Json d(rapidjson::kObjectType);
  d.AddMember("id", "default", a);
  d.AddMember("name", "Default", a);
  return d;
}

util::JsonDoc tokenBody(Sim& sim, const Token& t, const std::string& base, bool with_catalog) {
  Identity& id = sim.identity();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json token(rapidjson::kObjectType);
  Json methods(rapidjson::kArrayType);
  methods.PushBack(util::str(t.app_credential != kNone ? "application_credential" : "password", a), a);
  token.AddMember("methods", methods, a);
  const User& u = id.user(t.user);
  Json user(rapidjson::kObjectType);
  user.AddMember("id", util::str(u.id, a), a);
  user.AddMember("name", util::str(u.name, a), a);
  user.AddMember("domain", domain(a), a);
  user.AddMember("password_expires_at", Json(), a);
  token.AddMember("user", user, a);
  Json audit(rapidjson::kArrayType);
  audit.PushBack(util::str(t.audit_id, a), a);
  token.AddMember("audit_ids", audit, a);
  token.AddMember("issued_at", util::str(formatMicros(t.issued, true), a), a);
  token.AddMember("expires_at", util::str(formatMicros(t.expires, true), a), a);
  const Project* project = t.project == kNone ? nullptr : &id.project(t.project);
  if (project != nullptr) {
    Json p(rapidjson::kObjectType);
    p.AddMember("id", util::str(project->id, a), a);
    p.AddMember("name", util::str(project->name, a), a);
    p.AddMember("domain", domain(a), a);
    token.AddMember("project", p, a);
    token.AddMember("is_domain", false, a);
    Json roles(rapidjson::kArrayType);
    for (uint32_t r : t.roles) {
      Json role(rapidjson::kObjectType);
      role.AddMember("id", util::str(id.roleId(r), a), a);
      role.AddMember("name", util::str(id.roleName(r), a), a);
      roles.PushBack(role, a);
    }
    token.AddMember("roles", roles, a);
  }
  if (t.app_credential != kNone) {
    const AppCredential& c = id.appCredential(t.app_credential);
    Json cred(rapidjson::kObjectType);
    cred.AddMember("id", util::str(c.id, a), a);
    cred.AddMember("name", util::str(c.name, a), a);
    cred.AddMember("restricted", !c.unrestricted, a);
    token.AddMember("application_credential", cred, a);
  }
  if (with_catalog)
    token.AddMember("catalog", catalog(a, base, project, sim.config().extra_services), a);
  doc.AddMember("token", token, a);
  return doc;
}

Json appCredentialJson(Sim& sim, const AppCredential& c, JsonAlloc& a, bool with_secret, const std::string& base) {
  Identity& id = sim.identity();
  Json j(rapidjson::kObjectType);
  j.AddMember("id", util::str(c.id, a), a);
  j.AddMember("name", util::str(c.name, a), a);
  j.AddMember("description", util::str(c.description, a), a);
  j.AddMember("user_id", util::str(id.user(c.user).id, a), a);
  j.AddMember("project_id", util::str(id.project(c.project).id, a), a);
  j.AddMember("unrestricted", c.unrestricted, a);
  j.AddMember("expires_at", c.expires ? util::str(formatMicros(*c.expires, false), a) : Json(), a);
  Json roles(rapidjson::kArrayType);
  for (uint32_t r : c.roles) {
    Json role(rapidjson::kObjectType);
    role.AddMember("id", util::str(id.roleId(r), a), a);
    role.AddMember("name", util::str(id.roleName(r), a), a);
    roles.PushBack(role, a);
  }
  j.AddMember("roles", roles, a);
  if (with_secret) j.AddMember("secret", util::str(c.secret, a), a);
  Json links(rapidjson::kObjectType);
  links.AddMember("self", util::str(fmt::format("{}/identity/v3/users/{}/application_credentials/{}", base, id.user(c.user).id, c.id), a), a);
  j.AddMember("links", links, a);
  return j;
}

Response errorFor(const util::Error& e, const Call& call) {
  return keystoneError(statusOf(e.code), e.message, call.base);
}

Response tokens(Sim& sim, Call& call) {
  Identity& id = sim.identity();
  bool catalog = !call.query.has("nocatalog");
  if (call.method == "POST") {
    auto body = parseBody(call);
    if (!body.ok()) return keystoneError(http::status::bad_request, body.error().message);
    auto issued = id.authenticate(*body);
    if (!issued.ok()) return errorFor(issued.error(), call);
    const Token* t = id.validate(*issued);
    Response res = jsonReply(http::status::created, tokenBody(sim, *t, call.base, catalog));
    res.set("X-Subject-Token", *issued);
    res.set(http::field::vary, "X-Auth-Token");
    return res;
  }
  const Token* caller = id.validate(call.header("X-Auth-Token"));
  if (caller == nullptr) return keystoneError(http::status::unauthorized, "The request you have made requires authentication.", call.base);
  std::string subject = call.header("X-Subject-Token");
  const Token* t = id.validate(subject);
  if (call.method == "DELETE") {
    if (!id.revoke(subject)) return keystoneError(http::status::not_found, fmt::format("Could not find token: {}.", subject));
    return emptyReply(http::status::no_content);
  }
  if (call.method != "GET" && call.method != "HEAD") return keystoneError(http::status::method_not_allowed, "The method is not allowed for the requested URL.");
  if (t == nullptr) return keystoneError(http::status::not_found, fmt::format("Could not find token: {}.", subject));
  if (call.method == "HEAD") return emptyReply(http::status::ok);
  Response res = jsonReply(http::status::ok, tokenBody(sim, *t, call.base, catalog));
  res.set("X-Subject-Token", subject);
  return res;
}

Response applicationCredentials(Sim& sim, Call& call, const Token& caller) {
  Identity& id = sim.identity();
  const std::string& user_id = call.seg[2];
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  if (call.seg.size() == 4 && call.method == "POST") {
    auto body = parseBody(call);
    if (!body.ok()) return keystoneError(http::status::bad_request, body.error().message);
    auto created = id.createAppCredential(caller, user_id, *body);
    if (!created.ok()) return errorFor(created.error(), call);
    doc.AddMember("application_credential", appCredentialJson(sim, id.appCredential(*created), a, true, call.base), a);
    return jsonReply(http::status::created, doc);
  }
  if (id.user(caller.user).id != user_id) return keystoneError(http::status::forbidden, "You are not authorized to perform the requested action.");
  if (call.seg.size() == 4 && call.method == "GET") {
    Json list(rapidjson::kArrayType);
    for (const auto& c : id.appCredentials()) {
      if (c.user == caller.user && !c.secret.empty()) list.PushBack(appCredentialJson(sim, c, a, false, call.base), a);
    }
    doc.AddMember("application_credentials", list, a);
    return jsonReply(http::status::ok, doc);
  }
  if (call.seg.size() == 5) {
    if (call.method == "DELETE") {
      if (!id.deleteAppCredential(caller, user_id, call.seg[4])) return keystoneError(http::status::not_found, fmt::format("Could not find application credential: {}.", call.seg[4]));
      return emptyReply(http::status::no_content);
    }
    for (const auto& c : id.appCredentials()) {
      if (c.id == call.seg[4] && c.user == caller.user && !c.secret.empty()) {
        doc.AddMember("application_credential", appCredentialJson(sim, c, a, false, call.base), a);
        return jsonReply(http::status::ok, doc);
      }
    }
    return keystoneError(http::status::not_found, fmt::format("Could not find application credential: {}.", call.seg[4]));
  }
  return keystoneError(http::status::method_not_allowed, "The method is not allowed for the requested URL.");
}

Response projects(Sim& sim, const Token& caller) {
  Identity& id = sim.identity();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json list(rapidjson::kArrayType);
  const User& u = id.user(caller.user);
  for (uint32_t i = 0; i < id.projects().size(); ++i) {
    // Keystone lists the projects a token could be scoped to, admin or not: those with a role.
    bool member = std::any_of(u.grants.begin(), u.grants.end(), [&](const Grant& g) { return g.project == i; });
    if (!member) continue;
    const Project& p = id.project(i);
    Json j(rapidjson::kObjectType);
    j.AddMember("id", util::str(p.id, a), a);
    j.AddMember("name", util::str(p.name, a), a);
    j.AddMember("domain_id", "default", a);
    j.AddMember("enabled", true, a);
    j.AddMember("is_domain", false, a);
    j.AddMember("parent_id", "default", a);
    j.AddMember("description", "", a);
    list.PushBack(j, a);
  }
  doc.AddMember("projects", list, a);
  return jsonReply(http::status::ok, doc);
}

}  // namespace

Response handleIdentity(Sim& sim, Call& call) {
  const auto& seg = call.seg;
  if (seg.empty() || (seg.size() == 1 && seg[0] == "v3")) {
    if (call.method != "GET" && call.method != "HEAD") return keystoneError(http::status::method_not_allowed, "The method is not allowed for the requested URL.");
    return versionsDocument("keystone", call);
  }
  if (seg[0] != "v3") return keystoneError(http::status::not_found, "The resource could not be found.");
  if (seg.size() == 3 && seg[1] == "auth" && seg[2] == "tokens") return tokens(sim, call);
  const Token* caller = sim.identity().validate(call.header("X-Auth-Token"));
  if (caller == nullptr) return keystoneError(http::status::unauthorized, "The request you have made requires authentication.", call.base);
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  if (seg.size() == 3 && seg[1] == "auth" && seg[2] == "catalog" && call.method == "GET") {
    const Project* p = caller->project == kNone ? nullptr : &sim.identity().project(caller->project);
    doc.AddMember("catalog", catalog(a, call.base, p, sim.config().extra_services), a);
    return jsonReply(http::status::ok, doc);
  }
  if (seg.size() == 3 && seg[1] == "auth" && seg[2] == "projects" && call.method == "GET")
    return projects(sim, *caller);
  if (seg.size() >= 4 && seg[1] == "users" && seg[3] == "application_credentials") {
    return applicationCredentials(sim, call, *caller);
  }
  if (auto admin = handleIdentityAdmin(sim, call, *caller)) return std::move(*admin);
  return keystoneError(http::status::not_found, "The resource could not be found.");
}

}  // namespace magnumd::cloudsim
