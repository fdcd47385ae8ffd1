// The rendered stacks run through cloudsim's Heat over its wire protocol, as magnumd's driver
// sends them: the templates parse, every intrinsic resolves, the outputs the reconcilers read have
// plausible values, user_data reaches Nova with the API address and the member index filled in,
// and a new user_data replaces no server.
#include <gtest/gtest.h>

#include <set>

#include "drivers/coe/kubernetes/bootstrap.h"
#include "tests/cloudsim/sim_fixture.h"
#include "tests/coe/kubernetes/fixture.h"
#include "tests/coe/shape_fixture.h"

namespace magnumd::coe {
namespace {

using namespace std::chrono_literals;
using cloudsim::testing::quote;
using cloudsim::testing::Reply;
using cloudsim::testing::str;

class StackInCloudsimTest : public cloudsim::testing::SimTest {
 protected:
  void SetUp() override { token = login(); }

  StackDefinition render(const ClusterShape& shape) {
    auto def = makeCoeDriver(shape.coe)->render(shape, 60);
    EXPECT_TRUE(def.ok()) << def.error().message;
    return def.ok() ? std::move(*def) : StackDefinition{};
  }

  static std::string jsonMap(const std::map<std::string, std::string>& m) {
    std::string out = "{";
    for (const auto& [k, v] : m) out += (out.size() > 1 ? "," : "") + quote(k) + ":" + quote(v);
    return out + "}";
  }

  // POST /stacks the way drivers/openstack does; returns the stack's href.
  std::string create(const StackDefinition& def) {
    Reply r = call(
        "POST", heat() + "/stacks",
        "{\"stack_name\":" + quote(def.name) + ",\"template\":" + quote(def.template_text) +
            ",\"files\":" + jsonMap(def.files) + ",\"parameters\":" + jsonMap(def.parameters) + "}",
        token);
    EXPECT_EQ(r.status, 201) << r.body;
    return heat() + "/stacks/" + def.name + "/" + str(r.json["stack"]["id"]);
  }

  void patch(const std::string& href, const StackDefinition& def) {
    Reply r =
        call("PATCH", href,
             "{\"template\":" + quote(def.template_text) + ",\"files\":" + jsonMap(def.files) +
                 ",\"parameters\":" + jsonMap(def.parameters) + "}",
             token);
    EXPECT_EQ(r.status, 202) << r.body;
  }

  Reply show(const std::string& href) { return call("GET", href, "", token); }

  std::string settle(const std::string& href) {
    tick(3s);
    Reply s = show(href);
    EXPECT_EQ(str(s.json["stack"]["stack_status"]), "CREATE_COMPLETE")
        << str(s.json["stack"]["stack_status_reason"]);
    return str(s.json["stack"]["stack_status"]);
  }

  util::JsonDoc output(const std::string& href, const std::string& key) {
    Reply r = call("GET", href + "/outputs/" + key, "", token);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(r.json["output"].HasMember("output_error")) << r.body;
    util::JsonDoc out;
    out.CopyFrom(r.json["output"]["output_value"], out.GetAllocator());
    return out;
  }

  // Live servers by name.
  std::map<std::string, const cloudsim::Server*> servers() {
    std::map<std::string, const cloudsim::Server*> out;
    auto& nova = sim.nova();
    for (uint32_t i = 0; i < nova.slots(); ++i) {
      const auto& s = nova.at(i);
      if (!s.purged && s.vm != cloudsim::VmState::Deleted) out[s.name] = &s;
    }
    return out;
  }

