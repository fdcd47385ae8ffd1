// Cluster: defaults, field rules, template-dependent rules and the resolved configuration.
#include "api/cluster.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/api/helpers.h"

namespace magnumd::api {
namespace {

using testing::admitted;
using testing::expectInvalid;

std::string cluster(std::string_view extra = "") {
  std::string s = R"({"clusterTemplate":"k8s")";
  if (!extra.empty()) s += "," + std::string(extra);
  return s + "}";
}

std::string canonicalTemplate(std::string_view spec = testing::kTemplate) {
  auto r = admitSpec(Kind::ClusterTemplate, spec);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : "";
}

TEST(ClusterDefaults, SeedDefaults) {
  auto doc = admitted(Kind::Cluster, cluster());
  EXPECT_EQ(util::intMember(doc, "nodeCount"), 1);
  EXPECT_EQ(util::intMember(doc, "masterCount"), 1);
  EXPECT_EQ(util::intMember(doc, "createTimeout"), 60);
  EXPECT_EQ(util::stringMember(doc, "nodeStartupTimeout"), "10m")
      << "Cluster API's default, stored";
  EXPECT_EQ(util::boolMember(doc, "paused"), false);
  EXPECT_EQ(util::member(doc, "masterLbEnabled"), nullptr) << "unset: inherited from the template";
}

TEST(ClusterValidation, TemplateReferenceIsRequiredAndWellFormed) {
  expectInvalid(admitSpec(Kind::Cluster, "{}"), "spec.clusterTemplate", "required");
  EXPECT_TRUE(admitSpec(Kind::Cluster, R"({"clusterTemplate":"shared/k8s"})").ok());
  expectInvalid(admitSpec(Kind::Cluster, R"({"clusterTemplate":"K8s"})"), "spec.clusterTemplate", "DNS-1123");
  expectInvalid(admitSpec(Kind::Cluster, R"({"clusterTemplate":"a/b/c"})"), "spec.clusterTemplate", "name part");
  expectInvalid(admitSpec(Kind::Cluster, R"({"clusterTemplate":"/k8s"})"), "spec.clusterTemplate", "namespace part");
}

TEST(ClusterValidation, MasterCountIsOddAndPositive) {
  for (int n : {1, 3, 5}) EXPECT_TRUE(admitSpec(Kind::Cluster, cluster("\"masterCount\":" + std::to_string(n))).ok());
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("masterCount":2)")), "spec.masterCount", "2 is even");
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("masterCount":0)")), "spec.masterCount", "not between 1");
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("masterCount":-3)")), "spec.masterCount");
}

TEST(ClusterValidation, NodeCountIsNotNegative) {
  EXPECT_TRUE(admitSpec(Kind::Cluster, cluster(R"("nodeCount":0)")).ok());
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("nodeCount":-1)")), "spec.nodeCount", "-1 is not between 0");
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("nodeCount":1000000)")), "spec.nodeCount");
}

TEST(ClusterValidation, CreateTimeoutIsPositiveMinutes) {
  EXPECT_TRUE(admitSpec(Kind::Cluster, cluster(R"("createTimeout":120)")).ok());
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("createTimeout":0)")), "spec.createTimeout", "minutes");
}

TEST(ClusterValidation, HealthCheckFieldsNameWhatIsValid) {
  auto admitted = admitSpec(
      Kind::Cluster,
      cluster(R"("healthCheck":{"enabled":true,"maxUnhealthy":"2","unhealthyTimeout":"0"})"));
  ASSERT_TRUE(admitted.ok()) << admitted.error().message;
  auto spec = decodeClusterSpec(*admitted);
  ASSERT_TRUE(spec.ok());
  ASSERT_TRUE(spec->health_check.has_value());
  EXPECT_EQ(spec->health_check->min_healthy_period, "1h") << "unset fields take the defaults";
  auto options = healthCheckOptionsOf(*spec->health_check);
  EXPECT_EQ(options.unhealthy_timeout.count(), 0);
  EXPECT_EQ(options.max_unhealthy.scaled(10), 2);

  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("healthCheck":{"maxUnhealthy":"140%"})")),
                "spec.healthCheck.maxUnhealthy",
                R"("140%" is not an integer of at least 0 or a percentage from 0% to 100%, such as 2 or 40%)");
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("healthCheck":{"unhealthyTimeout":"soon"})")),
                "spec.healthCheck.unhealthyTimeout", "is not a duration");
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("healthCheck":{"nodeDrainTimeout":"31d"})")),
                "spec.healthCheck.nodeDrainTimeout", "out of range");
  expectInvalid(
      admitSpec(Kind::Cluster, cluster(R"("healthCheck":{"maxRemediationsPerHour":-1})")),
      "spec.healthCheck.maxRemediationsPerHour", "not between 0 and 1000");
  auto typo = admitSpec(Kind::Cluster, cluster(R"("healthCheck":{"maxUnhealty":"1"})"));
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find(
                R"(spec.healthCheck: unknown field "maxUnhealty"; valid fields of spec.healthCheck: enabled, unhealthyTimeout, maxUnhealthy)"),
            std::string::npos)
      << typo.error().message;
}

