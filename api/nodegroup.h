// NodeGroup: a pool of same-flavor servers in a cluster. The reconciler creates default-master and
// default-worker for every cluster; users add more (Magnum's node-groups).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/cluster.h"
#include "api/cluster_template.h"
#include "api/codec.h"
#include "api/condition.h"
#include "api/object.h"
#include "api/validation.h"
#include "util/result.h"

namespace magnumd::api {

inline constexpr std::string_view kRoleMaster = "master";
inline constexpr std::string_view kRoleWorker = "worker";
inline constexpr std::string_view kDefaultMasterNodeGroup = "default-master";
inline constexpr std::string_view kDefaultWorkerNodeGroup = "default-worker";
inline constexpr size_t kMaxNodesToRemove = 1000;

// True for "<cluster>-default-master" and "<cluster>-default-worker": the object names of the
// node groups magnumd creates with each cluster, which go when the cluster goes.
inline bool isDefaultNodeGroupName(std::string_view name, std::string_view cluster) {
  if (name.size() <= cluster.size() + 1 || name.substr(0, cluster.size()) != cluster ||
      name[cluster.size()] != '-') {
    return false;
  }
  std::string_view group = name.substr(cluster.size() + 1);
  return group == kDefaultMasterNodeGroup || group == kDefaultWorkerNodeGroup;
}

inline constexpr size_t kMaxNodeTaints = 64;

// The effects a Kubernetes taint may have.
const std::vector<std::string_view>& taintEffects();

// A Kubernetes taint every node of a group registers with (Magnum 1.14's node_taints entries).
struct NodeTaint {
  std::string key;
  std::string value;  // "" for a taint without one
  std::string effect;

  bool operator==(const NodeTaint&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("key", s.key, {.description = "The taint's key, a Kubernetes label key.", .required = true});
    v("value", s.value,
      {.description = "The taint's value, a Kubernetes label value; may be empty."});
    v("effect", s.effect,
      {.description = "What the taint does to pods that do not tolerate it.",
       .values = taintEffects,
       .required = true});
  }
};

struct NodeGroupSpec {
  std::string cluster;                        // a Cluster in the same namespace (required; immutable)
  std::string role = "worker";                // free-form; "master" only for default-master
  int64_t node_count = 1;
  int64_t min_node_count = 0;
  std::optional<int64_t> max_node_count;      // unset: unbounded
  std::optional<std::string> flavor;          // unset: the cluster's flavor
  std::optional<std::string> image;           // unset: the template's image
  std::optional<int64_t> docker_volume_size;  // unset: the cluster's
  StringMap labels;                           // replace the cluster's, or merge when mergeLabels
  bool merge_labels = false;
  std::vector<std::string> nodes_to_remove;   // server names or ids to remove first on scale-down
  StringMap node_labels;                      // Kubernetes labels of the group's nodes
  std::vector<NodeTaint> node_taints;         // Kubernetes taints of the group's nodes

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("cluster", s.cluster,
      {.description = "The Cluster the node group belongs to, in the same namespace.",
       .immutable = "a node group belongs to one cluster",
       .required = true});
    v("role", s.role,
      {.description = "What the servers are for, free-form (a DNS-1123 label); \"master\" is "
                      "reserved for the default-master group magnumd creates.",
       .immutable = "create another node group with the new role"});
    v("nodeCount", s.node_count,
      {.description = "Servers in the group, between minNodeCount and maxNodeCount.",
       .minimum = 0,
       .maximum = kMaxNodeCount});
    v("minNodeCount", s.min_node_count,
      {.description = "Fewest servers the group may be scaled to.",
       .minimum = 0,
       .maximum = kMaxNodeCount});
    v("maxNodeCount", s.max_node_count,
      {.description = "Most servers the group may be scaled to; unset: no limit.",
       .minimum = 0,
       .maximum = kMaxNodeCount});
    v("flavor", s.flavor,
      {.description = "Nova flavor of the group's servers; unset: the cluster's.",
       .max_size = kMaxResourceName});
    v("image", s.image,
      {.description = "Glance image of the group's servers; unset: the template's.",
       .max_size = kMaxResourceName});
    v("dockerVolumeSize", s.docker_volume_size,
      {.description = "Size in GB of each server's Cinder volume for container images; unset: the "
                      "cluster's. At least 3 when the template's dockerStorageDriver is "
                      "devicemapper.",
       .minimum = 1,
       .maximum = kMaxVolumeGb});
    v("labels", s.labels,
      {.description = "Driver parameters for the group's servers. They replace the cluster's "
                      "labels unless mergeLabels is true.",
       .max_size = kMaxLabels,
       .labels = true});
    v("mergeLabels", s.merge_labels,
      {.description = "Merge labels into the cluster's instead of replacing them; the group's "
                      "values win."});
    v("nodesToRemove", s.nodes_to_remove,
      {.description = "Names or IDs of servers to remove first when nodeCount goes down "
                      "(Magnum's nodes_to_remove).",
       .max_size = kMaxNodesToRemove,
       .list_type = ListType::Set});
    v("nodeLabels", s.node_labels,
      {.description = "Kubernetes labels every node of the group registers with (Magnum's "
                      "node_labels); not on the master group. Keys under kubernetes.io/ and "
                      "k8s.io/ only as the kubelet allows them (node.kubernetes.io/..., "
                      "topology.kubernetes.io/zone, ...). Servers booted after a change get it.",
       .max_size = kMaxLabels});
    v("nodeTaints", s.node_taints,
      {.description = "Kubernetes taints every node of the group registers with (Magnum's "
                      "node_taints); not on the master group. Servers booted after a change get "
                      "it.",
       .max_size = kMaxNodeTaints});
  }
};

