// ClusterTemplate: defaults from the seed and one test per validation rule, valid and invalid.
#include "api/cluster_template.h"

#include <gtest/gtest.h>

#include "tests/api/helpers.h"

namespace magnumd::api {
namespace {

using testing::admitted;
using testing::expectInvalid;
using testing::templateWith;

std::string str(const util::Json& doc, const char* name) { return util::stringMember(doc, name).value_or("<absent>"); }
std::string label(const util::Json& doc, const char* key) {
  const util::Json* labels = util::member(doc, "labels");
  if (labels == nullptr) return "<no labels>";
  return util::stringMember(*labels, key).value_or("<absent>");
}

TEST(ClusterTemplateDefaults, SeedDefaultsAreWrittenIntoTheSpec) {
  auto doc = admitted(Kind::ClusterTemplate, testing::kTemplate);
  EXPECT_EQ(str(doc, "serverType"), "vm");
  EXPECT_EQ(str(doc, "networkDriver"), "flannel");
  EXPECT_EQ(str(doc, "dnsNameserver"), "8.8.8.8");
  EXPECT_EQ(str(doc, "flavor"), "m1.small");
  EXPECT_EQ(str(doc, "masterFlavor"), "m1.small");
  EXPECT_EQ(str(doc, "dockerStorageDriver"), "devicemapper");
  EXPECT_EQ(util::boolMember(doc, "tlsDisabled"), false);
  EXPECT_EQ(util::boolMember(doc, "masterLbEnabled"), true);
  EXPECT_EQ(util::boolMember(doc, "floatingIpEnabled"), true);
  EXPECT_EQ(util::boolMember(doc, "public"), false);
  EXPECT_EQ(util::boolMember(doc, "hidden"), false);
  EXPECT_EQ(util::boolMember(doc, "registryEnabled"), false);
  EXPECT_EQ(util::member(doc, "volumeDriver"), nullptr) << "the seed: no volume driver by default";
}

TEST(ClusterTemplateDefaults, NetworkDriverPerCoe) {
  auto swarm = admitted(Kind::ClusterTemplate, R"({"coe":"swarm","image":"i","externalNetwork":"p"})");
  EXPECT_EQ(str(swarm, "networkDriver"), "flannel");
  auto mesos = admitted(Kind::ClusterTemplate, R"({"coe":"mesos","image":"i","externalNetwork":"p"})");
  EXPECT_EQ(str(mesos, "networkDriver"), "docker");
}

TEST(ClusterTemplateDefaults, MesosHasNoTlsSoTlsIsDisabledByDefault) {
  auto mesos = admitted(Kind::ClusterTemplate, R"({"coe":"mesos","image":"i","externalNetwork":"p"})");
  EXPECT_EQ(util::boolMember(mesos, "tlsDisabled"), true);
  auto r = admitSpec(Kind::ClusterTemplate, R"({"coe":"mesos","image":"i","externalNetwork":"p","tlsDisabled":false})");
  expectInvalid(r, "spec.tlsDisabled", "no TLS support");
}

TEST(ClusterTemplateDefaults, LabelDefaultsFollowCoeAndDrivers) {
  auto k8s = admitted(Kind::ClusterTemplate, testing::kTemplate);
  EXPECT_EQ(label(k8s, "flannel_backend"), "vxlan");
  EXPECT_EQ(label(k8s, "flannel_network_cidr"), "10.100.0.0/16");
  EXPECT_EQ(label(k8s, "flannel_network_subnetlen"), "24");
  EXPECT_EQ(label(k8s, "cgroup_driver"), "cgroupfs");
  EXPECT_EQ(label(k8s, "service_cluster_ip_range"), "10.254.0.0/16");
  EXPECT_EQ(label(k8s, "auto_healing_controller"), "draino");
  EXPECT_EQ(label(k8s, "keystone_auth_enabled"), "true");
  EXPECT_EQ(label(k8s, "kube_dashboard_enabled"), "true");
  EXPECT_EQ(label(k8s, "ingress_controller_role"), "ingress");
  EXPECT_EQ(label(k8s, "swarm_strategy"), "<absent>");
  EXPECT_EQ(label(k8s, "calico_ipv4pool"), "<absent>");

  auto calico = admitted(Kind::ClusterTemplate, templateWith(R"("networkDriver":"calico")"));
  EXPECT_EQ(label(calico, "calico_ipv4pool"), "10.100.0.0/16");
  EXPECT_EQ(label(calico, "calico_ipv4pool_ipip"), "Off");
  EXPECT_EQ(label(calico, "flannel_backend"), "<absent>");

  auto swarm = admitted(Kind::ClusterTemplate,
                        R"({"coe":"swarm","image":"i","externalNetwork":"p","volumeDriver":"rexray"})");
  EXPECT_EQ(label(swarm, "swarm_strategy"), "spread");
  EXPECT_EQ(label(swarm, "rexray_preempt"), "false");
  EXPECT_EQ(label(swarm, "cgroup_driver"), "<absent>");
}

TEST(ClusterTemplateDefaults, UserValuesWinOverDefaults) {
  auto doc = admitted(Kind::ClusterTemplate,
                      testing::labelsTemplate(R"({"flannel_backend":"host-gw"})", R"("flavor":"m1.large")"));
  EXPECT_EQ(label(doc, "flannel_backend"), "host-gw");
  EXPECT_EQ(str(doc, "flavor"), "m1.large");
}

TEST(ClusterTemplateDefaults, AdmissionIsIdempotent) {
  auto first = admitSpec(Kind::ClusterTemplate, testing::kTemplate);
  ASSERT_TRUE(first.ok());
  auto second = admitSpec(Kind::ClusterTemplate, *first);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
}

TEST(ClusterTemplateDefaults, FedoraCoreosDefaultsToOverlay2) {
  auto doc = admitted(Kind::ClusterTemplate, templateWith(R"("clusterDistro":"fedora-coreos")"));
  EXPECT_EQ(str(doc, "dockerStorageDriver"), "overlay2");
  expectInvalid(admitSpec(Kind::ClusterTemplate,
                          templateWith(R"("clusterDistro":"fedora-coreos","dockerStorageDriver":"devicemapper")")),
                "spec.dockerStorageDriver", "not supported on fedora-coreos");
}

TEST(ClusterTemplateValidation, RequiredFields) {
  auto r = admitSpec(Kind::ClusterTemplate, "{}");
  expectInvalid(r, "spec.coe", "required");
  expectInvalid(r, "spec.image", "required");
  expectInvalid(r, "spec.externalNetwork", "required");
  EXPECT_EQ(r.error().causes.size(), 3u) << testing::describe(r.error());
}

TEST(ClusterTemplateValidation, CoeEnum) {
  for (const char* coe : {"kubernetes", "swarm", "mesos"}) {
    EXPECT_TRUE(admitSpec(Kind::ClusterTemplate,
                          std::string(R"({"image":"i","externalNetwork":"p","coe":")") + coe + "\"}").ok())
        << coe;
  }
  auto r = admitSpec(Kind::ClusterTemplate, R"({"image":"i","externalNetwork":"p","coe":"nomad"})");
  expectInvalid(r, "spec.coe", R"("nomad" is not one of kubernetes, swarm, mesos)");
  EXPECT_EQ(r.error().message, R"(spec.coe: "nomad" is not one of kubernetes, swarm, mesos)");
}

TEST(ClusterTemplateValidation, NetworkDriverPerCoeTable) {
  struct Case { const char* coe; const char* driver; bool ok; };
  for (auto c : {Case{"kubernetes", "flannel", true}, Case{"kubernetes", "calico", true},
                 Case{"kubernetes", "docker", false}, Case{"swarm", "docker", true},
                 Case{"swarm", "flannel", true}, Case{"swarm", "calico", false},
                 Case{"mesos", "docker", true}, Case{"mesos", "flannel", false},
                 Case{"kubernetes", "Flannel", false}}) {
    auto r = admitSpec(Kind::ClusterTemplate, std::string(R"({"image":"i","externalNetwork":"p","coe":")") +
                                                  c.coe + R"(","networkDriver":")" + c.driver + "\"}");
    if (c.ok) {
      EXPECT_TRUE(r.ok()) << c.coe << "/" << c.driver;
    } else {
      expectInvalid(r, "spec.networkDriver", "is not supported with coe");
    }
  }
}

TEST(ClusterTemplateValidation, VolumeDriverPerCoeTable) {
  struct Case { const char* coe; const char* driver; bool ok; };
  for (auto c : {Case{"kubernetes", "cinder", true}, Case{"kubernetes", "rexray", false},
                 Case{"swarm", "rexray", true}, Case{"swarm", "cinder", false},
                 Case{"mesos", "rexray", true}, Case{"mesos", "cinder", false}}) {
    auto r = admitSpec(Kind::ClusterTemplate, std::string(R"({"image":"i","externalNetwork":"p","coe":")") +
                                                  c.coe + R"(","volumeDriver":")" + c.driver + "\"}");
    if (c.ok) {
      EXPECT_TRUE(r.ok()) << c.coe << "/" << c.driver;
    } else {
      expectInvalid(r, "spec.volumeDriver", "is not supported with coe");
    }
  }
}

TEST(ClusterTemplateValidation, ServerType) {
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate, templateWith(R"("serverType":"bm")")).ok());
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("serverType":"container")")),
                "spec.serverType", R"("container" is not one of vm, bm)");
}

