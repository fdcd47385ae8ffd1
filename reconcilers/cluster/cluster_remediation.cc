// Auto-heal: judge every node of the cluster (health_check.h), then replace the ones the plan
// names the way drift repair does (Heat mark-unhealthy, then a stack update that rebuilds exactly
// those servers, keeping their ports, floating IPs and volumes), each drained first through the
// cluster's API when it answers. Progress lives in status.healthCheck (drains in progress, the
// remediations that count against minHealthyPeriod and the hourly limit), so a restart resumes.
#include <fmt/format.h>

#include <algorithm>

#include "api/labels.h"
#include "controller/conditions.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"
#include "reconcilers/names.h"

namespace magnumd::reconcilers {

using controller::Result;
using Mode = ControlPlaneView::Mode;

namespace {

constexpr auto kDrainRequeue = std::chrono::seconds(5);
constexpr size_t kMaxUnhealthyShown = 50;

std::string label(const ClusterScope& scope, const char* key) {
  if (!scope.config) return "";
  auto it = scope.config->labels.find(key);
  return it == scope.config->labels.end() ? "" : it->second;
}

bool truthy(std::string_view v) { return v == "true" || v == "True" || v == "1"; }

}  // namespace

// Magnum's rule: with auto_healing_enabled and auto_healing_controller=magnum-auto-healer the
// in-cluster healer owns health and repairs; magnumd neither judges nor replaces nodes then.
bool externalHealer(const ClusterScope& scope) {
  return truthy(label(scope, "auto_healing_enabled")) &&
         label(scope, "auto_healing_controller") == "magnum-auto-healer";
}

void ClusterReconciler::checkHealth(ClusterScope& scope) {
  auto& h = scope.health;
  if (!scope.config || !scope.coe || scope.coe->coe() != "kubernetes" || externalHealer(scope)) {
    return;
  }
  const api::HealthCheckSpec spec = scope.spec.health_check.value_or(api::HealthCheckSpec{});
  h.enabled = spec.enabled.value_or(truthy(label(scope, "auto_healing_enabled")));
  if (!h.enabled) return;
  h.options = api::healthCheckOptionsOf(spec);
  const auto now = deps_.clock.now();
  if (scope.old_status.health_check) {
    h.draining = scope.old_status.health_check->draining;
    h.history = recentRemediations(scope.old_status.health_check->remediations, h.options, now);
  }
  // Keep (paused, blocked): nothing is judged; status keeps what it showed.
  if (scope.control_plane.mode == Mode::Keep || !scope.observed || !scope.stack) return;

  HealthInputs in;
  in.history = h.history;
  in.options = h.options;
  in.now = now;
  in.node_startup_timeout = api::nodeStartupTimeoutOf(scope.spec);
  const auto& view = scope.control_plane;
  if (view.mode == Mode::Tracked && view.observed) in.api = &*view.observed;
  for (const auto& s : scope.observed->servers) {
    HealthTarget t;
    t.name = s.name;
    auto group = s.metadata.find(std::string(coe::kMetaNodeGroup));
    t.group = group == s.metadata.end() ? "" : group->second;
    auto role = s.metadata.find(std::string(coe::kMetaRole));
    t.master = role != s.metadata.end() && role->second == api::kRoleMaster;
    t.server_status = s.status;
    if (s.fault) t.server_fault = s.fault->message;
    t.started = s.updated ? *s.updated : s.created.value_or(now);
    if (scope.stack->updated && *scope.stack->updated > t.started) t.started = *scope.stack->updated;
    in.targets.push_back(std::move(t));
  }
  h.plan = planHealth(in);
  h.judged = true;
}

// Acts on the plan once the stack is at rest with what the spec wants: a pass that just started
// a stack operation, or one whose stack is still working, replaces nothing.
Result ClusterReconciler::remediate(ClusterScope& scope, Result result) {
  auto& h = scope.health;
  // A rolling replacement replaces nodes itself; unhealthy ones go first there.
  if (!h.judged || scope.rolling || scope.paused || !scope.blocked.empty() ||
      !scope.progress.empty() ||
      !result.ok() || !scope.stack || !scope.stack->complete() ||
      tagValue(scope.stack->tags, kHashTagPrefix) != scope.desired_hash) {
    return result;
  }
  // Drains of nodes no longer chosen (healthy again, or now short-circuited) are dropped.
  std::erase_if(h.draining, [&](const api::DrainStatus& d) {
    return std::none_of(h.plan.remediate.begin(), h.plan.remediate.end(),
                        [&](const UnhealthyNode& u) { return u.name == d.node; });
  });
  if (h.plan.remediate.empty()) return result;

  const auto now = deps_.clock.now();
  std::vector<const UnhealthyNode*> ready;
  bool still_draining = false;
  for (const auto& victim : h.plan.remediate) {
    if (!drainBeforeRemoval(scope, victim.name, h.draining, h.options.node_drain_timeout,
                            fmt::format("{}: {}", victim.reason, victim.message))) {
      still_draining = true;
      continue;
    }
    ready.push_back(&victim);
  }
  if (ready.empty()) return Result::after(kDrainRequeue);

  std::string names;
  for (const auto* victim : ready) {
    const drivers::Server* server = nullptr;
    for (const auto& s : scope.observed->servers) {
      if (s.name == victim->name) server = &s;
    }
    if (server == nullptr) continue;
    auto marked = scope.cloud.call->run(scope.cloud.call->driver().markUnhealthy(
        scope.stack->ref, server->id,
        fmt::format("magnumd auto-heal: {} ({})", victim->reason, victim->message)));
    if (!marked.ok()) return Result::fail(marked.takeError());
    names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", victim->name, victim->reason);
    h.history.push_back({victim->name, victim->group, victim->reason, util::formatRfc3339(now)});
    std::erase_if(h.draining, [&](const api::DrainStatus& d) { return d.node == victim->name; });
    deps_.events.warning(scope.cluster, "NodeRemediating", "replacing {}: {}: {}", victim->name,
                         victim->reason, victim->message);
    if (deps_.remediations) deps_.remediations->with({victim->reason}).inc();
  }
  if (names.empty()) return result;
  if (auto s = patch(scope, "auto-heal: replacing unhealthy nodes " + names); !s.ok()) {
    return Result::fail(s.takeError());
  }
  return still_draining ? Result::after(kDrainRequeue) : Result::after(options_.in_flight_requeue);
}

// status.healthCheck and the RemediationAllowed condition.
void ClusterReconciler::healthStatus(const ClusterScope& scope, api::ClusterStatus& st,
                                     util::SystemTime now) const {
  const auto& h = scope.health;
  if (!h.enabled) {
    st.health_check.reset();
    controller::removeCondition(st.conditions, "RemediationAllowed");
    return;
  }
  if (!h.judged) {
    if (!st.health_check) st.health_check = api::HealthCheckStatus{};
    st.health_check->enabled = true;
    return;  // nothing judged this pass: keep what status showed
  }
  api::HealthCheckStatus out;
  out.enabled = true;
  out.expected_nodes = h.plan.expected;
  out.healthy_nodes = h.plan.healthy;
  out.remediations_allowed = static_cast<int64_t>(h.plan.remediate.size());
  for (const auto& u : h.plan.unhealthy) {
    if (out.unhealthy.size() == kMaxUnhealthyShown) break;
    out.unhealthy.push_back(
        {u.name, u.group, u.reason, u.message, util::formatRfc3339(u.since)});
  }
  out.draining = h.draining;
  out.remediations = h.history;
  st.health_check = std::move(out);
  const bool allowed = h.plan.blocked_reason.empty();
  controller::setCondition(st.conditions,
               {"RemediationAllowed",
                std::string(allowed ? api::kConditionTrue : api::kConditionFalse),
                allowed ? "RemediationAllowed" : h.plan.blocked_reason,
                allowed ? (h.plan.unhealthy.empty()
                               ? "no node is unhealthy"
                               : fmt::format("replacing {} unhealthy nodes",
                                             h.plan.remediate.size()))
                        : h.plan.blocked_message,
                "", scope.cluster.metadata.generation},
               now);
}

}  // namespace magnumd::reconcilers
