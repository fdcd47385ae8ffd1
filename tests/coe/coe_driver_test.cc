#include "drivers/coe/coe_driver.h"

#include <gtest/gtest.h>

#include "util/yaml.h"

namespace magnumd::coe {
namespace {

ClusterShape prodCluster() {
  ClusterShape c;
  c.name = "prod";
  c.namespace_ = "demo";
  c.uid = "4f9a1c2e-1111-4222-8333-444455556666";
  c.coe = "kubernetes";
  c.keypair = "demo-key";
  c.external_network = "public";
  c.dns_nameserver = "8.8.8.8";
  c.network_driver = "flannel";
  c.labels = {{"kube_tag", "v1.28.2"}};
  c.node_groups = {{"default-master", "master", 1, "m1.medium", "fcos", 0, {}, {}},
                   {"default-worker", "worker", 3, "m1.small", "fcos", 0, {"1"}, {}}};
  return c;
}

const util::Json& at(const util::Json& v, std::initializer_list<const char*> path) {
  const util::Json* cur = &v;
  for (const char* p : path) {
    const util::Json* next = util::member(*cur, p);
    EXPECT_NE(next, nullptr) << "missing " << p;
    if (next == nullptr) return v;
    cur = next;
  }
  return *cur;
}

TEST(CoeDriver, RendersOneResourceGroupPerNodeGroupWithParameters) {
  auto driver = makeCoeDriver("kubernetes");
  ASSERT_NE(driver, nullptr);
  StackDefinition def = driver->render(prodCluster(), 45);
  EXPECT_EQ(def.name, "prod-4f9a1c2e1111");
  EXPECT_EQ(def.timeout_mins, 45);
  EXPECT_EQ(def.tags, (std::vector<std::string>{"magnumd", "magnumd-cluster=" + prodCluster().uid}));
  EXPECT_EQ(def.parameters.at("ng_default_worker_count"), "3");
  EXPECT_EQ(def.parameters.at("ng_default_worker_removal_list"), "1");
  EXPECT_EQ(def.parameters.at("ng_default_master_flavor"), "m1.medium");
  EXPECT_EQ(def.parameters.at("coe_version"), "v1.28.2");

  auto docs = util::parseYamlDocuments(def.template_text);
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  const util::Json& hot = (*docs)[0];
  EXPECT_EQ(util::toJson(at(hot, {"resources", "ng_default_worker", "type"})), "\"OS::Heat::ResourceGroup\"");
  EXPECT_EQ(util::toJson(at(hot, {"resources", "ng_default_worker", "properties", "count"})),
            R"({"get_param":"ng_default_worker_count"})");
  EXPECT_EQ(util::toJson(at(hot, {"resources", "ng_default_worker", "properties", "resource_def",
                                  "properties", "name"})),
            "\"prod-default-worker-%index%\"");
  EXPECT_EQ(util::toJson(at(hot, {"resources", "ng_default_worker", "properties", "resource_def",
                                  "properties", "metadata", "magnumd_nodegroup"})),
            "\"default-worker\"");
  // Every parameter the template declares is supplied, and nothing more.
  const util::Json& params = at(hot, {"parameters"});
  EXPECT_EQ(params.MemberCount(), def.parameters.size());
  for (const auto& [name, value] : def.parameters) EXPECT_TRUE(params.HasMember(name.c_str())) << name;
}

TEST(CoeDriver, RenderIsDeterministic) {
  auto driver = makeCoeDriver("kubernetes");
  EXPECT_EQ(driver->render(prodCluster(), 60).template_text, driver->render(prodCluster(), 60).template_text);
}

TEST(CoeDriver, ExistingNetworkSkipsPrivateNetwork) {
  auto c = prodCluster();
  c.fixed_network = "shared-net";
  auto def = makeCoeDriver("kubernetes")->render(c, 60);
  EXPECT_EQ(def.template_text.find("OS::Neutron::Net"), std::string::npos);
  EXPECT_NE(def.template_text.find("shared-net"), std::string::npos);
}

TEST(CoeDriver, EndpointsFromOutputs) {
  auto driver = makeCoeDriver("kubernetes");
  auto c = prodCluster();
  auto e = driver->endpoints(c, {{"api_address", "\"10.0.0.5\""},
                                 {"ng_default_master_addresses", "[\"10.0.0.5\"]"},
                                 {"ng_default_worker_addresses", "[\"10.0.0.6\",\"10.0.0.7\"]"}});
  EXPECT_EQ(e.api_address, "https://10.0.0.5:6443");
  EXPECT_EQ(e.master_addresses, (std::vector<std::string>{"10.0.0.5"}));
  EXPECT_EQ(e.node_addresses, (std::vector<std::string>{"10.0.0.6", "10.0.0.7"}));
  EXPECT_EQ(e.coe_version, "v1.28.2");
  c.tls_disabled = true;
  EXPECT_EQ(driver->endpoints(c, {{"api_address", "\"10.0.0.5\""}}).api_address, "http://10.0.0.5:8080");
  // Malformed or missing outputs leave fields empty rather than failing.
  EXPECT_EQ(driver->endpoints(c, {{"api_address", "not json"}}).api_address, "");
}

TEST(CoeDriver, UnknownCoe) { EXPECT_EQ(makeCoeDriver("nomad"), nullptr); }

TEST(CoeDriver, Names) {
  EXPECT_EQ(stackNameFor("My_Cluster", "abcd-ef"), "my-cluster-abcdef");
  EXPECT_EQ(groupResourceName("big-workers"), "ng_big_workers");
  EXPECT_EQ(memberIndexOf("prod-default-worker-12"), "12");
  EXPECT_EQ(memberIndexOf("prod-default-worker-x"), std::nullopt);
  EXPECT_EQ(memberIndexOf("nodash"), std::nullopt);
}

}  // namespace
}  // namespace magnumd::coe
