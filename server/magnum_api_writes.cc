// Magnum v1 writes: each becomes the /apis write it stands for (create, merge patch, PUT,
// delete) and runs through ResourceHandlers, so admission, authorization, managedFields and the
// store's limits are the same whichever API a client uses.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "api/nodegroup.h"
#include "server/magnum_api.h"
#include "server/magnum_call.h"
#include "server/magnum_views.h"
#include "server/patch.h"
#include "util/time.h"

namespace magnumd::server::magnum {
namespace {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::Json;
using util::makeError;

constexpr Microversion kZeroNodes{1, 10};
constexpr Microversion kNodeLabels{1, 14};  // node_labels and node_taints on node groups

// The error code /apis answered with: the first whose HTTP code is `status` (util::httpCodeOf is
// the one table of both directions).
ErrorCode codeOf(unsigned status) {
  for (int c = static_cast<int>(ErrorCode::BadRequest); c <= static_cast<int>(ErrorCode::Timeout);
       ++c) {
    if (util::httpCodeOf(static_cast<ErrorCode>(c)) == static_cast<int>(status)) {
      return static_cast<ErrorCode>(c);
    }
  }
  return ErrorCode::Internal;
}

util::Result<util::JsonDoc> parseBody(const Call& call) {
  auto doc = util::parseJson(call.request.body());
  if (!doc.ok()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("The request body is not valid JSON: {}", doc.error().message));
  }
  return doc;
}

std::string uuidBody(const std::string& uid) { return fmt::format(R"({{"uuid":"{}"}})", uid); }

net::Response accepted(const std::string& uid) {
  net::Response res{http::status::accepted, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = uuidBody(uid);
  res.prepare_payload();
  return res;
}

std::string mergePatch(std::string_view section, const Json& members) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember(util::str(section, a), Json(members, a), a);
  return util::toJson(doc);
}

// Where a cluster refers to a template: its name in the cluster's namespace, else ns/name.
std::string templateRef(const api::Object& tmpl, const std::string& namespace_) {
  return tmpl.metadata.namespace_ == namespace_
             ? tmpl.metadata.name
             : fmt::format("{}/{}", tmpl.metadata.namespace_, tmpl.metadata.name);
}

// Magnum's JsonPatchType rules: add, replace or remove of a top-level `/attr` path; internal
// attributes never; a value for add and replace.
util::Status checkPatch(const Json& patch, const std::set<std::string_view>& internal,
                        const std::set<std::string_view>& non_removable) {
  if (!patch.IsArray()) {
    return makeError(ErrorCode::BadRequest,
                     "the request body must be a JSON Patch: a list of "
                     "{\"op\", \"path\", \"value\"} operations");
  }
  for (const auto& op : patch.GetArray()) {
    auto kind = util::stringMember(op, "op");
    auto path = util::stringMember(op, "path");
    if (!kind || (*kind != "add" && *kind != "replace" && *kind != "remove")) {
      return makeError(ErrorCode::BadRequest,
                       "Invalid input for field/attribute op. Value: '" + kind.value_or("") +
                           "'. Value should be one of: add, replace, remove");
    }
    bool valid = path && path->size() > 1 && (*path)[0] == '/';
    for (char c : path.value_or("")) {
      valid = valid &&
              (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/');
    }
    if (!valid) {
      return makeError(ErrorCode::BadRequest, "Invalid input for field/attribute path. Value: '" +
                                                  path.value_or("") +
                                                  "'. Value should match ^(/[\\w-]+)+$");
    }
    std::string_view top = std::string_view(*path).substr(0, path->find('/', 1));
    if (internal.count(top)) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("'{}' is an internal attribute and can not be updated", top));
    }
    if (*kind == "remove" && non_removable.count(top)) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("'{}' is a mandatory attribute and can not be removed", top));
    }
    if (*kind != "remove" && !util::member(op, "value")) {
      return makeError(ErrorCode::BadRequest, "'add' and 'replace' operations need a value");
    }
  }
  return {};
}

