// Rolling replacement of a cluster's nodes (the seed's `openstack coe cluster upgrade`, and any
// node group change that needs new servers: image, flavor, kube_tag): the strategy a user sets and
// what status records. The planner is reconcilers/rollout.*.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/health_check.h"
#include "api/validation.h"

namespace magnumd::api {

inline constexpr int64_t kMaxBatchSize = 100;

// spec.rolloutStrategy. Workers: at most maxSurge servers above a group's count and at most
// maxUnavailable of its nodes not Ready (Cluster API's MachineDeployment; integers or
// percentages, surge rounded up, unavailability down). maxBatchSize is Magnum's max_batch_size:
// when set it is the surge. Masters always go one at a time, surge one, none unavailable.
struct RolloutStrategySpec {
  std::optional<int64_t> max_batch_size;
  std::string max_surge = "1";
  std::string max_unavailable = "0";

  bool operator==(const RolloutStrategySpec&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("maxBatchSize", s.max_batch_size,
      {.description = "Magnum's max_batch_size: servers of a worker group replaced at a time. "
                      "When set, it is the surge.",
       .minimum = 1,
       .maximum = kMaxBatchSize});
    v("maxSurge", s.max_surge,
      {.description = "Servers above a worker group's count during a rollout; a percentage of the "
                      "group is rounded up. Masters always go one at a time.",
       .accepts = kIntOrPercentForm});
    v("maxUnavailable", s.max_unavailable,
      {.description = "Nodes of a worker group that may be not Ready during a rollout; a "
                      "percentage is rounded down. maxSurge and maxUnavailable cannot both be 0.",
       .accepts = kIntOrPercentForm});
  }
};

void validate(const RolloutStrategySpec& spec, const std::string& path, Causes& causes);

// One revision of a node group: what its servers boot with, and how many there should be.
struct NodeGroupRevision {
  std::string slot;      // "" (the group's first servers), "r1", "r2", ...
  std::string image;
  std::string flavor;
  std::string kube_tag;  // the Kubernetes version its servers install
  int64_t replicas = 0;
  std::string pki;  // the CA set its servers boot with (api/ca_rotation.h formatCaSet)

  bool sameConfig(const NodeGroupRevision& o) const {
    return image == o.image && flavor == o.flavor && kube_tag == o.kube_tag && pki == o.pki;
  }
  bool operator==(const NodeGroupRevision&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("slot", s.slot,
      {.description = "Which servers of the group: \"\" for its first, then r1, r2, ..."});
    v("image", s.image);
    v("flavor", s.flavor);
    v("kubeTag", s.kube_tag, {.description = "The Kubernetes version its servers install."});
    v("replicas", s.replicas, {.description = "Servers this revision should have."});
    v("pki", s.pki,
      {.description = "The CA set its servers boot with: \"\" the first CAs, g<N> generation N, "
                      "g<N>-trust / g<N>-sign the steps of a rotation to N; @<time> marks a "
                      "renewal of the masters' certificates."});
  }
};

// A node group's revisions, oldest first; the last is what the spec wants.
struct NodeGroupRollout {
  std::string node_group;
  std::vector<NodeGroupRevision> revisions;

  bool operator==(const NodeGroupRollout&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("nodeGroup", s.node_group, {.required = true});
    v("revisions", s.revisions,
      {.description = "The group's revisions, oldest first; the last is what the spec wants."});
  }
};

// status.rollout.
struct RolloutStatus {
  std::string phase;    // Complete | Progressing | Stalled | Paused
  std::string message;  // the current step, or why it stalled
  std::string target_version;
  int64_t updated_nodes = 0;  // nodes of the wanted revision that are Ready
  int64_t total_nodes = 0;    // nodes the spec wants
  std::vector<NodeGroupRollout> node_groups;
  std::vector<DrainStatus> draining;  // old nodes being drained before they are removed

  bool operator==(const RolloutStatus&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("phase", s.phase, {.description = "Complete, Progressing, Stalled or Paused."});
    v("message", s.message, {.description = "The current step, or why the rollout stalled."});
    v("targetVersion", s.target_version);
    v("updatedNodes", s.updated_nodes, {.description = "Ready nodes of the wanted revision."});
    v("totalNodes", s.total_nodes, {.description = "Nodes the spec wants."});
    v("nodeGroups", s.node_groups, {.list_type = ListType::Map, .list_key = "nodeGroup"});
    v("draining", s.draining,
      {.description = "Old nodes being drained before they are removed.",
       .list_type = ListType::Map,
       .list_key = "node"});
  }
};

// The Kubernetes version a node group last completed: the kube_tag of its oldest recorded revision
// (while a rollout runs, the one it started from; once complete, the only one), or of the lowest
// recorded one when a revert has moved the started-from revision last; the default version for a
// revision without kube_tag. nullopt when status has no record of the group.
std::optional<std::string> completedKubernetesVersion(const RolloutStatus& rollout,
                                                      std::string_view node_group);

// Magnum's no-downgrade rule: `wanted` (a kube_tag, "" for the default) is older than `completed`.
// Versions that do not parse are not judged.
bool isKubernetesDowngrade(std::string_view wanted, std::string_view completed);

}  // namespace magnumd::api