struct NodeStatus {
  std::string name;
  std::string server_id;
  std::string status;                  // Nova's: ACTIVE, BUILD, ERROR, SHUTOFF, ...
  std::vector<std::string> addresses;

  bool operator==(const NodeStatus&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("name", s.name, {.description = "The server's name.", .required = true});
    v("serverId", s.server_id, {.description = "The Nova server's ID."});
    v("status", s.status,
      {.description = "Nova's server status: ACTIVE, BUILD, ERROR, SHUTOFF, ..."});
    v("addresses", s.addresses);
  }
};

struct NodeGroupStatus {
  std::string phase;                   // the same values as Cluster's phase
  std::string status_reason;
  int64_t node_count = 0;              // servers that exist now
  std::vector<NodeStatus> nodes;
  std::string stack_id;
  int64_t observed_generation = 0;
  std::vector<Condition> conditions;

  bool operator==(const NodeGroupStatus&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("phase", s.phase,
      {.description = "Magnum's status of the node group, in the Cluster phase's terms.",
       .values = phases});
    v("statusReason", s.status_reason,
      {.description = "Why the phase is what it is; on failure, in the cloud's own words."});
    v("nodeCount", s.node_count, {.description = "Servers that exist now."});
    v("nodes", s.nodes,
      {.description = "The group's servers.", .list_type = ListType::Map, .list_key = "name"});
    v("stackId", s.stack_id, {.description = "ID of the Heat stack of the group's servers."});
    v("observedGeneration", s.observed_generation,
      {.description = "The metadata.generation this status describes."});
    v("conditions", s.conditions,
      {.description = "Kubernetes conditions, one per type.",
       .list_type = ListType::Map,
       .list_key = "type"});
  }
};

util::Result<NodeGroupSpec> decodeNodeGroupSpec(std::string_view json);
std::string encodeNodeGroupSpec(const NodeGroupSpec& spec);
util::Result<NodeGroupStatus> decodeNodeGroupStatus(std::string_view json);
std::string encodeNodeGroupStatus(const NodeGroupStatus& status);

// Paths under "spec."; with the template, dockerVolumeSize is checked against its storage driver
// and labels against its COE.
void validate(const NodeGroupSpec& spec, const ClusterTemplateSpec* tmpl, Causes& causes);

// Flavor, image, volume size and labels a node group's servers get: node group values win, then
// the cluster's (resolved against its template).
struct NodeGroupConfig {
  std::string flavor;
  std::string image;
  std::optional<int64_t> docker_volume_size;
  StringMap labels;
};
NodeGroupConfig resolveNodeGroup(const ClusterConfig& cluster, const NodeGroupSpec& nodegroup);

}  // namespace magnumd::api
