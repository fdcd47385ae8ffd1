#include "api/nodegroup.h"

#include <fmt/format.h>

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

void validate(const NodeGroupSpec& s, const ClusterTemplateSpec* tmpl, Causes& causes) {
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
