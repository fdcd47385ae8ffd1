// The pods a fresh kubeadm cluster runs, enough for a drain to be real: kube-proxy (a DaemonSet)
// on every node, the static control-plane pods (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler; their mirror pods) on every control-plane node, and CoreDNS (a ReplicaSet of
// two) on Ready, schedulable nodes. Their controllers are simulated as far as a drain sees them:
// an evicted or deleted pod comes back (a DaemonSet pod on its node, a CoreDNS pod on another
// node or Pending, a static pod under its own name); a node's pods go with it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "util/time.h"

namespace magnumd::cloudsim {

struct KubeCluster;
struct KubeNode;

enum class PodOwner : uint8_t { DaemonSet, ReplicaSet, Node };

struct KubePod {
  std::string ns;
  std::string name;
  std::string node;  // spec.nodeName; "" while Pending
  PodOwner owner = PodOwner::DaemonSet;
  std::string owner_name;  // kube-proxy, coredns-<hash>, or the node
  std::string component;   // kube-proxy, coredns, etcd, kube-apiserver, ...
  std::string image;
  std::string ip;  // "" while Pending
  std::string uid;
  util::SystemTime created;
  uint64_t resource_version = 0;
};

inline constexpr int kCoreDnsReplicas = 2;

// Creates the cluster-wide pods (CoreDNS), Pending until a node can take them.
void addClusterPods(KubeCluster& cluster, util::SystemTime now);
// A node registered: its DaemonSet and static pods start, Pending pods may land on it.
void addNodePods(KubeCluster& cluster, const KubeNode& node, util::SystemTime now);
// A node left: its pods go; ReplicaSet pods are recreated elsewhere or wait Pending.
void removeNodePods(KubeCluster& cluster, std::string_view node, util::SystemTime now);
// Binds Pending pods to Ready, schedulable nodes (the one with the fewest pods of the same
// controller first, then by name), as kube-scheduler's spreading would.
void schedulePendingPods(KubeCluster& cluster);
// Eviction or DELETE: the pod goes and its controller makes a new one. NotFound when absent.
util::Status removePod(KubeCluster& cluster, std::string_view ns, std::string_view name,
                       util::SystemTime now);

// Pods in `ns` ("" for every namespace) matching the selectors as kube-apiserver reads them:
// fieldSelector on spec.nodeName, metadata.name, metadata.namespace and status.phase (=, ==, !=);
// labelSelector with =, ==, !=, `key` and `!key` terms. BadRequest names what is not supported.
util::Result<std::vector<const KubePod*>> selectPods(const KubeCluster& cluster,
                                                     std::string_view ns,
                                                     std::string_view field_selector,
                                                     std::string_view label_selector);

// Labels as each pod's controller sets them (k8s-app, component, tier, pod-template-hash, ...).
std::map<std::string, std::string> podLabels(const KubePod& pod);
std::string_view podPhase(const KubePod& pod);  // Running, or Pending while unbound

}  // namespace magnumd::cloudsim
