// The rendered stack of representative clusters against checked-in golden files (the top-level
// template, each node group's provider template, the parameters), each file parsed by cloudsim's
// HOT parser. MAGNUMD_UPDATE_GOLDENS=1 rewrites the golden files instead of comparing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cloudsim/hot.h"
#include "tests/coe/shape_fixture.h"
#include "util/json.h"

namespace magnumd::coe {
namespace {

using testing::prodCluster;
using testing::readFile;
using testing::setLabel;

struct Case {
  std::string name;
  ClusterShape shape;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"prod-floating-ip", prodCluster()});

  // Three masters behind Octavia with a floating IP, calico, every volume, a zone, user_data.
  Case ha{"ha-load-balancer-calico-volumes", prodCluster()};
  ha.shape.master_lb_enabled = true;
  ha.shape.network_driver = "calico";
  ha.shape.node_groups[0].node_count = 3;
  for (auto& ng : ha.shape.node_groups) {
    ng.docker_volume_size = 20;
    ng.user_data = "#cloud-config\n# " + ng.name + " %index% __MAGNUMD_API_HOST__\n";
  }
  setLabel(ha.shape, "master_lb_allowed_cidrs", "192.0.2.0/24,198.51.100.0/24");
  setLabel(ha.shape, "calico_ipv4pool", "10.200.0.0/16");
  setLabel(ha.shape, "docker_volume_type", "ssd");
  setLabel(ha.shape, "etcd_volume_size", "10");
  setLabel(ha.shape, "etcd_volume_type", "fast");
  setLabel(ha.shape, "boot_volume_size", "40");
  setLabel(ha.shape, "boot_volume_type", "standard");
  setLabel(ha.shape, "availability_zone", "az-1");
  out.push_back(std::move(ha));

  // One master on an existing network, no floating IPs, no load balancer: the API is the master's
  // own address.
  Case lan{"existing-network-no-floating-ip", prodCluster()};
  lan.shape.fixed_network = "lan";
  lan.shape.fixed_subnet = "lan-subnet";
  lan.shape.floating_ip_enabled = false;
  for (auto& ng : lan.shape.node_groups) ng.user_data = "#cloud-config\n";
  out.push_back(std::move(lan));

  Case swarm{"swarm", prodCluster()};
  swarm.shape.coe = "swarm";
  swarm.shape.network_driver = "docker";
  out.push_back(std::move(swarm));
  return out;
}

std::string goldenDir(const std::string& name) {
  return std::string(MAGNUMD_COE_TESTDATA) + "/golden/" + name;
}

// One file per rendered document, so a reviewer reads them like Magnum's templates.
std::map<std::string, std::string> documents(const StackDefinition& def) {
  std::map<std::string, std::string> out = def.files;
  out["cluster.yaml"] = def.template_text;
  std::string params;
  for (const auto& [k, v] : def.parameters)
    params += k + "=" + util::toJson(util::Json(rapidjson::StringRef(v.data(), v.size()))) + "\n";
  out["parameters.txt"] = params;
  return out;
}

// "line 12: rendered `...` / golden `...`"
std::string firstDifference(const std::string& rendered, const std::string& golden) {
  std::istringstream a(rendered), b(golden);
  std::string x, y;
  for (int line = 1;; ++line) {
    bool more_a = static_cast<bool>(std::getline(a, x));
    bool more_b = static_cast<bool>(std::getline(b, y));
    if (!more_a && !more_b) return "the end";
    if (!more_a || !more_b || x != y) {
      return "line " + std::to_string(line) + ": rendered `" + (more_a ? x : "<end>") +
             "` / golden `" + (more_b ? y : "<end>") + "`";
    }
  }
}

class StackGolden : public ::testing::TestWithParam<size_t> {};

TEST_P(StackGolden, MatchesTheCheckedInFilesAndParsesAsHot) {
  const Case c = cases()[GetParam()];
  auto driver = makeCoeDriver(c.shape.coe);
  ASSERT_NE(driver, nullptr);
  auto def = driver->render(c.shape, 60);
  ASSERT_TRUE(def.ok()) << def.error().message;
  const auto docs = documents(*def);
  const std::string dir = goldenDir(c.name);
  if (std::getenv("MAGNUMD_UPDATE_GOLDENS") != nullptr) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    for (const auto& [name, text] : docs) std::ofstream(dir + "/" + name, std::ios::binary) << text;
  }
  std::set<std::string> checked_in;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    checked_in.insert(entry.path().filename().string());
  }
  std::set<std::string> rendered;
  for (const auto& [name, text] : docs) {
    rendered.insert(name);
    std::string golden = readFile(dir + "/" + name);
    EXPECT_TRUE(text == golden)
        << name << " differs from " << dir << " at " << firstDifference(text, golden)
        << "; if the change is intended, rerun with MAGNUMD_UPDATE_GOLDENS=1 and review the diff";
    if (name.ends_with(".yaml")) {
      auto parsed = cloudsim::parseTemplateText(text);
      EXPECT_TRUE(parsed.ok()) << name << ": " << parsed.error().message;
    }
  }
  EXPECT_EQ(rendered, checked_in);
}

INSTANTIATE_TEST_SUITE_P(Clusters, StackGolden, ::testing::Range<size_t>(0, cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string name = cases()[info.param].name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace magnumd::coe
