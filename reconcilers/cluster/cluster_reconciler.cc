#include "reconcilers/cluster/cluster_reconciler.h"

#include <fmt/format.h>

#include <algorithm>

#include "api/admission.h"
#include "controller/object_helpers.h"
#include "reconcilers/cluster/cluster_scope.h"
#include "reconcilers/names.h"
#include "util/log.h"

namespace magnumd::reconcilers {

using controller::Result;

std::vector<drivers::Server> ClusterScope::serversOf(const std::string& group) const {
  std::vector<drivers::Server> out;
  if (!observed) return out;
  for (const auto& s : observed->servers) {
    auto it = s.metadata.find(std::string(coe::kMetaNodeGroup));
    if (it != s.metadata.end() && it->second == group) out.push_back(s);
  }
  return out;
}

ClusterReconciler::ClusterReconciler(ClusterDeps deps, ClusterReconcilerOptions options)
    : deps_(deps), options_(options) {}

ClusterReconciler::~ClusterReconciler() = default;

Result ClusterReconciler::reconcile(const controller::Request& request) {
  auto loaded = deps_.store.get(request);
  if (!loaded.ok()) {
    if (loaded.error().code == util::ErrorCode::NotFound) return Result::done();
    return Result::fail(loaded.takeError());
  }
  ClusterScope scope;
  scope.cluster = std::move(*loaded);
  auto cloud = deps_.clouds.forNamespace(scope.cluster.metadata.namespace_);
  if (!cloud.ok()) return projectUnavailable(scope, cloud.takeError());
  scope.cloud = *cloud;
  // Acting on a cache that has not seen the cloud yet would create stacks that exist.
  if (!scope.cloud.observer->synced()) return Result::after(options_.unsynced_requeue);

  scope.observed = scope.cloud.observer->cluster(scope.uid());
  if (scope.observed && scope.observed->stack) scope.stack = scope.observed->stack;
  auto status = api::decodeClusterStatus(scope.cluster.status);
  if (status.ok()) scope.old_status = std::move(*status);

  if (scope.cluster.deleting()) {
    if (deps_.control_plane) deps_.control_plane->untrack(scope.uid());
    return reconcileDelete(scope);
  }

  auto with_finalizer = controller::ensureFinalizer(deps_.store, scope.cluster, kClusterFinalizer);
  if (!with_finalizer.ok()) return Result::fail(with_finalizer.takeError());
  scope.cluster = std::move(*with_finalizer);

  auto spec = api::decodeClusterSpec(scope.cluster.spec);
  if (!spec.ok()) {
    scope.blocked = fmt::format("spec cannot be read: {}", spec.error().message);
    auto written = writeStatus(scope);
    return written.ok() ? Result::terminalFailure(spec.takeError()) : Result::fail(written.takeError());
  }
  scope.spec = std::move(*spec);
  return reconcileNormal(scope);
}

// The namespace's project cannot be acted in: a configuration the operator fixes (Forbidden,
// which names the fix) shows in status; Keystone being unreachable is retried with backoff. A
// cluster that never had a stack there can still be deleted: there is nothing to clean up.
Result ClusterReconciler::projectUnavailable(ClusterScope& scope, util::Error error) {
  auto status = api::decodeClusterStatus(scope.cluster.status);
  if (status.ok()) scope.old_status = std::move(*status);
  const bool forbidden = error.code == util::ErrorCode::Forbidden;
  if (forbidden && scope.cluster.deleting() && scope.old_status.stack_id.empty()) {
    return reconcileDelete(scope);
  }
  if (!forbidden || scope.cluster.deleting()) return Result::fail(std::move(error));
  if (auto spec = api::decodeClusterSpec(scope.cluster.spec); spec.ok())
    scope.spec = std::move(*spec);
  scope.blocked = error.message;
  auto written = writeStatus(scope);
  return written.ok() ? Result::after(std::chrono::seconds(30)) : Result::fail(written.takeError());
}

Result ClusterReconciler::reconcileNormal(ClusterScope& scope) {
  Result result = Result::done();
  if (scope.spec.paused) {
    // Paused: observe and report, never act.
    scope.paused = true;
  } else if (auto tmpl = resolveTemplate(scope); !tmpl.ok()) {
    scope.blocked = tmpl.error().message;
    result = Result::after(std::chrono::seconds(30));
  } else {
    if (auto s = ensureDefaultNodeGroups(scope); !s.ok()) return Result::fail(s.takeError());
    if (auto s = loadNodeGroups(scope); !s.ok()) return Result::fail(s.takeError());
    if (auto s = buildDefinition(scope); !s.ok()) {
      scope.blocked = s.error().message;
      result = Result::after(std::chrono::seconds(30));
    } else {
      result = reconcileStack(scope);
      if (auto s = releaseDeletedNodeGroups(scope); !s.ok()) return Result::fail(s.takeError());
    }
  }
  observeControlPlane(scope);
  refreshJoinToken(scope);
  checkHealth(scope);
  result = remediate(scope, result);
  if (auto s = writeStatus(scope); !s.ok()) return Result::fail(s.takeError());
  return withRenewalDeadline(scope, withHealthDeadline(scope, withNodeDeadline(scope, result)));
}

// While the phase waits for nodes, come back when the first of them reaches nodeStartupTimeout,
// even if nothing else changes.
Result ClusterReconciler::withNodeDeadline(const ClusterScope& scope, Result result) const {
  if (!result.ok() || !scope.nodes.next_deadline || !waitsForNodes(scope)) return result;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*scope.nodes.next_deadline -
                                                                    deps_.clock.now()) +
              std::chrono::seconds(1);
  if (!result.requeue_after || wait < *result.requeue_after) result.requeue_after = wait;
  return result;
}