  std::string token;
};

ClusterShape withUserData(ClusterShape c) {
  for (auto& ng : c.node_groups) {
    ng.user_data =
        "#cloud-config\nwrite_files:\n- path: /etc/magnumd/bootstrap.env\n  content: |\n"
        "    MEMBER_INDEX=%index%\n    API_ENDPOINT=__MAGNUMD_API_HOST__:6443\n";
  }
  return c;
}

TEST_F(StackInCloudsimTest, LoadBalancedClusterResolvesEveryOutputAndFillsInUserData) {
  auto shape = withUserData(testing::prodCluster());
  shape.master_lb_enabled = true;
  shape.node_groups[0].node_count = 3;
  shape.node_groups[1].docker_volume_size = 20;
  testing::setLabel(shape, "etcd_volume_size", "5");
  testing::setLabel(shape, "boot_volume_size", "30");
  testing::setLabel(shape, "availability_zone", "az-1");
  auto def = render(shape);
  std::string href = create(def);
  settle(href);

  // The API is the load balancer's floating IP; the masters have floating IPs of their own.
  std::string api = str(output(href, "api_address"));
  EXPECT_TRUE(api.starts_with("172.24.")) << api;
  auto masters = output(href, "ng_default_master_addresses");
  ASSERT_EQ(masters.Size(), 3u);
  std::set<std::string> distinct{api};
  for (const auto& m : masters.GetArray()) {
    EXPECT_TRUE(str(m).starts_with("172.24.")) << str(m);
    distinct.insert(str(m));
  }
  EXPECT_EQ(distinct.size(), 4u);
  // refs_map names the Nova servers (the provider template's OS::stack_id).
  auto refs = output(href, "ng_default_worker_servers");
  std::set<std::string> members;
  for (const auto& m : refs.GetObject()) members.insert(m.name.GetString());
  EXPECT_EQ(members, (std::set<std::string>{"0", "2", "3"}));  // "1" is on the removal list
  auto all = servers();
  ASSERT_EQ(all.count("prod-default-worker-3"), 1u);
  EXPECT_EQ(str(refs["3"]), all.at("prod-default-worker-3")->id);

  // Each server's user_data has its member index and the API address filled in; the hidden
  // parameter never reads back.
  const auto& master2 = *all.at("prod-default-master-2");
  EXPECT_NE(master2.user_data.find("MEMBER_INDEX=2\n"), std::string::npos) << master2.user_data;
  EXPECT_NE(master2.user_data.find("API_ENDPOINT=" + api + ":6443\n"), std::string::npos);
  Reply s = show(href);
  EXPECT_EQ(str(s.json["stack"]["parameters"]["ng_default_master_user_data"]), "******");
  EXPECT_EQ(str(s.json["stack"]["parameters"]["ng_default_master_count"]), "3");

  // Nova shows the port's fixed address and the floating IP.
  Reply detail = call("GET", "/compute/v2.1/servers/" + master2.id, "", token);
  const auto& addrs = detail.json["server"]["addresses"]["prod-private"];
  ASSERT_EQ(addrs.Size(), 2u) << detail.body;
  EXPECT_EQ(str(addrs[0]["OS-EXT-IPS:type"]), "fixed");
  EXPECT_EQ(str(addrs[1]["OS-EXT-IPS:type"]), "floating");
  EXPECT_EQ(str(addrs[1]["addr"]), str(masters[2]));

  // A new cloud-config (a refreshed token) replaces no server.
  std::map<std::string, std::string> ids;
  for (const auto& [name, server] : all) ids[name] = server->id;
  for (auto& ng : shape.node_groups) ng.user_data += "# token refreshed\n";
  patch(href, render(shape));
  tick(3s);
  EXPECT_EQ(str(show(href).json["stack"]["stack_status"]), "UPDATE_COMPLETE");
  std::map<std::string, std::string> after;
  for (const auto& [name, server] : servers()) after[name] = server->id;
  EXPECT_EQ(after, ids);
}

TEST_F(StackInCloudsimTest, WithoutLoadBalancerTheApiFloatingIpSitsOnTheFirstMastersPort) {
  auto shape = withUserData(testing::prodCluster());
  auto def = render(shape);
  std::string href = create(def);
  settle(href);
  std::string api = str(output(href, "api_address"));
  EXPECT_TRUE(api.starts_with("172.24.")) << api;
  // The first master shows the API's floating IP as its own; workers have floating IPs too.
  auto masters = output(href, "ng_default_master_addresses");
  ASSERT_EQ(masters.Size(), 1u);
  auto all = servers();
  const auto& master = *all.at("prod-default-master-0");
  EXPECT_EQ(sim.nova().floatingAddress(master, 0), api);
  EXPECT_NE(master.user_data.find("API_ENDPOINT=" + api + ":6443"), std::string::npos);
  auto workers = output(href, "ng_default_worker_addresses");
  ASSERT_EQ(workers.Size(), 3u);
  for (const auto& w : workers.GetArray()) EXPECT_TRUE(str(w).starts_with("172.24.")) << str(w);
}

TEST_F(StackInCloudsimTest, WithoutFloatingIpsTheApiIsTheFirstMastersFixedAddress) {
  auto shape = withUserData(testing::prodCluster());
  shape.floating_ip_enabled = false;
  auto def = render(shape);
  std::string href = create(def);
  settle(href);
  std::string api = str(output(href, "api_address"));
  auto all = servers();
  const auto& master = *all.at("prod-default-master-0");
  EXPECT_EQ(api, sim.nova().address(master, 0));
  for (const auto& name : {"prod-default-master-0", "prod-default-worker-0"}) {
    EXPECT_NE(all.at(name)->user_data.find("API_ENDPOINT=" + api + ":6443"), std::string::npos)
        << name;
  }
  EXPECT_EQ(sim.nova().floatingAddress(*all.at("prod-default-worker-0"), 0), "");
}

TEST_F(StackInCloudsimTest, ScaleDownRemovesTheNamedMemberWithItsPortAndFloatingIp) {
  auto shape = testing::prodCluster();
  shape.node_groups[1].removal_list.clear();
  std::string href = create(render(shape));
  settle(href);
  auto before = servers();
  ASSERT_EQ(before.count("prod-default-worker-1"), 1u);
  shape.node_groups[1].node_count = 2;
  shape.node_groups[1].removal_list = {"1"};
  patch(href, render(shape));
  tick(3s);
  auto after = servers();
  EXPECT_EQ(after.count("prod-default-worker-1"), 0u);
  EXPECT_EQ(after.count("prod-default-worker-0"), 1u);
  EXPECT_EQ(after.count("prod-default-worker-2"), 1u);
  EXPECT_EQ(output(href, "ng_default_worker_addresses").Size(), 2u);
}

// The node bootstrap's own user_data (drivers/coe/kubernetes/), as the reconciler renders it:
// one per node group, with Heat's %index% and the API host token left for the stack to fill in.
ClusterShape withKubeadmUserData(ClusterShape c) {
  kubernetes::BootstrapInput in = kubernetes::testing::prodInput(kubernetes::NodeRole::Worker);
  in.control_plane_host = std::string(kApiHostToken);
  in.cert_sans.clear();
  in.member_index = "%index%";
  for (auto& ng : c.node_groups) {
    in.nodegroup = ng.name;
    in.role = ng.role == "master" ? kubernetes::NodeRole::Master : kubernetes::NodeRole::Worker;
    in.node_name = c.name + "-" + ng.name + "-%index%";
    auto user_data = kubernetes::renderUserData(in);
    EXPECT_TRUE(user_data.ok()) << user_data.error().message;
    ng.user_data = user_data.ok() ? *user_data : "";
  }
  return c;
}

TEST_F(StackInCloudsimTest, NodesBootedFromTheBootstrapsUserDataFormOneClusterAtTheStableAddress) {
  for (bool load_balancer : {true, false}) {
    auto shape = testing::prodCluster();
    shape.name = load_balancer ? "lb" : "fip";
    shape = withKubeadmUserData(shape);
    shape.master_lb_enabled = load_balancer;
    shape.node_groups[0].node_count = 3;
    auto def = render(shape);
    std::string href = create(def);
    settle(href);
    const cloudsim::KubeCluster* cluster = sim.kube().byStackId(href.substr(href.rfind('/') + 1));
    ASSERT_NE(cluster, nullptr) << shape.name;
    std::vector<std::string> nodes, control_plane;
    for (const auto& [name, node] : cluster->nodes) {
      nodes.push_back(name);
      if (node.labels.count("node-role.kubernetes.io/control-plane")) control_plane.push_back(name);
    }
    const std::string n = shape.name;
    EXPECT_EQ(nodes, (std::vector<std::string>{n + "-default-master-0", n + "-default-master-1",
                                               n + "-default-master-2", n + "-default-worker-0",
                                               n + "-default-worker-2", n + "-default-worker-3"}));
    EXPECT_EQ(control_plane.size(), 3u) << n;
    // Every node was told the same stable address: the load balancer's or the API's floating IP.
    std::string api = str(output(href, "api_address"));
    for (const auto& [name, server] : servers()) {
      if (!name.starts_with(n + "-")) continue;
      EXPECT_NE(server->user_data.find(api + ":6443"), std::string::npos) << name;
      EXPECT_EQ(server->user_data.find(kApiHostToken), std::string::npos) << name;
    }
  }
}

TEST_F(StackInCloudsimTest, SwarmAndMesosStacksConverge) {
  for (const char* coe : {"swarm", "mesos"}) {
    auto shape = testing::prodCluster();
    shape.coe = coe;
    shape.name = coe;
    shape.network_driver = "docker";
    std::string href = create(render(shape));
    settle(href);
    EXPECT_TRUE(str(output(href, "api_address")).starts_with("172.24.")) << coe;
  }
}

}  // namespace
}  // namespace magnumd::coe
