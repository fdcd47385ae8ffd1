#include "cli/manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace magnumd::cli {
namespace {

namespace fs = std::filesystem;

std::string kindOf(const Manifest& m) { return util::stringMember(m.doc, "kind").value_or("?"); }
std::string nameOf(const Manifest& m) {
  return util::stringMember(m.doc["metadata"], "name").value_or("?");
}

TEST(SplitManifests, MultiDocumentYaml) {
  auto ms = splitManifests(R"(
apiVersion: container-infra/v1
kind: Cluster
metadata: {name: prod}
spec: {masterCount: 3}
---
# a comment-only document is skipped
---
apiVersion: container-infra/v1
kind: ClusterTemplate
metadata: {name: k8s-small}
spec: {coe: kubernetes, labels: {kube_tag: "1.28"}}
)",
                           "x.yaml");
  ASSERT_TRUE(ms.ok()) << ms.error().message;
  ASSERT_EQ(ms->size(), 2u);
  EXPECT_EQ((*ms)[0].source, "x.yaml #1");
  EXPECT_EQ(kindOf((*ms)[1]), "ClusterTemplate");
  EXPECT_EQ((*ms)[0].doc["spec"]["masterCount"].GetInt(), 3);
  EXPECT_TRUE((*ms)[1].doc["spec"]["labels"]["kube_tag"].IsString());
}

TEST(SplitManifests, JsonObjectArrayAndList) {
  auto one = splitManifests(R"({"kind":"Cluster","metadata":{"name":"a"}})", "a.json");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].source, "a.json");
  auto array = splitManifests(R"([{"kind":"Cluster","metadata":{"name":"a"}},
                                  {"kind":"NodeGroup","metadata":{"name":"b"}}])",
                              "b.json");
  ASSERT_TRUE(array.ok());
  EXPECT_EQ(array->size(), 2u);
  auto list = splitManifests(
      "kind: List\nitems:\n- {kind: Cluster, metadata: {name: a}}\n"
      "- {kind: Cluster, metadata: {name: b}}\n",
      "l.yaml");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(nameOf((*list)[1]), "b");
}

TEST(SplitManifests, ErrorsNameTheSource) {
  auto bad_yaml = splitManifests("kind: Cluster\n  metadata: [unclosed\n", "broken.yaml");
  ASSERT_FALSE(bad_yaml.ok());
  EXPECT_EQ(bad_yaml.error().message.rfind("broken.yaml: ", 0), 0u) << bad_yaml.error().message;
  auto bad_json = splitManifests("{\"kind\": ", "broken.json");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.error().message.find("broken.json"), std::string::npos);
  auto scalar = splitManifests("just a string\n", "s.yaml");
  ASSERT_FALSE(scalar.ok());
  EXPECT_NE(scalar.error().message.find("expected an object, got string"), std::string::npos);
}

TEST(OrderForApply, TemplatesThenClustersThenNodeGroupsStably) {
  auto ms = splitManifests(R"([
    {"kind":"NodeGroup","metadata":{"name":"ng1"}},
    {"kind":"Cluster","metadata":{"name":"c1"}},
    {"kind":"Widget","metadata":{"name":"w"}},
    {"kind":"ClusterTemplate","metadata":{"name":"t1"}},
    {"kind":"Cluster","metadata":{"name":"c2"}},
    {"kind":"ClusterTemplate","metadata":{"name":"t2"}}])",
                           "all.json");
  ASSERT_TRUE(ms.ok());
  orderForApply(*ms);
  std::vector<std::string> names;
  for (const auto& m : *ms) names.push_back(nameOf(m));
  EXPECT_EQ(names, (std::vector<std::string>{"t1", "t2", "c1", "c2", "ng1", "w"}));
}

class LoadManifests : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("magnumctl-manifests-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

TEST_F(LoadManifests, DirectoryReadsManifestFilesInNameOrder) {
  write("20-cluster.yaml", "kind: Cluster\nmetadata: {name: c}\n");
  write("10-template.yml", "kind: ClusterTemplate\nmetadata: {name: t}\n");
  write("30-ng.json", R"({"kind":"NodeGroup","metadata":{"name":"n"}})");
  write("README.md", "not a manifest");
  std::istringstream in;
  auto ms = loadManifests({dir_.string()}, in);
  ASSERT_TRUE(ms.ok()) << ms.error().message;
  ASSERT_EQ(ms->size(), 3u);
  EXPECT_EQ(nameOf((*ms)[0]), "t");
  EXPECT_EQ(nameOf((*ms)[1]), "c");
  EXPECT_EQ(nameOf((*ms)[2]), "n");
  EXPECT_EQ((*ms)[1].source, (dir_ / "20-cluster.yaml").string());
}

TEST_F(LoadManifests, StdinAndMissingFiles) {
  std::istringstream in("kind: Cluster\nmetadata: {name: from-stdin}\n");
  auto ms = loadManifests({"-"}, in);
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ((*ms)[0].source, "<stdin>");
  EXPECT_EQ(nameOf((*ms)[0]), "from-stdin");
  auto missing = loadManifests({(dir_ / "nope.yaml").string()}, in);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no such file"), std::string::npos);
  auto empty_dir = loadManifests({dir_.string()}, in);
  ASSERT_FALSE(empty_dir.ok());
  EXPECT_NE(empty_dir.error().message.find("no *.yaml"), std::string::npos);
}

TEST_F(LoadManifests, RefusesHugeFiles) {
  write("big.yaml",
        "kind: Cluster\nmetadata: {name: big}\n# " + std::string(kMaxManifestBytes, 'x') + "\n");
  std::istringstream in;
  auto ms = loadManifests({(dir_ / "big.yaml").string()}, in);
  ASSERT_FALSE(ms.ok());
  EXPECT_NE(ms.error().message.find("limit"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::cli
