#include "reconcilers/nodegroup_reconciler.h"

#include "controller/conditions.h"

#include <fmt/format.h>

#include <algorithm>

#include "api/nodegroup.h"
#include "controller/object_helpers.h"
#include "drivers/coe/coe_driver.h"
#include "reconcilers/names.h"

namespace magnumd::reconcilers {

using controller::Result;

namespace {

struct Bounds {
  int64_t effective;
  std::string violation;  // empty when spec.nodeCount is within bounds
};

Bounds boundsOf(const api::NodeGroupSpec& spec) {
  Bounds b{spec.node_count, {}};
  if (spec.node_count < spec.min_node_count) {
    b.effective = spec.min_node_count;
    b.violation = fmt::format("spec.nodeCount {} is below minNodeCount {}; keeping {}", spec.node_count,
                              spec.min_node_count, b.effective);
  } else if (spec.max_node_count && spec.node_count > *spec.max_node_count) {
    b.effective = *spec.max_node_count;
    b.violation = fmt::format("spec.nodeCount {} is above maxNodeCount {}; keeping {}", spec.node_count,
                              *spec.max_node_count, b.effective);
  }
  return b;
}

api::NodeStatus nodeOf(const drivers::Server& s) {
  api::NodeStatus n;
  n.name = s.name;
  n.server_id = s.id;
  n.status = s.status;
  for (const auto& a : s.addresses) n.addresses.push_back(a.addr);
  return n;
}

}  // namespace

Result NodeGroupReconciler::reconcile(const controller::Request& request) {
  auto loaded = deps_.store.get(request);
  if (!loaded.ok()) {
    return loaded.error().code == util::ErrorCode::NotFound ? Result::done()
                                                            : Result::fail(loaded.takeError());
  }
  api::Object ng = std::move(*loaded);
  auto spec = api::decodeNodeGroupSpec(ng.spec);
  if (!spec.ok()) return Result::terminalFailure(spec.takeError());
  auto cluster = deps_.store.get({api::Kind::Cluster, ng.metadata.namespace_, spec->cluster});
  if (!cluster.ok() && cluster.error().code != util::ErrorCode::NotFound) {
    return Result::fail(cluster.takeError());
  }
  const bool cluster_exists = cluster.ok();
  // A default group made for an earlier cluster of the same name is not this cluster's.
  auto owner = ng.metadata.labels.find(std::string(kOwnerUidLabel));
  const bool owned = cluster_exists && (owner == ng.metadata.labels.end() || owner->second == cluster->metadata.uid);

  if (ng.deleting()) {
    if (!controller::hasFinalizer(ng, kNodeGroupFinalizer)) return Result::done();
    // The Cluster reconciler releases it once the stack no longer has its servers.
    if (owned) return Result::done();
    auto dropped = controller::dropFinalizer(deps_.store, ng, kNodeGroupFinalizer);
    return dropped.ok() || dropped.error().code == util::ErrorCode::NotFound ? Result::done()
                                                                             : Result::fail(dropped.takeError());
  }
  if (owned && !cluster->deleting()) {
    auto with = controller::ensureFinalizer(deps_.store, ng, kNodeGroupFinalizer);
    if (!with.ok()) return Result::fail(with.takeError());
    ng = std::move(*with);
  }

  auto old = api::decodeNodeGroupStatus(ng.status);
  api::NodeGroupStatus st = old.ok() ? *old : api::NodeGroupStatus{};
  const auto bounds = boundsOf(*spec);
  const std::string group = groupNameOf(ng);
  std::optional<ObservedCluster> observed;
  if (owned) {
    auto cloud = deps_.clouds.forNamespace(ng.metadata.namespace_);
    if (!cloud.ok()) return Result::fail(cloud.takeError());  // the Cluster reports why
    observed = cloud->observer->cluster(cluster->metadata.uid);
  }
  const drivers::Stack* stack = observed && observed->stack ? &*observed->stack : nullptr;

  st.nodes.clear();
  int64_t active = 0;
  if (observed) {
    for (const auto& s : observed->servers) {
      auto it = s.metadata.find(std::string(coe::kMetaNodeGroup));
      if (it == s.metadata.end() || it->second != group) continue;
      st.nodes.push_back(nodeOf(s));
      if (s.status == "ACTIVE") ++active;
    }
  }
  st.node_count = static_cast<int64_t>(st.nodes.size());
  st.stack_id = stack ? stack->ref.id : std::string();
  st.observed_generation = ng.metadata.generation;
  const bool ready = stack && stack->complete() && active == bounds.effective &&
                     st.node_count == bounds.effective;
  if (!cluster_exists) {
    st.phase.clear();
    st.status_reason = fmt::format("spec.cluster: Cluster {}/{} not found", ng.metadata.namespace_, spec->cluster);
  } else if (!owned) {
    st.phase.clear();
    st.status_reason = fmt::format("belongs to an earlier cluster named {}", spec->cluster);
  } else if (cluster->deleting()) {
    st.phase = std::string(api::kPhaseDeleteInProgress);
    st.status_reason = "the cluster is being deleted";
  } else if (!stack) {
    st.phase = std::string(api::kPhaseCreateInProgress);
    st.status_reason = "waiting for the cluster's stack";
  } else if (stack->inProgress() || stack->failed()) {
    st.phase = stack->status;
    st.status_reason = stack->status_reason;
  } else if (ready) {
    st.phase = stack->action() == "CREATE" ? std::string(api::kPhaseCreateComplete)
                                           : std::string(api::kPhaseUpdateComplete);
    st.status_reason = fmt::format("{}/{} nodes ACTIVE", active, bounds.effective);
  } else {
    st.phase = std::string(api::kPhaseUpdateInProgress);
    st.status_reason = fmt::format("{} nodes, {} ACTIVE, want {}", st.node_count, active, bounds.effective);
  }
  if (!bounds.violation.empty()) st.status_reason = bounds.violation + "; " + st.status_reason;

  const auto now = deps_.clock.now();
  controller::setCondition(st.conditions,
               {"Ready", std::string(ready ? api::kConditionTrue : api::kConditionFalse),
                ready ? "NodesActive" : "NodesNotReady", st.status_reason, "", ng.metadata.generation},
               now);
  if (bounds.violation.empty()) {
    controller::removeCondition(st.conditions, "NodeCountInBounds");
  } else {
    controller::setCondition(st.conditions, {"NodeCountInBounds", std::string(api::kConditionFalse), "OutOfBounds",
                                 bounds.violation, "", ng.metadata.generation}, now);
  }
  if (old.ok() && st == *old) return Result::done();
  auto written = controller::patchStatus(deps_.store, ng, api::encodeNodeGroupStatus(st));
  if (!written.ok()) return Result::fail(written.takeError());
  return Result::done();
}

}  // namespace magnumd::reconcilers
