// Each representative node's user_data against its checked-in golden file, then validated by the
// real tools: `cloud-init schema` on the document, `shellcheck` on every script it carries.
// MAGNUMD_UPDATE_GOLDENS=1 rewrites the golden files instead of comparing.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "drivers/coe/kubernetes/bootstrap.h"
#include "tests/coe/kubernetes/fixture.h"
#include "util/json.h"
#include "util/yaml.h"

namespace magnumd::coe::kubernetes {
namespace {

using testing::prodInput;
using testing::readFile;
using testing::testdataPath;

struct Case {
  std::string name;
  BootstrapInput input;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"first-master", prodInput(NodeRole::FirstMaster)});
  out.push_back({"joining-master", prodInput(NodeRole::JoiningMaster)});
  out.push_back({"worker", prodInput(NodeRole::Worker)});
  out.push_back({"master-group", prodInput(NodeRole::Master)});
  Case v1beta3{"first-master-v1beta3-labels", prodInput(NodeRole::FirstMaster)};
  v1beta3.input.labels.insert({{"kube_tag", "v1.30.10"},
                               {"kubelet_options", "--max-pods=200 --v=2"},
                               {"kubeapi_options", "--audit-log-maxage=30"},
                               {"kubecontroller_options", "--node-monitor-grace-period=50s"},
                               {"kubescheduler_options", "--v=3"},
                               {"container_infra_prefix", "registry.example.com/mirror/"},
                               {"availability_zone", "az-1"},
                               {"cloud_provider_enabled", "true"}});
  out.push_back(std::move(v1beta3));
  Case calico{"first-master-calico", prodInput(NodeRole::FirstMaster)};
  calico.input.network_driver = "calico";
  calico.input.labels = {{"calico_ipv4pool", "10.200.0.0/16"},
                         {"calico_ipv4pool_ipip", "Always"},
                         {"container_infra_prefix", "registry.example.com/mirror"}};
  out.push_back(std::move(calico));
  Case proxy{"worker-proxy-registry", prodInput(NodeRole::Worker)};
  proxy.input.http_proxy = "http://proxy.example.com:3128";
  proxy.input.https_proxy = "http://proxy.example.com:3128";
  proxy.input.no_proxy = "internal.example.com";
  proxy.input.insecure_registry = "registry.example.com:5000";
  out.push_back(std::move(proxy));
  return out;
}

bool haveTool(const char* tool) {
  return std::system(fmt::format("command -v {} >/dev/null 2>&1", tool).c_str()) == 0;
}

// Runs `command`; returns its exit status and combined output.
std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::filesystem::path writeTemp(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("magnumd-golden-{}", getpid());
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

class Golden : public ::testing::TestWithParam<size_t> {};

TEST_P(Golden, MatchesTheCheckedInFileAndPassesCloudInitAndShellcheck) {
  const Case c = cases()[GetParam()];
  auto rendered = renderUserData(c.input);
  ASSERT_TRUE(rendered.ok()) << rendered.error().message;
  std::string golden_path = testdataPath("golden/" + c.name + ".yaml");
  if (std::getenv("MAGNUMD_UPDATE_GOLDENS") != nullptr) {
    std::ofstream(golden_path, std::ios::binary) << *rendered;
  }
  EXPECT_EQ(*rendered, readFile(golden_path))
      << "rendered user_data differs from " << golden_path
      << "; if the change is intended, rerun with MAGNUMD_UPDATE_GOLDENS=1 and review the diff";

  // cloud-init renders the "## template: jinja" document first and validates what that yields: the
  // same text without the header line (no Jinja expression is ever rendered; see
  // ValuesThatCloudInitWouldReadAsJinjaAreRefused). cloud-init 22.4's `schema` does not do that
  // step itself, so the test does.
  constexpr std::string_view kJinjaHeader = "## template: jinja\n";
  ASSERT_TRUE(rendered->starts_with(kJinjaHeader));
  auto file = writeTemp(c.name + ".yaml", rendered->substr(kJinjaHeader.size()));
  if (haveTool("cloud-init")) {
    auto [status, output] = run("cloud-init schema --config-file " + file.string());
    EXPECT_EQ(status, 0) << output;
  } else {
    GTEST_LOG_(WARNING)
        << "cloud-init is not installed: schema not checked (scripts/install-deps.sh)";
  }

  auto docs = util::parseYamlDocuments(*rendered);
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  ASSERT_EQ(docs->size(), 1u);
  const util::Json* files = util::member((*docs)[0], "write_files");
  ASSERT_NE(files, nullptr);
  int scripts = 0;
  for (const auto& f : files->GetArray()) {
    std::string content = util::stringMember(f, "content").value_or("");
    if (!content.starts_with("#!")) continue;
    ++scripts;
    std::string path = util::stringMember(f, "path").value_or("");
    EXPECT_EQ(util::stringMember(f, "permissions"), "0750") << path;
    if (!haveTool("shellcheck")) {
      GTEST_LOG_(WARNING) << "shellcheck is not installed: " << path << " not checked";
      continue;
    }
    auto script =
        writeTemp(c.name + "-" + std::filesystem::path(path).filename().string(), content);
    auto [status, output] = run("shellcheck --severity=style " + script.string());
    EXPECT_EQ(status, 0) << path << ":\n" << output;
  }
  EXPECT_GE(scripts, 1);
  std::filesystem::remove_all(file.parent_path());
}

INSTANTIATE_TEST_SUITE_P(Nodes, Golden, ::testing::Range<size_t>(0, cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string name = cases()[info.param].name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace magnumd::coe::kubernetes