// The top-level attributes whose values differ between two Magnum representations.
std::vector<std::string> changed(const Json& before, const Json& after) {
  std::vector<std::string> names;
  static const Json kNull;
  for (const auto& m : after.GetObject()) {
    auto it = before.FindMember(m.name);
    if (it == before.MemberEnd() || it->value != m.value) names.emplace_back(m.name.GetString());
  }
  for (const auto& m : before.GetObject()) {
    if (!after.HasMember(m.name) && !m.value.IsNull()) names.emplace_back(m.name.GetString());
  }
  return names;
}

// Python's repr of a dict or list ("{'api': 'ok'}"), which Magnum's JSON Patch literal_evals for
// health_status_reason, node_labels and node_taints, as JSON.
util::Result<util::JsonDoc> pythonLiteral(std::string_view text, std::string_view attribute) {
  // Python's quotes become JSON's, and its True, False and None JSON's words, outside strings
  // only: a value 'False' stays the string "False".
  std::string json;
  json.reserve(text.size());
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\' && i + 1 < text.size()) {
        char escaped = text[++i];
        if (escaped != '\'') json += c;  // \' is no JSON escape: the quote alone
        json += escaped;
      } else if (c == quote) {
        json += '"';
        quote = 0;
      } else {
        if (c == '"') json += '\\';
        json += c;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      json += '"';
      continue;
    }
    bool replaced = false;
    for (auto [from, to] : {std::pair<std::string_view, std::string_view>{"True", "true"},
                            {"False", "false"},
                            {"None", "null"}}) {
      if (text.substr(i, from.size()) == from) {
        json += to;
        i += from.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) json += c;
  }
  auto doc = util::parseJson(json);
  if (!doc.ok()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{} must be a dict or list, e.g. {{'key': 'value'}}", attribute));
  }
  return doc;
}

// health_status_reason arrives as a dict, or as Python's repr of one ("{'api': 'ok'}"), which
// Magnum literal_evals; either way the stored form is a map of strings.
util::Result<util::JsonDoc> healthReason(const Json* value) {
  util::JsonDoc out;
  out.SetObject();
  if (!value || value->IsNull()) return out;
  util::JsonDoc parsed;
  const Json* source = value;
  if (value->IsString()) {
    auto doc = pythonLiteral(value->GetString(), "health_status_reason");
    if (!doc.ok()) return doc.error();
    parsed = std::move(doc).value();
    source = &parsed;
  }
  if (!source->IsObject()) {
    return makeError(ErrorCode::BadRequest, "health_status_reason must be a dict of strings");
  }
  auto& a = out.GetAllocator();
  for (const auto& m : source->GetObject()) {
    std::string text = m.value.IsString() ? m.value.GetString()
                       : m.value.IsBool() ? (m.value.GetBool() ? "True" : "False")
                                          : util::toJson(m.value);
    out.AddMember(Json(m.name, a), util::str(text, a), a);
  }
  return out;
}

// Magnum's rules for a PATCH. For a cluster, cluster:update when the patch touches more than its
// health, and cluster:update_health_status when it touches the health (Magnum checks both on
// every PATCH; magnumd checks each for what it guards, so a healer needs only the second).
util::Status checkPatchPolicy(const Call& call, const api::Object& object, const Json& patch) {
  if (object.kind != api::Kind::NodeGroup) {  // Magnum has no nodegroup:update_all_projects
    if (auto ok = call.enforceAllProjects(policyRule(object.kind, "update_all_projects"));
        !ok.ok()) {
      return ok;
    }
  }
  if (object.kind != api::Kind::Cluster)
    return call.enforce(policyRule(object.kind, "update"), &object);
  bool health = false, other = patch.Empty();
  for (const auto& op : patch.GetArray()) {
    std::string path = util::stringMember(op, "path").value_or("");
    std::string top = path.substr(0, path.find('/', 1));
    (top == "/health_status" || top == "/health_status_reason" ? health : other) = true;
  }
  if (other) {
    if (auto ok = call.enforce("cluster:update", &object); !ok.ok()) return ok;
  }
  if (health) return call.enforce("cluster:update_health_status", &object);
  return {};
}

}  // namespace