TEST(ClusterTemplateValidation, DockerVolumeSizeDependsOnStorageDriver) {
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate, templateWith(R"("dockerVolumeSize":3)")).ok());
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("dockerVolumeSize":2)")),
                "spec.dockerVolumeSize", "devicemapper storage driver needs at least 3 GB");
  for (const char* d : {"overlay", "overlay2"}) {
    std::string driver = std::string(R"("dockerStorageDriver":")") + d + "\"";
    EXPECT_TRUE(admitSpec(Kind::ClusterTemplate, templateWith(driver + R"(,"dockerVolumeSize":1)")).ok()) << d;
    expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(driver + R"(,"dockerVolumeSize":0)")),
                  "spec.dockerVolumeSize", "minimum is 1 GB");
  }
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate, templateWith(R"("dockerStorageDriver":"overlay2")")).ok())
      << "no volume at all is fine";
}

TEST(ClusterTemplateValidation, DockerStorageDriverEnum) {
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("dockerStorageDriver":"btrfs")")),
                "spec.dockerStorageDriver", R"("btrfs" is not one of devicemapper, overlay, overlay2)");
}

TEST(ClusterTemplateValidation, DnsNameserverIsAnIpAddress) {
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate, templateWith(R"("dnsNameserver":"1.1.1.1")")).ok());
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate, templateWith(R"("dnsNameserver":"2001:4860:4860::8888")")).ok());
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("dnsNameserver":"dns.google")")),
                "spec.dnsNameserver", "not an IPv4 or IPv6 address");
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("dnsNameserver":"8.8.8.256")")),
                "spec.dnsNameserver");
}

