// The labels table: every enumerated label, booleans, CIDRs, integers and the cross rules.
#include "api/labels.h"

#include <gtest/gtest.h>

#include "tests/api/helpers.h"

namespace magnumd::api {
namespace {

using testing::expectInvalid;
using testing::labelsTemplate;

util::Result<std::string> withLabel(std::string_view key, std::string_view value, std::string_view extra = "") {
  return admitSpec(Kind::ClusterTemplate,
                   labelsTemplate("{\"" + std::string(key) + "\":\"" + std::string(value) + "\"}", extra));
}

struct EnumCase {
  const char* key;
  std::vector<const char*> valid;
  const char* invalid;
  const char* message;
};

TEST(Labels, EveryEnumeratedLabelAcceptsItsValuesAndRejectsOthers) {
  std::vector<EnumCase> cases = {
      {"flannel_backend", {"udp", "vxlan", "host-gw"}, "gre", R"("gre" is not one of udp, vxlan, host-gw)"},
      {"swarm_strategy", {"spread", "binpack", "random"}, "fair", R"("fair" is not one of spread, binpack, random)"},
      {"mesos_slave_image_providers", {"appc", "docker", "appc,docker"}, "oci",
       R"("oci" is not one of appc, docker, appc,docker)"},
      {"cgroup_driver", {"systemd", "cgroupfs"}, "cgroup2", R"("cgroup2" is not one of systemd, cgroupfs)"},
      {"selinux_mode", {"enforcing", "permissive", "disabled"}, "off",
       R"("off" is not one of enforcing, permissive, disabled)"},
      {"container_runtime", {"", "containerd"}, "cri-o", R"("cri-o" is not one of "", containerd)"},
      {"calico_ipv4pool_ipip", {"Always", "CrossSubnet", "Never", "Off"}, "always",
       R"("always" is not one of Always, CrossSubnet, Never, Off)"},
      {"ingress_controller", {"", "traefik", "nginx", "octavia"}, "haproxy",
       R"("haproxy" is not one of "", traefik, nginx, octavia)"},
      {"auto_healing_controller", {"draino", "magnum-auto-healer"}, "kured",
       R"("kured" is not one of draino, magnum-auto-healer)"},
  };
  for (const auto& c : cases) {
    for (const char* v : c.valid) EXPECT_TRUE(withLabel(c.key, v).ok()) << c.key << "=" << v;
    auto r = withLabel(c.key, c.invalid);
    expectInvalid(r, std::string("spec.labels.") + c.key, c.message);
    EXPECT_EQ(testing::causeAt(r.error(), std::string("spec.labels.") + c.key), c.message);
  }
}

TEST(Labels, MesosSlaveIsolationIsAListOfIsolators) {
  EXPECT_TRUE(withLabel("mesos_slave_isolation", "filesystem/linux").ok());
  EXPECT_TRUE(withLabel("mesos_slave_isolation", "cgroups/cpu,cgroups/mem,docker/runtime").ok());
  expectInvalid(withLabel("mesos_slave_isolation", "cgroups/cpu,cgroups/gpu"), "spec.labels.mesos_slave_isolation",
                R"("cgroups/gpu" is not one of filesystem/posix)");
  expectInvalid(withLabel("mesos_slave_isolation", "posix/cpu,posix/cpu"), "spec.labels.mesos_slave_isolation",
                "listed twice");
}

TEST(Labels, BooleanLabels) {
  for (const char* key : {"rexray_preempt", "heapster_enabled", "metrics_server_enabled", "monitoring_enabled",
                          "prometheus_adapter_enabled", "prometheus_monitoring", "kube_dashboard_enabled",
                          "influx_grafana_dashboard_enabled", "cert_manager_api", "cloud_provider_enabled",
                          "keystone_auth_enabled", "tiller_enabled", "master_lb_floating_ip_enabled",
                          "auto_healing_enabled", "auto_scaling_enabled", "npd_enabled", "use_podman"}) {
    EXPECT_TRUE(withLabel(key, "true").ok()) << key;
    EXPECT_TRUE(withLabel(key, "False").ok()) << key << ": Magnum's docs write True/False";
    expectInvalid(withLabel(key, "yes"), std::string("spec.labels.") + key, R"("yes" is not one of true, false)");
  }
}

TEST(Labels, CidrLabels) {
  for (const char* key : {"flannel_network_cidr", "service_cluster_ip_range", "calico_ipv4pool", "fixed_subnet_cidr"}) {
    EXPECT_TRUE(withLabel(key, "10.0.0.0/8").ok()) << key;
    expectInvalid(withLabel(key, "10.0.0.0"), std::string("spec.labels.") + key, "IPv4 CIDR");
    expectInvalid(withLabel(key, "10.0.0.0/33"), std::string("spec.labels.") + key, "IPv4 CIDR");
    expectInvalid(withLabel(key, "10.0.0.1/8"), std::string("spec.labels.") + key, "host bits");
    expectInvalid(withLabel(key, "fd00::/64"), std::string("spec.labels.") + key, "not IPv6");
  }
  EXPECT_TRUE(withLabel("master_lb_allowed_cidrs", "192.168.0.0/16,10.0.0.0/24,fd00::/8").ok());
  expectInvalid(withLabel("master_lb_allowed_cidrs", "192.168.0.0/16,nope"), "spec.labels.master_lb_allowed_cidrs",
                R"("nope")");
}

TEST(Labels, IntegerLabels) {
  EXPECT_TRUE(withLabel("etcd_volume_size", "10").ok());
  expectInvalid(withLabel("etcd_volume_size", "ten"), "spec.labels.etcd_volume_size", "is not an integer");
  expectInvalid(withLabel("boot_volume_size", "-1"), "spec.labels.boot_volume_size", "at least 0");
  expectInvalid(withLabel("flannel_network_subnetlen", "0"), "spec.labels.flannel_network_subnetlen");
}

TEST(Labels, FlannelSubnetLenMustFitTheNetwork) {
  EXPECT_TRUE(admitSpec(Kind::ClusterTemplate,
                        labelsTemplate(R"({"flannel_network_cidr":"10.100.0.0/16","flannel_network_subnetlen":"24"})"))
                  .ok());
  expectInvalid(admitSpec(Kind::ClusterTemplate,
                          labelsTemplate(R"({"flannel_network_cidr":"10.100.0.0/24","flannel_network_subnetlen":"16"})")),
                "spec.labels.flannel_network_subnetlen", "longer than the flannel network's /24 prefix");
}

TEST(Labels, MinNodeCountNotAboveMax) {
  expectInvalid(admitSpec(Kind::ClusterTemplate, labelsTemplate(R"({"min_node_count":"5","max_node_count":"2"})")),
                "spec.labels.min_node_count", "greater than max_node_count 2");
}

TEST(Labels, CinderCsiNeedsTheCinderVolumeDriver) {
  EXPECT_TRUE(withLabel("cinder_csi_enabled", "true", R"("volumeDriver":"cinder")").ok());
  EXPECT_TRUE(withLabel("cinder_csi_enabled", "false").ok());
  expectInvalid(withLabel("cinder_csi_enabled", "true"), "spec.labels.cinder_csi_enabled", "requires volumeDriver cinder");
}

TEST(Labels, PathLabelsAreAbsolute) {
  EXPECT_TRUE(withLabel("mesos_slave_work_dir", "/tmp/mesos").ok());
  expectInvalid(withLabel("mesos_slave_work_dir", "tmp/mesos"), "spec.labels.mesos_slave_work_dir", "absolute");
}

TEST(Labels, KubeTagIsAReleaseMagnumdBootstraps) {
  EXPECT_TRUE(withLabel("kube_tag", "v1.32.4").ok());
  EXPECT_TRUE(withLabel("kube_tag", "1.29.0").ok());
  EXPECT_TRUE(withLabel("kube_tag", "v1.35.1").ok());
  expectInvalid(withLabel("kube_tag", "v1.28.2"), "spec.labels.kube_tag", "v1.29 to v1.35");
  expectInvalid(withLabel("kube_tag", "v1.36.0"), "spec.labels.kube_tag", "v1.29 to v1.35");
  expectInvalid(withLabel("kube_tag", "latest"), "spec.labels.kube_tag", "such as v1.32.4");
  expectInvalid(withLabel("kube_tag", "v1.32.4-rc.1"), "spec.labels.kube_tag", "not a Kubernetes release");
}

TEST(Labels, ComponentOptionsAreFlags) {
  EXPECT_TRUE(withLabel("kubelet_options", "--max-pods=200 --v=2").ok());
  EXPECT_TRUE(withLabel("kubeapi_options", "").ok());
  expectInvalid(withLabel("kubelet_options", "max-pods=200"), "spec.labels.kubelet_options",
                "not a flag such as --v=2");
  expectInvalid(withLabel("kubeapi_options", "--v=2;reboot"), "spec.labels.kubeapi_options",
                "shell character");
}

TEST(Labels, UnknownLabelsAreAllowedButKeysAndSizesAreChecked) {
  EXPECT_TRUE(withLabel("my_driver_option", "anything goes").ok());
  expectInvalid(withLabel("bad key", "x"), "spec.labels.bad key", "may contain only");
  expectInvalid(withLabel("k", std::string(5000, 'x')), "spec.labels.k", "at most 4096");
}

TEST(Labels, BoolLabelReader) {
  StringMap labels{{"a", "True"}, {"b", "false"}, {"c", "maybe"}};
  EXPECT_EQ(boolLabel(labels, "a"), true);
  EXPECT_EQ(boolLabel(labels, "b"), false);
  EXPECT_EQ(boolLabel(labels, "c"), std::nullopt);
  EXPECT_EQ(boolLabel(labels, "d"), std::nullopt);
}

TEST(Labels, VersionDefaultsForDrivers) {
  EXPECT_EQ(versionLabelDefault("kube_tag"), "v1.32.4");
  EXPECT_EQ(versionLabelDefault("no_such_label"), std::nullopt);
}

TEST(Labels, KubernetesVersionsCompareByNumberNotText) {
  auto order = [](std::string_view a, std::string_view b) {
    return compareKubernetesVersions(a, b);
  };
  EXPECT_EQ(order("v1.9.0", "v1.10.0"), std::strong_ordering::less);
  EXPECT_EQ(order("v1.33.1", "v1.33.0"), std::strong_ordering::greater);
  EXPECT_EQ(order("1.33", "v1.33.0"), std::strong_ordering::equal);
  EXPECT_EQ(order("v1.32.10", "v1.32.9"), std::strong_ordering::greater);
  EXPECT_EQ(order("v1.32.4", "latest"), std::nullopt);
  EXPECT_EQ(order("v1.32.", "v1.32.4"), std::nullopt);
  EXPECT_EQ(order("", "v1.32.4"), std::nullopt);
  EXPECT_EQ(kubernetesVersionOf({}), "v1.32.4");
  EXPECT_EQ(kubernetesVersionOf({{"kube_tag", "v1.33.1"}}), "v1.33.1");
}

TEST(Labels, OwnLabelsDecideWhenTheySetTheKeyOrReplaceTheInherited) {
  EXPECT_FALSE(ownLabelsDecide({}, false, "kube_tag"));
  EXPECT_TRUE(ownLabelsDecide({{"kube_tag", "v1.33.1"}}, true, "kube_tag"));
  EXPECT_TRUE(ownLabelsDecide({{"other", "x"}}, false, "kube_tag"));
  EXPECT_FALSE(ownLabelsDecide({{"other", "x"}}, true, "kube_tag"));
}

}  // namespace
}  // namespace magnumd::api