TEST(ClusterValidation, NodeStartupTimeoutIsADurationOfAtLeast30sOrZero) {
  for (const char* ok : {"10m", "30s", "1h30m", "7d", "0", "90s"}) {
    auto admitted =
        admitSpec(Kind::Cluster, cluster(fmt::format(R"("nodeStartupTimeout":"{}")", ok)));
    EXPECT_TRUE(admitted.ok()) << ok;
  }
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("nodeStartupTimeout":"ten minutes")")),
                "spec.nodeStartupTimeout",
                R"("ten minutes" is not a duration: use a duration such as 10m)");
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("nodeStartupTimeout":"600")")),
                "spec.nodeStartupTimeout", "is not a duration");
  expectInvalid(
      admitSpec(Kind::Cluster, cluster(R"("nodeStartupTimeout":"10s")")), "spec.nodeStartupTimeout",
      R"("10s" is out of range: use a duration such as 10m, 90s or 1h30m, at least 30s and at most 7d; 0 waits without a limit)");
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("nodeStartupTimeout":"8d")")),
                "spec.nodeStartupTimeout", "out of range");
  auto number = admitSpec(Kind::Cluster, cluster(R"("nodeStartupTimeout":600)"));
  ASSERT_FALSE(number.ok());
  EXPECT_NE(number.error().message.find("spec.nodeStartupTimeout"), std::string::npos)
      << number.error().message;

  ClusterSpec spec;
  EXPECT_EQ(nodeStartupTimeoutOf(spec), std::chrono::minutes(10));
  spec.node_startup_timeout = "0";
  EXPECT_EQ(nodeStartupTimeoutOf(spec).count(), 0);
  spec.node_startup_timeout = "2m30s";
  EXPECT_EQ(nodeStartupTimeoutOf(spec), std::chrono::seconds(150));
}

TEST(ClusterValidation, DiscoveryUrl) {
  EXPECT_TRUE(admitSpec(Kind::Cluster, cluster(R"("discoveryUrl":"https://discovery.etcd.io/abc")")).ok());
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("discoveryUrl":"discovery.etcd.io")")), "spec.discoveryUrl",
                "http:// or https://");
}

TEST(ClusterValidation, DockerVolumeSizeUsesTheTemplateStorageDriver) {
  EXPECT_TRUE(admitSpec(Kind::Cluster, cluster(R"("dockerVolumeSize":2)")).ok()) << "without the template: ≥ 1";
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("dockerVolumeSize":2)"), canonicalTemplate()),
                "spec.dockerVolumeSize", "devicemapper");
  std::string overlay = canonicalTemplate(testing::templateWith(R"("dockerStorageDriver":"overlay2")"));
  EXPECT_TRUE(admitSpec(Kind::Cluster, cluster(R"("dockerVolumeSize":2)"), overlay).ok());
}

// Decoded templates are kept per thread by their text: each admission must still see the
// template it is given, whichever were seen before and however many.
TEST(ClusterValidation, EachAdmissionSeesTheTemplateItIsGiven) {
  const std::string spec = cluster(R"("dockerVolumeSize":2)");
  const std::string devicemapper = canonicalTemplate();
  const std::string overlay =
      canonicalTemplate(testing::templateWith(R"("dockerStorageDriver":"overlay2")"));
  for (int round = 0; round < 3; ++round) {
    expectInvalid(admitSpec(Kind::Cluster, spec, devicemapper), "spec.dockerVolumeSize",
                  "devicemapper");
    EXPECT_TRUE(admitSpec(Kind::Cluster, spec, overlay).ok()) << "round " << round;
  }
  for (int i = 0; i < 20; ++i) {  // more distinct templates than are kept
    std::string other = canonicalTemplate(testing::templateWith(
        fmt::format(R"("dockerStorageDriver":"overlay2","flavor":"f{}")", i)));
    EXPECT_TRUE(admitSpec(Kind::Cluster, spec, other).ok()) << i;
  }
  expectInvalid(admitSpec(Kind::Cluster, spec, devicemapper), "spec.dockerVolumeSize",
                "devicemapper");
}

TEST(ClusterValidation, KeypairFromClusterOrTemplate) {
  std::string no_key = canonicalTemplate(R"({"coe":"kubernetes","image":"i","externalNetwork":"p"})");
  expectInvalid(admitSpec(Kind::Cluster, cluster(), no_key), "spec.keypair", "has no keypair");
  EXPECT_TRUE(admitSpec(Kind::Cluster, cluster(R"("keypair":"mine")"), no_key).ok());
  EXPECT_TRUE(admitSpec(Kind::Cluster, cluster(), canonicalTemplate()).ok());
}

TEST(ClusterValidation, LabelsFollowTheTable) {
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("labels":{"flannel_backend":"gre"})")),
                "spec.labels.flannel_backend", R"("gre" is not one of udp, vxlan, host-gw)");
  expectInvalid(admitSpec(Kind::Cluster, cluster(R"("labels":{"cinder_csi_enabled":"true"})"), canonicalTemplate()),
                "spec.labels.cinder_csi_enabled", "requires volumeDriver cinder");
}