TEST(ClusterTemplateValidation, ProxiesAreUrlsWithPorts) {
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate,
                        templateWith(R"("httpProxy":"http://10.0.0.1:3128","httpsProxy":"http://proxy.corp:8080",)"
                                     R"("noProxy":"10.0.0.0/8,.corp,localhost")"))
                  .ok());
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("httpProxy":"http://proxy.corp")")),
                "spec.httpProxy", "must include a port number");
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("httpsProxy":"proxy:3128")")),
                "spec.httpsProxy", "http:// or https://");
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("httpProxy":"http://p:99999")")),
                "spec.httpProxy", "invalid port");
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("noProxy":"a b")")), "spec.noProxy");
}

TEST(ClusterTemplateValidation, ApiserverPortRange) {
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate, templateWith(R"("apiserverPort":6443)")).ok());
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("apiserverPort":443)")), "spec.apiserverPort",
                "between 1024 and 65535");
}

TEST(ClusterTemplateValidation, ClusterDistroPerCoe) {
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate, templateWith(R"("clusterDistro":"fedora-atomic")")).ok());
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("clusterDistro":"ubuntu")")),
                "spec.clusterDistro", "fedora-atomic, coreos");
}

TEST(ClusterTemplateValidation, InsecureRegistryIsHostPort) {
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate, templateWith(R"("insecureRegistry":"10.0.0.5:5000")")).ok());
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith(R"("insecureRegistry":"http://r/x")")),
                "spec.insecureRegistry");
}

