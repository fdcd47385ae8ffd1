// What a Kubernetes node runs from its Nova user_data: a cloud-config, laid out as Cluster API's
// kubeadm bootstrap provider writes it, that turns a kubeadm-ready image (kubelet, kubeadm,
// containerd) into the first control-plane node (`kubeadm init`), another control-plane node or a
// worker (`kubeadm join`). docs/bootstrap.md describes the result and every label it reads.
//
// Pure: the same input renders the same bytes; randomness (the bootstrap token) is an input.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/labels.h"
#include "pki/ca.h"
#include "util/result.h"

namespace magnumd::coe::kubernetes {

// FirstMaster runs `kubeadm init`, JoiningMaster and Worker `kubeadm join`. Master is what a
// master node group's servers share: both configurations and a script that chooses at boot (the
// member with index 0 initialises unless the control plane already answers; the others join).
enum class NodeRole { FirstMaster, JoiningMaster, Worker, Master };

using api::kDefaultKubernetesVersion;
using api::kNewestKubernetesMinor;
using api::kOldestKubernetesMinor;
// Nova takes at most 65,535 bytes of base64 user_data: 49,149 bytes before encoding.
inline constexpr size_t kMaxUserDataBytes = 49149;
inline constexpr std::chrono::seconds kDefaultTokenTtl = std::chrono::hours(24);
inline constexpr int64_t kApiServerPort = 6443;

struct BootstrapInput {
  std::string cluster_name;
  std::string cluster_uid;
  std::string nodegroup;  // "default-worker"
  NodeRole role = NodeRole::Worker;
  std::string node_name;  // the Nova server's name, which becomes its hostname and Node name
  // Master: which member of its node group this server is ("0" initialises the cluster). Letters,
  // digits and '%' (a Heat ResourceGroup substitutes "%index%").
  std::string member_index = "0";
  // The stable address every kubelet and kubeconfig uses: the load balancer's VIP, or a floating
  // IP that can move between masters. Host and port, never one server's own address.
  std::string control_plane_host;
  int64_t control_plane_port = kApiServerPort;
  std::vector<std::string> cert_sans;  // beside control_plane_host: LB VIP, floating IPs, names
  // The cluster's CAs. Masters get them all; workers only use the cluster CA's certificate for
  // the caCertHashes pin and receive no file from it.
  pki::ClusterPki pki;
  std::string bootstrap_token;  // [a-z0-9]{6}.[a-z0-9]{16}; see generateBootstrapToken()
  std::chrono::seconds token_ttl = kDefaultTokenTtl;
  std::string network_driver = "flannel";  // flannel | calico
  std::string dns_domain = "cluster.local";
  // Template labels overlaid by cluster and node group labels, with defaults applied.
  std::map<std::string, std::string> labels;
  // The node group's Kubernetes node labels and taints ("key[=value]:Effect"), validated by the
  // API (api/nodegroup.h); given to the kubelet.
  std::map<std::string, std::string> node_labels;
  std::vector<std::string> node_taints;
  std::optional<std::string> http_proxy, https_proxy, no_proxy;
  std::optional<std::string> insecure_registry;  // "host[:port]"
};

// The Kubernetes version a cluster runs: kube_tag or kDefaultKubernetesVersion, as "v1.32.4".
// Errors name spec.labels.kube_tag and the accepted range.
util::Result<std::string> kubernetesVersion(const std::map<std::string, std::string>& labels);
// "kubeadm.k8s.io/v1beta3" below 1.31, "kubeadm.k8s.io/v1beta4" from 1.31 (as Cluster API does).
std::string_view kubeadmApiVersion(int minor);

// A fresh token from OpenSSL's CSPRNG; never logged.
util::Result<std::string> generateBootstrapToken();
bool isBootstrapToken(std::string_view token);

// The cloud-config for one node. Fails on labels the nodes cannot be given (naming the label and
// what is valid) and when the result exceeds kMaxUserDataBytes.
util::Result<std::string> renderUserData(const BootstrapInput& input);

}  // namespace magnumd::coe::kubernetes