TEST(ClusterDecode, UnknownAndMistypedFields) {
  auto r = admitSpec(Kind::Cluster, cluster(R"("node_count":3,"masterCount":"3")"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::BadRequest);
  EXPECT_TRUE(testing::causeAt(r.error(), "spec.node_count").has_value());
  EXPECT_EQ(testing::causeAt(r.error(), "spec.masterCount"), "must be an integer, got string");
  EXPECT_NE(r.error().message.find("nodeCount"), std::string::npos) << r.error().message;
}

TEST(ClusterDecode, NonIntegralNumbersAreRejected) {
  auto r = admitSpec(Kind::Cluster, cluster(R"("nodeCount":2.5)"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::BadRequest);
  EXPECT_TRUE(testing::causeAt(r.error(), "spec.nodeCount").has_value());
}

TEST(ClusterResolve, ClusterValuesWinAndLabelsReplaceUnlessMerged) {
  auto t = decodeClusterTemplateSpec(canonicalTemplate(
      testing::labelsTemplate(R"({"kube_tag":"v1.32.4","availability_zone":"az1"})", R"("dockerVolumeSize":5)")));
  ASSERT_TRUE(t.ok());
  ClusterSpec c;
  c.cluster_template = "k8s";
  c.flavor = "m1.large";
  c.labels = {{"availability_zone", "az2"}};
  ClusterConfig replaced = resolveCluster(*t, c);
  EXPECT_EQ(replaced.flavor, "m1.large");
  EXPECT_EQ(replaced.master_flavor, "m1.small");
  EXPECT_EQ(replaced.keypair, "k");
  EXPECT_EQ(replaced.docker_volume_size, 5);
  EXPECT_EQ(replaced.labels.at("availability_zone"), "az2");
  EXPECT_EQ(replaced.labels.count("kube_tag"), 0u) << "Magnum: labels replace the template's";
  EXPECT_EQ(replaced.labels.at("flannel_backend"), "vxlan") << "label defaults come back";
  c.merge_labels = true;
  ClusterConfig merged = resolveCluster(*t, c);
  EXPECT_EQ(merged.labels.at("kube_tag"), "v1.32.4");
  EXPECT_EQ(merged.labels.at("availability_zone"), "az2");
  EXPECT_TRUE(merged.master_lb_enabled);
  c.master_lb_enabled = false;
  EXPECT_FALSE(resolveCluster(*t, c).master_lb_enabled);
}

TEST(ClusterResolve, TemplateRefHelpers) {
  auto ref = templateRefOf(R"({"clusterTemplate":"shared/k8s"})", "demo");
  EXPECT_EQ(ref.namespace_, "shared");
  EXPECT_EQ(ref.name, "k8s");
  ref = templateRefOf(R"({"clusterTemplate":"k8s"})", "demo");
  EXPECT_EQ(ref.namespace_, "demo");
  EXPECT_EQ(ref.name, "k8s");
  ref = templateRefOf("not json", "demo");
  EXPECT_EQ(ref.name, "");
  EXPECT_TRUE(templateIsPublic(R"({"public":true})"));
  EXPECT_FALSE(templateIsPublic(R"({"public":"true"})"));
  EXPECT_FALSE(templateIsPublic("{}"));
}

}  // namespace
}  // namespace magnumd::api
