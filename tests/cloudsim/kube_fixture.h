// Hand-written user_data in Cluster API's kubeadm bootstrap layout (the contract with
// drivers/coe/kubernetes/), for the parser and the simulated kube-apiserver tests, and the
// listeners those tests give the simulated clusters.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "cloudsim/kube_cluster.h"
#include "pki/ca.h"
#include "pki/encoding.h"

namespace magnumd::cloudsim::testing {

inline constexpr const char* kToken = "abcdef.0123456789abcdef";
// What kubectl 1.32 sends as Accept for `get` (a Table, else JSON).
inline constexpr const char* kTable =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
    "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

// Listeners as the embedding would give them, without sockets.
class FakeListeners final : public KubeListenerHost {
 public:
  util::Result<uint16_t> startListener(const KubeCluster&) override {
    running = true;
    return uint16_t{16443};
  }
  void stopListener(const KubeCluster&) override { running = false; }
  void apiServersChanged(const KubeCluster&) override { api_server_changes++; }
  void nodesChanged(const KubeCluster&) override { changes++; }
  bool running = false;
  int changes = 0;
  int api_server_changes = 0;
};

inline std::string indent(const std::string& text, int spaces) {
  std::string pad(static_cast<size_t>(spaces), ' '), out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += pad + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

inline std::string base64(const std::string& s) {
  return pki::base64Encode({reinterpret_cast<const unsigned char*>(s.data()), s.size()});
}

// First master: CA files (the cert plain, the key base64 as CABPK may write it) and kubeadm.yaml.
inline std::string initUserData(const pki::CertificateAuthority& ca, const std::string& token,
                                const std::string& version = "v1.30.4",
                                const std::string& api_version = "kubeadm.k8s.io/v1beta3") {
  std::string args =
      api_version == "kubeadm.k8s.io/v1beta4"
          ? "  kubeletExtraArgs:\n  - name: node-labels\n"
            "    value: "
            "magnum.openstack.org/role=master,magnum.openstack.org/nodegroup=default-master\n"
          : "  kubeletExtraArgs:\n"
            "    node-labels: "
            "magnum.openstack.org/role=master,magnum.openstack.org/nodegroup=default-master\n";
  std::string kubeadm = fmt::format(
      "apiVersion: {0}\nkind: ClusterConfiguration\nkubernetesVersion: {1}\n"
      "controlPlaneEndpoint: 10.0.0.5:6443\nnetworking:\n  serviceSubnet: 10.254.0.0/16\n"
      "apiServer:\n  certSANs: [api.example.test, 172.24.4.10]\n---\n"
      "apiVersion: {0}\nkind: InitConfiguration\nbootstrapTokens:\n- token: {2}\n  ttl: 24h0m0s\n"
      "localAPIEndpoint:\n  advertiseAddress: 10.0.0.5\n  bindPort: 6443\n"
      "nodeRegistration:\n  name: '{{{{ local_hostname }}}}'\n{3}",
      api_version, version, token, args);
  return "## template: jinja\n#cloud-config\nwrite_files:\n"
         "- path: /etc/kubernetes/pki/ca.crt\n  owner: root:root\n  permissions: '0640'\n"
         "  content: |\n" +
         indent(ca.cert_pem, 4) +
         "- path: /etc/kubernetes/pki/ca.key\n  owner: root:root\n  permissions: '0600'\n"
         "  encoding: base64\n  content: " +
         base64(ca.key_pem) +
         "\n"
         "- path: /run/kubeadm/kubeadm.yaml\n  permissions: '0640'\n  content: |\n" +
         indent(kubeadm, 4) +
         "- path: /run/cluster-api/placeholder\n  content: This file is created by CAPI\n"
         "runcmd:\n- kubeadm init --config /run/kubeadm/kubeadm.yaml && echo success > "
         "/run/cluster-api/bootstrap-success.complete\n";
}

// A worker (no CA files) or a control-plane joiner (`ca` given: carries the CA files; its cert_pem
// may be a bundle, as during a CA rotation). `ca_hashes`: the discovery pins.
// `kubernetes_version`: written as KUBERNETES_VERSION in /etc/magnumd/bootstrap.env.
inline std::string joinUserData(const std::string& token, const std::vector<std::string>& ca_hashes,
                                const std::string& role = "worker",
                                const pki::CertificateAuthority* ca = nullptr,
                                const std::string& kubernetes_version = "") {
  std::string files;
  if (ca != nullptr) {
    files = "- path: /etc/kubernetes/pki/ca.crt\n  content: |\n" + indent(ca->cert_pem, 4) +
            "- path: /etc/kubernetes/pki/ca.key\n  encoding: base64\n  content: " +
            base64(ca->key_pem) + "\n";
  }
  if (!kubernetes_version.empty()) {
    files += "- path: /etc/magnumd/bootstrap.env\n  content: |\n    KUBERNETES_VERSION=" +
             kubernetes_version + "\n";
  }
  std::string pins;
  for (const auto& hash : ca_hashes) pins += "    - " + hash + "\n";
  std::string join = fmt::format(
      "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n"
      "  bootstrapToken:\n    token: {}\n    apiServerEndpoint: 10.0.0.5:6443\n"
      "    caCertHashes:\n{}nodeRegistration:\n  name: '{{{{ local_hostname }}}}'\n"
      "  kubeletExtraArgs:\n    node-labels: magnum.openstack.org/role={},"
      "magnum.openstack.org/nodegroup=default-{}\n{}",
      token, pins, role, role, ca != nullptr ? "controlPlane:\n  localAPIEndpoint: {}\n" : "");
  // Plain content: cloud-init renders jinja over the raw user_data, so {{ local_hostname }} in
  // base64-encoded content would stay unrendered.
  return "## template: jinja\n#cloud-config\nwrite_files:\n" + files +
         "- path: /run/kubeadm/kubeadm-join-config.yaml\n  content: |\n" + indent(join, 4) +
         "runcmd:\n- kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml\n";
}

inline std::string joinUserData(const std::string& token, const std::string& ca_hash,
                                const std::string& role = "worker",
                                const pki::CertificateAuthority* ca = nullptr,
                                const std::string& kubernetes_version = "") {
  return joinUserData(token, std::vector<std::string>{ca_hash}, role, ca, kubernetes_version);
}

// A master of a magnumd node group: the CA, both kubeadm configurations (init, and a
// control-plane join) and /etc/magnumd/bootstrap.env naming its member index, as Heat renders it
// from the group's user_data ("%index%" substituted).
inline std::string masterUserData(const pki::CertificateAuthority& ca, const std::string& token,
                                  const std::vector<std::string>& ca_hashes,
                                  const std::string& member_index,
                                  const std::string& version = "v1.30.4") {
  std::string init = initUserData(ca, token, version);
  std::string join = joinUserData(token, ca_hashes, "master", &ca);
  // The join configuration's file and the bootstrap environment, after the init user_data's.
  size_t join_file = join.find("- path: /run/kubeadm/kubeadm-join-config.yaml");
  size_t join_end = join.find("runcmd:");
  std::string files =
      join.substr(join_file, join_end - join_file) +
      "- path: /etc/magnumd/bootstrap.env\n  content: |\n    MEMBER_INDEX=" + member_index +
      "\n    API_ENDPOINT=10.0.0.5:6443\n";
  init.insert(init.find("runcmd:"), files);
  return init;
}
inline std::string masterUserData(const pki::CertificateAuthority& ca, const std::string& token,
                                  const std::string& ca_hash, const std::string& member_index,
                                  const std::string& version = "v1.30.4") {
  return masterUserData(ca, token, std::vector<std::string>{ca_hash}, member_index, version);
}

}  // namespace magnumd::cloudsim::testing
