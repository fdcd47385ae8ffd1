// The delete path: DELETE set deletionTimestamp → delete the stack (also while it is being
// created or updated) → wait until Heat says it is gone → delete the cluster's node groups and
// its secrets (CAs, join token) → remove the finalizer, and the store removes the Cluster.
#include <fmt/format.h>

#include "controller/object_helpers.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"
#include "reconcilers/names.h"
#include "util/log.h"

namespace magnumd::reconcilers {

using controller::Result;

Result ClusterReconciler::reconcileDelete(ClusterScope& scope) {
  if (!controller::hasFinalizer(scope.cluster, kClusterFinalizer)) return Result::done();
  if (scope.stack && scope.stack->status == "DELETE_COMPLETE") scope.stack.reset();

  if (!scope.stack) {
    if (auto s = deleteNodeGroups(scope); !s.ok()) return Result::fail(s.takeError());
    if (deps_.secrets != nullptr) {
      if (auto s = deps_.secrets->remove(scope.cluster); !s.ok()) return Result::fail(s.takeError());
    }
    // No observer when the namespace's project could not be opened (and never held the stack).
    if (scope.cloud.observer != nullptr) scope.cloud.observer->forgetStack(scope.uid());
    forgetAttempts(scope.uid());
    auto dropped = controller::dropFinalizer(deps_.store, scope.cluster, kClusterFinalizer);
    if (!dropped.ok() && dropped.error().code != util::ErrorCode::NotFound) {
      return Result::fail(dropped.takeError());
    }
    LOG_INFO("cluster", "cluster {}/{} deleted: no stack left", scope.cluster.metadata.namespace_,
             scope.cluster.metadata.name);
    return Result::done();
  }

  const drivers::Stack stack = *scope.stack;
  if (stack.inProgress() && stack.action() == "DELETE") {
    if (auto s = writeStatus(scope); !s.ok()) return Result::fail(s.takeError());
    return Result::after(options_.in_flight_requeue);
  }
  if (stack.status == "DELETE_FAILED") {
    scope.failure = explain(scope, stack);
    if (auto wait = retryDue(scope.uid(), stack)) {
      if (auto s = writeStatus(scope); !s.ok()) return Result::fail(s.takeError());
      return Result::after(*wait);
    }
    noteAttempt(scope.uid(), stack);
    deps_.events.normal(scope.cluster, "StackDeleteRetry", "deleting stack {} again after: {}",
                        stack.ref.name, scope.failure);
  }

  auto deleted = scope.cloud.call->run(scope.cloud.call->driver().deleteStack(stack.ref));
  if (!deleted.ok()) {
    if (deleted.error().code == util::ErrorCode::NotFound) {
      // Already gone: that is what we wanted.
      scope.cloud.observer->forgetStack(scope.uid());
      scope.stack.reset();
      return reconcileDelete(scope);
    }
    scope.failure = fmt::format("deleting stack {} failed: {}", stack.ref.name, deleted.error().message);
    deps_.events.warning(scope.cluster, "StackDeleteFailed", "{}", scope.failure);
    (void)writeStatus(scope);
    return Result::fail(deleted.takeError());
  }
  drivers::Stack deleting = stack;
  deleting.status = "DELETE_IN_PROGRESS";
  deleting.status_reason.clear();
  deleting.updated = deps_.clock.now();
  scope.cloud.observer->recordStack(scope.uid(), deleting);
  scope.stack = deleting;
  scope.failure.clear();
  deps_.events.normal(scope.cluster, "StackDeleting", "deleting stack {} ({} was {})", stack.ref.name,
                      stack.ref.id, stack.status);
  if (auto s = writeStatus(scope); !s.ok()) return Result::fail(s.takeError());
  return Result::after(options_.in_flight_requeue);
}

// Deleting a Cluster deletes its NodeGroups: mark them deleted (so nobody adds them back to a
// shape), then drop the finalizer the stack no longer needs.
util::Status ClusterReconciler::deleteNodeGroups(ClusterScope& scope) {
  const auto& ns = scope.cluster.metadata.namespace_;
  std::set<std::string> names;
  for (const auto& ng : deps_.nodegroups.byIndex(kByCluster, controller::namespacedName(ns, scope.cluster.metadata.name))) {
    names.insert(ng->metadata.name);
  }
  for (auto group : {api::kDefaultMasterNodeGroup, api::kDefaultWorkerNodeGroup}) {
    names.insert(defaultGroupObjectName(scope.cluster.metadata.name, group));
  }
  for (const auto& name : names) {
    api::ObjectKey key{api::Kind::NodeGroup, ns, name};
    auto current = deps_.store.get(key);
    if (!current.ok()) {
      if (current.error().code == util::ErrorCode::NotFound) continue;
      return current.takeError();
    }
    auto spec = api::decodeNodeGroupSpec(current->spec);
    if (spec.ok() && spec->cluster != scope.cluster.metadata.name) continue;
    if (!current->deleting()) {
      auto removed = store::removeSync(deps_.store, key, 0);
      if (!removed.ok()) {
        if (removed.error().code == util::ErrorCode::NotFound) continue;
        return removed.takeError();
      }
      if (!removed->deleting()) continue;  // had no finalizer: gone already
      current = std::move(removed);
    }
    auto dropped = controller::dropFinalizer(deps_.store, *current, kNodeGroupFinalizer);
    if (!dropped.ok() && dropped.error().code != util::ErrorCode::NotFound) return dropped.takeError();
  }
  return {};
}

}  // namespace magnumd::reconcilers
