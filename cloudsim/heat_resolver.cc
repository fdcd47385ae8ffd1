// get_resource / get_attr / outputs against a stack's resources (servers, groups, provider
// templates, no-op resources).
#include <fmt/format.h>

#include <algorithm>

#include "cloudsim/heat_internal.h"

namespace magnumd::cloudsim {

using util::ErrorCode;
using util::Json;
using util::JsonAlloc;
using util::makeError;

util::Status BodyResolver::refId(std::string_view name, Json& out, JsonAlloc& a) {
  const Resource* r = find(name);
  if (r == nullptr) return makeError(ErrorCode::BadRequest, fmt::format("The specified reference \"{}\" (in unknown) is incorrect.", name));
  out = util::str(engine.referenceId(stack, *r), a);
  return {};
}

std::string HeatEngine::referenceId(Stack& stack, const Resource& r) {
  const Template* t = r.kind == Kind::Provider && r.nested ? r.nested->tmpl.get() : nullptr;
  if (t != nullptr && t->outputs != nullptr && t->outputs->IsObject() &&
      util::member(*t->outputs, "OS::stack_id") != nullptr) {
    util::JsonDoc doc;
    Json v;
    BodyResolver resolver{*this, stack, *r.nested};
    if (resolver.outputValue("OS::stack_id", v, doc.GetAllocator()).ok() && v.IsString()) {
      return {v.GetString(), v.GetStringLength()};
    }
  }
  return physicalId(r);
}

std::string HeatEngine::vipPortId(std::string_view load_balancer_id) {
  std::string hex = stableHexId("vip-port", load_balancer_id);
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                     hex.substr(16, 4), hex.substr(20, 12));
}

