#include "drivers/coe/kubernetes/bootstrap.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <iostream>

#include "drivers/coe/kubernetes/parameters.h"
#include "pki/certificate.h"
#include "tests/coe/kubernetes/fixture.h"

namespace magnumd::coe::kubernetes {
namespace {

using testing::prodInput;

size_t count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

std::string render(const BootstrapInput& in) {
  auto out = renderUserData(in);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
  return out.ok() ? *out : "";
}

std::string errorOf(const BootstrapInput& in) {
  auto out = renderUserData(in);
  EXPECT_FALSE(out.ok());
  return out.ok() ? "" : out.error().message;
}

TEST(Bootstrap, WorkersCarryNoPrivateKeyAndMastersCarryEveryCa) {
  std::string worker = render(prodInput(NodeRole::Worker));
  EXPECT_EQ(worker.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(worker.find("/etc/kubernetes/pki"), std::string::npos);
  for (NodeRole role : {NodeRole::FirstMaster, NodeRole::JoiningMaster}) {
    std::string master = render(prodInput(role));
    EXPECT_EQ(count(master, "BEGIN PRIVATE KEY"), 4u);
    for (std::string_view f : {"ca.key", "etcd/ca.key", "front-proxy-ca.key", "sa.key"}) {
      EXPECT_NE(master.find(fmt::format("/etc/kubernetes/pki/{}\n    owner: root:root\n    "
                                        "permissions: '0600'",
                                        f)),
                std::string::npos)
          << f;
    }
  }
}

TEST(Bootstrap, JoinPinsTheClusterCaAndUsesTheStableEndpoint) {
  BootstrapInput in = prodInput(NodeRole::Worker);
  std::string out = render(in);
  auto hash = pki::caCertHash(in.pki.cluster_ca.cert_pem);
  ASSERT_TRUE(hash.ok());
  EXPECT_NE(out.find(fmt::format("caCertHashes:\n          - \"{}\"", *hash)), std::string::npos);
  EXPECT_NE(out.find("apiServerEndpoint: \"203.0.113.10:6443\""), std::string::npos);
  EXPECT_NE(out.find("kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml && echo success"),
            std::string::npos);
  EXPECT_EQ(out.find("controlPlane:"), std::string::npos);
  EXPECT_NE(render(prodInput(NodeRole::JoiningMaster)).find("controlPlane:"), std::string::npos);
}

TEST(Bootstrap, AMasterGroupCarriesBothConfigurationsAndChoosesAtBoot) {
  std::string master = render(prodInput(NodeRole::Master));
  EXPECT_EQ(count(master, "kind: InitConfiguration"), 1u);
  EXPECT_EQ(count(master, "kind: JoinConfiguration"), 1u);
  EXPECT_NE(master.find("path: /run/kubeadm/kubeadm.yaml"), std::string::npos);
  EXPECT_NE(master.find("path: /run/kubeadm/kubeadm-join-config.yaml"), std::string::npos);
  EXPECT_NE(master.find("MEMBER_INDEX=%index%\n"), std::string::npos);
  EXPECT_NE(master.find("API_ENDPOINT=203.0.113.10:6443\n"), std::string::npos);
  EXPECT_NE(master.find("/usr/local/lib/magnumd/kubeadm-bootstrap.sh &&"), std::string::npos);
  EXPECT_NE(master.find("/usr/local/lib/magnumd/install-cni.sh"), std::string::npos);
  EXPECT_NE(master.find("name: \"prod-default-master-%index%\""), std::string::npos);
  EXPECT_EQ(count(master, "BEGIN PRIVATE KEY"), 4u);  // three CAs and sa.key
}

TEST(Bootstrap, ValuesASourcedShellFileTakesUnquotedAreRefused) {
  BootstrapInput in = prodInput(NodeRole::Master);
  in.member_index = "0; rm -rf /";
  EXPECT_NE(errorOf(in).find("member_index"), std::string::npos);
  in = prodInput(NodeRole::Master);
  in.control_plane_host = "$(reboot)";
  EXPECT_NE(errorOf(in).find("control_plane_host"), std::string::npos);
}

TEST(Bootstrap, AdmissionControlListEnablesTheApiServersPlugins) {
  BootstrapInput in = prodInput(NodeRole::Master);
  in.labels["admission_control_list"] = "NodeRestriction,PodSecurity";
  std::string out = render(in);
  size_t flag = out.find("- name: \"enable-admission-plugins\"\n");
  ASSERT_NE(flag, std::string::npos);
  EXPECT_NE(out.find("value: \"NodeRestriction,PodSecurity\"\n", flag), std::string::npos);
  in.labels["kubeapi_options"] = "--enable-admission-plugins=NodeRestriction";
  EXPECT_EQ(count(render(in), "enable-admission-plugins"), 1u);  // the explicit flag wins
  in.labels["admission_control_list"] = "NodeRestriction; reboot";
  EXPECT_NE(errorOf(in).find("admission_control_list"), std::string::npos);
}

TEST(Bootstrap, RenderingIsDeterministic) {
  EXPECT_EQ(render(prodInput(NodeRole::FirstMaster)), render(prodInput(NodeRole::FirstMaster)));
}

TEST(Bootstrap, TokensComeFromTheCsprngInKubeadmsFormat) {
  auto a = generateBootstrapToken();
  auto b = generateBootstrapToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(isBootstrapToken(*a)) << *a;
  EXPECT_NE(*a, *b);
  for (std::string_view bad :
       {"abcdef0123456789abcdef", "ABCDEF.0123456789abcdef", "abcde.0123456789abcdefg", ""}) {
    EXPECT_FALSE(isBootstrapToken(bad)) << bad;
  }
  BootstrapInput in = prodInput(NodeRole::Worker);
  in.bootstrap_token = "not-a-token";
  EXPECT_EQ(errorOf(in), "bootstrap_token: is not of the form [a-z0-9]{6}.[a-z0-9]{16}");
}

TEST(Bootstrap, KubernetesVersionFromKubeTagWithinWhatKubeadmAccepts) {
  EXPECT_EQ(*kubernetesVersion({}), kDefaultKubernetesVersion);
  EXPECT_EQ(*kubernetesVersion({{"kube_tag", "1.30.2"}}), "v1.30.2");
  EXPECT_EQ(kubernetesVersion({{"kube_tag", "v1.18.2"}}).error().message,
            "spec.labels.kube_tag: \"v1.18.2\" is older than v1.29, the oldest version kubeadm "
            "here supports");
  EXPECT_EQ(kubernetesVersion({{"kube_tag", "v1.40.0"}}).error().causes[0].field,
            "spec.labels.kube_tag");
  EXPECT_EQ(kubernetesVersion({{"kube_tag", "latest"}}).error().message,
            "spec.labels.kube_tag: \"latest\" is not a Kubernetes release such as v1.32.4 (v1.29 "
            "to v1.35 "
            "are supported)");
  EXPECT_EQ(kubeadmApiVersion(30), "kubeadm.k8s.io/v1beta3");
  EXPECT_EQ(kubeadmApiVersion(31), "kubeadm.k8s.io/v1beta4");
}

TEST(Bootstrap, ExtraArgsAreFlagsAndMagnumdsOwnFlagsCannotBeOverridden) {
  auto args = parseExtraArgs("f", "  --max-pods=200\t--feature-gates=A=true,B=false --v ");
  ASSERT_TRUE(args.ok());
  ASSERT_EQ(args->size(), 3u);
  EXPECT_EQ((*args)[1].value, "A=true,B=false");
  EXPECT_EQ((*args)[2].value, "true");
  EXPECT_EQ(parseExtraArgs("f", "max-pods=3").error().message,
            "f: \"max-pods=3\" is not a flag of the form --name=value");
  EXPECT_EQ(parseExtraArgs("f", "--v=1 --v=2").error().message, "f: --v is given twice");
  BootstrapInput in = prodInput(NodeRole::Worker);
  in.labels["kubelet_options"] = "--node-labels=a=b";
  EXPECT_EQ(errorOf(in),
            "spec.labels.kubelet_options: --node-labels is set by magnumd from the node "
            "group and labels");
}

TEST(Bootstrap, NodeGroupsNodeLabelsAndTaintsReachTheKubelet) {
  BootstrapInput in = prodInput(NodeRole::Worker);
  in.node_labels = {{"gpu", "a100"}, {"node.kubernetes.io/pool", "gpu"}};
  in.node_taints = {"gpu=true:NoSchedule", "dedicated:NoExecute"};
  auto params = nodeParameters(in);
  ASSERT_TRUE(params.ok()) << params.error().message;
  std::map<std::string, std::string> flags;
  for (const auto& a : params->kubelet_args) flags[a.name] = a.value;
  EXPECT_EQ(flags["node-labels"],
            "magnum.openstack.org/role=worker,magnum.openstack.org/nodegroup=default-worker,"
            "gpu=a100,node.kubernetes.io/pool=gpu");
  EXPECT_EQ(flags["register-with-taints"], "gpu=true:NoSchedule,dedicated:NoExecute");
  EXPECT_NE(render(in).find("gpu=true:NoSchedule,dedicated:NoExecute"), std::string::npos);
  // Without taints the flag is absent, and kubelet_options may set it.
  BootstrapInput plain = prodInput(NodeRole::Worker);
  auto plain_params = nodeParameters(plain);
  ASSERT_TRUE(plain_params.ok());
  for (const auto& a : plain_params->kubelet_args) EXPECT_NE(a.name, "register-with-taints");
  in.labels["kubelet_options"] = "--register-with-taints=x:NoSchedule";
  EXPECT_EQ(errorOf(in),
            "spec.labels.kubelet_options: --register-with-taints is set by magnumd from the node "
            "group and labels");
}

TEST(Bootstrap, LabelsTheNodesCannotTakeAreRefusedByName) {
  struct Bad {
    std::string key, value, field;
  };
  for (const Bad& b : std::vector<Bad>{
           {"flannel_backend", "udp", "spec.labels.flannel_backend"},
           {"flannel_network_subnetlen", "33", "spec.labels.flannel_network_subnetlen"},
           {"flannel_network_cidr", "ten/8", "spec.labels.flannel_network_cidr"},
           {"flannel_tag", "v0.12.0-amd64", "spec.labels.flannel_tag"},
           {"availability_zone", "zone one", "spec.labels.availability_zone"},
           {"container_infra_prefix", "reg;rm", "spec.labels.container_infra_prefix"},
           {"kube_tag", "v1.9", "spec.labels.kube_tag"}}) {
    BootstrapInput in = prodInput(NodeRole::FirstMaster);
    in.labels[b.key] = b.value;
    auto out = renderUserData(in);
    ASSERT_FALSE(out.ok()) << b.key;
    ASSERT_EQ(out.error().causes.size(), 1u) << out.error().message;
    EXPECT_EQ(out.error().causes[0].field, b.field) << out.error().message;
  }
  BootstrapInput in = prodInput(NodeRole::Worker);
  in.insecure_registry = "registry example";
  EXPECT_EQ(errorOf(in),
            "spec.insecureRegistry: \"registry example\" is not host[:port] such as "
            "registry.example.com:5000");
  in = prodInput(NodeRole::Worker);
  in.http_proxy = "http://p\"x";
  EXPECT_EQ(errorOf(in),
            "spec.httpProxy: must not contain blanks, quotes, backslashes or control characters");
}

TEST(Bootstrap, ValuesThatCloudInitWouldReadAsJinjaAreRefused) {
  BootstrapInput in = prodInput(NodeRole::FirstMaster);
  in.labels["kubeapi_options"] = "--oidc-username-claim={{instance_id}}";
  EXPECT_NE(errorOf(in).find("would read as Jinja"), std::string::npos);
}

TEST(Bootstrap, ProxiesNeverCarryClusterTrafficAndEscapeSystemdSpecifiers) {
  BootstrapInput in = prodInput(NodeRole::Worker);
  in.http_proxy = "http://user:p%40ss@proxy:3128";
  std::string out = render(in);
  EXPECT_NE(out.find("Environment=\"HTTP_PROXY=http://user:p%%40ss@proxy:3128\""),
            std::string::npos);
  EXPECT_NE(out.find("NO_PROXY=localhost,127.0.0.1,203.0.113.10,10.254.0.0/16,10.100.0.0/16,.svc,"
                     ".cluster.local"),
            std::string::npos);
}

TEST(Bootstrap, MastersNeedTheWholePki) {
  BootstrapInput in = prodInput(NodeRole::JoiningMaster);
  in.pki.etcd_ca.key_pem.clear();
  EXPECT_EQ(errorOf(in), "pki: a control-plane node needs every CA and the service-account keys");
}

TEST(Bootstrap, TheLargestMasterStaysWellUnderNovasLimit) {
  // RSA-4096 CAs and service-account key, every label that adds text, proxies and a registry.
  auto pki = pki::makeClusterPki({.algorithm = pki::KeyAlgorithm::Rsa4096});
  ASSERT_TRUE(pki.ok()) << pki.error().message;
  BootstrapInput in = prodInput(NodeRole::FirstMaster);
  in.pki = *pki;
  in.labels.insert({{"kubelet_options", "--max-pods=200 --v=2"},
                    {"kubeapi_options", "--audit-log-maxage=30 --audit-log-maxbackup=10"},
                    {"kubecontroller_options", "--node-monitor-grace-period=50s"},
                    {"kubescheduler_options", "--v=3"},
                    {"container_infra_prefix", "registry.example.com/mirror/"},
                    {"availability_zone", "az-1"},
                    {"cloud_provider_enabled", "true"}});
  in.http_proxy = in.https_proxy = "http://proxy.example.com:3128";
  in.no_proxy = "internal.example.com";
  in.insecure_registry = "registry.example.com:5000";
  std::string out = render(in);
  std::cout << "largest master user_data: " << out.size() << " bytes of " << kMaxUserDataBytes
            << " allowed\n";
  // About 28 kB with RSA-4096 (about 8 kB with the default P-256): room for the HOT-side additions.
  EXPECT_LT(out.size(), kMaxUserDataBytes * 2 / 3);
}

TEST(Bootstrap, UserDataOverNovasLimitIsRefusedWithItsSize) {
  BootstrapInput in = prodInput(NodeRole::FirstMaster);
  for (int i = 0; i < 2000; ++i) in.cert_sans.push_back(fmt::format("name-{}.example.com", i));
  std::string error = errorOf(in);
  EXPECT_NE(error.find("user_data for prod-default-master-0 is "), std::string::npos) << error;
  EXPECT_NE(error.find("Nova accepts at most 49149"), std::string::npos) << error;
}

}  // namespace
}  // namespace magnumd::coe::kubernetes
