// The create/update traversal: evaluates each resource's properties in dependency order and makes
// the stack's resources match them (servers created, updated in place or replaced; groups grown,
// shrunk and healed; provider templates converged recursively).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <set>

#include "cloudsim/heat_internal.h"

namespace magnumd::cloudsim {

using util::ErrorCode;
using util::Json;
using util::makeError;

namespace {

util::Error propertyError(std::string_view resource, std::string_view property, std::string_view what) {
  return makeError(ErrorCode::BadRequest, fmt::format("Property error: resources.{}.properties.{}: {}",
                                                      resource, property, what));
}

Kind kindOf(std::string_view type) {
  if (type == "OS::Nova::Server") return Kind::Server;
  if (type == "OS::Heat::ResourceGroup") return Kind::Group;
  if (type.find("::") != std::string_view::npos) return Kind::Noop;
  return Kind::Provider;
}

std::string textOf(const Json& v) {
  if (v.IsString()) return {v.GetString(), v.GetStringLength()};
  return scalarString(v);
}

}  // namespace

util::Status HeatEngine::converge(Ctx& ctx, Body& body, const Template& t, const Json& params,
                                  int depth, std::string_view parent) {
  if (depth > 8) return makeError(ErrorCode::BadRequest, "Recursion depth exceeds 8 (nested templates).");
  std::set<std::string> done;
  std::function<util::Status(const std::string&)> visit = [&](const std::string& name) -> util::Status {
    if (!done.insert(name).second) return {};
    for (const auto& dep : t.dependencies(name)) RETURN_IF_ERROR(visit(dep));
    return convergeResource(ctx, body, t, params, name, depth, parent);
  };
  for (const auto& name : t.resource_names) RETURN_IF_ERROR(visit(name));
  // Resources the template no longer has are deleted.
  for (size_t i = 0; i < body.resources.size();) {
    Resource& r = body.resources[i];
    if (t.resource(r.name) != nullptr) {
      ++i;
      continue;
    }
    Body single;
    single.resources.push_back(std::move(r));
    deleteTree(ctx.st, single, depth, parent, true);
    body.resources.erase(body.resources.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return {};
}

util::Status HeatEngine::convergeResource(Ctx& ctx, Body& body, const Template& t, const Json& params,
                                          const std::string& name, int depth, std::string_view parent) {
  const Json* def = t.resource(name);
  const Json* raw_props = util::member(*def, "properties");
  util::JsonDoc props;
  props.SetObject();
  if (raw_props != nullptr && raw_props->IsObject()) {
    BodyResolver resolver(*this, ctx.st, body);
    EvalContext ectx{params, resolver, &ctx.st.files};
    Json evaluated;
    auto status = evaluate(*raw_props, evaluated, props.GetAllocator(), ectx);
    if (!status.ok()) {
      return makeError(ErrorCode::BadRequest, fmt::format("resources.{}: {}", name, status.error().message));
    }
    static_cast<Json&>(props).Swap(evaluated);
  }
  Resource* existing = nullptr;
  for (auto& r : body.resources) {
    if (r.name == name) existing = &r;
  }
  return applyDefinition(ctx, body, existing, name, *util::member(*def, "type"), props, depth, parent);
}

util::Result<TemplatePtr> HeatEngine::providerTemplate(Ctx& ctx, std::string_view type) {
  auto cached = ctx.providers.find(type);
  if (cached != ctx.providers.end()) return cached->second;
  auto file = ctx.st.files.find(type);
  if (file == ctx.st.files.end()) {
    return makeError(ErrorCode::BadRequest, fmt::format("The Resource Type ({}) could not be found.", type));
  }
  ASSIGN_OR_RETURN(TemplatePtr t, parseTemplateText(file->second));
  ctx.providers.emplace(std::string(type), t);
  return t;
}

util::Result<ServerSpec> HeatEngine::serverSpec(Ctx& ctx, const std::string& resource, const Json& props) {
  ServerSpec spec;
  auto flavor = util::member(props, "flavor");
  if (flavor == nullptr || flavor->IsNull()) return propertyError(resource, "flavor", "Property flavor not assigned");
  if (!flavor->IsString()) return propertyError(resource, "flavor", "Value must be a string");
  spec.flavor = textOf(*flavor);
  if (const Json* image = util::member(props, "image"); image && !image->IsNull()) spec.image = textOf(*image);
  if (const Json* name = util::member(props, "name"); name && !name->IsNull()) spec.name = textOf(*name);
  if (const Json* key = util::member(props, "key_name"); key && !key->IsNull()) spec.key_name = textOf(*key);
  if (const Json* md = util::member(props, "metadata"); md && !md->IsNull()) {
    if (!md->IsObject()) return propertyError(resource, "metadata", "Value must be a map");
    for (const auto& m : md->GetObject()) {
      std::string value = m.value.IsString() ? textOf(m.value) : util::toJson(m.value);
      if (value.size() > 255) return propertyError(resource, "metadata", fmt::format("value of {} is longer than 255 characters", m.name.GetString()));
      spec.metadata.emplace_back(std::string(m.name.GetString(), m.name.GetStringLength()), value);
    }
  }
  if (const Json* tags = util::member(props, "tags"); tags && !tags->IsNull()) {
    if (!tags->IsArray()) return propertyError(resource, "tags", "Value must be a list");
    for (const auto& tag : tags->GetArray()) {
      std::string s = textOf(tag);
      if (s.size() > 60 || s.find_first_of("/,") != std::string::npos) return propertyError(resource, "tags", fmt::format("invalid tag \"{}\": at most 60 characters, no '/' or ','", s));
      spec.tags.push_back(s);
    }
    if (spec.tags.size() > 50) return propertyError(resource, "tags", "at most 50 tags");
  }
  if (const Json* user_data = util::member(props, "user_data"); user_data && !user_data->IsNull()) {
    spec.user_data = textOf(*user_data);
  }
  if (const Json* nets = util::member(props, "networks"); nets && nets->IsArray()) {
    for (const auto& n : nets->GetArray()) {
      for (const char* key : {"network", "uuid", "port", "subnet"}) {
        if (const Json* v = util::member(n, key); v && !v->IsNull()) {
          spec.networks.push_back(textOf(*v));
          break;
        }
      }
    }
  }
  spec.project = ctx.st.project;
  spec.user = ctx.st.user;
  spec.owner = ctx.slot;
  return spec;
}

util::Status HeatEngine::applyDefinition(Ctx& ctx, Body& body, Resource* existing, const std::string& name,
                                         const Json& type_json, const Json& props, int depth,
                                         std::string_view parent) {
  std::string type = textOf(type_json);
  // The environment's resource_registry may alias a type to a file or another type.
  if (const Json* registry = util::member(ctx.st.environment, "resource_registry")) {
    if (auto mapped = util::stringMember(*registry, type)) type = *mapped;
  }
  Kind kind = kindOf(type);
  if (kind == Kind::Provider && ctx.st.files.find(type) == ctx.st.files.end()) {
    return makeError(ErrorCode::BadRequest, fmt::format("resources.{}: The Resource Type ({}) could not be found.", name, type));
  }
  SystemTime now = clock_.now();
  if (existing != nullptr && strings_.get(existing->type) != type) {
    Body single;
    single.resources.push_back(std::move(*existing));
    deleteTree(ctx.st, single, depth, parent, true);
    body.resources.erase(body.resources.begin() + (existing - body.resources.data()));
    existing = nullptr;
  }
  bool fresh = existing == nullptr;
  if (fresh) {
    body.resources.emplace_back();
    existing = &body.resources.back();
    existing->name = name;
    existing->type = strings_.intern(type);
    existing->kind = kind;
    existing->created = now;
    existing->action = Action::Create;
  } else {
    existing->action = Action::Update;
    existing->updated = now;
  }
  Resource& r = *existing;
  switch (kind) {
    case Kind::Server: {
      ASSIGN_OR_RETURN(ServerSpec spec, serverSpec(ctx, depth == 0 ? name : std::string(parent) + "." + name, props));
      bool replace = !fresh && (r.unhealthy || r.status == Status::Failed || r.server == kNone ||
                                nova_.at(r.server).vm == VmState::Deleted || nova_.at(r.server).purged);
      // Heat's user_data_update_policy defaults to REPLACE: new user_data, new server.
      const Json* policy = util::member(props, "user_data_update_policy");
      bool ignore_user_data = policy != nullptr && policy->IsString() && textOf(*policy) == "IGNORE";
      if (!fresh && !replace && !ignore_user_data && nova_.at(r.server).user_data != spec.user_data) {
        replace = true;
      }
      if (spec.name.empty()) {
        spec.name = !fresh && r.server != kNone && !nova_.at(r.server).purged
                        ? nova_.at(r.server).name
                        : fmt::format("{}-{}-{}", ctx.st.name, name, ids_.hex32().substr(0, 12));
      }
      if (fresh || replace) {
        if (replace && r.server != kNone) nova_.remove(r.server);
        ASSIGN_OR_RETURN(uint32_t slot, nova_.create(spec));
        ctx.created_servers.push_back(slot);
        r.server = slot;
        r.unhealthy = false;
        r.status = Status::InProgress;
        r.reason = strings_.intern("state changed");
        event(ctx.st, depth, parent, r, replace ? "replacing the server" : "state changed");
      } else {
        nova_.update(r.server, spec);
        r.status = nova_.at(r.server).vm == VmState::Building ? Status::InProgress : Status::Complete;
      }
      return {};
    }
    case Kind::Group:
    case Kind::Provider: {
      if (fresh) {
        r.nested = std::make_unique<Body>();
        r.nested->id = ids_.uuid();
        r.nested->name = fmt::format("{}-{}-{}", ctx.st.name, name, ids_.hex32().substr(0, 12));
      }
      r.status = Status::InProgress;
      r.unhealthy = false;
      event(ctx.st, depth, parent, r, "state changed");
      if (kind == Kind::Group) return convergeGroup(ctx, r, props, depth);
      ASSIGN_OR_RETURN(TemplatePtr t, providerTemplate(ctx, type));
      RETURN_IF_ERROR(checkUserParameters(*t, props));
      util::JsonDoc pseudo;
      pseudo.SetObject();
      auto& pa = pseudo.GetAllocator();
      pseudo.AddMember("OS::stack_name", util::str(r.nested->name, pa), pa);
      pseudo.AddMember("OS::stack_id", util::str(r.nested->id, pa), pa);
      pseudo.AddMember("OS::project_id", util::str(strings_.get(ctx.st.project), pa), pa);
      ASSIGN_OR_RETURN(r.nested->params, resolveParameters(*t, props, nullptr, pseudo));
      r.nested->tmpl = t;
      Body& nested = *r.nested;  // `r` may move while the nested body converges? No: it is ours.
      return converge(ctx, nested, *t, nested.params, depth + 1, name);
    }
    case Kind::Noop:
      if (fresh) {
        r.physical = strings_.intern(ids_.uuid());
        if (type == "OS::Neutron::Net") {
          const Json* net_name = util::member(props, "name");
          nova_.nameNetwork(strings_.get(r.physical),
                            net_name && net_name->IsString()
                                ? textOf(*net_name)
                                : fmt::format("{}-{}-{}", ctx.st.name, name, strings_.get(r.physical).substr(0, 8)));
        }
        r.status = Status::InProgress;
        event(ctx.st, depth, parent, r, "state changed");
      }
      if (auto status = applyNetworking(r, type, props, fresh); !status.ok()) {
        r.status = Status::Failed;
        r.reason = strings_.intern(fmt::format(
            "{}: resources.{}: {}",
            status.error().code == ErrorCode::Conflict ? "Conflict" : "NotFound",
            depth == 0 ? name : std::string(parent) + "." + name, status.error().message));
        event(ctx.st, depth, parent, r, strings_.get(r.reason));
        return {};
      }
      if (r.status != Status::Complete || fresh) {
        r.status = Status::Complete;
        r.reason = strings_.intern("state changed");
        event(ctx.st, depth, parent, r, "state changed");
      }
      return {};
  }
  return {};
}

util::Status HeatEngine::convergeGroup(Ctx& ctx, Resource& r, const Json& props, int depth) {
  Body& g = *r.nested;
  int64_t count = 1;
  if (const Json* c = util::member(props, "count"); c && !c->IsNull()) {
    if (c->IsInt64()) count = c->GetInt64();
    else if (c->IsString()) count = std::strtoll(c->GetString(), nullptr, 10);
    else return propertyError(r.name, "count", fmt::format("Value must be an integer, got {}", util::typeName(*c)));
  }
  if (count < 0 || static_cast<size_t>(count) > config_.max_group_size) {
    return propertyError(r.name, "count", fmt::format("{} is out of range (min: 0, max: {})", count, config_.max_group_size));
  }
  std::string index_var = util::stringMember(props, "index_var").value_or("%index%");
  const Json* def = util::member(props, "resource_def");
  if (def == nullptr || !def->IsObject() || !util::member(*def, "type") || !util::member(*def, "type")->IsString()) {
    return propertyError(r.name, "resource_def", "Property resource_def must be a map with a \"type\"");
  }
  // removal_policies: names or physical ids of members to remove; their names are never reused.
  std::vector<std::string> removals;
  if (const Json* policies = util::member(props, "removal_policies"); policies && policies->IsArray()) {
    for (const auto& p : policies->GetArray()) {
      const Json* list = util::member(p, "resource_list");
      if (list == nullptr || !list->IsArray()) continue;
      for (const auto& entry : list->GetArray()) {
        std::string key = textOf(entry);
        std::string found;
        for (const auto& m : g.resources) {
          if (m.name == key || physicalId(m) == key || referenceId(ctx.st, m) == key)
            found = m.name;
        }
        if (found.empty() && !key.empty() && std::all_of(key.begin(), key.end(), ::isdigit)) found = key;
        if (!found.empty()) removals.push_back(found);
      }
    }
  }
  if (util::stringMember(props, "removal_policies_mode").value_or("append") == "update") g.skiplist.clear();
  for (auto& name : removals) {
    if (std::find(g.skiplist.begin(), g.skiplist.end(), name) == g.skiplist.end()) g.skiplist.push_back(name);
  }
  std::set<std::string> skip(g.skiplist.begin(), g.skiplist.end());
  std::vector<std::string> target;
  for (int64_t i = 0; static_cast<int64_t>(target.size()) < count; ++i) {
    std::string name = std::to_string(i);
    if (skip.count(name) == 0) target.push_back(name);
  }
  std::set<std::string> wanted(target.begin(), target.end());
  for (size_t i = 0; i < g.resources.size();) {
    if (wanted.count(g.resources[i].name) > 0) {
      ++i;
      continue;
    }
    Body single;
    single.resources.push_back(std::move(g.resources[i]));
    deleteTree(ctx.st, single, depth + 1, r.name, true);
    g.resources.erase(g.resources.begin() + static_cast<std::ptrdiff_t>(i));
  }
  const Json* member_props = util::member(*def, "properties");
  for (const auto& name : target) {
    util::JsonDoc copy;
    if (member_props && member_props->IsObject()) {
      copy.CopyFrom(*member_props, copy.GetAllocator());
      replaceInStrings(copy, index_var, name, copy.GetAllocator());
    } else {
      copy.SetObject();
    }
    Resource* existing = nullptr;
    for (auto& m : g.resources) {
      if (m.name == name) existing = &m;
    }
    RETURN_IF_ERROR(applyDefinition(ctx, g, existing, name, *util::member(*def, "type"), copy, depth + 1, r.name));
  }
  std::sort(g.resources.begin(), g.resources.end(),
            [](const Resource& a, const Resource& b) { return memberLess(a.name, b.name); });
  return {};
}

// What the simulated Neutron, Octavia and Heat keep of a no-op resource: ports and load balancer
// VIPs have addresses, floating IPs follow their association, OS::Heat::Value keeps its value.
util::Status HeatEngine::applyNetworking(Resource& r, std::string_view type, const Json& props,
                                         bool fresh) {
  const std::string& id = strings_.get(r.physical);
  auto text = [&](const char* key) {
    const Json* v = util::member(props, key);
    return v == nullptr || v->IsNull() ? std::string() : textOf(*v);
  };
  if (type == "OS::Neutron::Port") {
    std::string subnet;
    if (const Json* ips = util::member(props, "fixed_ips");
        ips && ips->IsArray() && !ips->Empty()) {
      if (const Json* sn = util::member((*ips)[0], "subnet"); sn && !sn->IsNull())
        subnet = textOf(*sn);
    }
    if (fresh) nova_.createPort(id, text("network"), subnet);
  } else if (type == "OS::Octavia::LoadBalancer") {
    if (fresh) nova_.createPort(vipPortId(id), "", text("vip_subnet"));
  } else if (type == "OS::Neutron::FloatingIP") {
    if (fresh) nova_.createFloatingIp(id);
    // Without port_id the address is associated elsewhere (OS::Neutron::FloatingIPAssociation).
    if (util::member(props, "port_id") != nullptr)
      return nova_.associateFloatingIp(id, text("port_id"));
  } else if (type == "OS::Neutron::FloatingIPAssociation") {
    std::string fip = text("floatingip_id");
    if (!r.data.empty() && r.data != fip) (void)nova_.associateFloatingIp(r.data, "");
    r.data = fip;
    return nova_.associateFloatingIp(fip, text("port_id"));
  } else if (type == "OS::Heat::Value") {
    const Json* value = util::member(props, "value");
    r.data = value == nullptr ? "null" : util::toJson(*value);
  }
  return {};
}

void HeatEngine::releaseNetworking(Resource& r) {
  const std::string& type = strings_.get(r.type);
  const std::string& id = strings_.get(r.physical);
  if (type == "OS::Neutron::Port") {
    nova_.removePort(id);
  } else if (type == "OS::Octavia::LoadBalancer") {
    nova_.removePort(vipPortId(id));
  } else if (type == "OS::Neutron::FloatingIP") {
    nova_.removeFloatingIp(id);
  } else if (type == "OS::Neutron::FloatingIPAssociation" && !r.data.empty()) {
    (void)nova_.associateFloatingIp(r.data, "");
  }
}

void HeatEngine::deleteTree(Stack& st, Body& body, int depth, std::string_view parent, bool now) {
  for (auto& r : body.resources) {
    if (r.nested) deleteTree(st, *r.nested, depth + 1, r.name, now);
    if (r.kind == Kind::Server && r.server != kNone) {
      if (now) nova_.remove(r.server);
      else nova_.beginDelete(r.server);
    }
    if (r.kind == Kind::Noop && now) releaseNetworking(r);
    if (!now) {
      r.action = Action::Delete;
      r.status = Status::InProgress;
      event(st, depth, parent, r, "state changed");
    } else {
      if (r.action != Action::Delete) {
        r.action = Action::Delete;
        r.status = Status::InProgress;
        event(st, depth, parent, r, "state changed");
      }
      r.status = Status::Complete;
      event(st, depth, parent, r, "state changed");
    }
  }
}

}  // namespace magnumd::cloudsim
