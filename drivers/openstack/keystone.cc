#include "drivers/openstack/keystone.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <set>

#include "drivers/openstack/errors.h"
#include "util/json.h"

namespace magnumd::drivers::openstack {

using util::Json;
using util::JsonAlloc;

namespace {

Json object() { return Json(rapidjson::kObjectType); }

void add(Json& target, std::string_view key, Json value, JsonAlloc& a) {
  target.AddMember(util::str(key, a), std::move(value), a);
}

// {"id": ...} or {"name": ...} for a domain; null when neither is set.
std::optional<Json> domainRef(const std::string& id, const std::string& name, JsonAlloc& a) {
  if (id.empty() && name.empty()) return std::nullopt;
  Json d = object();
  if (!id.empty()) add(d, "id", util::str(id, a), a);
  else add(d, "name", util::str(name, a), a);
  return d;
}

Json userRef(const CloudConfig& c, JsonAlloc& a) {
  Json user = object();
  if (!c.user_id.empty()) {
    add(user, "id", util::str(c.user_id, a), a);
  } else {
    add(user, "name", util::str(c.username, a), a);
    if (auto d = domainRef(c.user_domain_id, c.user_domain_name, a)) add(user, "domain", std::move(*d), a);
  }
  return user;
}

std::string text(const Json& v, std::string_view key) { return util::stringMember(v, key).value_or(""); }

util::Result<std::vector<CatalogService>> parseCatalogArray(const Json& array) {
  std::vector<CatalogService> out;
  if (!array.IsArray()) return malformedResponse("keystone catalog", "\"catalog\" is not an array");
  for (const auto& entry : array.GetArray()) {
    if (!entry.IsObject()) continue;
    CatalogService service{text(entry, "type"), text(entry, "name"), {}};
    if (const Json* endpoints = util::member(entry, "endpoints"); endpoints && endpoints->IsArray()) {
      for (const auto& e : endpoints->GetArray()) {
        if (!e.IsObject()) continue;
        CatalogEndpoint ep{text(e, "interface"), text(e, "region_id"), text(e, "url")};
        if (ep.region_id.empty()) ep.region_id = text(e, "region");
        if (!ep.url.empty()) service.endpoints.push_back(std::move(ep));
      }
    }
    out.push_back(std::move(service));
  }
  return out;
}

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

}  // namespace

std::string authRequestBody(const CloudConfig& c) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json identity = object();
  Json methods(rapidjson::kArrayType);
  if (c.isApplicationCredential()) {
    methods.PushBack(util::str("application_credential", a), a);
    Json cred = object();
    if (!c.application_credential_id.empty()) {
      add(cred, "id", util::str(c.application_credential_id, a), a);
    } else {
      add(cred, "name", util::str(c.application_credential_name, a), a);
      add(cred, "user", userRef(c, a), a);
    }
    add(cred, "secret", util::str(c.application_credential_secret, a), a);
    add(identity, "methods", std::move(methods), a);
    add(identity, "application_credential", std::move(cred), a);
  } else {
    methods.PushBack(util::str("password", a), a);
    Json user = userRef(c, a);
    add(user, "password", util::str(c.password, a), a);
    Json password = object();
    add(password, "user", std::move(user), a);
    add(identity, "methods", std::move(methods), a);
    add(identity, "password", std::move(password), a);
  }
  Json auth = object();
  add(auth, "identity", std::move(identity), a);
  if (!c.isApplicationCredential() && (!c.project_id.empty() || !c.project_name.empty())) {
    Json project = object();
    if (!c.project_id.empty()) {
      add(project, "id", util::str(c.project_id, a), a);
    } else {
      add(project, "name", util::str(c.project_name, a), a);
      if (auto d = domainRef(c.project_domain_id, c.project_domain_name, a)) add(project, "domain", std::move(*d), a);
    }
    Json scope = object();
    add(scope, "project", std::move(project), a);
    add(auth, "scope", std::move(scope), a);
  }
  add(doc, "auth", std::move(auth), a);
  return util::toJson(doc);
}

