// One test per field and label that changes the rendered stack: what appears in cluster.yaml and
// in each node group's provider template, and which parameters carry the values.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "drivers/coe/coe_driver.h"
#include "tests/coe/shape_fixture.h"
#include "util/json.h"
#include "util/yaml.h"

namespace magnumd::coe {
namespace {

using testing::prodCluster;
using testing::setLabel;

// A rendered stack with its documents parsed.
struct Rendered {
  StackDefinition def;
  util::JsonDoc cluster, master, worker;

  const util::Json* resource(const util::Json& doc, const char* name) const {
    const util::Json* resources = util::member(doc, "resources");
    return resources == nullptr ? nullptr : util::member(*resources, name);
  }
  bool has(const util::Json& doc, const char* name) const { return resource(doc, name) != nullptr; }
  std::string json(const util::Json& doc, std::initializer_list<const char*> path) const {
    const util::Json* cur = &doc;
    for (const char* p : path) {
      cur = cur->IsObject() ? util::member(*cur, p) : nullptr;
      if (cur == nullptr) return "<missing " + std::string(p) + ">";
    }
    return util::toJson(*cur);
  }
  // The rules of a security group in cluster.yaml, each as compact JSON.
  std::vector<std::string> rules(const char* group) const {
    std::vector<std::string> out;
    const util::Json* sg = resource(cluster, group);
    const util::Json* list = sg ? util::member(*util::member(*sg, "properties"), "rules") : nullptr;
    if (list == nullptr) return out;
    for (const auto& r : list->GetArray()) out.push_back(util::toJson(r));
    return out;
  }
  bool hasRule(const char* group, const std::string& rule) const {
    auto all = rules(group);
    return std::find(all.begin(), all.end(), rule) != all.end();
  }
  std::string param(const std::string& name) const {
    auto it = def.parameters.find(name);
    return it == def.parameters.end() ? "<none>" : it->second;
  }
};

// Security group rules as the templates write them, as compact JSON.
std::string portRange(const char* protocol, int min, int max) {
  return fmt::format(R"("protocol":"{}","port_range_min":{},"port_range_max":{})", protocol, min,
                     max);
}
std::string withinGroup(const char* protocol, int min, int max) {
  return "{" + portRange(protocol, min, max) + R"(,"remote_mode":"remote_group_id"})";
}
std::string fromAnywhere(const char* protocol, int min, int max) {
  return "{" + portRange(protocol, min, max) + "}";
}
std::string fromCidr(const char* protocol, int min, int max, const char* cidr) {
  return "{" + portRange(protocol, min, max) + R"(,"remote_ip_prefix":")" + cidr + R"("})";
}

util::JsonDoc parse(const std::string& text) {
  auto docs = util::parseYamlDocuments(text);
  EXPECT_TRUE(docs.ok()) << (docs.ok() ? "" : docs.error().message);
  if (!docs.ok() || docs->empty()) return {};
  return std::move((*docs)[0]);
}

Rendered render(const ClusterShape& shape) {
  Rendered r;
  auto def = makeCoeDriver(shape.coe)->render(shape, 60);
  EXPECT_TRUE(def.ok()) << def.error().message;
  if (!def.ok()) return r;
  r.def = std::move(*def);
  r.cluster = parse(r.def.template_text);
  r.master = parse(r.def.files.at("ng_default_master.yaml"));
  r.worker = parse(r.def.files.at("ng_default_worker.yaml"));
  return r;
}

std::string renderError(const ClusterShape& shape) {
  auto def = makeCoeDriver(shape.coe)->render(shape, 60);
  return def.ok() ? "<rendered>" : def.error().message;
}

std::string apiHostValue(const Rendered& r) {
  return r.json(r.cluster, {"resources", "api_host", "properties", "value"});
}

TEST(HeatStack, EveryNodeIsInTheClusterGroupAndItsRolesGroup) {
  auto r = render(prodCluster());
  EXPECT_EQ(r.json(r.cluster, {"resources", "ng_default_master", "properties", "resource_def",
                               "properties", "security_groups"}),
            R"([{"get_resource":"secgroup_cluster"},{"get_resource":"secgroup_master"}])");
  EXPECT_EQ(r.json(r.cluster, {"resources", "ng_default_worker", "properties", "resource_def",
                               "properties", "security_groups"}),
            R"([{"get_resource":"secgroup_cluster"},{"get_resource":"secgroup_worker"}])");
  EXPECT_EQ(r.json(r.master, {"resources", "port", "properties", "security_groups"}),
            R"({"get_param":"security_groups"})");
  // Kubernetes: kubelet within the cluster, etcd between masters only, SSH, NodePorts.
  EXPECT_TRUE(r.hasRule("secgroup_cluster", withinGroup("tcp", 10250, 10250)));
  EXPECT_TRUE(r.hasRule("secgroup_master", withinGroup("tcp", 2379, 2380)));
  EXPECT_TRUE(r.hasRule("secgroup_master", fromAnywhere("tcp", 22, 22)));
  EXPECT_TRUE(r.hasRule("secgroup_worker", fromAnywhere("tcp", 22, 22)));
  EXPECT_TRUE(r.hasRule("secgroup_worker", fromAnywhere("tcp", 30000, 32767)));
  EXPECT_TRUE(r.hasRule("secgroup_worker", fromAnywhere("udp", 30000, 32767)));
  EXPECT_FALSE(r.hasRule("secgroup_worker", withinGroup("tcp", 2379, 2380)));
}

TEST(HeatStack, FlannelVxlanOpensItsOverlayPortWithinTheCluster) {
  auto r = render(prodCluster());
  EXPECT_TRUE(r.hasRule("secgroup_cluster", withinGroup("udp", 8472, 8472)));
  EXPECT_EQ(r.json(r.master, {"resources", "port", "properties", "allowed_address_pairs"}),
            "<missing allowed_address_pairs>");
}

TEST(HeatStack, FlannelHostGwLetsPodAddressesThroughTheSecurityGroupsAndPorts) {
  auto c = prodCluster();
  setLabel(c, "flannel_backend", "host-gw");
  setLabel(c, "flannel_network_cidr", "10.111.0.0/16");
  auto r = render(c);
  EXPECT_TRUE(r.hasRule("secgroup_cluster", R"({"remote_ip_prefix":"10.111.0.0/16"})"));
  EXPECT_FALSE(r.hasRule("secgroup_cluster", withinGroup("udp", 8472, 8472)));
  EXPECT_EQ(r.json(r.worker, {"resources", "port", "properties", "allowed_address_pairs"}),
            R"([{"ip_address":"10.111.0.0/16"}])");
}

TEST(HeatStack, CalicoOpensBgpAndIpInIpAndItsPool) {
  auto c = prodCluster();
  c.network_driver = "calico";
  setLabel(c, "calico_ipv4pool", "10.200.0.0/16");
  auto r = render(c);
  EXPECT_TRUE(r.hasRule("secgroup_cluster", withinGroup("tcp", 179, 179)));
  EXPECT_TRUE(r.hasRule("secgroup_cluster", R"({"protocol":"4","remote_mode":"remote_group_id"})"));
  EXPECT_TRUE(r.hasRule("secgroup_cluster", R"({"remote_ip_prefix":"10.200.0.0/16"})"));
  EXPECT_FALSE(r.hasRule("secgroup_cluster", withinGroup("udp", 8472, 8472)));
  EXPECT_EQ(r.json(r.master, {"resources", "port", "properties", "allowed_address_pairs"}),
            R"([{"ip_address":"10.200.0.0/16"}])");
}

TEST(HeatStack, MasterLbAllowedCidrsRestrictTheApiOnTheMastersAndTheListener) {
  auto open = render(prodCluster());
  EXPECT_TRUE(open.hasRule("secgroup_master", fromCidr("tcp", 6443, 6443, "0.0.0.0/0")));

  auto c = prodCluster();
  c.master_lb_enabled = true;
  setLabel(c, "master_lb_allowed_cidrs", "192.0.2.0/24, 198.51.100.0/24");
  auto r = render(c);
  EXPECT_FALSE(r.hasRule("secgroup_master", fromCidr("tcp", 6443, 6443, "0.0.0.0/0")));
  EXPECT_TRUE(r.hasRule("secgroup_master", fromCidr("tcp", 6443, 6443, "192.0.2.0/24")));
  EXPECT_TRUE(r.hasRule("secgroup_master", fromCidr("tcp", 6443, 6443, "198.51.100.0/24")));
  // The amphorae reach the masters from the private subnet.
  EXPECT_TRUE(r.hasRule(
      "secgroup_master",
      R"({"protocol":"tcp","port_range_min":6443,"port_range_max":6443,"remote_ip_prefix":{"get_param":"fixed_subnet_cidr"}})"));
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_listener", "properties", "allowed_cidrs"}),
            R"(["192.0.2.0/24","198.51.100.0/24"])");
  c.labels.erase("master_lb_allowed_cidrs");
  auto unrestricted = render(c);
  EXPECT_EQ(unrestricted.json(unrestricted.cluster,
                              {"resources", "api_listener", "properties", "allowed_cidrs"}),
            "<missing allowed_cidrs>");
}

TEST(HeatStack, MasterLbEnabledRendersTheOctaviaLoadBalancerAndAMemberPerMaster) {
  auto c = prodCluster();
  c.master_lb_enabled = true;
  auto r = render(c);
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_lb", "type"}), R"("OS::Octavia::LoadBalancer")");
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_lb", "properties", "vip_subnet"}),
            R"({"get_resource":"private_subnet"})");
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_listener", "properties"}),
            R"({"loadbalancer":{"get_resource":"api_lb"},"protocol":"TCP","protocol_port":6443})");
  EXPECT_EQ(
      r.json(r.cluster, {"resources", "api_pool", "properties"}),
      R"({"listener":{"get_resource":"api_listener"},"lb_algorithm":"ROUND_ROBIN","protocol":"TCP"})");
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_monitor", "properties", "pool"}),
            R"({"get_resource":"api_pool"})");
  EXPECT_EQ(
      r.json(r.master, {"resources", "api_pool_member", "properties"}),
      R"({"pool":{"get_param":"api_pool"},"address":{"get_attr":["port","fixed_ips",0,"ip_address"]},)"
      R"("subnet":{"get_param":"fixed_subnet"},"protocol_port":{"get_param":"api_port"}})");
  EXPECT_EQ(r.json(r.cluster, {"resources", "ng_default_master", "properties", "resource_def",
                               "properties", "api_pool"}),
            R"({"get_resource":"api_pool"})");
  EXPECT_FALSE(r.has(r.worker, "api_pool_member"));
  EXPECT_FALSE(r.has(r.cluster, "api_floating_ip"));
  // With floating IPs on, the load balancer gets one and it is the API's address; every server
  // has its own.
  EXPECT_EQ(apiHostValue(r), R"({"get_attr":["api_lb_floating_ip","floating_ip_address"]})");
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_lb_floating_ip", "properties", "port_id"}),
            R"({"get_attr":["api_lb","vip_port_id"]})");
  EXPECT_TRUE(r.has(r.master, "floating_ip"));
  EXPECT_TRUE(r.has(r.worker, "floating_ip"));
  EXPECT_EQ(r.json(r.cluster, {"outputs", "api_address", "value"}),
            R"({"get_attr":["api_host","value"]})");

  c.node_groups[0].node_count = 3;
  EXPECT_EQ(renderError(c), "<rendered>");
}

