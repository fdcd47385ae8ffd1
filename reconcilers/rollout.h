// Rolling replacement of one node group's servers, planned as Cluster API's MachineDeployment
// (workers) and KubeadmControlPlane (masters) do it: the group's revisions are like MachineSets,
// one ResourceGroup each in the stack. A pure function of what status recorded and what the
// cluster shows, so every pass (and a pass after a crash) plans the same step.
//
// - The wanted revision is the one whose image, flavor and kube_tag match the spec; when none
//   does, a new one ("r<N>") is added with no servers. Setting the spec back makes the old
//   revision the wanted one again: the rollout reverts the same way.
// - Scale up the wanted revision while the group has fewer than count + maxSurge servers; scale
//   down the others while more than count - maxUnavailable nodes stay Ready, NotReady ones first.
//   Masters: surge one, none unavailable, so each new master is Ready before an old one goes.
// - A server of the wanted revision that is not a Ready Node within nodeStartupTimeout stalls the
//   rollout: nothing more is added or removed until the spec changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "api/health_check.h"
#include "api/rollout.h"

namespace magnumd::reconcilers {

// A server of the group as the rollout sees it.
struct RolloutServer {
  std::string name;
  std::string slot;
  std::string member;  // the ResourceGroup member index ("3")
  bool ready = false;  // a Ready Node
  bool timed_out = false;  // ACTIVE longer than nodeStartupTimeout and not Ready
};

struct GroupRolloutInput {
  std::string name;
  bool master = false;
  int64_t count = 0;                              // what the spec wants
  api::NodeGroupRevision wanted;                  // the spec's config (replicas ignored)
  std::vector<api::NodeGroupRevision> revisions;  // as status recorded them, oldest first
  std::vector<RolloutServer> servers;             // live servers of every revision
  bool may_start = true;  // false: another group (the masters) rolls first
  api::IntOrPercent max_surge{1, false};
  api::IntOrPercent max_unavailable{0, false};
};

struct GroupRolloutPlan {
  std::vector<api::NodeGroupRevision> revisions;  // the next state, oldest first, wanted last
  // Servers to take out this step (drained first), by name; their revisions' replicas already
  // count them out.
  std::vector<RolloutServer> remove;
  bool rolling = false;  // more than one revision remains
  bool stalled = false;
  std::string message;   // "default-worker: 1/3 on r1 (v1.33.1); ..."
  int64_t updated = 0;   // Ready nodes of the wanted revision, at most count
};

GroupRolloutPlan planGroupRollout(const GroupRolloutInput& in);

}  // namespace magnumd::reconcilers