// A pending health check (a node NotReady but not yet for unhealthyTimeout, a limit that lifts)
// brings the cluster back when it is due.
Result ClusterReconciler::withHealthDeadline(const ClusterScope& scope, Result result) const {
  const auto& next = scope.health.plan.next_check;
  if (!result.ok() || !scope.health.judged || !next) return result;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*next - deps_.clock.now()) +
              std::chrono::seconds(1);
  wait = std::max<std::chrono::milliseconds>(wait, std::chrono::seconds(1));
  if (!result.requeue_after || wait < *result.requeue_after) result.requeue_after = wait;
  return result;
}

// The join token's next refresh, and the next certificate renewal, bring the cluster back when
// they are due: nothing else may look at a settled cluster before then.
Result ClusterReconciler::withRenewalDeadline(const ClusterScope& scope, Result result) const {
  std::optional<util::SystemTime> due = scope.token_refresh_due;
  if (scope.certificates_due && (!due || *scope.certificates_due < *due))
    due = scope.certificates_due;
  if (!result.ok() || !due) return result;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*due - deps_.clock.now()) +
              std::chrono::seconds(1);
  wait = std::max<std::chrono::milliseconds>(wait, std::chrono::seconds(1));
  if (!result.requeue_after || wait < *result.requeue_after) result.requeue_after = wait;
  return result;
}

util::Status ClusterReconciler::resolveTemplate(ClusterScope& scope) {
  auto ref = api::splitTemplateRef(scope.spec.cluster_template, scope.cluster.metadata.namespace_);
  auto found = deps_.store.get({api::Kind::ClusterTemplate, ref.namespace_, ref.name});
  if (!found.ok()) {
    if (found.error().code == util::ErrorCode::NotFound) {
      return util::makeError(util::ErrorCode::NotFound,
                             fmt::format("spec.clusterTemplate: ClusterTemplate {}/{} not found",
                                         ref.namespace_, ref.name));
    }
    return found.takeError();
  }
  if (ref.namespace_ != scope.cluster.metadata.namespace_ && !api::templateIsPublic(found->spec)) {
    return util::makeError(util::ErrorCode::Forbidden,
                           fmt::format("spec.clusterTemplate: ClusterTemplate {}/{} is not public; "
                                       "use a template of namespace {} or a public one",
                                       ref.namespace_, ref.name, scope.cluster.metadata.namespace_));
  }
  auto tmpl = api::decodeClusterTemplateSpec(found->spec);
  if (!tmpl.ok()) {
    return util::makeError(util::ErrorCode::Invalid,
                           fmt::format("ClusterTemplate {}/{} cannot be read: {}", ref.namespace_,
                                       ref.name, tmpl.error().message));
  }
  api::applyDefaults(*tmpl);
  scope.coe = coe::makeCoeDriver(tmpl->coe);
  if (!scope.coe) {
    return util::makeError(util::ErrorCode::Invalid,
                           fmt::format("ClusterTemplate {}/{}: coe \"{}\" has no driver; valid: "
                                       "kubernetes, swarm, mesos", ref.namespace_, ref.name, tmpl->coe));
  }
  scope.config = api::resolveCluster(*tmpl, scope.spec);
  scope.tmpl = std::move(*tmpl);
  return {};
}

std::chrono::milliseconds ClusterReconciler::retryDelay(int attempts) const {
  auto delay = options_.failed_retry;
  for (int i = 1; i < attempts && delay < options_.failed_retry_max; ++i) delay *= 2;
  return std::min(delay, options_.failed_retry_max);
}

// nullopt: retry now; otherwise how long until a retry is due. The backoff counts from the
// first time this process saw the failure (or from its last attempt), doubling per attempt.
std::optional<std::chrono::milliseconds> ClusterReconciler::retryDue(const std::string& uid,
                                                                    const drivers::Stack&) {
  std::lock_guard lock(mutex_);
  auto& a = attempts_[uid];
  auto now = deps_.clock.now();
  if (a.count == 0) {
    a.count = 1;
    a.last = now;
  }
  auto due = a.last + retryDelay(a.count);
  if (now >= due) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(due - now);
}

void ClusterReconciler::noteAttempt(const std::string& uid, const drivers::Stack&) {
  std::lock_guard lock(mutex_);
  auto& a = attempts_[uid];
  a.count++;
  a.last = deps_.clock.now();
}

void ClusterReconciler::forgetAttempts(const std::string& uid) {
  std::lock_guard lock(mutex_);
  attempts_.erase(uid);
  explained_.erase(uid);
}

}  // namespace magnumd::reconcilers