TEST(HeatStack, MasterLbFloatingIpEnabledFollowsTheLabelElseFloatingIpEnabled) {
  auto c = prodCluster();
  c.master_lb_enabled = true;
  setLabel(c, "master_lb_floating_ip_enabled", "false");
  auto r = render(c);
  EXPECT_EQ(apiHostValue(r), R"({"get_attr":["api_lb","vip_address"]})");
  EXPECT_FALSE(r.has(r.cluster, "api_lb_floating_ip"));

  c.floating_ip_enabled = false;
  setLabel(c, "master_lb_floating_ip_enabled", "True");
  r = render(c);
  EXPECT_EQ(apiHostValue(r), R"({"get_attr":["api_lb_floating_ip","floating_ip_address"]})");
  EXPECT_FALSE(r.has(r.master, "floating_ip"));  // floatingIpEnabled false: no server has one

  c.labels.erase("master_lb_floating_ip_enabled");
  r = render(c);
  EXPECT_EQ(apiHostValue(r), R"({"get_attr":["api_lb","vip_address"]})");

  setLabel(c, "master_lb_floating_ip_enabled", "maybe");
  EXPECT_EQ(renderError(c),
            "labels.master_lb_floating_ip_enabled: \"maybe\" is not one of true, false");
}

TEST(HeatStack, WithoutLoadBalancerTheApiFloatingIpIsAssociatedWithTheFirstMastersPort) {
  auto r = render(prodCluster());
  EXPECT_EQ(apiHostValue(r), R"({"get_attr":["api_floating_ip","floating_ip_address"]})");
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_floating_ip_association", "properties"}),
            R"({"floatingip_id":{"get_resource":"api_floating_ip"},)"
            R"("port_id":{"get_attr":["ng_default_master","resource.0.port"]}})");
  // The first master's port holds the API's floating IP, so masters get none of their own.
  EXPECT_FALSE(r.has(r.master, "floating_ip"));
  EXPECT_TRUE(r.has(r.worker, "floating_ip"));
  EXPECT_EQ(r.json(r.master, {"outputs", "port", "value"}), R"({"get_resource":"port"})");
  EXPECT_FALSE(r.has(r.cluster, "api_lb"));
}

