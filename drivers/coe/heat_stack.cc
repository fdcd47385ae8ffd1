#include "drivers/coe/heat_stack.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <string>

#include "drivers/coe/kubernetes/template.h"

namespace magnumd::coe {

namespace {

using kubernetes::ValueList;
using kubernetes::Values;

constexpr std::string_view kClusterTemplate = "cluster.yaml.tmpl";
constexpr std::string_view kMasterTemplate = "master.yaml.tmpl";
constexpr std::string_view kWorkerTemplate = "worker.yaml.tmpl";
constexpr std::string_view kDefaultPodsCidr = "10.100.0.0/16";
constexpr std::string_view kDefaultSubnetCidr = "10.0.0.0/24";

// Where kubelets, kubeconfigs and certificates find the API (see cluster.yaml.tmpl's api_host).
enum class ApiEndpoint { LoadBalancerFloatingIp, LoadBalancerVip, FloatingIp, FirstMaster };

using Labels = std::map<std::string, std::string>;

std::string labelOr(const Labels& labels, const std::string& key, std::string_view fallback) {
  auto it = labels.find(key);
  return it == labels.end() || it->second.empty() ? std::string(fallback) : it->second;
}

util::Error labelError(std::string_view key, std::string_view value, std::string_view what) {
  return util::makeError(util::ErrorCode::Invalid,
                         fmt::format("labels.{}: \"{}\" {}", key, value, what));
}

// A size in GB; 0 when the label is absent or empty.
util::Result<int64_t> gigabytesLabel(const Labels& labels, const std::string& key) {
  auto it = labels.find(key);
  if (it == labels.end() || it->second.empty()) return int64_t{0};
  int64_t value = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) {
    return labelError(key, s, "is not a whole number of GB (0: none)");
  }
  return value;
}

util::Result<std::optional<bool>> boolLabel(const Labels& labels, const std::string& key) {
  auto it = labels.find(key);
  if (it == labels.end() || it->second.empty()) return std::optional<bool>();
  std::string v;
  for (char c : it->second)
    v.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (v == "true") return std::optional<bool>(true);
  if (v == "false") return std::optional<bool>(false);
  return labelError(key, it->second, "is not one of true, false");
}

// master_lb_allowed_cidrs: "" opens the API to 0.0.0.0/0 (Magnum's default).
ValueList allowedCidrs(const Labels& labels) {
  ValueList out;
  std::string list = labelOr(labels, "master_lb_allowed_cidrs", "");
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string cidr = list.substr(start, comma - start);
    while (!cidr.empty() && cidr.front() == ' ') cidr.erase(cidr.begin());
    while (!cidr.empty() && cidr.back() == ' ') cidr.pop_back();
    if (!cidr.empty()) out.push_back(Values().set("cidr", std::move(cidr)));
    start = comma + 1;
  }
  if (out.empty()) out.push_back(Values().set("cidr", "0.0.0.0/0"));
  return out;
}

util::Result<ApiEndpoint> apiEndpoint(const ClusterShape& cluster) {
  if (!cluster.master_lb_enabled) {
    return cluster.floating_ip_enabled ? ApiEndpoint::FloatingIp : ApiEndpoint::FirstMaster;
  }
  // Magnum's rule: the label when set, else the template's floatingIpEnabled.
  ASSIGN_OR_RETURN(auto lb_fip, boolLabel(cluster.labels, "master_lb_floating_ip_enabled"));
  return lb_fip.value_or(cluster.floating_ip_enabled) ? ApiEndpoint::LoadBalancerFloatingIp
                                                      : ApiEndpoint::LoadBalancerVip;
}

// What the cluster's container network needs from the security groups and ports.
struct PodNetwork {
  std::string cidr;
  std::string overlay_port;  // flannel's UDP port; "" when flannel does not encapsulate
  bool calico = false;
  bool routed = false;  // pod addresses leave the nodes unencapsulated
};

PodNetwork podNetwork(const ClusterShape& cluster) {
  PodNetwork net;
  if (cluster.network_driver == "calico") {
    net.calico = true;
    net.routed = true;  // IPIP off, or CrossSubnet within the subnet
    net.cidr = labelOr(cluster.labels, "calico_ipv4pool", kDefaultPodsCidr);
  } else if (cluster.network_driver == "flannel") {
    std::string backend = labelOr(cluster.labels, "flannel_backend", "vxlan");
    if (backend == "host-gw") net.routed = true;
    net.overlay_port = backend == "vxlan" ? "8472" : backend == "udp" ? "8285" : "";
    net.cidr = labelOr(cluster.labels, "flannel_network_cidr", kDefaultPodsCidr);
  } else {
    net.cidr = std::string(kDefaultPodsCidr);
  }
  return net;
}

