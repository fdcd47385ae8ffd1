#include "server/magnum_call.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "server/magnum_api.h"

namespace magnumd::server::magnum {
namespace {

namespace http = net::http;
using util::ErrorCode;
using util::makeError;

const std::string kEveryProject;

// The sort keys Magnum's clients use; "id" is Magnum's row id, which grows with creation.
std::string sortValue(const api::Object& o, std::string_view key) {
  if (key == "name") return magnumName(o);
  if (key == "uuid") return o.metadata.uid;
  return o.metadata.creation_timestamp;  // id, created_at
}

}  // namespace

std::string policyRule(api::Kind kind, std::string_view action) {
  std::string_view prefix = kind == api::Kind::Cluster           ? "cluster"
                            : kind == api::Kind::ClusterTemplate ? "clustertemplate"
                                                                 : "nodegroup";
  return fmt::format("{}:{}", prefix, action);
}

const std::string& Call::project() const {
  return identity && !identity->allNamespaces() ? identity->namespace_ : kEveryProject;
}

std::string Call::createNamespace() const {
  return project().empty() ? std::string("default") : project();
}

bool Call::canSee(const api::Object& object) const {
  if (project().empty() || object.metadata.namespace_ == project()) return true;
  if (object.kind != api::Kind::ClusterTemplate) return false;
  auto spec = util::parseJson(object.spec);
  return spec.ok() && util::boolMember(*spec, "public").value_or(false);
}

util::Status Call::authorize(Verb verb, api::Kind kind, const std::string& name,
                             const std::string& namespace_, bool status) const {
  if (!identity) return makeError(ErrorCode::Unauthorized, "Authentication required");
  ResourcePath path{kind, namespace_, name, status ? Subresource::Status : Subresource::None};
  // Reading a public template of another project is allowed, as Magnum lists them to everyone.
  if (!isWrite(verb) && kind == api::Kind::ClusterTemplate) path.namespace_ = project();
  return server::authorize(*identity, verb, path);
}

util::Status Call::enforce(std::string_view rule, const api::Object* object) const {
  if (!identity) return makeError(ErrorCode::Unauthorized, "Authentication required");
  policy::Target target;
  // magnumd does not record which user created an object, so `user_id:%(user_id)s` (Magnum's
  // is_user) matches every caller the project rules admit.
  if (object) target["project_id"] = object->metadata.namespace_;
  return policy->enforce(rule, *identity, std::move(target));
}

util::Status Call::enforceAllProjects(std::string_view rule) const {
  // As Magnum, for admins only: another identity of every namespace (a token file's reader) sees
  // every project because its token says so.
  if (!project().empty() || !identity || !policy->isAdmin(*identity)) return {};
  return enforce(rule);
}

ViewContext Call::view(bool detail, ViewContext::ParentLookup parent) const {
  return ViewContext{base_url, version, detail, std::move(parent), {}};
}

std::string_view Call::query(std::string_view name) const {
  return stringParam(target.query, name);
}

util::Result<Paging> Call::paging(int64_t max_limit) const {
  Paging p;
  p.limit = max_limit;
  if (std::string_view limit = query("limit"); !limit.empty()) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), value);
    if (ec != std::errc() || end != limit.data() + limit.size()) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("Invalid input for query parameter limit. Value: '{}'. "
                                   "unable to convert to int",
                                   limit));
    }
    if (value <= 0) return makeError(ErrorCode::BadRequest, "Limit must be positive");
    p.limit = std::min(value, max_limit);
  }
  p.marker = std::string(query("marker"));
  if (std::string_view key = query("sort_key"); !key.empty()) {
    if (key != "id" && key != "uuid" && key != "name" && key != "created_at") {
      return makeError(
          ErrorCode::BadRequest,
          fmt::format("The sort_key value \"{}\" is an invalid field for sorting", key));
    }
    p.sort_key = std::string(key);
  }
  if (std::string_view dir = query("sort_dir"); !dir.empty()) {
    if (dir != "asc" && dir != "desc") {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("Invalid sort direction: {}. Acceptable values are 'asc' or "
                                   "'desc'",
                                   dir));
    }
    p.sort_dir = std::string(dir);
  }
  return p;
}

util::Result<Page> Call::page(std::vector<const api::Object*>& items, const Paging& paging) const {
  const bool desc = paging.sort_dir == "desc";
  // Each key computed once (a name is read from an annotation, times are strings).
  std::vector<std::pair<std::string, const api::Object*>> keyed;
  keyed.reserve(items.size());
  for (const api::Object* o : items) keyed.emplace_back(sortValue(*o, paging.sort_key), o);
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    int c = a.first.compare(b.first);
    if (c == 0) c = a.second->metadata.uid.compare(b.second->metadata.uid);
    return desc ? c > 0 : c < 0;
  });
  for (size_t i = 0; i < keyed.size(); ++i) items[i] = keyed[i].second;
  size_t start = 0;
  if (!paging.marker.empty()) {
    auto it = std::find_if(items.begin(), items.end(),
                           [&](const api::Object* o) { return o->metadata.uid == paging.marker; });
    if (it == items.end()) {
      return makeError(ErrorCode::NotFound,
                       fmt::format("Marker {} could not be found.", paging.marker));
    }
    start = static_cast<size_t>(it - items.begin()) + 1;
  }
  Page page;
  size_t end = std::min(items.size(), start + static_cast<size_t>(paging.limit));
  page.items.assign(items.begin() + static_cast<ptrdiff_t>(start),
                    items.begin() + static_cast<ptrdiff_t>(end));
  if (!page.items.empty() && page.items.size() == static_cast<size_t>(paging.limit) &&
      end < items.size()) {
    page.next_marker = page.items.back()->metadata.uid;
  }
  return page;
}

net::Response Call::json(http::status status, const util::Json& body) const {
  return json(status, util::toJson(body));
}

net::Response Call::json(http::status status, std::string body) const {
  net::Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

net::Response Call::methodNotAllowed() const {
  return errorResponse(makeError(ErrorCode::MethodNotAllowed,
                                 fmt::format("The method {} is not allowed for this resource.",
                                             std::string(request.method_string()))),
                       &version);
}

net::Response Call::notFound(std::string_view rest) const {
  return errorResponse(
      makeError(ErrorCode::NotFound, fmt::format("The resource could not be found: /v1/{}", rest)),
      &version);
}

net::Response Call::notAvailable(const Microversion& needed) const {
  return errorResponse(
      makeError(ErrorCode::NotAcceptable,
                fmt::format("Version {} was requested but the requested API {} is not supported "
                            "for this version; it needs {} or later.",
                            version.str(), target.path, needed.str())),
      &version);
}

}  // namespace magnumd::server::magnum