TEST(HeatStack, ARevisionOfANodeGroupIsItsOwnGroupAndTheApiFloatingIpFollowsTheOldMasters) {
  auto shape = prodCluster();
  auto next_master = shape.node_groups[0];
  next_master.slot = "r1";
  next_master.node_count = 1;
  next_master.image = "ubuntu-2204-kube-v1.33.1";
  shape.node_groups.insert(shape.node_groups.begin() + 1, next_master);
  auto r = render(shape);
  const util::Json* group = r.resource(r.cluster, "ng_default_master_r1");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(r.json(r.cluster, {"resources", "ng_default_master_r1", "properties", "resource_def",
                               "properties", "name"}),
            R"("prod-default-master-r1-%index%")");
  EXPECT_EQ(r.json(r.cluster, {"resources", "ng_default_master_r1", "properties", "resource_def",
                               "properties", "slot"}),
            R"("r1")");
  EXPECT_EQ(r.param("ng_default_master_r1_image"), "ubuntu-2204-kube-v1.33.1");
  EXPECT_EQ(r.param("ng_default_master_r1_count"), "1");
  auto member = parse(r.def.files.at("ng_default_master_r1.yaml"));
  EXPECT_EQ(r.json(member, {"resources", "server", "properties", "metadata", "magnumd_slot"}),
            R"({"get_param":"slot"})");
  // The API's floating IP stays on the old masters while they have servers.
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_floating_ip_association", "properties",
                               "port_id"}),
            R"({"get_attr":["ng_default_master","resource.0.port"]})");
  shape.node_groups[0].node_count = 0;
  auto after = render(shape);
  EXPECT_EQ(after.json(after.cluster, {"resources", "api_floating_ip_association", "properties",
                                       "port_id"}),
            R"({"get_attr":["ng_default_master_r1","resource.0.port"]})");
  // The first revision's servers carry no slot.
  EXPECT_EQ(r.json(r.master, {"parameters", "slot"}), "<missing slot>");
  EXPECT_EQ(r.json(member, {"parameters", "slot", "type"}), R"("string")");
}