// The values of one node group, for its entry in cluster.yaml and for its provider template, and
// its parameters.
util::Status addNodeGroup(const ClusterShape& cluster, const NodeGroupShape& ng,
                          ApiEndpoint endpoint, bool has_subnet, Values& group,
                          StackDefinition& def) {
  const bool master = ng.role == "master";
  const std::string resource = groupResourceName(ng.key());
  auto param = [&](std::string_view what, std::string value) {
    def.parameters[groupParameter(ng.key(), what)] = std::move(value);
  };
  std::string removal;
  for (const auto& r : ng.removal_list) removal += (removal.empty() ? "" : ",") + r;
  param("count", std::to_string(ng.node_count));
  param("flavor", ng.flavor);
  param("image", ng.image);
  param("removal_list", removal);

  group.set("resource", resource)
      .set("name", ng.name)
      .set("role", ng.role)
      .set("file", providerTemplateName(ng.key()))
      .set("server_name", fmt::format("{}-{}-%index%", cluster.name, ng.key()))
      .set("slot", ng.slot)
      .setFlag("has_slot", !ng.slot.empty())
      .set("secgroup", master ? "secgroup_master" : "secgroup_worker")
      .setFlag("fixed_subnet", has_subnet)
      // Without a load balancer the API's floating IP sits on the first master's port, which
      // can hold no second one.
      .setFlag("floating_ip", cluster.floating_ip_enabled &&
                                  (!master || endpoint == ApiEndpoint::LoadBalancerFloatingIp ||
                                   endpoint == ApiEndpoint::LoadBalancerVip))
      .setFlag("api_pool_member", master && cluster.master_lb_enabled)
      // Masters cannot wait for their own group's first address: they name their own.
      .setFlag("api_host_own", master && endpoint == ApiEndpoint::FirstMaster)
      .setFlag("user_data", !ng.user_data.empty());
  if (!ng.user_data.empty()) param("user_data", ng.user_data);

  std::string zone = labelOr(ng.labels, "availability_zone", "");
  group.setFlag("availability_zone", !zone.empty());
  if (!zone.empty()) param("availability_zone", zone);

  // A Cinder volume per server, sized by a label (or the docker volume size field), typed by an
  // optional label.
  auto volume = [&](std::string_view what, int64_t size) {
    std::string type = labelOr(ng.labels, fmt::format("{}_volume_type", what), "");
    group.setFlag(fmt::format("{}_volume", what), size > 0)
        .setFlag(fmt::format("{}_volume_type", what), size > 0 && !type.empty());
    if (size <= 0) return;
    param(fmt::format("{}_volume_size", what), std::to_string(size));
    if (!type.empty()) param(fmt::format("{}_volume_type", what), type);
  };
  ASSIGN_OR_RETURN(int64_t boot_size, gigabytesLabel(ng.labels, "boot_volume_size"));
  volume("boot", boot_size);
  volume("docker", ng.docker_volume_size);
  int64_t etcd_size = 0;
  if (master) {
    ASSIGN_OR_RETURN(etcd_size, gigabytesLabel(ng.labels, "etcd_volume_size"));
  }
  volume("etcd", etcd_size);
  return {};
}

util::Result<std::string> render(std::string_view file, const Values& values) {
  auto text = embeddedStackTemplate(file);
  if (!text) {
    return util::makeError(util::ErrorCode::Internal,
                           fmt::format("no embedded stack template named {}", file));
  }
  return kubernetes::renderTemplate(file, *text, values);
}

}  // namespace

std::string providerTemplateName(std::string_view nodegroup) {
  return groupResourceName(nodegroup) + ".yaml";
}

