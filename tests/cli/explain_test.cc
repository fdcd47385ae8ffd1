// `magnumctl explain` reads the schema magnumd serves, and docs/api.md's field reference is that
// schema rendered: a FieldDoc changed without regenerating the reference fails here.
#include "cli/explain.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace magnumd::cli {
namespace {

std::string explained(std::string_view target, bool recursive = false) {
  auto text = explain(target, recursive);
  EXPECT_TRUE(text.ok()) << target << ": " << (text.ok() ? "" : text.error().message);
  return text.ok() ? *text : "";
}

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Explain, AFieldShowsItsTypeEnumAndDescription) {
  std::string text = explained("cluster.spec.nodeCount");
  EXPECT_EQ(text,
            "GROUP:      container-infra\nKIND:       Cluster\nVERSION:    v1\n\n"
            "FIELD: nodeCount <integer>\n\n"
            "DESCRIPTION:\n"
            "    Servers in the default-worker node group. From 0 to 10000. Default: 1.\n");
  std::string coe = explained("clustertemplate.spec.coe");
  EXPECT_TRUE(contains(coe, "FIELD: coe <string>\nENUM:\n    kubernetes\n    swarm\n    mesos\n"))
      << coe;
  EXPECT_TRUE(contains(coe, "    Required.\n")) << coe;
}

TEST(Explain, AKindOrRecordListsItsFields) {
  std::string kind = explained("cluster");
  EXPECT_TRUE(contains(kind, "FIELDS:\n  apiVersion\t<string>\n  enum: container-infra/v1\n"))
      << kind;
  EXPECT_TRUE(contains(kind, "  metadata\t<ObjectMeta>\n")) << kind;
  std::string conditions = explained("cluster.status.conditions");
  EXPECT_TRUE(contains(conditions, "FIELD: conditions <[]Object>")) << conditions;
  EXPECT_TRUE(contains(conditions, "  type\t<string> -required-\n")) << conditions;
  EXPECT_TRUE(contains(conditions, "  status\t<string> -required-\n  enum: True, False, Unknown\n"))
      << conditions;
  std::string recursive = explained("nodegroup", true);
  EXPECT_TRUE(contains(recursive, "  spec\t<Object>\n    cluster\t<string> -required-\n"))
      << recursive;
}

TEST(Explain, TakesKindsAsGetDoesAndFollowsReferences) {
  std::string one = explained("cluster.spec");
  EXPECT_EQ(explained("cl.spec"), one);
  EXPECT_EQ(explained("Clusters.spec"), one);
  EXPECT_EQ(explained("clusters.container-infra.spec"), one);
  std::string name = explained("cluster.metadata.name");
  EXPECT_TRUE(contains(name, "FIELD: name <string>")) << name;
  std::string labels = explained("clustertemplates.spec.labels");
  EXPECT_TRUE(contains(labels, "FIELD: labels <map[string]string>")) << labels;
  EXPECT_TRUE(contains(labels, "  flannel_backend\t<string>\n  enum: udp, vxlan, host-gw\n"))
      << labels;
  EXPECT_TRUE(contains(explained("ct.spec.labels.kube_tag"), "FIELD: kube_tag <string>"));
}

TEST(Explain, AnUnknownKindOrFieldIsNamed) {
  auto field = explain("cluster.spec.nodeCont");
  ASSERT_FALSE(field.ok());
  EXPECT_EQ(field.error().message, "field \"nodeCont\" does not exist in cluster.spec");
  auto kind = explain("pods.spec");
  ASSERT_FALSE(kind.ok());
  EXPECT_TRUE(contains(kind.error().message, "unknown resource type \"pods\"")) << kind.error().message;
}

// MAGNUMD_UPDATE_GOLDENS=1 rewrites the block instead of comparing.
TEST(ApiReference, DocsApiMdCarriesTheCurrentFieldReference) {
  std::filesystem::path file = std::filesystem::path(MAGNUMD_SOURCE_DIR) / "docs" / "api.md";
  std::ifstream in(file);
  ASSERT_TRUE(in) << file;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  size_t begin = text.find(kReferenceBegin);
  size_t end = text.find(kReferenceEnd);
  ASSERT_NE(begin, std::string::npos) << "docs/api.md lacks the marker: " << kReferenceBegin;
  ASSERT_NE(end, std::string::npos) << "docs/api.md lacks the marker: " << kReferenceEnd;
  end = text.find('\n', end) + 1;
  std::string current = text.substr(begin, end - begin);
  std::string wanted = fieldReference();
  if (std::getenv("MAGNUMD_UPDATE_GOLDENS") != nullptr) {
    std::ofstream(file) << text.substr(0, begin) << wanted << text.substr(end);
    return;
  }
  EXPECT_EQ(current, wanted)
      << "docs/api.md's field reference is stale; rerun this test with MAGNUMD_UPDATE_GOLDENS=1 "
         "and review the diff";
}

}  // namespace
}  // namespace magnumd::cli