TEST(HeatStack, WithoutLoadBalancerOrFloatingIpsTheApiIsTheFirstMastersAddress) {
  auto c = prodCluster();
  c.floating_ip_enabled = false;
  for (auto& ng : c.node_groups) ng.user_data = "#cloud-config\n";
  auto r = render(c);
  EXPECT_EQ(apiHostValue(r), R"({"get_attr":["ng_default_master","resource.0.fixed_ip"]})");
  EXPECT_FALSE(r.has(r.cluster, "api_floating_ip"));
  EXPECT_FALSE(r.has(r.worker, "floating_ip"));
  // Masters cannot wait for their own group: they name their own address; workers wait for it.
  EXPECT_EQ(
      r.json(r.master, {"resources", "server", "properties", "user_data", "str_replace", "params"}),
      R"({"__MAGNUMD_API_HOST__":{"get_attr":["port","fixed_ips",0,"ip_address"]}})");
  EXPECT_EQ(r.json(r.cluster, {"resources", "ng_default_worker", "properties", "resource_def",
                               "properties", "api_host"}),
            R"({"get_attr":["api_host","value"]})");
  EXPECT_EQ(r.json(r.cluster, {"resources", "ng_default_master", "properties", "resource_def",
                               "properties", "api_host"}),
            "<missing api_host>");

  c.node_groups[0].node_count = 3;
  EXPECT_NE(renderError(c).find("spec.masterCount: 3 masters need a stable API address"),
            std::string::npos)
      << renderError(c);
}

