// validateSpecUpdate: the seed's update table and the template-in-use rule.
#include <gtest/gtest.h>

#include "tests/api/helpers.h"

namespace magnumd::api {
namespace {

using testing::expectInvalid;

std::string admit(Kind kind, std::string_view spec) {
  auto r = admitSpec(kind, spec);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : testing::describe(r.error()));
  return r.ok() ? *r : "{}";
}

TEST(ClusterUpdate, NodeCountAndTemplateMayChange) {
  auto old_spec = admit(Kind::Cluster, R"({"clusterTemplate":"a","nodeCount":1})");
  auto new_spec = admit(Kind::Cluster, R"({"clusterTemplate":"b","nodeCount":8,"paused":true})");
  EXPECT_TRUE(validateSpecUpdate(Kind::Cluster, old_spec, new_spec).ok());
}

TEST(ClusterUpdate, MasterCountIsImmutable) {
  auto old_spec = admit(Kind::Cluster, R"({"clusterTemplate":"a","masterCount":3})");
  auto new_spec = admit(Kind::Cluster, R"({"clusterTemplate":"a","masterCount":5})");
  auto s = validateSpecUpdate(Kind::Cluster, old_spec, new_spec);
  expectInvalid(s, "spec.masterCount", "field is immutable (was 3, now 5)");
  // Omitting it means the default, 1, which is a change too.
  expectInvalid(validateSpecUpdate(Kind::Cluster, old_spec, admit(Kind::Cluster, R"({"clusterTemplate":"a"})")),
                "spec.masterCount");
}

TEST(ClusterUpdate, DiscoveryUrlIsImmutable) {
  auto old_spec = admit(Kind::Cluster, R"({"clusterTemplate":"a"})");
  auto new_spec = admit(Kind::Cluster, R"({"clusterTemplate":"a","discoveryUrl":"https://d.example/x"})");
  expectInvalid(validateSpecUpdate(Kind::Cluster, old_spec, new_spec), "spec.discoveryUrl",
                R"(was unset, now "https://d.example/x")");
}

TEST(ClusterTemplateUpdate, AnythingMayChangeWhenUnused) {
  auto old_spec = admit(Kind::ClusterTemplate, testing::kTemplate);
  auto new_spec = admit(Kind::ClusterTemplate, testing::templateWith(R"("flavor":"m1.large")"));
  EXPECT_TRUE(validateSpecUpdate(Kind::ClusterTemplate, old_spec, new_spec).ok());
}

TEST(ClusterTemplateUpdate, OnlyPublicAndHiddenMayChangeWhileReferenced) {
  auto old_spec = admit(Kind::ClusterTemplate, testing::kTemplate);
  auto published = admit(Kind::ClusterTemplate, testing::templateWith(R"("public":true,"hidden":true)"));
  EXPECT_TRUE(validateSpecUpdate(Kind::ClusterTemplate, old_spec, published, {"demo/prod"}).ok());

  auto changed = admit(Kind::ClusterTemplate,
                       testing::templateWith(R"("flavor":"m1.large","labels":{"kube_tag":"v1.29.0"})"));
  auto s = validateSpecUpdate(Kind::ClusterTemplate, old_spec, changed, {"demo/prod", "demo/staging"});
  expectInvalid(s, "spec.flavor", "clusters demo/prod, demo/staging use this template");
  expectInvalid(s, "spec.labels", "only public and hidden may change");
  EXPECT_EQ(s.error().causes.size(), 2u) << testing::describe(s.error());
}

TEST(NodeGroupUpdate, ClusterAndRoleAreImmutable) {
  auto old_spec = admit(Kind::NodeGroup, R"({"cluster":"prod","nodeCount":1})");
  EXPECT_TRUE(validateSpecUpdate(Kind::NodeGroup, old_spec, admit(Kind::NodeGroup, R"({"cluster":"prod","nodeCount":4})")).ok());
  auto s = validateSpecUpdate(Kind::NodeGroup, old_spec, admit(Kind::NodeGroup, R"({"cluster":"other","role":"gpu"})"));
  expectInvalid(s, "spec.cluster", "immutable");
  expectInvalid(s, "spec.role", "immutable");
}

TEST(SpecUpdate, MalformedInputIsAnErrorNotACrash) {
  EXPECT_FALSE(validateSpecUpdate(Kind::Cluster, "{", "{}").ok());
}

}  // namespace
}  // namespace magnumd::api

namespace magnumd::api {
namespace {

TEST(TemplateReference, MissingPrivateAndPublicTemplates) {
  auto missing = validateTemplateReference("demo", R"({"clusterTemplate":"k8s"})", std::nullopt);
  testing::expectInvalid(missing, "spec.clusterTemplate", R"(ClusterTemplate "k8s" not found in namespace demo)");
  EXPECT_TRUE(validateTemplateReference("demo", R"({"clusterTemplate":"k8s"})", R"({"public":false})").ok());
  testing::expectInvalid(validateTemplateReference("demo", R"({"clusterTemplate":"shared/k8s"})", R"({"public":false})"),
                         "spec.clusterTemplate", "is in namespace shared and not public");
  EXPECT_TRUE(validateTemplateReference("demo", R"({"clusterTemplate":"shared/k8s"})", R"({"public":true})").ok());
}

TEST(TemplateDelete, ConflictNamesTheClusters) {
  EXPECT_TRUE(validateTemplateDelete("k8s", {}).ok());
  auto s = validateTemplateDelete("k8s", {"demo/prod", "demo/dev"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, util::ErrorCode::Conflict);
  EXPECT_EQ(s.error().message,
            R"(ClusterTemplate "k8s" is used by clusters demo/prod, demo/dev; delete them or point them at another template first)");
}

}  // namespace
}  // namespace magnumd::api
