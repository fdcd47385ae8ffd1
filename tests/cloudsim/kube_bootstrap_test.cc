#include "cloudsim/kube_bootstrap.h"

#include <gtest/gtest.h>

#include "pki/certificate.h"
#include "tests/cloudsim/kube_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

class KubeBootstrapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new pki::CertificateAuthority(pki::makeCertificateAuthority("kubernetes").value());
  }
  static void TearDownTestSuite() { delete ca_; }
  static pki::CertificateAuthority* ca_;
  NodeIdentity id{"prod-master-0", "4f1c"};
};
pki::CertificateAuthority* KubeBootstrapTest::ca_ = nullptr;

TEST_F(KubeBootstrapTest, FirstMasterCarriesTheCaAndTheInitConfiguration) {
  auto b = parseNodeBootstrap(initUserData(*ca_, "abcdef.0123456789abcdef"), id);
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(b->init.has_value());
  EXPECT_FALSE(b->join.has_value());
  EXPECT_EQ(b->init->kubernetes_version, "v1.30.4");
  EXPECT_EQ(b->init->control_plane_endpoint, "10.0.0.5:6443");
  EXPECT_EQ(b->init->cert_sans, (std::vector<std::string>{"api.example.test", "172.24.4.10"}));
  ASSERT_EQ(b->init->bootstrap_tokens.size(), 1u);
  EXPECT_EQ(b->init->bootstrap_tokens[0].token, "abcdef.0123456789abcdef");
  EXPECT_EQ(b->init->bootstrap_tokens[0].ttl, std::chrono::seconds(24 * 3600));
  EXPECT_FALSE(b->init->bootstrap_tokens[0].expires.has_value());
  EXPECT_EQ(b->init->service_subnet, "10.254.0.0/16");
  EXPECT_EQ(b->node_name, "prod-master-0");  // {{ local_hostname }} rendered
  EXPECT_EQ(b->ca_cert_pem, ca_->cert_pem);
  EXPECT_EQ(b->ca_key_pem, ca_->key_pem);  // base64-encoded in write_files
  EXPECT_EQ(b->labels.at("magnum.openstack.org/role"), "master");
  EXPECT_EQ(b->labels.at("magnum.openstack.org/nodegroup"), "default-master");
}

TEST_F(KubeBootstrapTest, V1beta4ListFormOfKubeletExtraArgs) {
  auto b = parseNodeBootstrap(
      initUserData(*ca_, "abcdef.0123456789abcdef", "v1.32.4", "kubeadm.k8s.io/v1beta4"), id);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->init->kubernetes_version, "v1.32.4");
  EXPECT_EQ(b->labels.at("magnum.openstack.org/nodegroup"), "default-master");
}

TEST_F(KubeBootstrapTest, WorkerJoinConfigurationWithoutCaFiles) {
  std::string hash = pki::caCertHash(ca_->cert_pem).value();
  auto b = parseNodeBootstrap(joinUserData("abcdef.0123456789abcdef", hash), {"prod-node-3", "x"});
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(b->join.has_value());
  EXPECT_FALSE(b->init.has_value());
  EXPECT_EQ(b->join->token, "abcdef.0123456789abcdef");
  EXPECT_EQ(b->join->api_server_endpoint, "10.0.0.5:6443");
  EXPECT_EQ(b->join->ca_cert_hashes, (std::vector<std::string>{hash}));
  EXPECT_FALSE(b->join->control_plane);
  EXPECT_TRUE(b->ca_cert_pem.empty());
  EXPECT_TRUE(b->ca_key_pem.empty());
  EXPECT_EQ(b->node_name, "prod-node-3");
  EXPECT_EQ(b->labels.at("magnum.openstack.org/role"), "worker");
}

TEST_F(KubeBootstrapTest, ControlPlaneJoinerCarriesTheCa) {
  std::string hash = pki::caCertHash(ca_->cert_pem).value();
  auto b = parseNodeBootstrap(joinUserData("abcdef.0123456789abcdef", hash, "master", ca_), id);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_TRUE(b->join->control_plane);
  EXPECT_EQ(b->ca_cert_pem, ca_->cert_pem);
}