util::Error errorOf(const net::Response& response) {
  std::string message = fmt::format("HTTP {}", response.result_int());
  if (auto doc = util::parseJson(response.body()); doc.ok()) {
    if (auto text = util::stringMember(*doc, "message")) message = *text;
  }
  return makeError(codeOf(response.result_int()), std::move(message));
}

asio::awaitable<net::Response> MagnumApi::forward(const Call& call, Verb verb,
                                                  const ResourcePath& path, QueryParams query,
                                                  std::string body, std::string_view content_type) {
  if (auto allowed = server::authorize(*call.identity, verb, path); !allowed.ok()) {
    co_return statusResponse(allowed.error());
  }
  http::verb method = verb == Verb::Create   ? http::verb::post
                      : verb == Verb::Update ? http::verb::put
                      : verb == Verb::Patch  ? http::verb::patch
                      : verb == Verb::Delete ? http::verb::delete_
                                             : http::verb::get;
  std::string target = fmt::format("{}/namespaces/{}/{}", kApiPrefix, path.namespace_,
                                   api::kindInfo(path.kind).plural);
  if (!path.name.empty()) target += "/" + path.name;
  if (!path.resource().ends_with(api::kindInfo(path.kind).plural)) {
    target += path.resource().substr(api::kindInfo(path.kind).plural.size());
  }
  net::Request request{method, target, 11};
  if (!body.empty()) request.set(http::field::content_type, content_type);
  request.set(http::field::accept, "application/json");
  request.set(http::field::user_agent, call.request[http::field::user_agent]);
  request.body() = std::move(body);
  request.prepare_payload();
  RequestContext ctx{request, path, std::move(query), *call.identity};
  ctx.verb = verb;
  if (path.credentials()) co_return co_await credentials_.handle(ctx);
  switch (verb) {
    case Verb::Create:
      co_return co_await resources_.create(ctx);
    case Verb::Update:
      co_return co_await resources_.replace(ctx);
    case Verb::Patch:
      co_return co_await resources_.patch(ctx);
    case Verb::Delete:
      co_return co_await resources_.remove(ctx);
    default:
      co_return resources_.get(ctx);
  }
}

asio::awaitable<util::Result<api::Object>> MagnumApi::write(const Call& call, Verb verb,
                                                            ResourcePath path, std::string body,
                                                            std::string_view content_type) {
  net::Response response = co_await forward(call, verb, path, {}, std::move(body), content_type);
  if (response.result_int() >= 300) co_return errorOf(response);
  if (verb == Verb::Delete) co_return api::Object{};
  co_return api::decodeObject(response.body());
}

