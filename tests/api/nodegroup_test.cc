// NodeGroup: counts, role, references, nodesToRemove, create-only rules and resolution.
#include "api/nodegroup.h"

#include <gtest/gtest.h>

#include "tests/api/helpers.h"

namespace magnumd::api {
namespace {

using testing::admitted;
using testing::expectInvalid;

std::string ng(std::string_view extra = "") {
  std::string s = R"({"cluster":"prod")";
  if (!extra.empty()) s += "," + std::string(extra);
  return s + "}";
}

TEST(NodeGroupDefaults, RoleWorkerOneNodeMinZero) {
  auto doc = admitted(Kind::NodeGroup, ng());
  EXPECT_EQ(util::stringMember(doc, "role"), "worker");
  EXPECT_EQ(util::intMember(doc, "nodeCount"), 1);
  EXPECT_EQ(util::intMember(doc, "minNodeCount"), 0);
  EXPECT_EQ(util::member(doc, "maxNodeCount"), nullptr);
}

TEST(NodeGroupValidation, ClusterIsRequired) {
  expectInvalid(admitSpec(Kind::NodeGroup, "{}"), "spec.cluster", "required");
  expectInvalid(admitSpec(Kind::NodeGroup, R"({"cluster":"ns/prod"})"), "spec.cluster", "DNS-1123");
}

TEST(NodeGroupValidation, MinNodeCountNotAboveNodeCountNotAboveMax) {
  EXPECT_TRUE(admitSpec(Kind::NodeGroup, ng(R"("nodeCount":2,"minNodeCount":1,"maxNodeCount":10)")).ok());
  EXPECT_TRUE(admitSpec(Kind::NodeGroup, ng(R"("nodeCount":1,"minNodeCount":1,"maxNodeCount":1)")).ok());
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeCount":0,"minNodeCount":1)")), "spec.nodeCount",
                "0 is less than minNodeCount 1");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeCount":11,"maxNodeCount":10)")), "spec.nodeCount",
                "11 is greater than maxNodeCount 10");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeCount":3,"minNodeCount":5,"maxNodeCount":4)")),
                "spec.minNodeCount", "greater than maxNodeCount 4");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeCount":-1)")), "spec.nodeCount");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("minNodeCount":-1)")), "spec.minNodeCount");
}

TEST(NodeGroupValidation, MasterGroupsHaveOddCounts) {
  EXPECT_TRUE(admitSpec(Kind::NodeGroup, ng(R"("role":"master","nodeCount":3)")).ok());
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("role":"master","nodeCount":2)")), "spec.nodeCount", "not odd");
}

TEST(NodeGroupValidation, RoleSyntax) {
  EXPECT_TRUE(admitSpec(Kind::NodeGroup, ng(R"("role":"gpu-workers")")).ok());
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("role":"GPU workers")")), "spec.role", "DNS-1123");
}

TEST(NodeGroupValidation, NodesToRemove) {
  EXPECT_TRUE(admitSpec(Kind::NodeGroup, ng(R"("nodesToRemove":["prod-worker-1","0c5e7a"])")).ok());
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodesToRemove":["a","a"])")), "spec.nodesToRemove[1]", "twice");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodesToRemove":[""])")), "spec.nodesToRemove[0]", "empty");
  auto r = admitSpec(Kind::NodeGroup, ng(R"("nodesToRemove":["a",3])"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::BadRequest);
  EXPECT_EQ(testing::causeAt(r.error(), "spec.nodesToRemove[1]"), "must be a string, got integer");
}