TEST_F(KubeBootstrapTest, AGroupMasterCarriesInitAndJoinAndItsMemberIndex) {
  std::string hash = pki::caCertHash(ca_->cert_pem).value();
  auto b = parseNodeBootstrap(masterUserData(*ca_, "abcdef.0123456789abcdef", hash, "2"), id);
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(b->init.has_value());
  ASSERT_TRUE(b->join.has_value());
  EXPECT_TRUE(b->join->control_plane);
  EXPECT_EQ(b->member_index, 2);
  EXPECT_EQ(b->ca_key_pem, ca_->key_pem);

  // Without the member index nothing says which of the two the node runs.
  std::string ambiguous = masterUserData(*ca_, "abcdef.0123456789abcdef", hash, "0");
  ambiguous.replace(ambiguous.find("/etc/magnumd/bootstrap.env"), 26, "/etc/magnumd/other.env");
  auto refused = parseNodeBootstrap(ambiguous, id);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("no MEMBER_INDEX in /etc/magnumd/bootstrap.env"),
            std::string::npos)
      << refused.error().message;
  // Heat substitutes %index%; left as it is, it names no member.
  auto unsubstituted =
      parseNodeBootstrap(masterUserData(*ca_, "abcdef.0123456789abcdef", hash, "%index%"), id);
  ASSERT_FALSE(unsubstituted.ok());
  EXPECT_NE(unsubstituted.error().message.find("MEMBER_INDEX \"%index%\" is not a member number"),
            std::string::npos)
      << unsubstituted.error().message;
}

TEST_F(KubeBootstrapTest, BrokenUserDataIsAnErrorNamingWhatIsWrong) {
  auto expectError = [&](const std::string& user_data, const std::string& needle) {
    auto b = parseNodeBootstrap(user_data, id);
    ASSERT_FALSE(b.ok()) << user_data;
    EXPECT_NE(b.error().message.find(needle), std::string::npos) << b.error().message;
  };
  expectError("#!/bin/sh\necho hi\n", "not a #cloud-config");
  expectError("#cloud-config\nwrite_files: [\n", "cloud-config");
  expectError("#cloud-config\npackages: [kubeadm]\n", "no write_files");
  expectError("#cloud-config\nwrite_files:\n- path: /etc/motd\n  content: hi\n", "neither");
  expectError(
      "#cloud-config\nwrite_files:\n- path: /run/kubeadm/kubeadm.yaml\n  encoding: gzip\n  "
      "content: x\n",
      "encoding \"gzip\"");
  expectError(
      "#cloud-config\nwrite_files:\n- path: /run/kubeadm/kubeadm.yaml\n  encoding: base64\n  "
      "content: '%%%'\n",
      "not valid base64");
  expectError(
      "#cloud-config\nwrite_files:\n- path: /run/kubeadm/kubeadm.yaml\n  content: |\n"
      "    apiVersion: kubeadm.k8s.io/v1beta2\n    kind: ClusterConfiguration\n",
      "v1beta2");
  expectError(
      "#cloud-config\nwrite_files:\n- path: /run/kubeadm/kubeadm-join-config.yaml\n  content: |\n"
      "    apiVersion: kubeadm.k8s.io/v1beta3\n    kind: JoinConfiguration\n",
      "discovery.bootstrapToken");
  // kubeadm init checks its tokens before it writes their Secrets; the token never shows.
  std::string init = initUserData(*ca_, "ABCDEF.0123456789abcdef");
  expectError(init, "bootstrapTokens[0].token: is not of the form [a-z0-9]{6}.[a-z0-9]{16}");
  EXPECT_EQ(parseNodeBootstrap(init, id).error().message.find("ABCDEF"), std::string::npos);
  init = initUserData(*ca_, "abcdef.0123456789abcdef");
  init.replace(init.find("ttl: 24h0m0s"), 12, "ttl: soon");
  expectError(init, "bootstrapTokens[0].ttl: invalid duration \"soon\"");
  // A billion-laughs document stops at the node limit instead of expanding.
  std::string bomb =
      "#cloud-config\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
      "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nwrite_files: []\n";
  EXPECT_FALSE(parseNodeBootstrap(bomb, id).ok());
}

TEST(NodeLabelsTest, KubeletFlagFormat) {
  auto l = parseNodeLabels("a=1,node-role.kubernetes.io/control-plane=,b=x=y");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->at("a"), "1");
  EXPECT_EQ(l->at("node-role.kubernetes.io/control-plane"), "");
  EXPECT_EQ(l->at("b"), "x=y");
  EXPECT_FALSE(parseNodeLabels("a=1,broken").ok());
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
