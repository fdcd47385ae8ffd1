// One request to Magnum's v1 API, and what its handlers ask of it: the caller's project and
// visibility, authorization in /apis terms, Magnum's paging, and JSON answers.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "server/auth.h"
#include "server/magnum_policy.h"
#include "server/magnum_version.h"
#include "server/magnum_views.h"
#include "server/route.h"
#include "util/json.h"

namespace magnumd::server::magnum {

struct Paging {
  int64_t limit = 0;
  std::string marker;
  std::string sort_key = "id";
  std::string sort_dir = "asc";
};

struct Page {
  std::vector<const api::Object*> items;
  std::string next_marker;  // the last item's uuid when the page is full
};

// Magnum's policy rule for `action` on `kind`: "cluster:get", "clustertemplate:update", ...
std::string policyRule(api::Kind kind, std::string_view action);

struct Call {
  using Doc = util::JsonDoc;

  const net::Request& request;
  const Target& target;
  const Identity* identity;
  const Policy* policy;
  Microversion version;
  std::string base_url;

  // The caller's project: the namespace it reads and creates in; empty for an identity of every
  // namespace reading (Magnum's all_tenants for admins).
  const std::string& project() const;
  // Where this caller's creates go: its project, or "default" for an identity of every namespace.
  std::string createNamespace() const;
  // Objects of the caller's project, and public templates of any project.
  bool canSee(const api::Object& object) const;
  util::Status authorize(Verb verb, api::Kind kind, const std::string& name,
                         const std::string& namespace_, bool status = false) const;
  // Magnum's policy rule `rule` (magnum_policy.h), on `object` when given (the target is its
  // project, as Magnum passes the object's attributes), else on the caller's own project.
  util::Status enforce(std::string_view rule, const api::Object* object = nullptr) const;
  // For an admin of every namespace, rule `rule` too (Magnum's *_all_projects rules, which it
  // checks for admins before it lets them see every project); nothing for other callers.
  util::Status enforceAllProjects(std::string_view rule) const;
  ViewContext view(bool detail, ViewContext::ParentLookup parent) const;
  std::string_view query(std::string_view name) const;

  util::Result<Paging> paging(int64_t max_limit) const;
  // Sorts `items` by the paging's key and cuts the page after the marker.
  util::Result<Page> page(std::vector<const api::Object*>& items, const Paging& paging) const;

  net::Response json(net::http::status status, const util::Json& body) const;
  // `body` is JSON already.
  net::Response json(net::http::status status, std::string body) const;
  net::Response methodNotAllowed() const;
  net::Response notFound(std::string_view rest) const;
  // 406: the method exists from `needed` on (magnum/api/controllers/base.py's message).
  net::Response notAvailable(const Microversion& needed) const;
};

}  // namespace magnumd::server::magnum
