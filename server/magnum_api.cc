// Routing, reads and errors of Magnum's v1 API; the writes are in magnum_api_writes.cc.
#include "server/magnum_api.h"

#include <fmt/format.h>

#include <algorithm>

#include "api/nodegroup.h"
#include "server/magnum_call.h"
#include "server/magnum_views.h"

namespace magnumd::server::magnum {
namespace {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::Json;
using util::makeError;

constexpr int64_t kMaxLimit = 1000;  // Magnum's [api] max_limit

const char* titleOf(http::status status) {
  switch (status) {
    case http::status::bad_request:
      return "Bad Request";
    case http::status::unauthorized:
      return "Unauthorized";
    case http::status::forbidden:
      return "Forbidden";
    case http::status::not_found:
      return "Not Found";
    case http::status::method_not_allowed:
      return "Method Not Allowed";
    case http::status::not_acceptable:
      return "Requested microversion is unsupported";
    case http::status::conflict:
      return "Conflict";
    case http::status::payload_too_large:
      return "Request Entity Too Large";
    case http::status::service_unavailable:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

// /apis' status for the error, except that Magnum answers invalid input with 400, not 422/415.
http::status statusOf(ErrorCode code) {
  if (code == ErrorCode::Invalid || code == ErrorCode::UnsupportedMediaType) {
    return http::status::bad_request;
  }
  return static_cast<http::status>(util::httpCodeOf(code));
}

bool looksLikeUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// "clusters/abc/nodegroups" -> {"clusters", "abc", "nodegroups"}; empty segments dropped.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

bool ownsPath(std::string_view path) {
  return path == "/" || path == "/v1" || path.starts_with("/v1/");
}

bool isPublicPath(std::string_view path) { return path == "/" || path == "/v1" || path == "/v1/"; }

net::Response errorResponse(const util::Error& error, const Microversion* version) {
  http::status status = statusOf(error.code);
  Call::Doc doc;
  auto& a = doc.GetAllocator();
  Json entry(rapidjson::kObjectType);
  entry.AddMember("request_id", "", a);
  entry.AddMember("code", status >= http::status::internal_server_error ? "server" : "client", a);
  entry.AddMember("status", static_cast<int>(status), a);
  // As Magnum's ParsableErrorMiddleware: the title is the message's first sentence (what
  // `openstack coe` prints), the detail the whole message.
  std::string_view first = error.message;
  first = first.substr(0, first.find('.'));
  entry.AddMember("title", first.empty() ? Json(titleOf(status), a) : util::str(first, a), a);
  entry.AddMember("detail", util::str(error.message, a), a);
  entry.AddMember("links", Json(rapidjson::kArrayType), a);
  if (error.code == ErrorCode::NotAcceptable) {
    entry["code"] = "magnum.microversion-unsupported";
    entry["title"] = "Requested microversion is unsupported";
    entry.AddMember("min_version", util::str(kMinVersion.str(), a), a);
    entry.AddMember("max_version", util::str(kMaxVersion.str(), a), a);
  }
  Json errors(rapidjson::kArrayType);
  errors.PushBack(entry, a);
  doc.SetObject();
  doc.AddMember("errors", errors, a);
  net::Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = util::toJson(doc);
  setVersionHeaders(res, version ? *version : kMinVersion);
  res.prepare_payload();
  return res;
}

asio::awaitable<net::Response> MagnumApi::handle(const net::Request& request, const Target& target,
                                                 const Identity* identity, bool tls) {
  Call call{request, target, identity, policy_.get()};
  std::string host(request[http::field::host]);
  call.base_url = fmt::format("{}://{}", tls ? "https" : "http", host.empty() ? "localhost" : host);
  if (target.path == "/") co_return versionsRoot(call);
  auto version = negotiate(request["OpenStack-API-Version"]);
  if (!version.ok()) co_return errorResponse(version.error());
  call.version = *version;
  net::Response res = co_await route(call, std::string_view(target.path).substr(3));
  setVersionHeaders(res, call.version);
  co_return res;
}

asio::awaitable<net::Response> MagnumApi::route(Call& call, std::string_view rest) {
  const http::verb method = call.request.method();
  std::vector<std::string_view> seg = segments(rest);
  if (seg.empty()) {
    if (method != http::verb::get) co_return call.methodNotAllowed();
    co_return v1Root(call);
  }
  if (!call.identity)
    co_return errorResponse(makeError(ErrorCode::Unauthorized, "Authentication required"));
  std::string_view collection = seg[0];
  if (collection == "certificates" && seg.size() <= 2) {
    co_return co_await certificates(call, seg.size() == 2 ? seg[1] : std::string_view());
  }
  if (collection == "credentials" && seg.size() == 2) {
    if (method != http::verb::patch) co_return call.methodNotAllowed();
    co_return rotateCredentials(call, seg[1]);
  }
  if (collection == "quotas" && (seg.size() == 1 || seg.size() == 3)) {
    co_return co_await quotas(call, seg.size() == 3 ? seg[1] : std::string_view(),
                              seg.size() == 3 ? seg[2] : std::string_view());
  }
  if ((collection == "stats" || collection == "mservices") && seg.size() == 1) {
    if (method != http::verb::get) co_return call.methodNotAllowed();
    co_return collection == "stats" ? stats(call) : mservices(call);
  }
  api::Kind kind;
  if (collection == "clustertemplates") {
    kind = api::Kind::ClusterTemplate;
  } else if (collection == "clusters") {
    kind = api::Kind::Cluster;
  } else {
    co_return errorResponse(makeError(
        ErrorCode::NotFound, fmt::format("The resource could not be found: /v1/{}", rest)));
  }
  if (seg.size() == 1) {
    if (method == http::verb::get) co_return list(call, kind, false);
    if (method != http::verb::post) co_return call.methodNotAllowed();
    co_return co_await (kind == api::Kind::Cluster ? createCluster(call) : createTemplate(call));
  }
  if (seg.size() == 2 && seg[1] == "detail") {
    if (method != http::verb::get) co_return call.methodNotAllowed();
    co_return list(call, kind, true);
  }
  auto object = find(call, kind, seg[1]);
  if (!object.ok()) co_return errorResponse(object.error());
  if (seg.size() == 2) {
    switch (method) {
      case http::verb::get:
        if (auto ok = checkGet(call, *object); !ok.ok())
          co_return errorResponse(ok.error(), &call.version);
        co_return show(call, *object);
      case http::verb::patch:
        co_return co_await patchObject(call, *object);
      case http::verb::delete_:
        co_return co_await remove(call, *object);
      default:
        co_return call.methodNotAllowed();
    }
  }
  if (kind != api::Kind::Cluster) co_return call.notFound(rest);
  if (seg.size() == 4 && seg[2] == "actions" && (seg[3] == "resize" || seg[3] == "upgrade")) {
    if (method != http::verb::post) co_return call.methodNotAllowed();
    Microversion needed = seg[3] == "resize" ? Microversion{1, 7} : Microversion{1, 8};
    if (call.version < needed) co_return call.notAvailable(needed);
    co_return co_await (seg[3] == "resize" ? resize(call, *object) : upgrade(call, *object));
  }
  if (seg[2] != "nodegroups" || seg.size() > 4) co_return call.notFound(rest);
  if (call.version < Microversion{1, 9}) co_return call.notAvailable({1, 9});
  if (seg.size() == 3) {
    if (method == http::verb::get) co_return list(call, api::Kind::NodeGroup, false, &*object);
    if (method != http::verb::post) co_return call.methodNotAllowed();
    co_return co_await createNodeGroup(call, *object);
  }
  if (seg[3] == "detail") {
    if (method != http::verb::get) co_return call.methodNotAllowed();
    co_return list(call, api::Kind::NodeGroup, true, &*object);
  }
  auto group = find(call, api::Kind::NodeGroup, seg[3], object->metadata.name);
  if (!group.ok()) co_return errorResponse(group.error());
  switch (method) {
    case http::verb::get:
      if (auto ok = checkGet(call, *group); !ok.ok())
        co_return errorResponse(ok.error(), &call.version);
      co_return show(call, *group);
    case http::verb::patch:
      co_return co_await patchObject(call, *group);
    case http::verb::delete_:
      co_return co_await remove(call, *group);
    default:
      co_return call.methodNotAllowed();
  }
}

net::Response MagnumApi::versionsRoot(const Call& call) const {
  Call::Doc doc;
  auto& a = doc.GetAllocator();
  Json version(rapidjson::kObjectType);
  version.AddMember("status", "CURRENT", a);
  version.AddMember("min_version", util::str(kMinVersion.str(), a), a);
  version.AddMember("max_version", util::str(kMaxVersion.str(), a), a);
  version.AddMember("id", "v1", a);
  Json link(rapidjson::kObjectType);
  link.AddMember("href", util::str(call.base_url + "/v1/", a), a);
  link.AddMember("rel", "self", a);
  Json links(rapidjson::kArrayType);
  links.PushBack(link, a);
  version.AddMember("links", links, a);
  Json versions(rapidjson::kArrayType);
  versions.PushBack(version, a);
  doc.SetObject();
  doc.AddMember("versions", versions, a);
  doc.AddMember("name", "OpenStack Magnum API", a);
  doc.AddMember("description",
                "Magnum is an OpenStack project which aims to provide container cluster "
                "management.",
                a);
  return call.json(http::status::ok, doc);
}

net::Response MagnumApi::v1Root(const Call& call) const {
  Call::Doc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("id", "v1", a);
  Json media(rapidjson::kObjectType);
  media.AddMember("base", "application/json", a);
  media.AddMember("type", "application/vnd.openstack.magnum.v1+json", a);
  Json media_types(rapidjson::kArrayType);
  media_types.PushBack(media, a);
  doc.AddMember("media_types", media_types, a);
  auto linkPair = [&](std::string_view self, std::string_view bookmark) {
    Json links(rapidjson::kArrayType);
    for (auto [rel, href] : {std::pair{"self", self}, std::pair{"bookmark", bookmark}}) {
      Json link(rapidjson::kObjectType);
      link.AddMember("href", util::str(href, a), a);
      link.AddMember("rel", util::str(rel, a), a);
      links.PushBack(link, a);
    }
    return links;
  };
  Json self_links = linkPair(call.base_url + "/v1/", "");
  self_links.PopBack();
  doc.AddMember("links", self_links, a);
  for (std::string_view resource :
       {"clustertemplates", "clusters", "certificates", "mservices", "credentials"}) {
    doc.AddMember(util::str(resource, a),
                  linkPair(fmt::format("{}/v1/{}/", call.base_url, resource),
                           fmt::format("{}/{}/", call.base_url, resource)),
                  a);
  }
  return call.json(http::status::ok, doc);
}

util::Result<api::Object> MagnumApi::find(const Call& call, api::Kind kind, std::string_view ident,
                                          const std::string& cluster_name) const {
  const std::string& ns = call.project();
  auto visible = [&](const api::Object& o) {
    if (!cluster_name.empty()) {
      auto spec = util::parseJson(o.spec);
      if (!spec.ok() || util::stringMember(*spec, "cluster") != cluster_name) return false;
    }
    return call.canSee(o);
  };
  std::string singular(api::kindInfo(kind).name);
  if (kind == api::Kind::ClusterTemplate) singular = "ClusterTemplate";
  if (looksLikeUuid(ident)) {
    std::optional<api::ObjectKey> key;
    {
      std::lock_guard lock(uid_mu_);
      if (auto it = by_uid_.find(std::string(ident)); it != by_uid_.end()) key = it->second;
    }
    if (key) {
      auto cached = store_.get(*key);
      if (cached.ok() && cached->metadata.uid == ident && visible(*cached)) return cached;
    }
    store::ListOptions options;
    options.kind = kind;
    options.filter = [&](const api::Object& o) { return o.metadata.uid == ident; };
    auto found = store_.list(options);
    if (found.ok()) {
      for (auto& o : found->items) {
        if (!visible(o)) continue;
        std::lock_guard lock(uid_mu_);
        if (by_uid_.size() > 100'000) by_uid_.clear();
        by_uid_[o.metadata.uid] = api::keyOf(o);
        return std::move(o);
      }
    }
  } else {
    if (!ns.empty()) {
      auto direct = store_.get({kind, ns, std::string(ident)});
      if (direct.ok() && magnumName(*direct) == ident && visible(*direct)) return direct;
    }
    store::ListOptions options;
    options.kind = kind;
    options.filter = [&](const api::Object& o) { return magnumName(o) == ident; };
    auto found = store_.list(options);
    if (found.ok()) {
      std::vector<api::Object> matches;
      for (auto& o : found->items) {
        if (visible(o)) matches.push_back(std::move(o));
      }
      if (matches.size() > 1) {
        return makeError(ErrorCode::Conflict,
                         fmt::format("Multiple {}s exist with same name. Please use the {} uuid "
                                     "instead.",
                                     api::kindInfo(kind).singular, api::kindInfo(kind).singular));
      }
      if (matches.size() == 1) return std::move(matches.front());
    }
  }
  return makeError(ErrorCode::NotFound, fmt::format("{} {} could not be found.", singular, ident));
}

util::Status MagnumApi::checkGet(const Call& call, const api::Object& object) const {
  // As Magnum: the *_all_projects rule for admins first, and no rule for a public template.
  if (auto ok = call.enforceAllProjects(policyRule(object.kind, "get_one_all_projects"));
      !ok.ok()) {
    return ok;
  }
  if (object.kind == api::Kind::ClusterTemplate) {
    auto spec = util::parseJson(object.spec);
    if (spec.ok() && util::boolMember(*spec, "public").value_or(false)) return {};
  }
  return call.enforce(policyRule(object.kind, "get"), &object);
}

net::Response MagnumApi::list(Call& call, api::Kind kind, bool detail, const api::Object* cluster) {
  const std::string cluster_name = cluster ? cluster->metadata.name : std::string();
  const bool detail_rule = detail && kind != api::Kind::NodeGroup;
  if (auto ok = call.enforceAllProjects(
          policyRule(kind, detail_rule ? "detail_all_projects" : "get_all_all_projects"));
      !ok.ok()) {
    return errorResponse(ok.error(), &call.version);
  }
  if (auto ok = call.enforce(policyRule(kind, detail_rule ? "detail" : "get_all")); !ok.ok()) {
    return errorResponse(ok.error(), &call.version);
  }
  if (auto allowed = call.authorize(Verb::List, kind, "", call.project()); !allowed.ok()) {
    return errorResponse(allowed.error());
  }
  auto paging = call.paging(kMaxLimit);
  if (!paging.ok()) return errorResponse(paging.error());
  store::ListOptions options;
  options.kind = kind;
  // Templates: public ones of other projects too (Magnum lists them to every user).
  if (kind != api::Kind::ClusterTemplate) options.namespace_ = call.project();
  auto listed = store_.list(options);
  if (!listed.ok()) return errorResponse(listed.error());
  std::vector<const api::Object*> items;
  const std::string role = std::string(call.query("role"));
  for (const auto& o : listed->items) {
    if (!call.canSee(o)) continue;
    if (kind == api::Kind::NodeGroup) {
      auto spec = util::parseJson(o.spec);
      if (!spec.ok() || util::stringMember(*spec, "cluster") != cluster_name) continue;
      if (!role.empty() && util::stringMember(*spec, "role") != role) continue;
    }
    items.push_back(&o);
  }
  auto page = call.page(items, *paging);
  if (!page.ok()) return errorResponse(page.error());
  std::string plural =
      kind == api::Kind::NodeGroup ? "nodegroups" : std::string(api::kindInfo(kind).plural);
  std::string next;
  if (!page->next_marker.empty()) {
    std::string base =
        cluster ? fmt::format("{}/v1/clusters/{}/nodegroups", call.base_url, cluster->metadata.uid)
                : fmt::format("{}/v1/{}", call.base_url, plural);
    if (detail) base += "/detail";
    next = fmt::format("{}?limit={}&sort_key={}&sort_dir={}&marker={}", base, paging->limit,
                       paging->sort_key, paging->sort_dir, page->next_marker);
  }
  return call.json(http::status::ok,
                   listBody(plural, page->items, call.view(detail, nullptr), next));
}

}  // namespace magnumd::server::magnum