const Resource* BodyResolver::find(std::string_view name) const {
  for (const auto& r : body.resources) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

void BodyResolver::serverAttribute(const Server& s, std::string_view attr, Json& out, JsonAlloc& a) {
  NovaStore& nova = engine.nova();
  const Interner& strings = engine.strings();
  if (attr == "first_address") {
    out = util::str(s.purged ? "" : nova.address(s, 0), a);
  } else if (attr == "name" || attr == "instance_name") {
    out = util::str(s.name, a);
  } else if (attr == "networks" || attr == "addresses") {
    out.SetObject();
    for (size_t i = 0; i < s.networks.size() && !s.purged; ++i) {
      Json list(rapidjson::kArrayType);
      std::string floating = nova.floatingAddress(s, i);
      if (attr == "networks") {
        list.PushBack(util::str(nova.address(s, i), a), a);
        if (!floating.empty()) list.PushBack(util::str(floating, a), a);
      } else {
        for (const auto& [address, type] :
             {std::pair{nova.address(s, i), "fixed"}, std::pair{floating, "floating"}}) {
          if (address.empty()) continue;
          Json addr(rapidjson::kObjectType);
          addr.AddMember("addr", util::str(address, a), a);
          addr.AddMember("version", 4, a);
          addr.AddMember("OS-EXT-IPS:type", rapidjson::StringRef(type), a);
          addr.AddMember("OS-EXT-IPS-MAC:mac_addr", util::str(nova.macAddress(s, i), a), a);
          list.PushBack(addr, a);
        }
      }
      out.AddMember(util::str(strings.get(s.networks[i]), a), list, a);
    }
  } else if (attr == "tags") {
    out.SetArray();
    for (uint32_t t : s.tags) out.PushBack(util::str(strings.get(t), a), a);
  } else if (attr == "accessIPv4" || attr == "accessIPv6") {
    out = util::str("", a);
  } else if (attr == "show") {
    out.SetObject();
    out.AddMember("id", util::str(s.id, a), a);
    out.AddMember("name", util::str(s.name, a), a);
    out.AddMember("status", util::str(statusOf(s), a), a);
  } else {
    out.SetNull();
  }
}

util::Status BodyResolver::memberAttribute(const Resource& m, std::string_view attr, Json& out, JsonAlloc& a) {
  switch (m.kind) {
    case Kind::Server:
      if (m.server != kNone) serverAttribute(engine.nova().at(m.server), attr, out, a);
      else out.SetNull();
      return {};
    case Kind::Provider:
      if (!m.nested) { out.SetNull(); return {}; }
      return BodyResolver{engine, stack, *m.nested}.outputValue(attr, out, a);
    case Kind::Group:
      return BodyResolver{engine, stack, body}.attribute(m.name, attr, out, a);
    case Kind::Noop:
      noopAttribute(m, attr, out, a);
      return {};
  }
  return {};
}

// Attributes of the resources cloudsim only pretends to create, as Neutron, Octavia and Heat
// report them: the addresses NovaStore handed out, OS::Heat::Value's value, and a stable random
// `value` for OS::Heat::RandomString and friends. Anything else is null.
void BodyResolver::noopAttribute(const Resource& m, std::string_view attr, Json& out,
                                 JsonAlloc& a) {
  const std::string& type = engine.strings().get(m.type);
  const std::string id = engine.physicalId(m);
  NovaStore& nova = engine.nova();
  out.SetNull();
  if (type == "OS::Neutron::Port" || type == "OS::Octavia::LoadBalancer") {
    bool lb = type == "OS::Octavia::LoadBalancer";
    std::string port_id = lb ? HeatEngine::vipPortId(id) : id;
    const Port* p = nova.port(port_id);
    if (p == nullptr) return;
    if (lb && attr == "vip_address") {
      out = util::str(p->address, a);
    } else if (lb && attr == "vip_port_id") {
      out = util::str(port_id, a);
    } else if (lb && attr == "vip_subnet_id") {
      out = util::str(p->subnet, a);
    } else if (!lb && attr == "fixed_ips") {
      Json ip(rapidjson::kObjectType);
      ip.AddMember("subnet_id", util::str(p->subnet, a), a);
      ip.AddMember("ip_address", util::str(p->address, a), a);
      out.SetArray();
      out.PushBack(ip, a);
    } else if (!lb && attr == "mac_address") {
      out = util::str(p->mac, a);
    } else if (!lb && attr == "network_id") {
      out = util::str(engine.strings().get(p->network), a);
    }
  } else if (type == "OS::Neutron::FloatingIP") {
    const FloatingIp* f = nova.floatingIp(id);
    if (f == nullptr) return;
    const Port* p = f->port.empty() ? nullptr : nova.port(f->port);
    if (attr == "floating_ip_address") {
      out = util::str(f->address, a);
    } else if (attr == "port_id") {
      out = f->port.empty() ? Json() : util::str(f->port, a);
    } else if (attr == "fixed_ip_address") {
      out = p == nullptr ? Json() : util::str(p->address, a);
    }
  } else if (type == "OS::Heat::Value") {
    if (attr != "value") return;
    auto value = util::parseJson(m.data.empty() ? "null" : m.data);
    if (value.ok()) out.CopyFrom(*value, a);
  } else if (attr == "value") {  // OS::Heat::RandomString and friends: stable per resource
    out = util::str(stableHexId("random", id).substr(0, 32), a);
  }
}

util::Status BodyResolver::outputValue(std::string_view key, Json& out, JsonAlloc& a) {
  const Template* t = body.tmpl.get();
  const Json* def = t && t->outputs && t->outputs->IsObject() ? util::member(*t->outputs, key) : nullptr;
  if (def == nullptr) {
    if (key == "OS::stack_id") { out = util::str(body.id, a); return {}; }
    out.SetNull();
    return {};
  }
  const Json* value = util::member(*def, "value");
  if (value == nullptr) { out.SetNull(); return {}; }
  EvalContext ctx{body.params, *this, &stack.files};
  return evaluate(*value, out, a, ctx);
}

util::Status BodyResolver::attribute(std::string_view name, std::string_view attr, Json& out, JsonAlloc& a) {
  const Resource* r = find(name);
  if (r == nullptr) return makeError(ErrorCode::BadRequest, fmt::format("The specified reference \"{}\" (in get_attr) is incorrect.", name));
  if (r->kind != Kind::Group) return memberAttribute(*r, attr, out, a);
  const Body& group = *r->nested;
  std::vector<const Resource*> members;
  for (const auto& m : group.resources) members.push_back(&m);
  if (attr == "refs") {
    out.SetArray();
    for (const auto* m : members) out.PushBack(util::str(engine.referenceId(stack, *m), a), a);
  } else if (attr == "refs_map") {
    out.SetObject();
    for (const auto* m : members)
      out.AddMember(util::str(m->name, a), util::str(engine.referenceId(stack, *m), a), a);
  } else if (attr == "removed_rsrc_list") {
    out.SetArray();
    for (const auto& n : group.skiplist) out.PushBack(util::str(n, a), a);
  } else if (attr.substr(0, 9) == "resource.") {
    std::string_view rest = attr.substr(9);
    size_t dot = rest.find('.');
    std::string_view member = rest.substr(0, dot);
    auto it = std::find_if(members.begin(), members.end(), [&](const Resource* m) { return m->name == member; });
    if (it == members.end()) return makeError(ErrorCode::BadRequest, fmt::format("Member '{}' not found in group resource '{}'.", member, name));
    if (dot != std::string_view::npos) return memberAttribute(**it, rest.substr(dot + 1), out, a);
    out = util::str(engine.referenceId(stack, **it), a);
  } else {
    // `attributes` is reached through get_attr [group, attributes, x]? Heat spells it
    // [group, attributes, attr] -> map; any other name is the list of that member attribute.
    out.SetArray();
    for (const auto* m : members) {
      Json v;
      BodyResolver members_resolver(engine, stack, *r->nested);
      RETURN_IF_ERROR(members_resolver.memberAttribute(*m, attr, v, a));
      out.PushBack(v, a);
    }
  }
  return {};
}

}  // namespace magnumd::cloudsim
