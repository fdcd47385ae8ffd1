#include "server/magnum_views.h"

#include <fmt/format.h>

#include <array>
#include <cctype>

#include "api/admission.h"
#include "api/nodegroup.h"
#include "api/validation.h"
#include "util/time.h"

namespace magnumd::server::magnum {
namespace {

using util::Json;
using util::JsonAlloc;

// magnum/api/controllers/v1/cluster_template.py's attributes.
constexpr std::array kTemplateFields{
    Field{"coe", "spec.coe"},
    Field{"image_id", "spec.image"},
    Field{"flavor_id", "spec.flavor"},
    Field{"master_flavor_id", "spec.masterFlavor"},
    Field{"keypair_id", "spec.keypair"},
    Field{"external_network_id", "spec.externalNetwork"},
    Field{"fixed_network", "spec.fixedNetwork"},
    Field{"fixed_subnet", "spec.fixedSubnet"},
    Field{"dns_nameserver", "spec.dnsNameserver"},
    Field{"docker_volume_size", "spec.dockerVolumeSize"},
    Field{"docker_storage_driver", "spec.dockerStorageDriver"},
    Field{"labels", "spec.labels"},
    Field{"http_proxy", "spec.httpProxy"},
    Field{"https_proxy", "spec.httpsProxy"},
    Field{"no_proxy", "spec.noProxy"},
    Field{"network_driver", "spec.networkDriver"},
    Field{"volume_driver", "spec.volumeDriver"},
    Field{"tls_disabled", "spec.tlsDisabled"},
    Field{"public", "spec.public"},
    Field{"hidden", "spec.hidden"},
    Field{"registry_enabled", "spec.registryEnabled"},
    Field{"insecure_registry", "spec.insecureRegistry"},
    Field{"server_type", "spec.serverType"},
    Field{"master_lb_enabled", "spec.masterLbEnabled"},
    Field{"floating_ip_enabled", "spec.floatingIpEnabled"},
    Field{"apiserver_port", "spec.apiserverPort"},
    Field{"cluster_distro", "spec.clusterDistro"},
};

// magnum/api/controllers/v1/cluster.py's attributes; `list` marks the non-detailed view.
constexpr std::array kClusterFields{
    Field{"keypair", "spec.keypair", true, true},
    Field{"docker_volume_size", "spec.dockerVolumeSize", true, true},
    Field{"labels", "spec.labels", true, true},
    Field{"merge_labels", "spec.mergeLabels"},
    Field{"node_count", "spec.nodeCount", true, true},
    Field{"master_flavor_id", "spec.masterFlavor", true, true},
    Field{"flavor_id", "spec.flavor", true, true},
    Field{"create_timeout", "spec.createTimeout", true, true},
    Field{"master_count", "spec.masterCount", true, true},
    Field{"discovery_url", "spec.discoveryUrl"},
    Field{"fixed_network", "spec.fixedNetwork"},
    Field{"fixed_subnet", "spec.fixedSubnet"},
    Field{"floating_ip_enabled", "spec.floatingIpEnabled"},
    Field{"master_lb_enabled", "spec.masterLbEnabled"},
    Field{"status", "status.phase", false, true},
    Field{"status_reason", "status.statusReason", false},
    Field{"health_status", "status.healthStatus", false, true},
    Field{"health_status_reason", "status.healthStatusReason", false},
    Field{"api_address", "status.apiAddress", false},
    Field{"master_addresses", "status.masterAddresses", false},
    Field{"node_addresses", "status.nodeAddresses", false},
    Field{"coe_version", "status.coeVersion", false},
};

// magnum/api/controllers/v1/nodegroup.py's attributes.
constexpr std::array kNodeGroupFields{
    Field{"role", "spec.role", true, true},
    Field{"node_count", "spec.nodeCount", true, true},
    Field{"min_node_count", "spec.minNodeCount"},
    Field{"max_node_count", "spec.maxNodeCount"},
    Field{"flavor_id", "spec.flavor", true, true},
    Field{"image_id", "spec.image", true, true},
    Field{"docker_volume_size", "spec.dockerVolumeSize"},
    Field{"labels", "spec.labels"},
    Field{"merge_labels", "spec.mergeLabels"},
    Field{"node_labels", "spec.nodeLabels", true, false, 14},
    Field{"node_taints", "spec.nodeTaints", true, false, 14},
    Field{"status", "status.phase", false, true},
    Field{"status_reason", "status.statusReason", false},
    Field{"stack_id", "status.stackId", false, true},
};

// Cluster attributes that, unset on the cluster, show the template's value (Magnum copies them
// from the template when the cluster is created).
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kInheritedFromTemplate{{
    {"keypair", "spec.keypair"},
    {"flavor_id", "spec.flavor"},
    {"master_flavor_id", "spec.masterFlavor"},
    {"docker_volume_size", "spec.dockerVolumeSize"},
    {"labels", "spec.labels"},
}};

constexpr std::array<std::string_view, 5> kFailedStatuses{
    "CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED", "ROLLBACK_FAILED", "RESUME_FAILED"};

struct Parsed {
  util::JsonDoc spec;
  util::JsonDoc status;
};

Parsed parse(const api::Object& object) {
  Parsed p;
  p.spec.Parse(object.spec.data(), object.spec.size());
  p.status.Parse(object.status.data(), object.status.size());
  if (!p.spec.IsObject()) p.spec.SetObject();
  if (!p.status.IsObject()) p.status.SetObject();
  return p;
}

// The value at "spec.x" or "status.x"; null when absent.
const Json* at(const Parsed& p, std::string_view path) {
  const bool spec = path.starts_with("spec.");
  const Json& root = spec ? static_cast<const Json&>(p.spec) : static_cast<const Json&>(p.status);
  return util::member(root, path.substr(path.find('.') + 1));
}

void add(Json& out, std::string_view name, Json value, JsonAlloc& alloc) {
  out.AddMember(util::str(name, alloc), value, alloc);
}

void addString(Json& out, std::string_view name, std::string_view value, JsonAlloc& alloc) {
  add(out, name, value.empty() ? Json() : util::str(value, alloc), alloc);
}

Json copyOrNull(const Json* value, JsonAlloc& alloc) {
  return value ? Json(*value, alloc) : Json();
}

void addLinks(Json& out, const ViewContext& ctx, std::string_view path, JsonAlloc& alloc) {
  Json links(rapidjson::kArrayType);
  for (auto [rel, prefix] : {std::pair{"self", "/v1/"}, std::pair{"bookmark", "/"}}) {
    Json link(rapidjson::kObjectType);
    link.AddMember("href", util::str(fmt::format("{}{}{}", ctx.base_url, prefix, path), alloc),
                   alloc);
    link.AddMember("rel", util::str(rel, alloc), alloc);
    links.PushBack(link, alloc);
  }
  add(out, "links", std::move(links), alloc);
}

std::string updatedAt(const api::Object& object) {
  std::string latest;
  for (const auto& entry : object.metadata.managed_fields) {
    if (entry.time > latest) latest = entry.time;
  }
  return latest == object.metadata.creation_timestamp ? std::string() : latest;
}

// magnum/api/utils.py get_labels_diff: overridden (parent's value), added, skipped.
void addLabelsDiff(Json& out, const Json* labels, const Json* parent_labels, JsonAlloc& alloc) {
  Json overridden(rapidjson::kObjectType), added(rapidjson::kObjectType),
      skipped(rapidjson::kObjectType);
  static const Json kEmpty(rapidjson::kObjectType);
  const Json& mine = labels && labels->IsObject() ? *labels : kEmpty;
  const Json& parent = parent_labels && parent_labels->IsObject() ? *parent_labels : kEmpty;
  for (auto& m : parent.GetObject()) {
    if (!mine.HasMember(m.name))
      skipped.AddMember(Json(m.name, alloc), Json(m.value, alloc), alloc);
  }
  for (auto& m : mine.GetObject()) {
    auto it = parent.FindMember(m.name);
    if (it == parent.MemberEnd()) {
      added.AddMember(Json(m.name, alloc), Json(m.value, alloc), alloc);
    } else if (it->value != m.value) {
      overridden.AddMember(Json(m.name, alloc), Json(it->value, alloc), alloc);
    }
  }
  add(out, "labels_overridden", std::move(overridden), alloc);
  add(out, "labels_added", std::move(added), alloc);
  add(out, "labels_skipped", std::move(skipped), alloc);
}

void renderCluster(const api::Object& object, const Parsed& p, const ViewContext& ctx, Json& out,
                   JsonAlloc& alloc) {
  std::shared_ptr<const api::Object> parent = ctx.parent ? ctx.parent(object, p.spec) : nullptr;
  const Json* template_spec = nullptr;
  if (parent) {
    auto& parsed = ctx.parent_specs[parent->metadata.uid];
    if (!parsed) {
      parsed = std::make_unique<util::JsonDoc>();
      parsed->Parse(parent->spec.data(), parent->spec.size());
      if (!parsed->IsObject()) parsed->SetObject();
    }
    template_spec = parsed.get();
  }
  addString(out, "cluster_template_id", parent ? parent->metadata.uid : "", alloc);
  for (const Field& f : kClusterFields) {
    if (!ctx.detail && !f.list) continue;
    const Json* value = at(p, f.path);
    // Summed over every worker group once observed (status), the default group's before then.
    if (f.magnum == "node_count" && at(p, "status.nodeCount")) value = at(p, "status.nodeCount");
    for (auto [name, path] : kInheritedFromTemplate) {
      if (!value && template_spec && name == f.magnum) {
        value = util::member(*template_spec, path.substr(5));  // "spec.x"
      }
    }
    add(out, f.magnum, copyOrNull(value, alloc), alloc);
  }
  const Json* stack = at(p, "status.stackId");
  add(out, ctx.version >= Microversion{1, 13} ? "cluster_id" : "stack_id",
      copyOrNull(stack && stack->IsString() && stack->GetStringLength() ? stack : nullptr, alloc),
      alloc);
  if (!ctx.detail) return;
  addLabelsDiff(out, at(p, "spec.labels"),
                template_spec ? util::member(*template_spec, "labels") : nullptr, alloc);
  const Json* phase = at(p, "status.phase");
  bool failed = false;
  for (std::string_view s : kFailedStatuses) {
    failed = failed || (phase && phase->IsString() && phase->GetString() == s);
  }
  if (failed) add(out, "faults", copyOrNull(at(p, "status.faults"), alloc), alloc);
}

void renderNodeGroup(const api::Object& object, const Parsed& p, const ViewContext& ctx, Json& out,
                     JsonAlloc& alloc) {
  std::shared_ptr<const api::Object> cluster = ctx.parent ? ctx.parent(object, p.spec) : nullptr;
  for (const Field& f : kNodeGroupFields) {
    if ((!ctx.detail && !f.list) || ctx.version < Microversion{1, f.since_minor}) continue;
    add(out, f.magnum, copyOrNull(at(p, f.path), alloc), alloc);
  }
  const Json* owner = at(p, "spec.cluster");
  add(out, "is_default",
      Json(owner && owner->IsString() &&
           api::isDefaultNodeGroupName(object.metadata.name, owner->GetString())),
      alloc);
  if (!ctx.detail) return;
  addString(out, "cluster_id", cluster ? cluster->metadata.uid : "", alloc);
  Json addresses(rapidjson::kArrayType);
  if (const Json* nodes = at(p, "status.nodes"); nodes && nodes->IsArray()) {
    for (const auto& node : nodes->GetArray()) {
      const Json* list = util::member(node, "addresses");
      if (!list || !list->IsArray()) continue;
      for (const auto& a : list->GetArray()) {
        if (a.IsString()) addresses.PushBack(Json(a, alloc), alloc);
      }
    }
  }
  add(out, "node_addresses", std::move(addresses), alloc);
  add(out, "version", Json(), alloc);
}

}  // namespace

std::span<const Field> fieldsOf(api::Kind kind) {
  switch (kind) {
    case api::Kind::ClusterTemplate:
      return kTemplateFields;
    case api::Kind::Cluster:
      return kClusterFields;
    case api::Kind::NodeGroup:
      return kNodeGroupFields;
    default:
      return {};
  }
}

std::string magnumName(const api::Object& object) {
  auto it = object.metadata.annotations.find(std::string(kMagnumNameAnnotation));
  if (it != object.metadata.annotations.end()) return it->second;
  if (object.kind == api::Kind::NodeGroup) {
    // "<cluster>-default-worker" is the cluster's "default-worker".
    std::string cluster = api::clusterOfNodeGroup(object.spec);
    if (api::isDefaultNodeGroupName(object.metadata.name, cluster)) {
      return object.metadata.name.substr(cluster.size() + 1);
    }
  }
  return object.metadata.name;
}

std::string objectNameFor(std::string_view magnum_name) {
  if (!api::dns1123LabelProblem(magnum_name)) return std::string(magnum_name);
  // Lower case, anything else a dash, and a random suffix so that "A_b" and "a.b" differ.
  std::string name;
  for (char c : magnum_name.substr(0, 50)) {
    name += std::isalnum(static_cast<unsigned char>(c))
                ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                : '-';
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  return fmt::format("{}-{}", name.empty() ? "m" : name, util::newUuid().substr(0, 8));
}

util::Status checkMagnumName(std::string_view name, std::string_view kind_singular) {
  bool ok =
      !name.empty() && name.size() <= 242 && std::isalpha(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  }
  if (ok) return {};
  return util::makeError(
      util::ErrorCode::BadRequest,
      fmt::format("Invalid input for field/attribute name. Value: '{}'. {} name must start with "
                  "an alphabetic character, contain only alphanumerics, '_', '.' and '-', and be "
                  "at most 242 characters long",
                  name, kind_singular));
}

std::string magnumTime(std::string_view rfc3339) {
  if (rfc3339.empty()) return {};
  if (rfc3339.back() == 'Z') return fmt::format("{}+00:00", rfc3339.substr(0, rfc3339.size() - 1));
  return std::string(rfc3339);
}

void renderObject(const api::Object& object, const ViewContext& ctx, Json& out, JsonAlloc& alloc) {
  out.SetObject();
  Parsed p = parse(object);
  addString(out, "uuid", object.metadata.uid, alloc);
  addString(out, "name", magnumName(object), alloc);
  std::string_view plural = api::kindInfo(object.kind).plural;
  if (object.kind == api::Kind::NodeGroup) {
    std::shared_ptr<const api::Object> cluster = ctx.parent ? ctx.parent(object, p.spec) : nullptr;
    addLinks(out, ctx,
             fmt::format("clusters/{}/nodegroups/{}", cluster ? cluster->metadata.uid : "",
                         object.metadata.uid),
             alloc);
  } else {
    addLinks(out, ctx, fmt::format("{}/{}", plural, object.metadata.uid), alloc);
  }
  switch (object.kind) {
    case api::Kind::ClusterTemplate:
      for (const Field& f : kTemplateFields)
        add(out, f.magnum, copyOrNull(at(p, f.path), alloc), alloc);
      if (auto it = object.metadata.annotations.find(std::string(kMagnumTagsAnnotation));
          it != object.metadata.annotations.end()) {
        addString(out, "tags", it->second, alloc);
      } else {
        add(out, "tags", Json(), alloc);
      }
      break;
    case api::Kind::Cluster:
      renderCluster(object, p, ctx, out, alloc);
      break;
    case api::Kind::NodeGroup:
      renderNodeGroup(object, p, ctx, out, alloc);
      break;
    default:
      break;
  }
  const bool full = ctx.detail || object.kind == api::Kind::ClusterTemplate;
  if (!full) return;
  addString(out, "project_id", object.metadata.namespace_, alloc);
  add(out, "user_id", Json(), alloc);
  addString(out, "created_at", magnumTime(object.metadata.creation_timestamp), alloc);
  addString(out, "updated_at", magnumTime(updatedAt(object)), alloc);
}

util::Status applyAttributes(api::Kind kind, const Json& body, api::Object& object,
                             const std::function<bool(const Field&)>& allowed) {
  if (!body.IsObject()) {
    return util::makeError(
        util::ErrorCode::BadRequest,
        fmt::format("the request body must be a JSON object, got {}", util::typeName(body)));
  }
  util::JsonDoc spec;
  spec.Parse(object.spec.data(), object.spec.size());
  if (!spec.IsObject()) spec.SetObject();
  auto& alloc = spec.GetAllocator();
  std::vector<std::string> unknown;
  for (const auto& m : body.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    // The caller's: names, identities and references are resolved before.
    if (name == "name" || name == "uuid" || name == "cluster_template_id") continue;
    if (name == "tags" && kind == api::Kind::ClusterTemplate) {
      if (m.value.IsString() && m.value.GetStringLength() > 0) {
        object.metadata.annotations[std::string(kMagnumTagsAnnotation)] = m.value.GetString();
      } else {
        object.metadata.annotations.erase(std::string(kMagnumTagsAnnotation));
      }
      continue;
    }
    const Field* field = nullptr;
    for (const Field& f : fieldsOf(kind)) {
      if (f.magnum == name && f.path.starts_with("spec.")) field = &f;
    }
    if (!field || !allowed(*field)) {
      unknown.emplace_back(name);
      continue;
    }
    std::string key(field->path.substr(5));
    spec.RemoveMember(key.c_str());
    if (m.value.IsNull()) continue;
    Json value(m.value, alloc);
    if (name == "labels" && value.IsObject()) {
      // Magnum accepts str, int, bool and float label values and stores their str().
      for (auto& label : value.GetObject()) {
        if (label.value.IsString()) continue;
        std::string text = label.value.IsBool() ? (label.value.GetBool() ? "True" : "False")
                                                : util::toJson(label.value);
        label.value.SetString(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), alloc);
      }
    }
    spec.AddMember(util::str(key, alloc), value, alloc);
  }
  if (!unknown.empty()) {
    return util::makeError(util::ErrorCode::BadRequest,
                           fmt::format("Unknown attribute for argument {}: {}",
                                       api::kindInfo(kind).singular, fmt::join(unknown, ", ")));
  }
  object.spec = util::toJson(spec);
  return {};
}

}  // namespace magnumd::server::magnum
