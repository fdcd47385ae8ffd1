// Magnum's PATCH of a cluster template, cluster or node group: a JSON Patch under Magnum's rules
// (JsonPatchType: top-level attributes only, internal ones never), its policy (cluster:update and
// cluster:update_health_status, each for what it guards), applied to the object's Magnum view and
// written as the /apis merge patch of what changed.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "api/nodegroup.h"
#include "server/magnum_api.h"
#include "server/magnum_call.h"
#include "server/magnum_views.h"
#include "server/magnum_writes.h"
#include "server/patch.h"
#include "util/time.h"

namespace magnumd::server::magnum {
namespace {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::Json;
using util::makeError;

constexpr Microversion kNodeLabels{1, 14};  // node_labels and node_taints on node groups

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

}  // namespace magnumd::server::magnum
