#include "drivers/coe/coe_driver.h"

#include <fmt/format.h>

#include <cctype>

#include "util/json.h"
#include "util/yaml.h"

namespace magnumd::coe {

using util::Json;
using util::JsonAlloc;

namespace {

std::string identifier(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

Json getParam(std::string_view name, JsonAlloc& a) {
  Json v(rapidjson::kObjectType);
  v.AddMember("get_param", util::str(name, a), a);
  return v;
}

Json getAttr(std::initializer_list<std::string_view> path, JsonAlloc& a) {
  Json list(rapidjson::kArrayType);
  for (auto p : path) list.PushBack(util::str(p, a), a);
  Json v(rapidjson::kObjectType);
  v.AddMember("get_attr", list, a);
  return v;
}

Json param(std::string_view type, std::string_view description, JsonAlloc& a) {
  Json p(rapidjson::kObjectType);
  p.AddMember("type", util::str(type, a), a);
  p.AddMember("description", util::str(description, a), a);
  return p;
}

// Per-COE facts: how the API is reached and what the version label is called.
struct CoeFacts {
  std::string_view coe;
  int tls_port;
  int plain_port;
  std::string_view scheme_tls;
  std::string_view version_label;
  std::string_view default_version;
};

class HeatCoeDriver final : public CoeDriver {
 public:
  explicit HeatCoeDriver(CoeFacts facts) : facts_(facts) {}

  std::string_view coe() const override { return facts_.coe; }

  StackDefinition render(const ClusterShape& cluster, int64_t timeout_mins) const override {
    util::JsonDoc doc;
    auto& a = doc.GetAllocator();
    doc.SetObject();
    doc.AddMember("heat_template_version", "2018-08-31", a);
    doc.AddMember("description",
                  util::str(fmt::format("magnumd {} cluster {}/{}", facts_.coe, cluster.namespace_,
                                        cluster.name), a),
                  a);
    Json params(rapidjson::kObjectType);
    Json resources(rapidjson::kObjectType);
    Json outputs(rapidjson::kObjectType);
    StackDefinition def;

    auto addParam = [&](std::string_view name, std::string_view type, std::string_view description,
                        std::string value) {
      params.AddMember(util::str(name, a), param(type, description, a), a);
      def.parameters[std::string(name)] = std::move(value);
    };
    addParam("cluster_uid", "string", "uid of the magnumd Cluster", cluster.uid);
    addParam("external_network", "string", "network for floating IPs", cluster.external_network);
    addParam("dns_nameserver", "string", "DNS server for the private subnet", cluster.dns_nameserver);
    addParam("ssh_key_name", "string", "Nova keypair for every server", cluster.keypair);
    addParam("network_driver", "string", "container network driver", cluster.network_driver);
    addParam("coe_version", "string", "COE release the nodes run", coeVersion(cluster));
    addParam("tls_disabled", "boolean", "serve the COE API without TLS",
             cluster.tls_disabled ? "true" : "false");

    addNetwork(cluster, resources, a);
    const NodeGroupShape* first_master = nullptr;
    for (const auto& ng : cluster.node_groups) {
      if (ng.role == "master" && first_master == nullptr) first_master = &ng;
      addNodeGroup(cluster, ng, params, resources, outputs, def, a);
    }
    if (cluster.master_lb_enabled) {
      Json lb(rapidjson::kObjectType);
      lb.AddMember("type", "OS::Octavia::LoadBalancer", a);
      Json props(rapidjson::kObjectType);
      props.AddMember("vip_subnet", subnetRef(cluster, a), a);
      props.AddMember("name", util::str(fmt::format("{}-api-lb", cluster.name), a), a);
      lb.AddMember("properties", props, a);
      resources.AddMember("api_lb", lb, a);
    }
    if (first_master != nullptr) {
      Json api(rapidjson::kObjectType);
      api.AddMember("description", "address of the first master; clients use api_lb when enabled", a);
      api.AddMember("value",
                    getAttr({groupResourceName(first_master->name), "resource.0.first_address"}, a), a);
      outputs.AddMember("api_address", api, a);
    }
    doc.AddMember("parameters", params, a);
    doc.AddMember("resources", resources, a);
    doc.AddMember("outputs", outputs, a);

    def.name = stackNameFor(cluster.name, cluster.uid);
    def.template_text = util::toYaml(doc);
    def.tags = {std::string(kStackTag), clusterTag(cluster.uid)};
    def.timeout_mins = timeout_mins;
    return def;
  }

  ClusterEndpoints endpoints(const ClusterShape& cluster,
                             const std::map<std::string, std::string>& outputs) const override {
    ClusterEndpoints e;
    e.coe_version = coeVersion(cluster);
    auto api = outputs.find("api_address");
    if (api != outputs.end()) {
      auto parsed = util::parseJson(api->second);
      if (parsed.ok() && parsed->IsString() && parsed->GetStringLength() > 0) {
        bool tls = !cluster.tls_disabled;
        e.api_address = fmt::format("{}://{}:{}", tls ? facts_.scheme_tls : "http",
                                    parsed->GetString(), tls ? facts_.tls_port : facts_.plain_port);
      }
    }
    for (const auto& ng : cluster.node_groups) {
      auto it = outputs.find(groupParameter(ng.name, "addresses"));
      if (it == outputs.end()) continue;
      auto parsed = util::parseJson(it->second);
      if (!parsed.ok() || !parsed->IsArray()) continue;
      auto& into = ng.role == "master" ? e.master_addresses : e.node_addresses;
      for (const auto& v : parsed->GetArray()) {
        if (v.IsString() && v.GetStringLength() > 0) into.emplace_back(v.GetString());
      }
    }
    return e;
  }

  std::string coeVersion(const ClusterShape& cluster) const override {
    auto it = cluster.labels.find(std::string(facts_.version_label));
    return it != cluster.labels.end() && !it->second.empty() ? it->second
                                                            : std::string(facts_.default_version);
  }

 private:
  static Json subnetRef(const ClusterShape& cluster, JsonAlloc& a) {
    if (!cluster.fixed_subnet.empty()) return util::str(cluster.fixed_subnet, a);
    Json ref(rapidjson::kObjectType);
    ref.AddMember("get_resource", "private_subnet", a);
    return ref;
  }

  static Json networkRef(const ClusterShape& cluster, JsonAlloc& a) {
    if (!cluster.fixed_network.empty()) return util::str(cluster.fixed_network, a);
    Json ref(rapidjson::kObjectType);
    ref.AddMember("get_resource", "private_network", a);
    return ref;
  }

  // A private network, subnet and router unless the template names an existing network.
  static void addNetwork(const ClusterShape& cluster, Json& resources, JsonAlloc& a) {
    if (!cluster.fixed_network.empty()) return;
    auto resource = [&](std::string_view type, Json props) {
      Json r(rapidjson::kObjectType);
      r.AddMember("type", util::str(type, a), a);
      r.AddMember("properties", props, a);
      return r;
    };
    Json net(rapidjson::kObjectType);
    net.AddMember("name", util::str(fmt::format("{}-private", cluster.name), a), a);
    resources.AddMember("private_network", resource("OS::Neutron::Net", std::move(net)), a);

    Json subnet(rapidjson::kObjectType);
    Json net_ref(rapidjson::kObjectType);
    net_ref.AddMember("get_resource", "private_network", a);
    subnet.AddMember("network", net_ref, a);
    subnet.AddMember("cidr", util::str(labelOr(cluster, "fixed_subnet_cidr", "10.0.0.0/24"), a), a);
    Json dns(rapidjson::kArrayType);
    dns.PushBack(getParam("dns_nameserver", a), a);
    subnet.AddMember("dns_nameservers", dns, a);
    resources.AddMember("private_subnet", resource("OS::Neutron::Subnet", std::move(subnet)), a);

    Json router(rapidjson::kObjectType);
    Json gw(rapidjson::kObjectType);
    gw.AddMember("network", getParam("external_network", a), a);
    router.AddMember("external_gateway_info", gw, a);
    resources.AddMember("router", resource("OS::Neutron::Router", std::move(router)), a);

    Json iface(rapidjson::kObjectType);
    Json router_ref(rapidjson::kObjectType);
    router_ref.AddMember("get_resource", "router", a);
    iface.AddMember("router", router_ref, a);
    Json subnet_ref(rapidjson::kObjectType);
    subnet_ref.AddMember("get_resource", "private_subnet", a);
    iface.AddMember("subnet", subnet_ref, a);
    resources.AddMember("router_interface",
                        resource("OS::Neutron::RouterInterface", std::move(iface)), a);
  }

  static std::string labelOr(const ClusterShape& cluster, const std::string& key,
                             std::string fallback) {
    auto it = cluster.labels.find(key);
    return it == cluster.labels.end() || it->second.empty() ? fallback : it->second;
  }

  void addNodeGroup(const ClusterShape& cluster, const NodeGroupShape& ng, Json& params,
                    Json& resources, Json& outputs, StackDefinition& def, JsonAlloc& a) const {
    auto addParam = [&](std::string_view what, std::string_view type, std::string value) {
      std::string name = groupParameter(ng.name, what);
      params.AddMember(util::str(name, a),
                       param(type, fmt::format("{} of node group {}", what, ng.name), a), a);
      def.parameters[name] = std::move(value);
    };
    addParam("count", "number", std::to_string(ng.node_count));
    addParam("flavor", "string", ng.flavor);
    addParam("image", "string", ng.image);
    std::string removal;
    for (const auto& r : ng.removal_list) removal += (removal.empty() ? "" : ",") + r;
    addParam("removal_list", "comma_delimited_list", removal);

    Json server_props(rapidjson::kObjectType);
    server_props.AddMember("name", util::str(fmt::format("{}-{}-%index%", cluster.name, ng.name), a), a);
    server_props.AddMember("image", getParam(groupParameter(ng.name, "image"), a), a);
    server_props.AddMember("flavor", getParam(groupParameter(ng.name, "flavor"), a), a);
    server_props.AddMember("key_name", getParam("ssh_key_name", a), a);
    Json networks(rapidjson::kArrayType);
    Json network(rapidjson::kObjectType);
    network.AddMember("network", networkRef(cluster, a), a);
    networks.PushBack(network, a);
    server_props.AddMember("networks", networks, a);
    Json metadata(rapidjson::kObjectType);
    metadata.AddMember(util::str(kMetaClusterUid, a), getParam("cluster_uid", a), a);
    metadata.AddMember(util::str(kMetaNodeGroup, a), util::str(ng.name, a), a);
    metadata.AddMember(util::str(kMetaRole, a), util::str(ng.role, a), a);
    server_props.AddMember("metadata", metadata, a);
    Json tags(rapidjson::kArrayType);
    tags.PushBack(util::str(kStackTag, a), a);
    server_props.AddMember("tags", tags, a);
    server_props.AddMember("user_data_format", "RAW", a);

    Json resource_def(rapidjson::kObjectType);
    resource_def.AddMember("type", "OS::Nova::Server", a);
    resource_def.AddMember("properties", server_props, a);

    Json group_props(rapidjson::kObjectType);
    group_props.AddMember("count", getParam(groupParameter(ng.name, "count"), a), a);
    Json policy(rapidjson::kObjectType);
    policy.AddMember("resource_list", getParam(groupParameter(ng.name, "removal_list"), a), a);
    Json policies(rapidjson::kArrayType);
    policies.PushBack(policy, a);
    group_props.AddMember("removal_policies", policies, a);
    group_props.AddMember("resource_def", resource_def, a);

    Json group(rapidjson::kObjectType);
    group.AddMember("type", "OS::Heat::ResourceGroup", a);
    group.AddMember("properties", group_props, a);
    if (cluster.fixed_network.empty()) group.AddMember("depends_on", "router_interface", a);
    const std::string resource = groupResourceName(ng.name);
    resources.AddMember(util::str(resource, a), group, a);

    Json addresses(rapidjson::kObjectType);
    addresses.AddMember("value", getAttr({resource, "first_address"}, a), a);
    outputs.AddMember(util::str(groupParameter(ng.name, "addresses"), a), addresses, a);
    Json refs(rapidjson::kObjectType);
    refs.AddMember("value", getAttr({resource, "refs_map"}, a), a);
    outputs.AddMember(util::str(groupParameter(ng.name, "servers"), a), refs, a);
  }

  CoeFacts facts_;
};

}  // namespace

CoeDriverPtr makeCoeDriver(std::string_view coe) {
  if (coe == "kubernetes") {
    return std::make_unique<HeatCoeDriver>(CoeFacts{"kubernetes", 6443, 8080, "https", "kube_tag", "v1.18.2"});
  }
  if (coe == "swarm") {
    return std::make_unique<HeatCoeDriver>(CoeFacts{"swarm", 2376, 2375, "tcp", "swarm_tag", "1.2.5"});
  }
  if (coe == "mesos") {
    return std::make_unique<HeatCoeDriver>(CoeFacts{"mesos", 5050, 5050, "http", "mesos_tag", "1.0.0"});
  }
  return nullptr;
}

std::string stackNameFor(std::string_view cluster_name, std::string_view uid) {
  std::string name;
  for (char c : cluster_name.substr(0, 40)) {
    name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-');
  }
  std::string short_uid;
  for (char c : uid) {
    if (c != '-') short_uid.push_back(c);
    if (short_uid.size() == 12) break;
  }
  return fmt::format("{}-{}", name, short_uid);
}

std::string clusterTag(std::string_view uid) { return fmt::format("magnumd-cluster={}", uid); }

std::string groupResourceName(std::string_view nodegroup) {
  return "ng_" + identifier(nodegroup);
}

std::string groupParameter(std::string_view nodegroup, std::string_view what) {
  return fmt::format("ng_{}_{}", identifier(nodegroup), what);
}

std::optional<std::string> memberIndexOf(std::string_view server_name) {
  auto dash = server_name.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == server_name.size()) return std::nullopt;
  auto index = server_name.substr(dash + 1);
  for (char c : index) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return std::string(index);
}

}  // namespace magnumd::coe