TEST(HeatStack, UserDataIsAHiddenParameterFilledInWithTheApiHostAndNeverReplacesServers) {
  auto c = prodCluster();
  c.node_groups[0].user_data = "#cloud-config\n# master %index%\n";
  auto r = render(c);
  EXPECT_EQ(r.param("ng_default_master_user_data"), "#cloud-config\n# master %index%\n");
  EXPECT_EQ(r.json(r.cluster, {"parameters", "ng_default_master_user_data", "hidden"}), "true");
  EXPECT_EQ(r.json(r.master, {"parameters", "user_data", "hidden"}), "true");
  EXPECT_EQ(r.json(r.cluster, {"resources", "ng_default_master", "properties", "resource_def",
                               "properties", "user_data"}),
            R"({"get_param":"ng_default_master_user_data"})");
  const char* server[] = {"resources", "server", "properties"};
  EXPECT_EQ(r.json(r.master, {server[0], server[1], server[2], "user_data_format"}), R"("RAW")");
  EXPECT_EQ(r.json(r.master, {server[0], server[1], server[2], "user_data_update_policy"}),
            R"("IGNORE")");
  EXPECT_EQ(r.json(r.master, {server[0], server[1], server[2], "user_data"}),
            R"({"str_replace":{"template":{"get_param":"user_data"},)"
            R"("params":{"__MAGNUMD_API_HOST__":{"get_param":"api_host"}}}})");
  // A group without user_data boots without any.
  EXPECT_EQ(r.param("ng_default_worker_user_data"), "<none>");
  EXPECT_EQ(r.json(r.worker, {server[0], server[1], server[2], "user_data"}),
            "<missing user_data>");
  EXPECT_EQ(r.json(r.worker, {"parameters", "user_data"}), "<missing user_data>");
}

TEST(HeatStack, DockerVolumeSizeAndTypeGiveEachServerAnAttachedVolume) {
  auto c = prodCluster();
  auto none = render(c);
  EXPECT_FALSE(none.has(none.worker, "docker_volume"));
  c.node_groups[1].docker_volume_size = 25;
  auto r = render(c);
  EXPECT_EQ(r.param("ng_default_worker_docker_volume_size"), "25");
  EXPECT_EQ(r.param("ng_default_master_docker_volume_size"), "<none>");
  EXPECT_EQ(r.json(r.worker, {"resources", "docker_volume", "properties"}),
            R"({"size":{"get_param":"docker_volume_size"}})");
  EXPECT_EQ(
      r.json(r.worker, {"resources", "docker_volume_attach", "properties"}),
      R"({"instance_uuid":{"get_resource":"server"},"volume_id":{"get_resource":"docker_volume"},"mountpoint":"/dev/vdb"})");
  EXPECT_FALSE(r.has(r.master, "docker_volume"));

  c.node_groups[1].labels["docker_volume_type"] = "ssd";
  r = render(c);
  EXPECT_EQ(r.param("ng_default_worker_docker_volume_type"), "ssd");
  EXPECT_EQ(r.json(r.worker, {"resources", "docker_volume", "properties", "volume_type"}),
            R"({"get_param":"docker_volume_type"})");
}

TEST(HeatStack, EtcdVolumeSizeAndTypeGiveMastersOnlyAnEtcdVolume) {
  auto c = prodCluster();
  setLabel(c, "etcd_volume_size", "10");
  setLabel(c, "etcd_volume_type", "fast");
  auto r = render(c);
  EXPECT_EQ(r.param("ng_default_master_etcd_volume_size"), "10");
  EXPECT_EQ(r.param("ng_default_master_etcd_volume_type"), "fast");
  EXPECT_EQ(r.param("ng_default_worker_etcd_volume_size"), "<none>");
  EXPECT_EQ(
      r.json(r.master, {"resources", "etcd_volume", "properties"}),
      R"({"size":{"get_param":"etcd_volume_size"},"volume_type":{"get_param":"etcd_volume_type"}})");
  EXPECT_EQ(r.json(r.master, {"resources", "etcd_volume_attach", "properties", "mountpoint"}),
            R"("/dev/vdc")");
  EXPECT_FALSE(r.has(r.worker, "etcd_volume"));

  setLabel(c, "etcd_volume_size", "ten");
  EXPECT_EQ(renderError(c),
            "labels.etcd_volume_size: \"ten\" is not a whole number of GB (0: none)");
}

TEST(HeatStack, BootVolumeSizeAndTypeBootServersFromACinderVolume) {
  auto c = prodCluster();
  auto r = render(c);
  EXPECT_EQ(r.json(r.worker, {"resources", "server", "properties", "image"}),
            R"({"get_param":"image"})");
  setLabel(c, "boot_volume_size", "40");
  setLabel(c, "boot_volume_type", "standard");
  r = render(c);
  EXPECT_EQ(r.param("ng_default_worker_boot_volume_size"), "40");
  EXPECT_EQ(r.param("ng_default_worker_boot_volume_type"), "standard");
  EXPECT_EQ(r.json(r.worker, {"resources", "boot_volume", "properties"}),
            R"({"image":{"get_param":"image"},"size":{"get_param":"boot_volume_size"},)"
            R"("volume_type":{"get_param":"boot_volume_type"}})");
  EXPECT_EQ(r.json(r.worker, {"resources", "server", "properties", "block_device_mapping_v2"}),
            R"([{"boot_index":0,"volume_id":{"get_resource":"boot_volume"}}])");
  EXPECT_EQ(r.json(r.worker, {"resources", "server", "properties", "image"}), "<missing image>");
}

