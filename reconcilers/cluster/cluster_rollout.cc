// Rolling replacement (reconcilers/rollout.h) wired into a pass: each node group's revisions
// from status, its servers and their Nodes in, a slot per revision out into the stack's shape.
// Old nodes are drained through the cluster's API before the stack drops them. The rollout's
// state is written to status before the stack is changed, so a restart plans the same step.
#include <fmt/format.h>

#include <algorithm>

#include "api/labels.h"
#include "controller/object_helpers.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"
#include "reconcilers/rollout.h"

namespace magnumd::reconcilers {

using Mode = ControlPlaneView::Mode;

namespace {

constexpr char kKubeTag[] = "kube_tag";

std::string labelOf(const coe::NodeGroupShape& g, const char* key) {
  auto it = g.labels.find(key);
  return it == g.labels.end() ? "" : it->second;
}

std::string slotOf(const drivers::Server& s) {
  auto it = s.metadata.find(std::string(coe::kMetaSlot));
  return it == s.metadata.end() ? "" : it->second;
}

}  // namespace

std::vector<drivers::Server> ClusterScope::serversOf(const std::string& group,
                                                     const std::string& slot) const {
  auto all = serversOf(group);
  std::erase_if(all, [&](const drivers::Server& s) { return slotOf(s) != slot; });
  return all;
}

bool ClusterReconciler::drainBeforeRemoval(ClusterScope& scope, const std::string& node,
                                           std::vector<api::DrainStatus>& draining,
                                           std::chrono::milliseconds timeout,
                                           std::string_view why) {
  auto observed = deps_.control_plane ? deps_.control_plane->observation(scope.uid())
                                      : std::nullopt;
  const bool answers = observed && observed->reachable && observed->nodes_listed &&
                       observed->node(node) != nullptr;
  auto it = std::find_if(draining.begin(), draining.end(),
                         [&](const api::DrainStatus& d) { return d.node == node; });
  if (!answers) {
    if (it != draining.end()) draining.erase(it);
    return true;  // no Node to drain (or no API to drain it through)
  }
  const auto now = deps_.clock.now();
  if (it == draining.end()) {
    draining.push_back({node, util::formatRfc3339(now), 0});
    it = draining.end() - 1;
    deps_.events.normal(scope.cluster, "NodeDraining", "draining {} before removing it: {}", node,
                        why);
  }
  const auto started = util::parseRfc3339(it->started).value_or(now);
  auto step = scope.cloud.call->run(deps_.control_plane->drainStep(scope.uid(), node));
  if (step.ok()) it->pods_left = step->pods_left;
  const bool drained = step.ok() && (!step->node_found || step->pods_left == 0);
  if (!drained && now < started + timeout) return false;
  if (!drained) {
    deps_.events.warning(scope.cluster, "NodeDrainTimeout",
                         "{} was not drained within nodeDrainTimeout ({}): {}; removing it anyway",
                         node, formatDuration(timeout),
                         step.ok() ? fmt::format("{} pods left", step->pods_left)
                                   : step.error().message);
  }
  // The Node goes before its server (as Cluster API deletes it): a replacement registers under
  // the same name, and a master's etcd member is removed by the other masters once its Node is
  // gone (see the master bootstrap).
  auto deleted = scope.cloud.call->run(deps_.control_plane->deleteNode(scope.uid(), node));
  if (!deleted.ok()) {
    deps_.events.warning(scope.cluster, "NodeDeleteFailed", "deleting Node {}: {}", node,
                         deleted.error().message);
  }
  draining.erase(std::find_if(draining.begin(), draining.end(),
                              [&](const api::DrainStatus& d) { return d.node == node; }));
  return true;
}

util::Status ClusterReconciler::planRollout(ClusterScope& scope) {
  const api::RolloutStrategySpec strategy =
      scope.spec.rollout_strategy.value_or(api::RolloutStrategySpec{});
  auto parsed_surge = api::parseIntOrPercent(strategy.max_surge);
  auto parsed_unavailable = api::parseIntOrPercent(strategy.max_unavailable);
  api::IntOrPercent surge = parsed_surge.ok() ? *parsed_surge : api::IntOrPercent{1, false};
  if (strategy.max_batch_size) surge = {*strategy.max_batch_size, false};
  const api::IntOrPercent unavailable =
      parsed_unavailable.ok() ? *parsed_unavailable : api::IntOrPercent{0, false};
  const auto drain_timeout =
      api::healthCheckOptionsOf(scope.spec.health_check.value_or(api::HealthCheckSpec{}))
          .node_drain_timeout;

  api::RolloutStatus before = scope.old_status.rollout.value_or(api::RolloutStatus{});
  api::RolloutStatus next;
  next.draining = before.draining;

  // Which servers are Ready Nodes. Without a node list (the API not seen, or not answering) no
  // step is taken: an unreachable API must not look like NotReady nodes to remove.
  std::optional<drivers::kube::ApiObservation> observed;
  const bool kubernetes = scope.shape.coe == "kubernetes" && deps_.control_plane != nullptr;
  if (kubernetes) observed = deps_.control_plane->observation(scope.uid());
  const bool can_judge = !kubernetes || (observed && observed->nodes_listed);
  const auto startup = api::nodeStartupTimeoutOf(scope.spec);
  const auto now = deps_.clock.now();

  std::vector<coe::NodeGroupShape> expanded;
  bool masters_rolling = false;
  int64_t updated = 0, total = 0;
  std::vector<std::string> messages;
  std::string phase = "Complete";
  for (const auto& group : scope.shape.node_groups) {
    GroupRolloutInput in;
    in.name = group.name;
    in.master = group.role == api::kRoleMaster;
    in.count = group.node_count;
    in.wanted = {"",
                 group.image,
                 group.flavor,
                 labelOf(group, kKubeTag),
                 0,
                 in.master ? scope.master_pki : scope.worker_pki};
    for (const auto& g : before.node_groups) {
      if (g.node_group == group.name) in.revisions = g.revisions;
    }
    for (const auto& s : scope.serversOf(group.name)) {
      RolloutServer rs{s.name, slotOf(s), coe::memberIndexOf(s.name).value_or(""), false, false};
      if (!kubernetes) {
        rs.ready = s.status == "ACTIVE";
      } else if (observed && observed->nodes_listed) {
        const auto* node = observed->node(s.name);
        rs.ready = node != nullptr && node->isReady();
        auto started = s.updated ? *s.updated : s.created.value_or(now);
        if (scope.stack && scope.stack->updated && *scope.stack->updated > started)
          started = *scope.stack->updated;
        rs.timed_out = !rs.ready && s.status == "ACTIVE" && startup.count() > 0 &&
                       now >= started + startup;
      }
      in.servers.push_back(std::move(rs));
    }
    in.may_start = !masters_rolling;
    in.max_surge = surge;
    in.max_unavailable = unavailable;
    // A step is planned only from a stack at rest whose servers are the recorded ones: a server
    // already counted out, but not yet gone, must not be counted out again.
    bool at_rest = !scope.stack || !scope.stack->inProgress();
    if (at_rest && scope.stack && scope.stack->complete()) {
      for (const auto& r : in.revisions) {
        const auto live = std::count_if(in.servers.begin(), in.servers.end(),
                                        [&](const RolloutServer& s) { return s.slot == r.slot; });
        if (live != r.replicas) at_rest = false;
      }
    }
    // A group that is not rolling (one revision, the wanted one) just follows its count: scaling
    // never waits for the cluster's API.
    const bool steady = in.revisions.size() == 1 && in.revisions.front().sameConfig(in.wanted);
    // Without a load balancer or a floating IP the API is the first master's own address: a new
    // master would be a second cluster, and the old one's address goes with it.
    const bool fixed_api = in.master && !scope.shape.master_lb_enabled &&
                           !scope.shape.floating_ip_enabled;
    GroupRolloutPlan plan;
    if (fixed_api && !steady && !in.revisions.empty()) {
      plan.revisions = in.revisions;
      plan.rolling = true;
      plan.stalled = true;
      plan.message = fmt::format(
          "{}: cannot be replaced: without masterLbEnabled or floatingIpEnabled the cluster's API "
          "is its master's own address, which a new master cannot take over; create a new "
          "cluster, or set the spec back",
          group.name);
    } else if ((!can_judge || !at_rest) && !in.revisions.empty() && !steady) {
      plan.revisions = in.revisions;  // hold still until the nodes can be seen
      plan.rolling = in.revisions.size() > 1;
      plan.message = fmt::format("{}: {}", group.name,
                                 can_judge ? "waiting for the stack to apply the last step"
                                           : "waiting to see the cluster's nodes");
      const auto& wanted = plan.revisions.back();
      for (const auto& s : in.servers) {
        if (s.slot == wanted.slot && s.ready) plan.updated++;
      }
      plan.updated = std::min(plan.updated, in.count);
    } else {
      plan = planGroupRollout(in);
    }
    // Old nodes leave only once drained: until then their revision keeps them.
    std::map<std::string, std::vector<std::string>> removals;
    for (const auto& victim : plan.remove) {
      if (drainBeforeRemoval(scope, victim.name, next.draining, drain_timeout,
                             "replaced by a rolling update")) {
        removals[victim.slot].push_back(victim.member);
        continue;
      }
      for (auto& r : plan.revisions) {
        if (r.slot == victim.slot) r.replicas++;
      }
    }
    if (plan.rolling && in.master) masters_rolling = true;
    if (plan.rolling) {
      messages.push_back(plan.message);
      phase = plan.stalled ? "Stalled" : (phase == "Stalled" ? phase : "Progressing");
    }
    updated += plan.updated;
    total += group.node_count;
    for (const auto& r : plan.revisions) {
      coe::NodeGroupShape slot = group;
      slot.slot = r.slot;
      slot.node_count = r.replicas;
      slot.image = r.image;
      slot.flavor = r.flavor;
      if (!r.kube_tag.empty()) slot.labels[kKubeTag] = r.kube_tag;
      slot.pki = r.pki;
      slot.removal_list = removals[r.slot];
      expanded.push_back(std::move(slot));
    }
    next.node_groups.push_back({group.name, std::move(plan.revisions)});
  }
  // A user's node group whose name collides with another group's revision.
  for (size_t i = 0; i < expanded.size(); ++i) {
    for (size_t j = i + 1; j < expanded.size(); ++j) {
      if (expanded[i].key() == expanded[j].key()) {
        return util::makeError(
            util::ErrorCode::Invalid,
            fmt::format("node group {} has the name of a revision of node group {}; rename it",
                        expanded[i].slot.empty() ? expanded[i].name : expanded[j].name,
                        expanded[i].slot.empty() ? expanded[j].name : expanded[i].name));
      }
    }
  }
  scope.shape.node_groups = std::move(expanded);
  next.phase = phase;
  next.message = listBounded(messages, 4, 768);
  next.updated_nodes = updated;
  next.total_nodes = total;
  // The masters come first, and their wanted revision is last: its version is the target.
  if (!next.node_groups.empty() && !next.node_groups.front().revisions.empty()) {
    next.target_version = next.node_groups.front().revisions.back().kube_tag;
  }
  scope.rollout = next;
  scope.rolling = phase != "Complete";
  // Recorded before the stack changes: a restart must plan from the revisions the stack has.
  if (next.node_groups != before.node_groups || next.draining != before.draining) {
    api::ClusterStatus st = scope.old_status;
    st.rollout = next;
    auto written =
        controller::patchStatus(deps_.store, scope.cluster, api::encodeClusterStatus(st));
    if (!written.ok()) return written.takeError();
    scope.cluster = std::move(*written);
    scope.old_status = std::move(st);
  }
  return {};
}

}  // namespace magnumd::reconcilers
