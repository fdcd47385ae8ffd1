// What cloudsim's Heat makes of the networking resources magnumd's stacks use: ports and
// load balancer VIPs with addresses, floating IPs that follow their association, servers that
// show their port's addresses, OS::Heat::Value, provider templates' OS::stack_id, hidden
// parameters.
#include <set>

#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

using namespace std::chrono_literals;

class HeatNetworkTest : public SimTest {
 protected:
  void SetUp() override { token = login(); }

  // Creates a stack from a YAML template (and provider files); returns its href.
  std::string create(const std::string& name, const std::string& tmpl,
                     const std::string& files = "{}", const std::string& params = "{}") {
    Reply r = call("POST", heat() + "/stacks",
                   R"({"stack_name":")" + name + R"(","template":)" + quote(tmpl) + R"(,"files":)" +
                       files + R"(,"parameters":)" + params + "}",
                   token);
    EXPECT_EQ(r.status, 201) << r.body;
    href = heat() + "/stacks/" + name + "/" + str(r.json["stack"]["id"]);
    return href;
  }
  Reply show() { return call("GET", href, "", token); }
  std::string status() { return str(show().json["stack"]["stack_status"]); }
  std::string reason() { return str(show().json["stack"]["stack_status_reason"]); }
  std::string output(const std::string& key) {
    Reply r = call("GET", href + "/outputs/" + key, "", token);
    EXPECT_FALSE(r.json["output"].HasMember("output_error")) << r.body;
    return str(r.json["output"]["output_value"]);
  }
  const util::Json& addresses(const std::string& server_id, util::JsonDoc& keep) {
    Reply r = call("GET", "/compute/v2.1/servers/" + server_id, "", token);
    keep.CopyFrom(r.json["server"]["addresses"], keep.GetAllocator());
    return keep;
  }

  std::string token;
  std::string href;
};

constexpr const char* kServerOnPort = R"(heat_template_version: 2018-08-31
parameters:
  fip_on_port: {type: string, default: ""}
resources:
  net:
    type: OS::Neutron::Net
    properties: {name: cluster-net}
  port:
    type: OS::Neutron::Port
    properties:
      network: {get_resource: net}
      fixed_ips: [{subnet: cluster-subnet}]
  fip:
    type: OS::Neutron::FloatingIP
    properties:
      floating_network: public
      port_id: {get_resource: port}
  server:
    type: OS::Nova::Server
    properties:
      name: node-0
      flavor: m1.small
      image: fcos
      networks: [{port: {get_resource: port}}]
outputs:
  server: {value: {get_resource: server}}
  fixed: {value: {get_attr: [port, fixed_ips, 0, ip_address]}}
  subnet: {value: {get_attr: [port, fixed_ips, 0, subnet_id]}}
  mac: {value: {get_attr: [port, mac_address]}}
  floating: {value: {get_attr: [fip, floating_ip_address]}}
  floating_port: {value: {get_attr: [fip, port_id]}}
  port: {value: {get_resource: port}}
)";

TEST_F(HeatNetworkTest, AServerOnAPortShowsThePortsAddressAndItsFloatingIp) {
  create("s", kServerOnPort);
  tick(3s);
  ASSERT_EQ(status(), "CREATE_COMPLETE") << reason();
  std::string fixed = output("fixed");
  std::string floating = output("floating");
  EXPECT_TRUE(fixed.starts_with("10.128.")) << fixed;
  EXPECT_TRUE(floating.starts_with("172.24.")) << floating;
  EXPECT_EQ(output("subnet"), "cluster-subnet");
  EXPECT_EQ(output("floating_port"), output("port"));
  util::JsonDoc keep;
  const auto& addrs = addresses(output("server"), keep);
  ASSERT_TRUE(addrs.HasMember("cluster-net")) << util::toJson(addrs);
  const auto& list = addrs["cluster-net"];
  ASSERT_EQ(list.Size(), 2u);
  EXPECT_EQ(str(list[0]["addr"]), fixed);
  EXPECT_EQ(str(list[0]["OS-EXT-IPS:type"]), "fixed");
  EXPECT_EQ(str(list[0]["OS-EXT-IPS-MAC:mac_addr"]), output("mac"));
  EXPECT_EQ(str(list[1]["addr"]), floating);
  EXPECT_EQ(str(list[1]["OS-EXT-IPS:type"]), "floating");
}

TEST_F(HeatNetworkTest, AddressesAreStableAcrossUpdatesAndReleasedWithTheStack) {
  create("s", kServerOnPort);
  tick(3s);
  std::string fixed = output("fixed"), floating = output("floating");
  ASSERT_EQ(call("PATCH", href, R"({"parameters":{"fip_on_port":"x"}})", token).status, 202);
  tick(3s);
  EXPECT_EQ(status(), "UPDATE_COMPLETE");
  EXPECT_EQ(output("fixed"), fixed);
  EXPECT_EQ(output("floating"), floating);
  std::string port = output("port");
  ASSERT_NE(sim.nova().port(port), nullptr);
  ASSERT_EQ(call("DELETE", href, "", token).status, 204);
  tick(3s);
  EXPECT_EQ(sim.nova().port(port), nullptr);
}

TEST_F(HeatNetworkTest, ASecondFloatingIpOnThePortFailsAsNeutronRefusesIt) {
  std::string tmpl = std::string(kServerOnPort) + R"(
)";
  // The association comes after `fip` took the port's fixed address.
  tmpl.replace(
      tmpl.find("  server:\n"), 0,
      "  other:\n    type: OS::Neutron::FloatingIP\n    properties: {floating_network: public}\n"
      "  other_association:\n    type: OS::Neutron::FloatingIPAssociation\n"
      "    depends_on: fip\n"
      "    properties:\n      floatingip_id: {get_resource: other}\n"
      "      port_id: {get_resource: port}\n");
  create("s", tmpl);
  tick(3s);
  EXPECT_EQ(status(), "CREATE_FAILED");
  EXPECT_NE(reason().find("Conflict: resources.other_association: Cannot associate floating IP"),
            std::string::npos)
      << reason();
}

