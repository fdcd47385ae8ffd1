#include "cloudsim/kube_pods.h"

#include <fmt/format.h>

#include <algorithm>

#include "cloudsim/kube_cluster.h"
#include "cloudsim/support.h"

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::makeError;

constexpr std::string_view kSystem = "kube-system";
constexpr std::string_view kCoreDnsImage = "registry.k8s.io/coredns/coredns:v1.11.3";
constexpr std::string_view kEtcdImage = "registry.k8s.io/etcd:3.5.16-0";
constexpr std::string_view kStaticComponents[] = {"etcd", "kube-apiserver",
                                                  "kube-controller-manager", "kube-scheduler"};

// Generated name suffixes use kube's alphabet (no vowels, no confusable digits). The stable id is
// mixed (splitmix64's finaliser) so that neighbouring sequence numbers give unrelated suffixes.
std::string nameSuffix(const KubeCluster& cluster, std::string_view what, uint64_t seq,
                       size_t length) {
  constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string h = stableHexId("pod", fmt::format("{}/{}/{}", cluster.stack_id, what, seq));
  uint64_t x = std::stoull(h.substr(0, 16), nullptr, 16);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  std::string out;
  for (size_t i = 0; i < length; ++i) {
    out += kAlphabet[x % kAlphabet.size()];
    x /= kAlphabet.size();
  }
  return out;
}

// A generated name not taken in `ns`: "<prefix>-<suffix>".
std::string generateName(KubeCluster& cluster, std::string_view ns, const std::string& prefix,
                         std::string_view what, uint64_t& seq) {
  for (;;) {
    std::string name = prefix + "-" + nameSuffix(cluster, what, seq, 5);
    if (cluster.pods.count(fmt::format("{}/{}", ns, name)) == 0) return name;
    seq = ++cluster.pod_seq;
  }
}

std::string uuidOf(std::string_view kind, std::string_view name) {
  std::string h = stableHexId(kind, name);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20, 12));
}

std::string coreDnsReplicaSet(const KubeCluster& cluster) {
  return "coredns-" + nameSuffix(cluster, "coredns-replicaset", 0, 10);
}

const KubeNode* nodeNamed(const KubeCluster& cluster, std::string_view name) {
  auto it = cluster.nodes.find(std::string(name));
  return it == cluster.nodes.end() ? nullptr : &it->second;
}

// Stores a new pod: a fresh uid, creationTimestamp and resourceVersion.
void insert(KubeCluster& cluster, KubePod pod, util::SystemTime now, uint64_t seq) {
  pod.uid = uuidOf("pod", fmt::format("{}/{}/{}/{}", cluster.stack_id, pod.ns, pod.name, seq));
  pod.created = now;
  pod.resource_version = ++cluster.resource_version;
  std::string key = pod.ns + "/" + pod.name;
  cluster.pods.insert_or_assign(std::move(key), std::move(pod));
}

void addDaemonPod(KubeCluster& cluster, const KubeNode& node, util::SystemTime now) {
  uint64_t seq = ++cluster.pod_seq;
  KubePod pod;
  pod.ns = kSystem;
  pod.name = generateName(cluster, kSystem, "kube-proxy", "kube-proxy", seq);
  pod.node = node.name;
  pod.owner = PodOwner::DaemonSet;
  pod.owner_name = "kube-proxy";
  pod.component = "kube-proxy";
  pod.image = "registry.k8s.io/kube-proxy:" + node.version;
  pod.ip = node.internal_ip;
  insert(cluster, std::move(pod), now, seq);
}

void addStaticPod(KubeCluster& cluster, const KubeNode& node, std::string_view component,
                  util::SystemTime now) {
  KubePod pod;
  pod.ns = kSystem;
  pod.name = fmt::format("{}-{}", component, node.name);
  pod.node = node.name;
  pod.owner = PodOwner::Node;
  pod.owner_name = node.name;
  pod.component = component;
  pod.image = component == "etcd" ? std::string(kEtcdImage)
                                  : fmt::format("registry.k8s.io/{}:{}", component, node.version);
  pod.ip = node.internal_ip;
  insert(cluster, std::move(pod), now, ++cluster.pod_seq);
}