asio::awaitable<net::Response> MagnumApi::createTemplate(Call& call) {
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  if (!body->IsObject()) {
    co_return errorResponse(makeError(ErrorCode::BadRequest, "the request body must be an object"),
                            &call.version);
  }
  if (auto ok = call.enforce("clustertemplate:create"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  std::string name = util::stringMember(*body, "name").value_or("");
  if (name.empty()) name = "template-" + util::newUuid().substr(0, 8);
  if (auto ok = checkMagnumName(name, "ClusterTemplate"); !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  const bool publish = util::boolMember(*body, "public").value_or(false) ||
                       util::boolMember(*body, "hidden").value_or(false);
  if (publish && !call.policy->allows("clustertemplate:publish", *call.identity)) {
    co_return errorResponse(makeError(ErrorCode::Forbidden,
                                      "Policy doesn't allow clustertemplate:publish to be "
                                      "performed."),
                            &call.version);
  }
  api::Object object;
  object.kind = api::Kind::ClusterTemplate;
  object.metadata.namespace_ = call.createNamespace();
  object.metadata.name = objectNameFor(name);
  if (object.metadata.name != name)
    object.metadata.annotations[std::string(kMagnumNameAnnotation)] = name;
  if (auto ok = applyAttributes(object.kind, *body, object,
                                [&](const Field& f) {
                                  return f.create && call.version >= Microversion{1, f.since_minor};
                                });
      !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  ResourcePath path{object.kind, object.metadata.namespace_};
  auto created =
      co_await write(call, Verb::Create, path, api::encodeObject(object), "application/json");
  if (!created.ok()) co_return errorResponse(created.error(), &call.version);
  net::Response res = show(call, *created);
  res.result(http::status::created);
  res.set(http::field::location,
          fmt::format("{}/v1/clustertemplates/{}", call.base_url, created->metadata.uid));
  co_return res;
}

asio::awaitable<net::Response> MagnumApi::createCluster(Call& call) {
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  if (!body->IsObject()) {
    co_return errorResponse(makeError(ErrorCode::BadRequest, "the request body must be an object"),
                            &call.version);
  }
  if (auto ok = call.enforce("cluster:create"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  std::string name = util::stringMember(*body, "name").value_or("");
  if (name.empty()) name = "cluster-" + util::newUuid().substr(0, 8);
  if (auto ok = checkMagnumName(name, "Cluster"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  auto template_id = util::stringMember(*body, "cluster_template_id");
  if (!template_id) {
    co_return errorResponse(
        makeError(ErrorCode::BadRequest, "Mandatory field missing: cluster_template_id"),
        &call.version);
  }
  auto tmpl = find(call, api::Kind::ClusterTemplate, *template_id);
  if (!tmpl.ok()) {  // Magnum answers 400 for a template that a create names but cannot find
    co_return errorResponse(makeError(ErrorCode::BadRequest, tmpl.error().message), &call.version);
  }
  if (auto count = util::intMember(*body, "node_count");
      count && *count == 0 && call.version < kZeroNodes) {
    co_return errorResponse(makeError(ErrorCode::BadRequest,
                                      "node_count must be greater than 0 before API version 1.10"),
                            &call.version);
  }
  api::Object object;
  object.kind = api::Kind::Cluster;
  object.metadata.namespace_ = call.createNamespace();
  object.metadata.name = objectNameFor(name);
  if (object.metadata.name != name)
    object.metadata.annotations[std::string(kMagnumNameAnnotation)] = name;
  object.spec =
      fmt::format(R"({{"clusterTemplate":{}}})",
                  util::toJson(Json(templateRef(*tmpl, object.metadata.namespace_).c_str(),
                                    util::JsonDoc().GetAllocator())));
  if (auto ok =
          applyAttributes(object.kind, *body, object, [](const Field& f) { return f.create; });
      !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  ResourcePath path{object.kind, object.metadata.namespace_};
  auto created =
      co_await write(call, Verb::Create, path, api::encodeObject(object), "application/json");
  if (!created.ok()) co_return errorResponse(created.error(), &call.version);
  co_return accepted(created->metadata.uid);
}

asio::awaitable<net::Response> MagnumApi::createNodeGroup(Call& call, const api::Object& cluster) {
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  if (!body->IsObject()) {
    co_return errorResponse(makeError(ErrorCode::BadRequest, "the request body must be an object"),
                            &call.version);
  }
  if (auto ok = call.enforce("nodegroup:create"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  std::string name = util::stringMember(*body, "name").value_or("");
  if (auto ok = checkMagnumName(name, "NodeGroup"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  if (util::stringMember(*body, "role") == "master") {
    co_return errorResponse(
        makeError(ErrorCode::BadRequest, "Creating master nodegroups is currently not supported."),
        &call.version);
  }
  if (find(call, api::Kind::NodeGroup, name, cluster.metadata.name).ok()) {
    co_return errorResponse(
        makeError(ErrorCode::Conflict, fmt::format("A node group with name {} already exists in "
                                                   "the cluster {}.",
                                                   name, magnumName(cluster))),
        &call.version);
  }
  api::Object object;
  object.kind = api::Kind::NodeGroup;
  object.metadata.namespace_ = cluster.metadata.namespace_;
  object.metadata.name = objectNameFor(fmt::format("{}-{}", cluster.metadata.name, name));
  object.metadata.annotations[std::string(kMagnumNameAnnotation)] = name;
  object.spec = fmt::format(R"({{"cluster":"{}"}})", cluster.metadata.name);
  if (auto ok = applyAttributes(object.kind, *body, object,
                                [&](const Field& f) {
                                  return f.create && call.version >= Microversion{1, f.since_minor};
                                });
      !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  ResourcePath path{object.kind, object.metadata.namespace_};
  auto created =
      co_await write(call, Verb::Create, path, api::encodeObject(object), "application/json");
  if (!created.ok()) co_return errorResponse(created.error(), &call.version);
  net::Response res = show(call, *created);
  res.result(http::status::accepted);
  co_return res;
}

asio::awaitable<net::Response> MagnumApi::patchObject(Call& call, const api::Object& object) {
  static const std::set<std::string_view> kInternal{"/created_at",
                                                    "/id",
                                                    "/links",
                                                    "/updated_at",
                                                    "/uuid",
                                                    "/project_id",
                                                    "/user_id",
                                                    "/api_address",
                                                    "/node_addresses",
                                                    "/master_addresses",
                                                    "/stack_id",
                                                    "/cluster_id",
                                                    "/cluster_template_id",
                                                    "/status",
                                                    "/status_reason",
                                                    "/faults",
                                                    "/coe_version",
                                                    "/labels_overridden",
                                                    "/labels_added",
                                                    "/labels_skipped",
                                                    "/is_default",
                                                    "/role"};
  static const std::set<std::string_view> kNonRemovable{"/network_driver",   "/external_network_id",
                                                        "/tls_disabled",     "/public",
                                                        "/server_type",      "/coe",
                                                        "/registry_enabled", "/cluster_distro",
                                                        "/hidden",           "/name",
                                                        "/image_id"};
  auto patch = parseBody(call);
  if (!patch.ok()) co_return errorResponse(patch.error(), &call.version);
  if (auto ok = checkPatch(*patch, kInternal, kNonRemovable); !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  if (auto ok = checkPatchPolicy(call, object, *patch); !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  util::JsonDoc before, after;
  ViewContext view = call.view(true, parentLookup());
  renderObject(object, view, before, before.GetAllocator());
  after.CopyFrom(before, after.GetAllocator());
  if (auto ok = applyJsonPatch(after, *patch, after.GetAllocator()); !ok.ok()) {
    co_return errorResponse(makeError(ErrorCode::BadRequest, ok.error().message), &call.version);
  }
  std::vector<std::string> names = changed(before, after);
  ResourcePath path{object.kind, object.metadata.namespace_, object.metadata.name};
  const std::string rv = std::to_string(object.metadata.resource_version);

  if (object.kind == api::Kind::ClusterTemplate) {
    api::Object next = object;
    util::JsonDoc changes;
    changes.SetObject();
    for (const std::string& n : names) {
      if ((n == "public" || n == "hidden") &&
          !call.policy->allows("clustertemplate:publish", *call.identity)) {
        co_return errorResponse(makeError(ErrorCode::Forbidden,
                                          "Policy doesn't allow clustertemplate:publish to be "
                                          "performed."),
                                &call.version);
      }
      if (n == "name") {
        std::string name = util::stringMember(after, "name").value_or("");
        if (auto ok = checkMagnumName(name, "ClusterTemplate"); !ok.ok()) {
          co_return errorResponse(ok.error(), &call.version);
        }
        next.metadata.annotations[std::string(kMagnumNameAnnotation)] = name;
        continue;
      }
      const Json* value = util::member(after, n);
      changes.AddMember(util::str(n, changes.GetAllocator()),
                        value ? Json(*value, changes.GetAllocator()) : Json(),
                        changes.GetAllocator());
    }
    if (auto ok = applyAttributes(object.kind, changes, next, [](const Field&) { return true; });
        !ok.ok()) {
      co_return errorResponse(ok.error(), &call.version);
    }
    auto updated =
        co_await write(call, Verb::Update, path, api::encodeObject(next), "application/json");
    if (!updated.ok()) co_return errorResponse(updated.error(), &call.version);
    co_return show(call, *updated);
  }

  std::set<std::string> allowed =
      object.kind == api::Kind::Cluster
          ? std::set<std::string>{"node_count", "health_status", "health_status_reason"}
          : std::set<std::string>{"min_node_count", "max_node_count"};
  if (object.kind == api::Kind::NodeGroup && call.version >= kNodeLabels) {
    allowed.insert({"node_labels", "node_taints"});
  }
  std::vector<std::string> refused;
  for (const std::string& n : names) {
    if (!allowed.count(n)) refused.push_back(n);
  }
  if (!refused.empty()) {
    co_return errorResponse(
        makeError(ErrorCode::BadRequest,
                  fmt::format("cannot change {} property(ies) {}.",
                              api::kindInfo(object.kind).singular, fmt::join(refused, ", "))),
        &call.version);
  }
  util::JsonDoc spec, status;
  spec.SetObject();
  status.SetObject();
  auto& sa = spec.GetAllocator();
  for (const std::string& n : names) {
    const Json* value = util::member(after, n);
    if (n == "node_count") {
      if (value && value->IsInt64() && value->GetInt64() == 0 && call.version < kZeroNodes) {
        co_return errorResponse(makeError(ErrorCode::BadRequest,
                                          "node_count must be greater than 0 before API version "
                                          "1.10"),
                                &call.version);
      }
      spec.AddMember("nodeCount", value ? Json(*value, sa) : Json(), sa);
    } else if (n == "node_labels" || n == "node_taints") {
      // As Magnum's apply_jsonpatch: a string is Python's repr of the dict or list.
      auto parsed = value && value->IsString() ? pythonLiteral(value->GetString(), n)
                                               : util::Result<util::JsonDoc>(util::JsonDoc());
      if (!parsed.ok()) co_return errorResponse(parsed.error(), &call.version);
      const Json* given = value && value->IsString() ? &*parsed : value;
      Json stored = given ? Json(*given, sa) : Json();
      // A merge patch merges maps: a label the PATCH dropped is removed with a null.
      if (n == "node_labels" && stored.IsObject()) {
        if (const Json* old = util::member(before, n); old && old->IsObject()) {
          for (const auto& m : old->GetObject()) {
            if (!stored.HasMember(m.name)) stored.AddMember(Json(m.name, sa), Json(), sa);
          }
        }
      }
      spec.AddMember(n == "node_labels" ? "nodeLabels" : "nodeTaints", stored, sa);
    } else if (n == "min_node_count" || n == "max_node_count") {
      spec.AddMember(n == "min_node_count" ? "minNodeCount" : "maxNodeCount",
                     value ? Json(*value, sa) : Json(), sa);
    } else if (n == "health_status") {
      status.AddMember("healthStatus", value ? Json(*value, status.GetAllocator()) : Json(),
                       status.GetAllocator());
    } else {
      auto reason = healthReason(value);
      if (!reason.ok()) co_return errorResponse(reason.error(), &call.version);
      status.AddMember("healthStatusReason", Json(*reason, status.GetAllocator()),
                       status.GetAllocator());
    }
  }
  if (spec.MemberCount() > 0) {
    util::JsonDoc body;
    body.Parse(mergePatch("spec", spec).c_str());
    util::JsonDoc meta;
    meta.SetObject();
    meta.AddMember("resourceVersion", util::str(rv, meta.GetAllocator()), meta.GetAllocator());
    body.AddMember("metadata", Json(meta, body.GetAllocator()), body.GetAllocator());
    auto updated =
        co_await write(call, Verb::Patch, path, util::toJson(body), "application/merge-patch+json");
    if (!updated.ok()) co_return errorResponse(updated.error(), &call.version);
  }
  if (status.MemberCount() > 0) {
    ResourcePath status_path = path;
    status_path.subresource = Subresource::Status;
    // cluster:update_health_status allowed it, so the health is written with the healer's rights
    // on /apis (the health fields of status, nothing else) whatever the caller's role there;
    // an admin keeps its own.
    Identity healer = *call.identity;
    if (healer.role != Role::Admin) healer.role = Role::Healer;
    Call as_healer = call;
    as_healer.identity = &healer;
    auto updated = co_await write(as_healer, Verb::Patch, status_path, mergePatch("status", status),
                                  "application/merge-patch+json");
    if (!updated.ok()) co_return errorResponse(updated.error(), &call.version);
  }
  if (object.kind == api::Kind::NodeGroup) {
    auto fresh = store_.get(api::keyOf(object));
    net::Response res = show(call, fresh.ok() ? *fresh : object);
    res.result(http::status::accepted);
    co_return res;
  }
  co_return accepted(object.metadata.uid);
}

asio::awaitable<net::Response> MagnumApi::remove(Call& call, const api::Object& object) {
  if (object.kind != api::Kind::NodeGroup) {  // Magnum has no nodegroup:delete_all_projects
    if (auto ok = call.enforceAllProjects(policyRule(object.kind, "delete_all_projects"));
        !ok.ok()) {
      co_return errorResponse(ok.error(), &call.version);
    }
  }
  if (auto ok = call.enforce(policyRule(object.kind, "delete"), &object); !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }
  ResourcePath path{object.kind, object.metadata.namespace_, object.metadata.name};
  auto removed = co_await write(call, Verb::Delete, path, "", "application/json");
  if (!removed.ok() && object.kind == api::Kind::ClusterTemplate &&
      util::httpCodeOf(removed.error().code) == 409) {
    // Magnum's ClusterTemplateReferenced is a 400 (magnum/common/exception.py).
    co_return errorResponse(
        makeError(ErrorCode::BadRequest, fmt::format("ClusterTemplate {} is referenced by one or "
                                                     "multiple clusters. ({})",
                                                     magnumName(object), removed.error().message)),
        &call.version);
  }
  if (!removed.ok()) co_return errorResponse(removed.error(), &call.version);
  net::Response res{http::status::no_content, 11};
  res.prepare_payload();
  co_return res;
}

asio::awaitable<net::Response> MagnumApi::resize(Call& call, const api::Object& cluster) {
  if (auto ok = call.enforce("cluster:resize", &cluster); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  auto count = body->IsObject() ? util::intMember(*body, "node_count") : std::nullopt;
  if (!count || *count < 0) {
    co_return errorResponse(makeError(ErrorCode::BadRequest,
                                      "Invalid input for field/attribute node_count: a whole "
                                      "number of at least 0 is required"),
                            &call.version);
  }
  if (*count == 0 && call.version < kZeroNodes) {
    co_return errorResponse(makeError(ErrorCode::BadRequest,
                                      "node_count must be greater than 0 before API version 1.10"),
                            &call.version);
  }
  std::string group_name =
      util::stringMember(*body, "nodegroup").value_or(std::string(api::kDefaultWorkerNodeGroup));
  // default-worker follows the cluster's nodeCount; its NodeGroup object (made by the cluster's
  // reconciler) only carries nodes_to_remove, when it exists yet.
  const bool default_worker = group_name == api::kDefaultWorkerNodeGroup;
  auto group = find(call, api::Kind::NodeGroup, group_name, cluster.metadata.name);
  if (!group.ok() && !default_worker) co_return errorResponse(group.error(), &call.version);
  if (group.ok()) {
    auto spec = util::parseJson(group->spec);
    if (spec.ok() && util::stringMember(*spec, "role") == api::kRoleMaster) {
      co_return errorResponse(
          makeError(ErrorCode::BadRequest, "Resizing a master nodegroup is not supported."),
          &call.version);
    }
    util::JsonDoc changes;
    changes.SetObject();
    auto& a = changes.GetAllocator();
    if (const Json* remove = util::member(*body, "nodes_to_remove"); remove && remove->IsArray()) {
      changes.AddMember("nodesToRemove", Json(*remove, a), a);
    }
    if (!default_worker) changes.AddMember("nodeCount", Json(*count), a);
    if (changes.MemberCount() > 0) {
      ResourcePath group_path{api::Kind::NodeGroup, group->metadata.namespace_,
                              group->metadata.name};
      auto updated = co_await write(call, Verb::Patch, group_path, mergePatch("spec", changes),
                                    "application/merge-patch+json");
      if (!updated.ok()) co_return errorResponse(updated.error(), &call.version);
    }
  }
  if (default_worker) {  // default-worker follows the cluster's nodeCount
    ResourcePath path{api::Kind::Cluster, cluster.metadata.namespace_, cluster.metadata.name};
    auto updated = co_await write(call, Verb::Patch, path,
                                  fmt::format(R"({{"spec":{{"nodeCount":{}}}}})", *count),
                                  "application/merge-patch+json");
    if (!updated.ok()) co_return errorResponse(updated.error(), &call.version);
  }
  co_return accepted(cluster.metadata.uid);
}

asio::awaitable<net::Response> MagnumApi::upgrade(Call& call, const api::Object& cluster) {
  if (auto ok = call.enforceAllProjects("cluster:upgrade_all_projects"); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  if (auto ok = call.enforce("cluster:upgrade", &cluster); !ok.ok())
    co_return errorResponse(ok.error(), &call.version);
  auto body = parseBody(call);
  if (!body.ok()) co_return errorResponse(body.error(), &call.version);
  auto template_id =
      body->IsObject() ? util::stringMember(*body, "cluster_template") : std::nullopt;
  if (!template_id) {
    co_return errorResponse(
        makeError(ErrorCode::BadRequest, "Mandatory field missing: cluster_template"),
        &call.version);
  }
  auto tmpl = find(call, api::Kind::ClusterTemplate, *template_id);
  if (!tmpl.ok()) co_return errorResponse(tmpl.error(), &call.version);
  int64_t batch = util::intMember(*body, "max_batch_size").value_or(1);
  if (batch < 1) {
    co_return errorResponse(makeError(ErrorCode::BadRequest, "max_batch_size must be at least 1"),
                            &call.version);
  }
  std::shared_ptr<const api::Object> current = parentOf(cluster);
  if (auto group = util::stringMember(*body, "nodegroup");
      group && *group != api::kDefaultWorkerNodeGroup && *group != api::kDefaultMasterNodeGroup &&
      (!current || current->metadata.uid != tmpl->metadata.uid)) {
    co_return errorResponse(
        makeError(ErrorCode::Conflict, fmt::format("Cluster template {} is not valid for the "
                                                   "upgrade of node group {}: a non-default node "
                                                   "group follows its cluster's template.",
                                                   *template_id, *group)),
        &call.version);
  }
  util::JsonDoc spec;
  spec.SetObject();
  auto& a = spec.GetAllocator();
  spec.AddMember("clusterTemplate", util::str(templateRef(*tmpl, cluster.metadata.namespace_), a),
                 a);
  Json rollout(rapidjson::kObjectType);
  rollout.AddMember("maxBatchSize", Json(batch), a);
  spec.AddMember("rolloutStrategy", rollout, a);
  ResourcePath path{api::Kind::Cluster, cluster.metadata.namespace_, cluster.metadata.name};
  auto updated = co_await write(call, Verb::Patch, path, mergePatch("spec", spec),
                                "application/merge-patch+json");
  if (!updated.ok()) co_return errorResponse(updated.error(), &call.version);
  co_return accepted(cluster.metadata.uid);
}

}  // namespace magnumd::server::magnum