util::Result<Token> parseTokenResponse(std::string_view body, std::string token_id) {
  constexpr std::string_view what = "keystone token";
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse(what, doc.error().message);
  const Json* token = util::member(doc.value(), "token");
  if (token == nullptr || !token->IsObject()) return malformedResponse(what, "no \"token\" object");
  Token t;
  t.id = std::move(token_id);
  if (auto expires = util::stringMember(*token, "expires_at")) {
    t.expires_at = util::parseRfc3339(*expires);
    if (!t.expires_at) return malformedResponse(what, fmt::format("expires_at \"{}\" is not a time", *expires));
  }
  if (const Json* user = util::member(*token, "user"); user && user->IsObject()) {
    t.user_id = text(*user, "id");
    t.user_name = text(*user, "name");
  }
  if (const Json* roles = util::member(*token, "roles"); roles && roles->IsArray()) {
    for (const auto& role : roles->GetArray()) {
      if (role.IsObject() && !text(role, "name").empty()) t.roles.push_back(text(role, "name"));
    }
  }
  if (const Json* project = util::member(*token, "project"); project && project->IsObject()) {
    t.project_id = text(*project, "id");
    t.project_name = text(*project, "name");
  }
  if (const Json* catalog = util::member(*token, "catalog"); catalog != nullptr) {
    ASSIGN_OR_RETURN(t.catalog, parseCatalogArray(*catalog));
  }
  return t;
}

util::Result<std::vector<CatalogService>> parseCatalogResponse(std::string_view body) {
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse("keystone catalog", doc.error().message);
  const Json* catalog = util::member(doc.value(), "catalog");
  if (catalog == nullptr) return malformedResponse("keystone catalog", "no \"catalog\" array");
  return parseCatalogArray(*catalog);
}

util::Result<std::vector<ProjectRef>> parseProjectsResponse(std::string_view body) {
  constexpr std::string_view what = "keystone projects";
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse(what, doc.error().message);
  const Json* projects = util::member(doc.value(), "projects");
  if (projects == nullptr || !projects->IsArray())
    return malformedResponse(what, "no \"projects\" array");
  std::vector<ProjectRef> out;
  for (const auto& p : projects->GetArray()) {
    if (!p.IsObject() || text(p, "id").empty())
      return malformedResponse(what, "a project without an id");
    const Json* enabled = util::member(p, "enabled");
    out.push_back({text(p, "id"), text(p, "name"), text(p, "domain_id"),
                   enabled == nullptr || !enabled->IsBool() || enabled->GetBool()});
  }
  return out;
}

util::Result<std::string> selectEndpoint(const std::vector<CatalogService>& catalog,
                                         std::string_view service_type, std::string_view interface,
                                         std::string_view region, std::string_view project_id) {
  std::set<std::string> offered;
  for (const auto& service : catalog) {
    if (service.type != service_type) continue;
    for (const auto& ep : service.endpoints) {
      offered.insert(fmt::format("{}@{}", ep.interface, ep.region_id.empty() ? "any" : ep.region_id));
      if (ep.interface != interface) continue;
      if (!region.empty() && ep.region_id != region) continue;
      std::string url = ep.url;
      for (std::string_view var : {"%(tenant_id)s", "%(project_id)s", "$(tenant_id)s", "$(project_id)s"}) {
        replaceAll(url, var, project_id);
      }
      while (!url.empty() && url.back() == '/') url.pop_back();
      return url;
    }
  }
  std::string region_text = region.empty() ? "any region" : fmt::format("region \"{}\"", region);
  if (offered.empty()) {
    return util::makeError(util::ErrorCode::NotFound,
                           fmt::format("the service catalog has no \"{}\" service", service_type));
  }
  return util::makeError(util::ErrorCode::NotFound,
                         fmt::format("the service catalog has no {} endpoint of \"{}\" in {}; it offers {}",
                                     interface, service_type, region_text, fmt::join(offered, ", ")));
}

}  // namespace magnumd::drivers::openstack
