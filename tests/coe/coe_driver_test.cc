#include "drivers/coe/coe_driver.h"

#include <gtest/gtest.h>

#include "tests/coe/shape_fixture.h"
#include "util/yaml.h"

namespace magnumd::coe {
namespace {

using testing::prodCluster;

util::JsonDoc parse(const std::string& text) {
  auto docs = util::parseYamlDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.error().message;
  if (!docs.ok() || docs->empty()) return {};
  return std::move((*docs)[0]);
}

const util::Json& at(const util::Json& v, std::initializer_list<const char*> path) {
  const util::Json* cur = &v;
  for (const char* p : path) {
    const util::Json* next = cur->IsObject() ? util::member(*cur, p) : nullptr;
    EXPECT_NE(next, nullptr) << "missing " << p;
    if (next == nullptr) return v;
    cur = next;
  }
  return *cur;
}

StackDefinition render(const ClusterShape& c, int64_t timeout = 60) {
  auto def = makeCoeDriver(c.coe)->render(c, timeout);
  EXPECT_TRUE(def.ok()) << def.error().message;
  return def.ok() ? std::move(*def) : StackDefinition{};
}

TEST(CoeDriver, RendersOneResourceGroupPerNodeGroupOfItsProviderTemplate) {
  StackDefinition def = render(prodCluster(), 45);
  EXPECT_EQ(def.name, "prod-4f9a1c2e1111");
  EXPECT_EQ(def.timeout_mins, 45);
  EXPECT_EQ(def.tags, (std::vector<std::string>{"magnumd", "magnumd-cluster=" + prodCluster().uid}));
  EXPECT_EQ(def.parameters.at("ng_default_worker_count"), "3");
  EXPECT_EQ(def.parameters.at("ng_default_worker_removal_list"), "1");
  EXPECT_EQ(def.parameters.at("ng_default_master_flavor"), "m1.medium");
  EXPECT_EQ(def.parameters.at("coe_version"), "v1.28.2");

  auto hot = parse(def.template_text);
  const auto& group = at(hot, {"resources", "ng_default_worker"});
  EXPECT_EQ(util::toJson(at(group, {"type"})), "\"OS::Heat::ResourceGroup\"");
  EXPECT_EQ(util::toJson(at(group, {"properties", "count"})),
            R"({"get_param":"ng_default_worker_count"})");
  EXPECT_EQ(util::toJson(at(group, {"properties", "removal_policies"})),
            R"([{"resource_list":{"get_param":"ng_default_worker_removal_list"}}])");
  EXPECT_EQ(util::toJson(at(group, {"properties", "resource_def", "type"})),
            "\"ng_default_worker.yaml\"");
  EXPECT_EQ(util::toJson(at(group, {"properties", "resource_def", "properties", "name"})),
            "\"prod-default-worker-%index%\"");
  EXPECT_EQ(util::toJson(at(group, {"properties", "resource_def", "properties", "nodegroup"})),
            "\"default-worker\"");
  EXPECT_EQ(util::toJson(at(hot, {"outputs", "ng_default_worker_servers", "value"})),
            R"({"get_attr":["ng_default_worker","refs_map"]})");
  EXPECT_EQ(util::toJson(at(hot, {"outputs", "ng_default_worker_addresses", "value"})),
            R"({"get_attr":["ng_default_worker","address"]})");

  // Each group's provider template: the server carries the metadata observation maps it by.
  ASSERT_EQ(def.files.size(), 2u);
  auto worker = parse(def.files.at("ng_default_worker.yaml"));
  const auto& metadata = at(worker, {"resources", "server", "properties", "metadata"});
  EXPECT_EQ(
      util::toJson(metadata),
      R"({"magnumd_cluster_uid":{"get_param":"cluster_uid"},)"
      R"("magnumd_nodegroup":{"get_param":"nodegroup"},"magnumd_role":{"get_param":"role"}})");
  EXPECT_EQ(util::toJson(at(worker, {"resources", "server", "properties", "tags"})),
            R"(["magnumd"])");
  EXPECT_EQ(util::toJson(at(worker, {"outputs", "OS::stack_id", "value"})),
            R"({"get_resource":"server"})");
  auto master = parse(def.files.at("ng_default_master.yaml"));
  EXPECT_EQ(util::toJson(at(master, {"resources", "server", "type"})), "\"OS::Nova::Server\"");

  // Every parameter the template declares is supplied, and nothing more.
  const util::Json& params = at(hot, {"parameters"});
  EXPECT_EQ(params.MemberCount(), def.parameters.size());
  for (const auto& [name, value] : def.parameters) EXPECT_TRUE(params.HasMember(name.c_str())) << name;
}

TEST(CoeDriver, RenderIsDeterministic) {
  auto a = render(prodCluster());
  auto b = render(prodCluster());
  EXPECT_EQ(a.template_text, b.template_text);
  EXPECT_EQ(a.files, b.files);
  EXPECT_EQ(a.parameters, b.parameters);
}

TEST(CoeDriver, ExistingNetworkSkipsPrivateNetwork) {
  auto c = prodCluster();
  c.fixed_network = "shared-net";
  c.fixed_subnet = "shared-subnet";
  auto def = render(c);
  EXPECT_EQ(def.template_text.find("OS::Neutron::Net"), std::string::npos);
  EXPECT_EQ(def.parameters.at("fixed_network"), "shared-net");
  EXPECT_EQ(def.parameters.at("fixed_subnet"), "shared-subnet");
  EXPECT_EQ(def.parameters.count("fixed_subnet_cidr"), 0u);
  auto hot = parse(def.template_text);
  EXPECT_EQ(util::toJson(at(hot, {"resources", "ng_default_worker", "properties", "resource_def",
                                  "properties", "fixed_network"})),
            R"({"get_param":"fixed_network"})");
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

TEST(CoeDriver, AnApiAddressThatIsAlreadyAUrlIsTakenAsItIs) {
  auto driver = makeCoeDriver("kubernetes");
  auto e = driver->endpoints(prodCluster(), {{"api_address", "\"https://127.0.0.1:40123\""}});
  EXPECT_EQ(e.api_address, "https://127.0.0.1:40123");
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
