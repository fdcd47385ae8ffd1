// Deterministic bootstrap inputs for the tests: fixed CA material from testdata/ (test-only keys)
// and a fixed token, so rendered user_data can be compared byte for byte with golden files.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "drivers/coe/kubernetes/bootstrap.h"

namespace magnumd::coe::kubernetes::testing {

inline std::string testdataPath(std::string_view relative) {
  return std::string(MAGNUMD_KUBERNETES_TESTDATA) + "/" + std::string(relative);
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline pki::ClusterPki fixedPki() {
  auto pem = [](std::string_view name) {
    return readFile(testdataPath("testdata/" + std::string(name)));
  };
  pki::ClusterPki p;
  p.cluster_ca = {pem("ca.crt"), pem("ca.key")};
  p.etcd_ca = {pem("etcd-ca.crt"), pem("etcd-ca.key")};
  p.front_proxy_ca = {pem("front-proxy-ca.crt"), pem("front-proxy-ca.key")};
  p.service_account = {pem("sa.key"), pem("sa.pub")};
  return p;
}

// The seed's example cluster "prod": one master group, one worker group, flannel, defaults.
inline BootstrapInput prodInput(NodeRole role) {
  BootstrapInput in;
  in.cluster_name = "prod";
  in.cluster_uid = "4f9a1c2e-1111-4222-8333-444455556666";
  bool master = role != NodeRole::Worker;
  in.nodegroup = master ? "default-master" : "default-worker";
  in.role = role;
  in.node_name = role == NodeRole::FirstMaster ? "prod-default-master-0"
                 : role == NodeRole::Master    ? "prod-default-master-%index%"
                 : master                      ? "prod-default-master-1"
                                               : "prod-default-worker-0";
  if (role == NodeRole::Master) in.member_index = "%index%";
  in.control_plane_host = "203.0.113.10";
  in.cert_sans = {"203.0.113.10", "10.0.0.5", "prod.example.com"};
  in.pki = fixedPki();
  in.bootstrap_token = "abcdef.0123456789abcdef";
  in.network_driver = "flannel";
  in.labels = {{"flannel_backend", "vxlan"},
               {"flannel_network_cidr", "10.100.0.0/16"},
               {"service_cluster_ip_range", "10.254.0.0/16"}};
  return in;
}

}  // namespace magnumd::coe::kubernetes::testing