TEST(HeatStack, AvailabilityZonePlacesServersAndVolumes) {
  auto c = prodCluster();
  c.node_groups[1].docker_volume_size = 10;
  c.node_groups[1].labels["availability_zone"] = "az-2";
  auto r = render(c);
  EXPECT_EQ(r.param("ng_default_worker_availability_zone"), "az-2");
  EXPECT_EQ(r.param("ng_default_master_availability_zone"), "<none>");
  EXPECT_EQ(r.json(r.worker, {"resources", "server", "properties", "availability_zone"}),
            R"({"get_param":"availability_zone"})");
  EXPECT_EQ(r.json(r.worker, {"resources", "docker_volume", "properties", "availability_zone"}),
            R"({"get_param":"availability_zone"})");
  EXPECT_EQ(r.json(r.master, {"resources", "server", "properties", "availability_zone"}),
            "<missing availability_zone>");
}

TEST(HeatStack, FixedSubnetCidrSizesThePrivateSubnet) {
  auto c = prodCluster();
  EXPECT_EQ(render(c).param("fixed_subnet_cidr"), "10.0.0.0/24");
  c.labels["fixed_subnet_cidr"] = "10.9.0.0/22";
  EXPECT_EQ(render(c).param("fixed_subnet_cidr"), "10.9.0.0/22");
}

TEST(HeatStack, ALoadBalancerOnAnExistingNetworkNeedsItsSubnet) {
  auto c = prodCluster();
  c.fixed_network = "lan";
  c.master_lb_enabled = true;
  EXPECT_NE(renderError(c).find("fixedSubnet"), std::string::npos) << renderError(c);
  c.fixed_subnet = "lan-subnet";
  auto r = render(c);
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_lb", "properties", "vip_subnet"}),
            R"({"get_param":"fixed_subnet"})");
}

TEST(HeatStack, TlsDisabledMovesTheApiPort) {
  auto c = prodCluster();
  c.tls_disabled = true;
  c.master_lb_enabled = true;
  auto r = render(c);
  EXPECT_EQ(r.json(r.cluster, {"resources", "api_listener", "properties", "protocol_port"}),
            "8080");
  EXPECT_TRUE(r.hasRule("secgroup_cluster", withinGroup("tcp", 8080, 8080)));
}

TEST(HeatStack, SwarmAndMesosGetTheirOwnPortsAndNoKubernetesOnes) {
  auto c = prodCluster();
  c.coe = "swarm";
  c.network_driver = "docker";
  c.master_lb_enabled = true;
  auto swarm = render(c);
  EXPECT_EQ(swarm.json(swarm.cluster, {"resources", "api_listener", "properties", "protocol_port"}),
            "2376");
  EXPECT_TRUE(swarm.hasRule("secgroup_cluster", withinGroup("udp", 4789, 4789)));
  EXPECT_FALSE(swarm.hasRule("secgroup_cluster", withinGroup("tcp", 10250, 10250)));
  EXPECT_FALSE(swarm.hasRule("secgroup_master", withinGroup("tcp", 2379, 2380)));

  c.coe = "mesos";
  auto mesos = render(c);
  EXPECT_EQ(mesos.json(mesos.cluster, {"resources", "api_listener", "properties", "protocol_port"}),
            "5050");
  EXPECT_TRUE(mesos.hasRule("secgroup_master", fromAnywhere("tcp", 8080, 8080)));
  EXPECT_TRUE(mesos.hasRule("secgroup_cluster", withinGroup("tcp", 5051, 5051)));
  EXPECT_EQ(mesos.json(mesos.cluster, {"description"}), R"("magnumd mesos cluster demo/prod")");
}

TEST(HeatStack, AClusterWithoutMastersIsRefused) {
  auto c = prodCluster();
  c.node_groups.erase(c.node_groups.begin());
  EXPECT_EQ(renderError(c), "cluster prod has no master node group");
}

}  // namespace
}  // namespace magnumd::coe
