#include "api/nodegroup.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "api/labels.h"

namespace magnumd::api {

namespace {

void validateCounts(const NodeGroupSpec& s, Causes& causes) {
  if (s.node_count < 0 || s.node_count > kMaxNodeCount) {
    causes.add("spec.nodeCount", fmt::format("{} is not between 0 and {}", s.node_count, kMaxNodeCount));
  }
  if (s.min_node_count < 0 || s.min_node_count > kMaxNodeCount) {
    causes.add("spec.minNodeCount", fmt::format("{} is not between 0 and {}", s.min_node_count, kMaxNodeCount));
  }
  if (s.max_node_count && (*s.max_node_count < 0 || *s.max_node_count > kMaxNodeCount)) {
    causes.add("spec.maxNodeCount", fmt::format("{} is not between 0 and {}", *s.max_node_count, kMaxNodeCount));
  }
  if (s.max_node_count && s.min_node_count > *s.max_node_count) {
    causes.add("spec.minNodeCount", fmt::format("{} is greater than maxNodeCount {}", s.min_node_count,
                                                *s.max_node_count));
  }
  if (s.node_count < s.min_node_count) {
    causes.add("spec.nodeCount", fmt::format("{} is less than minNodeCount {}", s.node_count, s.min_node_count));
  }
  if (s.max_node_count && s.node_count > *s.max_node_count) {
    causes.add("spec.nodeCount", fmt::format("{} is greater than maxNodeCount {}", s.node_count, *s.max_node_count));
  }
  if (s.role == kRoleMaster && (s.node_count < 1 || s.node_count % 2 == 0)) {
    causes.add("spec.nodeCount", fmt::format("{} is not odd: a master node group needs 1, 3, 5, ... masters",
                                             s.node_count));
  }
}

void validateNodesToRemove(const std::vector<std::string>& nodes, Causes& causes) {
  if (nodes.size() > kMaxNodesToRemove) {
    causes.add("spec.nodesToRemove", fmt::format("has {} entries; at most {} are allowed", nodes.size(),
                                                 kMaxNodesToRemove));
    return;
  }
  std::set<std::string_view> seen;
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string field = fmt::format("spec.nodesToRemove[{}]", i);
    Causes one;
    validateResourceName(nodes[i], field, one);
    for (const auto& c : one.all()) causes.add(c.field, c.message);
    if (one.empty() && !seen.insert(nodes[i]).second) {
      causes.add(field, fmt::format("{} is listed twice", quoted(nodes[i])));
    }
  }
}

}  // namespace

util::Result<NodeGroupSpec> decodeNodeGroupSpec(std::string_view json) {
  return decodeRecord<NodeGroupSpec>(json, "spec");
}
std::string encodeNodeGroupSpec(const NodeGroupSpec& spec) { return encodeRecord(spec); }
util::Result<NodeGroupStatus> decodeNodeGroupStatus(std::string_view json) {
  return decodeRecord<NodeGroupStatus>(json, "status");
}
std::string encodeNodeGroupStatus(const NodeGroupStatus& status) { return encodeRecord(status); }

const std::vector<std::string_view>& taintEffects() {
  static const std::vector<std::string_view> kEffects = {"NoSchedule", "PreferNoSchedule",
                                                         "NoExecute"};
  return kEffects;
}