TEST(ClusterTemplateValidation, StringSizeLimits) {
  std::string long_name(300, 'a');
  expectInvalid(admitSpec(Kind::ClusterTemplate, templateWith("\"flavor\":\"" + long_name + "\"")), "spec.flavor",
                "at most 255");
}

TEST(ClusterTemplateValidation, AllCausesAreCollected) {
  auto r = admitSpec(Kind::ClusterTemplate,
                     templateWith(R"("serverType":"x","dockerVolumeSize":1,"labels":{"flannel_backend":"gre"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().causes.size(), 3u) << testing::describe(r.error());
  EXPECT_EQ(r.error().message.front(), '[');
}

TEST(ClusterTemplateDecode, UnknownFieldsAreBadRequestNamingEachAndTheValidOnes) {
  auto r = admitSpec(Kind::ClusterTemplate, templateWith(R"("flavour":"x","master_count":3)"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::BadRequest);
  EXPECT_NE(r.error().message.find("\"flavour\""), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("\"master_count\""), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("masterFlavor"), std::string::npos) << "lists valid names: " << r.error().message;
  EXPECT_TRUE(testing::causeAt(r.error(), "spec.flavour").has_value());
  EXPECT_TRUE(testing::causeAt(r.error(), "spec.master_count").has_value());
}

TEST(ClusterTemplateDecode, WrongTypesNameTheFieldAndTheExpectedType) {
  auto r = admitSpec(Kind::ClusterTemplate, templateWith(R"("dockerVolumeSize":"5","public":"yes","labels":[])"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::BadRequest);
  EXPECT_EQ(testing::causeAt(r.error(), "spec.dockerVolumeSize"), "must be an integer, got string");
  EXPECT_EQ(testing::causeAt(r.error(), "spec.public"), "must be a boolean (true or false), got string");
  EXPECT_EQ(testing::causeAt(r.error(), "spec.labels"), "must be an object, got array");
}

TEST(ClusterTemplateDecode, LabelScalarsAreStoredAsText) {
  auto doc = admitted(Kind::ClusterTemplate, testing::labelsTemplate(R"({"auto_healing_enabled":true,"etcd_volume_size":5})"));
  EXPECT_EQ(label(doc, "auto_healing_enabled"), "true");
  EXPECT_EQ(label(doc, "etcd_volume_size"), "5");
  auto r = admitSpec(Kind::ClusterTemplate, testing::labelsTemplate(R"({"x":{"y":1}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(testing::causeAt(r.error(), "spec.labels.x").has_value());
}

TEST(ClusterTemplateDecode, NullMeansUnset) {
  auto doc = admitted(Kind::ClusterTemplate, templateWith(R"("flavor":null,"volumeDriver":null)"));
  EXPECT_EQ(str(doc, "flavor"), "m1.small");
  EXPECT_EQ(util::member(doc, "volumeDriver"), nullptr);
}

TEST(ClusterTemplateDecode, RoundTripThroughTheTypedSpec) {
  auto canonical = admitSpec(Kind::ClusterTemplate, templateWith(R"("public":true,"dockerVolumeSize":5)"));
  ASSERT_TRUE(canonical.ok());
  auto spec = decodeClusterTemplateSpec(*canonical);
  ASSERT_TRUE(spec.ok());
  EXPECT_TRUE(spec->is_public);
  EXPECT_EQ(spec->docker_volume_size, 5);
  EXPECT_EQ(encodeClusterTemplateSpec(*spec), *canonical);
}

}  // namespace
}  // namespace magnumd::api