void addReplicaPod(KubeCluster& cluster, util::SystemTime now) {
  uint64_t seq = ++cluster.pod_seq;
  KubePod pod;
  pod.ns = kSystem;
  pod.owner = PodOwner::ReplicaSet;
  pod.owner_name = coreDnsReplicaSet(cluster);
  pod.name = generateName(cluster, kSystem, pod.owner_name, "coredns", seq);
  pod.component = "coredns";
  pod.image = kCoreDnsImage;
  insert(cluster, std::move(pod), now, seq);
}

bool schedulable(const KubeNode& node) { return node.ready && !node.unschedulable; }

// key=value, key==value, key!=value
struct Term {
  std::string key, value;
  bool negated = false;
  bool exists_only = false;  // labelSelector `key` or `!key`
};

util::Result<std::vector<Term>> parseTerms(std::string_view selector, bool labels) {
  std::vector<Term> out;
  for (const std::string& raw : splitComma(selector)) {
    std::string_view t = raw;
    if (t.find('(') != std::string_view::npos) {
      return makeError(
          ErrorCode::BadRequest,
          fmt::format("cloudsim supports equality-based selectors only, not \"{}\"", t));
    }
    Term term;
    size_t op = t.find_first_of("!=");
    if (op == std::string_view::npos || (t[op] == '!' && op + 1 == t.size())) {
      if (!labels)
        return makeError(ErrorCode::BadRequest, fmt::format("invalid field selector: \"{}\"", t));
      term.key = t;
      term.exists_only = true;
    } else if (t[op] == '!' && op == 0 && labels) {
      term.key = t.substr(1);
      term.negated = term.exists_only = true;
    } else {
      term.key = t.substr(0, op);
      term.negated = t[op] == '!';
      size_t value_at = op + 1;
      if (term.negated && (value_at >= t.size() || t[value_at] != '=')) {
        return makeError(ErrorCode::BadRequest, fmt::format("invalid selector: \"{}\"", t));
      }
      if (term.negated || (value_at < t.size() && t[value_at] == '=')) ++value_at;
      term.value = t.substr(value_at);
    }
    out.push_back(std::move(term));
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> podLabels(const KubePod& pod) {
  switch (pod.owner) {
    case PodOwner::DaemonSet:
      return {{"controller-revision-hash", "7b8b66bd9f"},
              {"k8s-app", pod.component},
              {"pod-template-generation", "1"}};
    case PodOwner::ReplicaSet:
      return {{"k8s-app", "kube-dns"},
              {"pod-template-hash", pod.owner_name.substr(pod.owner_name.rfind('-') + 1)}};
    case PodOwner::Node:
      return {{"component", pod.component}, {"tier", "control-plane"}};
  }
  return {};
}

std::string_view podPhase(const KubePod& pod) { return pod.node.empty() ? "Pending" : "Running"; }

void addClusterPods(KubeCluster& cluster, util::SystemTime now) {
  for (int i = 0; i < kCoreDnsReplicas; ++i) addReplicaPod(cluster, now);
  schedulePendingPods(cluster);
}

void addNodePods(KubeCluster& cluster, const KubeNode& node, util::SystemTime now) {
  addDaemonPod(cluster, node, now);
  if (node.control_plane) {
    for (std::string_view component : kStaticComponents)
      addStaticPod(cluster, node, component, now);
  }
  schedulePendingPods(cluster);
}

void removeNodePods(KubeCluster& cluster, std::string_view node, util::SystemTime now) {
  int replicas = 0;
  std::erase_if(cluster.pods, [&](const auto& entry) {
    if (entry.second.node != node) return false;
    if (entry.second.owner == PodOwner::ReplicaSet) ++replicas;
    return true;
  });
  for (int i = 0; i < replicas; ++i) addReplicaPod(cluster, now);
  schedulePendingPods(cluster);
}

void schedulePendingPods(KubeCluster& cluster) {
  for (auto& [key, pod] : cluster.pods) {
    if (!pod.node.empty() || pod.owner != PodOwner::ReplicaSet) continue;
    const KubeNode* best = nullptr;
    size_t best_count = 0;
    for (const auto& [name, node] : cluster.nodes) {
      if (!schedulable(node)) continue;
      size_t count = std::count_if(cluster.pods.begin(), cluster.pods.end(), [&](const auto& p) {
        return p.second.node == name && p.second.owner_name == pod.owner_name;
      });
      if (best == nullptr || count < best_count) {
        best = &node;
        best_count = count;
      }
    }
    if (best == nullptr) return;  // nothing can take a pod now
    uint64_t seq = ++cluster.pod_seq;
    pod.node = best->name;
    pod.ip = fmt::format("10.244.{}.{}", (seq / 250) % 256, seq % 250 + 2);
    pod.resource_version = ++cluster.resource_version;
  }
}

util::Status removePod(KubeCluster& cluster, std::string_view ns, std::string_view name,
                       util::SystemTime now) {
  auto it = cluster.pods.find(fmt::format("{}/{}", ns, name));
  if (it == cluster.pods.end()) {
    return makeError(ErrorCode::NotFound, fmt::format(R"(pods "{}" not found)", name));
  }
  KubePod gone = std::move(it->second);
  cluster.pods.erase(it);
  const KubeNode* node = nodeNamed(cluster, gone.node);
  switch (gone.owner) {
    case PodOwner::DaemonSet:
      if (node != nullptr) addDaemonPod(cluster, *node, now);
      break;
    case PodOwner::ReplicaSet:
      addReplicaPod(cluster, now);
      schedulePendingPods(cluster);
      break;
    case PodOwner::Node:  // the kubelet recreates a static pod's mirror under the same name
      if (node != nullptr) addStaticPod(cluster, *node, gone.component, now);
      break;
  }
  return {};
}

util::Result<std::vector<const KubePod*>> selectPods(const KubeCluster& cluster,
                                                     std::string_view ns,
                                                     std::string_view field_selector,
                                                     std::string_view label_selector) {
  ASSIGN_OR_RETURN(auto fields, parseTerms(field_selector, false));
  ASSIGN_OR_RETURN(auto labels, parseTerms(label_selector, true));
  for (const Term& f : fields) {
    if (f.key != "spec.nodeName" && f.key != "metadata.name" && f.key != "metadata.namespace" &&
        f.key != "status.phase") {
      return makeError(ErrorCode::BadRequest, fmt::format("field label not supported: {}", f.key));
    }
  }
  std::vector<const KubePod*> out;
  for (const auto& [key, pod] : cluster.pods) {
    if (!ns.empty() && pod.ns != ns) continue;
    bool match = std::all_of(fields.begin(), fields.end(), [&](const Term& f) {
      std::string_view actual = f.key == "spec.nodeName"   ? std::string_view(pod.node)
                                : f.key == "metadata.name" ? std::string_view(pod.name)
                                : f.key == "status.phase"  ? podPhase(pod)
                                                           : std::string_view(pod.ns);
      return (actual == f.value) != f.negated;
    });
    if (match && !labels.empty()) {
      auto pod_labels = podLabels(pod);
      match = std::all_of(labels.begin(), labels.end(), [&](const Term& l) {
        auto it = pod_labels.find(l.key);
        bool has = it != pod_labels.end();
        if (l.exists_only) return has != l.negated;
        return (has && it->second == l.value) != l.negated;
      });
    }
    if (match) out.push_back(&pod);
  }
  return out;
}

}  // namespace magnumd::cloudsim