namespace {

// The kubelet refuses to start when asked to label its node in the kubernetes.io/ or k8s.io/
// namespaces, except for these (NodeRestriction's list, as Magnum's 1.14 API checks it).
bool kubeletMayLabel(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return true;
  std::string_view prefix = key.substr(0, slash);
  bool restricted = prefix == "kubernetes.io" || prefix == "k8s.io" ||
                    prefix.ends_with(".kubernetes.io") || prefix.ends_with(".k8s.io");
  if (!restricted) return true;
  if (prefix == "kubelet.kubernetes.io" || prefix == "node.kubernetes.io") return true;
  static const std::set<std::string_view> kAllowed = {"beta.kubernetes.io/arch",
                                                      "beta.kubernetes.io/instance-type",
                                                      "beta.kubernetes.io/os",
                                                      "failure-domain.beta.kubernetes.io/region",
                                                      "failure-domain.beta.kubernetes.io/zone",
                                                      "kubernetes.io/arch",
                                                      "kubernetes.io/hostname",
                                                      "kubernetes.io/os",
                                                      "node.kubernetes.io/instance-type",
                                                      "node.kubernetes.io/windows-build",
                                                      "topology.kubernetes.io/region",
                                                      "topology.kubernetes.io/zone"};
  return kAllowed.count(key) > 0;
}

void validateNodeLabelsAndTaints(const NodeGroupSpec& s, Causes& causes) {
  const bool master = s.role == kRoleMaster;
  if (master && !s.node_labels.empty()) {
    causes.add("spec.nodeLabels",
               "may not be set on the master node group (kubeadm manages the "
               "control plane's labels)");
  }
  if (master && !s.node_taints.empty()) {
    causes.add("spec.nodeTaints",
               "may not be set on the master node group (kubeadm manages the "
               "control plane's taints)");
  }
  if (s.node_labels.size() > kMaxLabels) {
    causes.add("spec.nodeLabels", fmt::format("has {} labels; at most {} are allowed",
                                              s.node_labels.size(), kMaxLabels));
    return;
  }
  if (s.node_taints.size() > kMaxNodeTaints) {
    causes.add("spec.nodeTaints", fmt::format("has {} taints; at most {} are allowed",
                                              s.node_taints.size(), kMaxNodeTaints));
    return;
  }
  for (const auto& [key, value] : s.node_labels) {
    std::string field = fmt::format("spec.nodeLabels[{}]", quoted(key));
    if (auto p = labelKeyProblem(key)) {
      causes.add(field, fmt::format("key {} {}", quoted(key), *p));
    } else if (key.starts_with("magnum.openstack.org/")) {
      causes.add(field, fmt::format("{}: magnum.openstack.org/ labels are set by magnumd (role, "
                                    "nodegroup)",
                                    quoted(key)));
    } else if (!kubeletMayLabel(key)) {
      causes.add(field, fmt::format("{} is in a restricted Kubernetes namespace; the kubelet would "
                                    "refuse to start. Use node.kubernetes.io/, "
                                    "kubelet.kubernetes.io/ or another prefix",
                                    quoted(key)));
    }
    if (auto p = labelValueProblem(value))
      causes.add(field, fmt::format("{} {}", quoted(value), *p));
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < s.node_taints.size(); ++i) {
    const NodeTaint& t = s.node_taints[i];
    std::string field = fmt::format("spec.nodeTaints[{}]", i);
    if (t.key.empty()) {
      causes.add(field + ".key", "required");
    } else if (auto p = labelKeyProblem(t.key)) {
      causes.add(field + ".key", fmt::format("{} {}", quoted(t.key), *p));
    }
    if (!t.value.empty()) {
      if (auto p = labelValueProblem(t.value)) {
        causes.add(field + ".value", fmt::format("{} {}", quoted(t.value), *p));
      }
    }
    const auto& effects = taintEffects();
    if (std::find(effects.begin(), effects.end(), t.effect) == effects.end()) {
      causes.add(field + ".effect",
                 fmt::format("{} is not one of {}", quoted(t.effect), joinValues(effects)));
    }
    if (!seen.emplace(t.key, t.effect).second) {
      causes.add(field, fmt::format("a taint with key {} and effect {} is already listed",
                                    quoted(t.key), t.effect));
    }
  }
}

}  // namespace

void validate(const NodeGroupSpec& s, const ClusterTemplateSpec* tmpl, Causes& causes) {
  validateNodeLabelsAndTaints(s, causes);
  if (s.cluster.empty()) {
    causes.add("spec.cluster", "required: the name of a Cluster in this namespace");
  } else if (auto p = dns1123LabelProblem(s.cluster)) {
    causes.add("spec.cluster", fmt::format("{} {}", quoted(s.cluster), *p));
  }
  if (auto p = dns1123LabelProblem(s.role)) {
    causes.add("spec.role", fmt::format("{} {}", quoted(s.role), *p));
  }
  validateCounts(s, causes);
  validateResourceName(s.flavor, "spec.flavor", causes);
  validateResourceName(s.image, "spec.image", causes);
  if (s.docker_volume_size) {
    validateDockerVolumeSize(*s.docker_volume_size, tmpl ? tmpl->docker_storage_driver : "overlay2",
                             "spec.dockerVolumeSize", causes);
  }
  validateNodesToRemove(s.nodes_to_remove, causes);
  if (tmpl == nullptr) {
    validateLabels(s.labels, nullptr, "spec.labels", causes);
  } else {
    LabelContext ctx{tmpl->coe, tmpl->network_driver, tmpl->volume_driver.value_or("")};
    validateLabels(s.labels, &ctx, "spec.labels", causes);
  }
}

NodeGroupConfig resolveNodeGroup(const ClusterConfig& cluster, const NodeGroupSpec& ng) {
  NodeGroupConfig out;
  bool master = ng.role == kRoleMaster;
  out.flavor = ng.flavor.value_or(master ? cluster.master_flavor : cluster.flavor);
  out.image = ng.image.value_or(cluster.image);
  out.docker_volume_size = ng.docker_volume_size ? ng.docker_volume_size : cluster.docker_volume_size;
  if (ng.labels.empty()) {
    out.labels = cluster.labels;
  } else if (ng.merge_labels) {
    out.labels = cluster.labels;
    for (const auto& [k, v] : ng.labels) out.labels[k] = v;
  } else {
    out.labels = ng.labels;
  }
  return out;
}

}  // namespace magnumd::api