TEST_F(HeatNetworkTest, AnAssociationMovesAFloatingIpBetweenPorts) {
  std::string tmpl = R"(heat_template_version: 2018-08-31
resources:
  a: {type: OS::Neutron::Port, properties: {network: private}}
  b: {type: OS::Neutron::Port, properties: {network: private}}
  api_fip: {type: OS::Neutron::FloatingIP, properties: {floating_network: public}}
  association:
    type: OS::Neutron::FloatingIPAssociation
    properties:
      floatingip_id: {get_resource: api_fip}
      port_id: {get_resource: a}
outputs:
  a: {value: {get_resource: a}}
  b: {value: {get_resource: b}}
  on: {value: {get_attr: [api_fip, port_id]}}
  fixed: {value: {get_attr: [api_fip, fixed_ip_address]}}
)";
  create("s", tmpl);
  tick(1s);
  ASSERT_EQ(status(), "CREATE_COMPLETE") << reason();
  std::string a = output("a"), b = output("b");
  EXPECT_EQ(output("on"), a);
  EXPECT_EQ(output("fixed"), sim.nova().port(a)->address);
  tmpl.replace(tmpl.find("port_id: {get_resource: a}"), 26, "port_id: {get_resource: b}");
  ASSERT_EQ(call("PATCH", href, R"({"template":)" + quote(tmpl) + "}", token).status, 202);
  tick(1s);
  EXPECT_EQ(status(), "UPDATE_COMPLETE") << reason();
  EXPECT_EQ(output("on"), b);
  EXPECT_EQ(output("fixed"), sim.nova().port(b)->address);
  EXPECT_EQ(sim.nova().port(a)->floating_ip, "");
}

TEST_F(HeatNetworkTest, LoadBalancerVipValueAndProviderStackIds) {
  const char* member = R"(heat_template_version: 2018-08-31
parameters:
  pool: {type: string}
resources:
  server:
    type: OS::Nova::Server
    properties: {flavor: m1.small, image: fcos}
  member:
    type: OS::Octavia::PoolMember
    properties: {pool: {get_param: pool}, address: 10.0.0.9, protocol_port: 6443}
outputs:
  OS::stack_id: {value: {get_resource: server}}
)";
  const char* tmpl = R"(heat_template_version: 2018-08-31
resources:
  lb: {type: OS::Octavia::LoadBalancer, properties: {vip_subnet: cluster-subnet}}
  listener: {type: OS::Octavia::Listener, properties: {loadbalancer: {get_resource: lb}, protocol: TCP, protocol_port: 6443}}
  pool: {type: OS::Octavia::Pool, properties: {listener: {get_resource: listener}, lb_algorithm: ROUND_ROBIN, protocol: TCP}}
  lb_fip:
    type: OS::Neutron::FloatingIP
    properties: {floating_network: public, port_id: {get_attr: [lb, vip_port_id]}}
  host:
    type: OS::Heat::Value
    properties: {type: string, value: {get_attr: [lb_fip, floating_ip_address]}}
  masters:
    type: OS::Heat::ResourceGroup
    properties:
      count: 2
      resource_def: {type: master.yaml, properties: {pool: {get_resource: pool}}}
outputs:
  vip: {value: {get_attr: [lb, vip_address]}}
  vip_port: {value: {get_attr: [lb, vip_port_id]}}
  fip_port: {value: {get_attr: [lb_fip, port_id]}}
  host: {value: {get_attr: [host, value]}}
  fip: {value: {get_attr: [lb_fip, floating_ip_address]}}
  refs: {value: {get_attr: [masters, refs_map]}}
  first: {value: {get_attr: [masters, resource.0]}}
)";
  create("lb", tmpl, R"({"master.yaml":)" + quote(member) + "}");
  tick(3s);
  ASSERT_EQ(status(), "CREATE_COMPLETE") << reason();
  EXPECT_TRUE(output("vip").starts_with("10.128.")) << output("vip");
  EXPECT_EQ(output("vip_port").size(), 36u);
  EXPECT_EQ(output("fip_port"), output("vip_port"));
  EXPECT_EQ(output("host"), output("fip"));
  // A member's reference is its OS::stack_id output: the Nova server, as Heat gives it.
  Reply refs = call("GET", href + "/outputs/refs", "", token);
  std::string first = str(refs.json["output"]["output_value"]["0"]);
  EXPECT_EQ(output("first"), first);
  EXPECT_TRUE(sim.nova().find(first).has_value()) << first;
  // ... while the member resource's physical id stays its nested stack's.
  Reply resources = call("GET", href + "/resources?nested_depth=1&type=master.yaml", "", token);
  ASSERT_EQ(resources.json["resources"].Size(), 2u) << resources.body;
  EXPECT_NE(str(resources.json["resources"][0]["physical_resource_id"]), first);
}

TEST_F(HeatNetworkTest, HiddenParametersReadBackMasked) {
  const char* tmpl = R"(heat_template_version: 2018-08-31
parameters:
  secret: {type: string, hidden: true}
  plain: {type: string}
resources:
  value: {type: OS::Heat::Value, properties: {value: {get_param: secret}}}
)";
  create("h", tmpl, "{}", R"({"secret":"ca-key","plain":"visible"})");
  const auto shown = show();
  const auto& params = shown.json["stack"]["parameters"];
  EXPECT_EQ(str(params["secret"]), "******");
  EXPECT_EQ(str(params["plain"]), "visible");
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
