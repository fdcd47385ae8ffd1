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
    v("maxBatchSize", s.max_batch_size);
    v("maxSurge", s.max_surge);
    v("maxUnavailable", s.max_unavailable);
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

  bool sameConfig(const NodeGroupRevision& o) const {
    return image == o.image && flavor == o.flavor && kube_tag == o.kube_tag;
  }
  bool operator==(const NodeGroupRevision&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("slot", s.slot);
    v("image", s.image);
    v("flavor", s.flavor);
    v("kubeTag", s.kube_tag);
    v("replicas", s.replicas);
  }
};

// A node group's revisions, oldest first; the last is what the spec wants.
struct NodeGroupRollout {
  std::string node_group;
  std::vector<NodeGroupRevision> revisions;

  bool operator==(const NodeGroupRollout&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("nodeGroup", s.node_group);
    v("revisions", s.revisions);
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
    v("phase", s.phase);
    v("message", s.message);
    v("targetVersion", s.target_version);
    v("updatedNodes", s.updated_nodes);
    v("totalNodes", s.total_nodes);
    v("nodeGroups", s.node_groups);
    v("draining", s.draining);
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
