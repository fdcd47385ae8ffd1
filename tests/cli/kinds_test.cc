#include "cli/kinds.h"

#include <gtest/gtest.h>

namespace magnumd::cli {
namespace {

TEST(ResolveKind, AcceptsEveryNameCaseInsensitively) {
  for (const char* name : {"cluster", "clusters", "cl", "Cluster", "CLUSTERS", "Cl"}) {
    auto kind = resolveKind(name);
    ASSERT_TRUE(kind.ok()) << name;
    EXPECT_EQ(*kind, api::Kind::Cluster) << name;
  }
  EXPECT_EQ(*resolveKind("ct"), api::Kind::ClusterTemplate);
  EXPECT_EQ(*resolveKind("ClusterTemplates"), api::Kind::ClusterTemplate);
  EXPECT_EQ(*resolveKind("ng"), api::Kind::NodeGroup);
  EXPECT_EQ(*resolveKind("nodegroup"), api::Kind::NodeGroup);
  EXPECT_EQ(*resolveKind("events"), api::Kind::Event);
}

TEST(ResolveKind, UnknownNameListsWhatIsValid) {
  auto kind = resolveKind("pods");
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.error().message.find("\"pods\""), std::string::npos);
  EXPECT_NE(kind.error().message.find("clusters (cl)"), std::string::npos);
  EXPECT_NE(kind.error().message.find("nodegroups (ng)"), std::string::npos);
  EXPECT_FALSE(resolveKind("").ok());
  EXPECT_FALSE(resolveKind("clusterss").ok());
}

TEST(KindRef, IsSingularSlashName) {
  EXPECT_EQ(kindRef(api::Kind::ClusterTemplate, "k8s-small"), "clustertemplate/k8s-small");
  EXPECT_EQ(kindRef(api::Kind::NodeGroup, "big"), "nodegroup/big");
}

}  // namespace
}  // namespace magnumd::cli