util::Result<StackDefinition> renderStack(const ClusterShape& cluster, const StackFacts& facts,
                                          int64_t timeout_mins) {
  StackDefinition def;
  def.name = stackNameFor(cluster.name, cluster.uid);
  def.tags = {std::string(kStackTag), clusterTag(cluster.uid)};
  def.timeout_mins = timeout_mins;

  ASSIGN_OR_RETURN(ApiEndpoint endpoint, apiEndpoint(cluster));
  // The masters' API floating IP sits on the first master of the oldest revision that still has
  // servers (during a rolling replacement it moves once the old masters are gone).
  const NodeGroupShape* masters = nullptr;
  for (const auto& ng : cluster.node_groups) {
    if (ng.role != "master") continue;
    if (masters == nullptr || (masters->node_count == 0 && ng.node_count > 0)) masters = &ng;
  }
  if (masters == nullptr) {
    return util::makeError(util::ErrorCode::Invalid,
                           fmt::format("cluster {} has no master node group", cluster.name));
  }
  if (endpoint == ApiEndpoint::FirstMaster && masters->node_count > 1) {
    return util::makeError(
        util::ErrorCode::Invalid,
        fmt::format("spec.masterCount: {} masters need a stable API address: enable "
                    "masterLbEnabled or floatingIpEnabled (without either, the API is the first "
                    "master's own address, which the other masters cannot know in advance)",
                    masters->node_count));
  }
  const bool private_network = cluster.fixed_network.empty();
  const bool has_subnet = private_network || !cluster.fixed_subnet.empty();
  if (cluster.master_lb_enabled && !has_subnet) {
    return util::makeError(util::ErrorCode::Invalid,
                           fmt::format("fixedSubnet: the API load balancer takes its VIP from a "
                                       "subnet; give fixedSubnet with fixedNetwork {}",
                                       cluster.fixed_network));
  }
  const PodNetwork pods = podNetwork(cluster);
  const ValueList cidrs = allowedCidrs(cluster.labels);
  const bool restricted = !labelOr(cluster.labels, "master_lb_allowed_cidrs", "").empty();

  def.parameters["cluster_uid"] = cluster.uid;
  def.parameters["ssh_key_name"] = cluster.keypair;
  def.parameters["external_network"] = cluster.external_network;
  def.parameters["dns_nameserver"] = cluster.dns_nameserver;
  def.parameters["network_driver"] = cluster.network_driver;
  def.parameters["coe_version"] = facts.coe_version;
  def.parameters["tls_disabled"] = cluster.tls_disabled ? "true" : "false";
  if (private_network) {
    def.parameters["fixed_subnet_cidr"] =
        labelOr(cluster.labels, "fixed_subnet_cidr", kDefaultSubnetCidr);
  } else {
    def.parameters["fixed_network"] = cluster.fixed_network;
    if (has_subnet) def.parameters["fixed_subnet"] = cluster.fixed_subnet;
  }

  // Values both cluster.yaml and the provider templates read.
  Values shared;
  shared.set("meta_cluster_uid", std::string(kMetaClusterUid))
      .set("meta_nodegroup", std::string(kMetaNodeGroup))
      .set("meta_role", std::string(kMetaRole))
      .set("meta_slot", std::string(kMetaSlot))
      .set("stack_tag", std::string(kStackTag))
      .set("api_host_token", std::string(kApiHostToken))
      .set("api_port", std::to_string(facts.api_port))
      .set("pods_network_cidr", pods.cidr)
      .setFlag("pods_routed", pods.routed);

  Values top = shared;
  top.set("description",
          fmt::format("magnumd {} cluster {}/{}", facts.coe, cluster.namespace_, cluster.name))
      .set("private_network_name", fmt::format("{}-private", cluster.name))
      .set("api_lb_name", fmt::format("{}-api-lb", cluster.name))
      .set("secgroup_cluster_description",
           fmt::format("{}: traffic between the cluster's own nodes", cluster.name))
      .set("secgroup_master_description", fmt::format("{}: masters", cluster.name))
      .set("secgroup_worker_description", fmt::format("{}: workers", cluster.name))
      .set("master_group", groupResourceName(masters->key()))
      .set("flannel_port", pods.overlay_port)
      .setFlag("kubernetes", facts.coe == "kubernetes")
      .setFlag("swarm", facts.coe == "swarm")
      .setFlag("mesos", facts.coe == "mesos")
      .setFlag("private_network", private_network)
      .setFlag("fixed_subnet", has_subnet)
      .setFlag("flannel_overlay", !pods.overlay_port.empty())
      .setFlag("calico", pods.calico)
      .setFlag("master_lb", cluster.master_lb_enabled)
      .setFlag("api_lb_restricted", restricted)
      // An amphora reaches the masters from its own port on the private subnet.
      .setFlag("api_from_subnet", cluster.master_lb_enabled && restricted && private_network)
      .setFlag("api_lb_floating_ip", endpoint == ApiEndpoint::LoadBalancerFloatingIp)
      .setFlag("api_lb_vip", endpoint == ApiEndpoint::LoadBalancerVip)
      .setFlag("api_floating_ip", endpoint == ApiEndpoint::FloatingIp)
      .setFlag("api_first_master", endpoint == ApiEndpoint::FirstMaster)
      .setList("api_allowed_cidrs", cidrs);

  ValueList groups;
  for (const auto& ng : cluster.node_groups) {
    Values group = shared;
    RETURN_IF_ERROR(addNodeGroup(cluster, ng, endpoint, has_subnet, group, def));
    ASSIGN_OR_RETURN(def.files[providerTemplateName(ng.key())],
                     render(ng.role == "master" ? kMasterTemplate : kWorkerTemplate, group));
    groups.push_back(std::move(group));
  }
  top.setList("node_groups", std::move(groups));
  ASSIGN_OR_RETURN(def.template_text, render(kClusterTemplate, top));
  return def;
}

}  // namespace magnumd::coe