TEST(NodeGroupValidation, NodeLabelsAndTaintsAsTheKubeletTakesThem) {
  auto doc = admitted(Kind::NodeGroup,
                      ng(R"("nodeLabels":{"gpu":"a100","node.kubernetes.io/pool":"gpu",)"
                         R"("topology.kubernetes.io/zone":"az1"},)"
                         R"("nodeTaints":[{"key":"gpu","value":"true","effect":"NoSchedule"},)"
                         R"({"key":"dedicated","effect":"NoExecute"}])"));
  ASSERT_NE(util::member(doc, "nodeTaints"), nullptr);
  EXPECT_EQ(util::stringMember((*util::member(doc, "nodeTaints"))[0], "value"), "true");
  EXPECT_EQ(util::member((*util::member(doc, "nodeTaints"))[1], "value"), nullptr);  // none
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeLabels":{"kubernetes.io/role":"x"})")),
                "spec.nodeLabels[\"kubernetes.io/role\"]", "kubelet would refuse to start");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeLabels":{"x.k8s.io/y":"x"})")),
                "spec.nodeLabels[\"x.k8s.io/y\"]", "restricted");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeLabels":{"magnum.openstack.org/role":"x"})")),
                "spec.nodeLabels[\"magnum.openstack.org/role\"]", "set by magnumd");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeLabels":{"a b":"x"})")),
                "spec.nodeLabels[\"a b\"]", "key");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeLabels":{"a":"x y"})")),
                "spec.nodeLabels[\"a\"]");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeTaints":[{"key":"gpu","effect":"NoWay"}])")),
                "spec.nodeTaints[0].effect",
                "is not one of NoSchedule, PreferNoSchedule, NoExecute");
  expectInvalid(
      admitSpec(Kind::NodeGroup, ng(R"("nodeTaints":[{"key":"","effect":"NoSchedule"}])")),
      "spec.nodeTaints[0].key", "required");
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("nodeTaints":[{"key":"a","effect":"NoSchedule"},)"
                                              R"({"key":"a","value":"b","effect":"NoSchedule"}])")),
                "spec.nodeTaints[1]", "already listed");
  expectInvalid(
      admitSpec(Kind::NodeGroup, ng(R"("role":"master","nodeCount":1,"nodeLabels":{"a":"b"})")),
      "spec.nodeLabels", "master");
  expectInvalid(
      admitSpec(Kind::NodeGroup, ng(R"("role":"master","nodeCount":1,)"
                                    R"("nodeTaints":[{"key":"a","effect":"NoSchedule"}])")),
      "spec.nodeTaints", "master");
}

TEST(NodeGroupValidation, DockerVolumeSizeWithTemplate) {
  auto tmpl = admitSpec(Kind::ClusterTemplate, testing::kTemplate);
  ASSERT_TRUE(tmpl.ok());
  expectInvalid(admitSpec(Kind::NodeGroup, ng(R"("dockerVolumeSize":1)"), *tmpl), "spec.dockerVolumeSize",
                "devicemapper");
  EXPECT_TRUE(admitSpec(Kind::NodeGroup, ng(R"("dockerVolumeSize":3)"), *tmpl).ok());
}

TEST(NodeGroupCreate, MasterRoleAndDefaultNamesAreReservedForMagnumd) {
  ObjectMeta meta;
  meta.name = "extra";
  EXPECT_TRUE(validateCreate(Kind::NodeGroup, meta, ng()).ok());
  auto r = validateCreate(Kind::NodeGroup, meta, ng(R"("role":"master")"));
  expectInvalid(r, "spec.role", "reserved");
  meta.name = "default-worker";
  expectInvalid(validateCreate(Kind::NodeGroup, meta, ng()), "metadata.name", "reserved");
  EXPECT_TRUE(validateCreate(Kind::Cluster, meta, "{}").ok());
}

TEST(NodeGroupResolve, NodeGroupValuesThenClusterValues) {
  ClusterConfig c;
  c.image = "fcos";
  c.flavor = "m1.small";
  c.master_flavor = "m1.medium";
  c.docker_volume_size = 5;
  c.labels = {{"a", "1"}, {"b", "2"}};
  NodeGroupSpec worker;
  worker.flavor = "m1.large";
  worker.labels = {{"b", "3"}};
  auto w = resolveNodeGroup(c, worker);
  EXPECT_EQ(w.flavor, "m1.large");
  EXPECT_EQ(w.image, "fcos");
  EXPECT_EQ(w.docker_volume_size, 5);
  EXPECT_EQ(w.labels, (StringMap{{"b", "3"}}));
  worker.merge_labels = true;
  EXPECT_EQ(resolveNodeGroup(c, worker).labels, (StringMap{{"a", "1"}, {"b", "3"}}));
  NodeGroupSpec master;
  master.role = "master";
  EXPECT_EQ(resolveNodeGroup(c, master).flavor, "m1.medium");
}

TEST(NodeGroupResolve, ClusterOfNodeGroup) {
  EXPECT_EQ(clusterOfNodeGroup(R"({"cluster":"prod"})"), "prod");
  EXPECT_EQ(clusterOfNodeGroup("[]"), "");
}

}  // namespace
}  // namespace magnumd::api
