// The stack side of a Cluster pass: create (or adopt) the one stack of the cluster, wait while
// Heat works, explain and retry failures, PATCH when the desired definition changed, and repair
// drift (servers deleted behind magnumd's back).
#include <fmt/format.h>

#include <set>

#include "controller/object_helpers.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"
#include "reconcilers/names.h"
#include "util/log.h"

namespace magnumd::reconcilers {

using controller::Result;

namespace {

std::vector<std::string> stackTags(const ClusterScope& scope) {
  auto tags = scope.definition->tags;
  tags.push_back(fmt::format("{}{}", kHashTagPrefix, scope.desired_hash));
  tags.push_back(fmt::format("{}{}", kGenerationTagPrefix, scope.cluster.metadata.generation));
  return tags;
}

// "default-worker 2→3, big-workers 0→2" from the live servers and the desired counts.
std::string describeChange(const ClusterScope& scope) {
  std::string out;
  for (const auto& g : scope.shape.node_groups) {
    auto live = static_cast<int64_t>(scope.serversOf(g.name, g.slot).size());
    if (live == g.node_count) continue;
    out += fmt::format("{}{} {}→{}", out.empty() ? "" : ", ", g.key(), live, g.node_count);
  }
  if (!out.empty()) out = (scope.rolling ? "rolling update: " : "scaling ") + out;
  for (const auto& ng : scope.deleting_nodegroups) {
    out += fmt::format("{}removing node group {}", out.empty() ? "" : "; ", ng.metadata.name);
  }
  return out.empty() ? "applying the changed cluster definition" : out;
}

// Where a server resource sits: in its member's provider stack, and that member, in the group's
// nested stack, names the group as its parent. A server that is itself the member (a
// ResourceGroup of OS::Nova::Server) names its group directly.
struct GroupMember {
  std::string group, member, server_id;
};

GroupMember memberOf(const drivers::StackResource& server,
                     const std::vector<drivers::StackResource>& resources) {
  for (const auto& owner : resources) {
    if (owner.physical_id == server.stack.id && !owner.parent_resource.empty()) {
      return {owner.parent_resource, server.parent_resource, server.physical_id};
    }
  }
  return {server.parent_resource, server.name, server.physical_id};
}

}  // namespace

Result ClusterReconciler::reconcileStack(ClusterScope& scope) {
  if (!scope.stack || scope.stack->status == "DELETE_COMPLETE") {
    scope.stack.reset();
    return createOrAdopt(scope);
  }
  const auto& stack = *scope.stack;
  if (stack.inProgress()) {
    if (stack.action() == "DELETE") {
      bool ours;
      {
        std::lock_guard lock(mutex_);
        ours = recreating_.count(scope.uid()) > 0;
      }
      scope.progress = ours ? fmt::format("waiting for failed stack {} to be deleted before creating it again",
                                          stack.ref.name)
                            : fmt::format("stack {} is being deleted outside magnumd; it is created again "
                                          "once it is gone", stack.ref.name);
    } else if (stack.action() == "CREATE" && stack.created &&
               deps_.clock.now() - *stack.created > std::chrono::minutes(scope.spec.create_timeout)) {
      scope.timed_out = true;
    }
    return Result::after(options_.in_flight_requeue);
  }
  if (stack.failed()) return handleFailed(scope);
  return handleComplete(scope);
}

Result ClusterReconciler::createOrAdopt(ClusterScope& scope) {
  const auto& def = *scope.definition;
  // A crash between create and the next observation must not make a second stack: the name
  // derives from the uid, so look it up first.
  // With outputs: an adopted complete stack is a cluster whose API address is needed now.
  auto found = scope.cloud.call->run(scope.cloud.call->driver().getStack({def.name, ""}, true));
  if (found.ok() && found->status != "DELETE_COMPLETE") {
    scope.cloud.observer->recordStack(scope.uid(), *found);
    scope.stack = *found;
    deps_.events.normal(scope.cluster, "StackAdopted",
                        "found stack {} ({}, {}) of this cluster; using it instead of creating another",
                        found->ref.name, found->ref.id, found->status);
    return reconcileStack(scope);
  }
  if (!found.ok() && found.error().code != util::ErrorCode::NotFound) {
    return Result::fail(found.takeError());
  }

  drivers::StackCreate request;
  request.name = def.name;
  request.template_text = def.template_text;
  request.files = def.files;
  request.parameters = def.parameters;
  request.tags = stackTags(scope);
  request.timeout_mins = static_cast<int>(def.timeout_mins);
  request.disable_rollback = true;
  auto created = scope.cloud.call->run(scope.cloud.call->driver().createStack(request));
  if (!created.ok()) {
    if (created.error().code == util::ErrorCode::Conflict) {
      // The name is still taken by a stack Heat is deleting; try again shortly.
      scope.progress = fmt::format("stack name {} is still in use: {}", def.name, created.error().message);
      return Result::after(std::chrono::seconds(5));
    }
    scope.failure = fmt::format("creating stack {} failed: {}", def.name, created.error().message);
    deps_.events.warning(scope.cluster, "StackCreateFailed", "{}", scope.failure);
    return Result::fail(created.takeError());
  }
  drivers::Stack started;
  started.ref = *created;
  started.status = "CREATE_IN_PROGRESS";
  started.tags = request.tags;
  started.created = deps_.clock.now();
  scope.cloud.observer->recordStack(scope.uid(), started);
  scope.stack = started;

  bool recreating_failed;
  {
    std::lock_guard lock(mutex_);
    recreating_failed = recreating_.erase(scope.uid()) > 0;
  }
  if (recreating_failed) {
    scope.progress = fmt::format("creating stack {} again after the failed one was deleted", def.name);
    deps_.events.normal(scope.cluster, "StackRecreating", "{}", scope.progress);
  } else if (!scope.old_status.stack_id.empty() && scope.old_status.stack_id != created->id) {
    scope.progress = fmt::format("stack {} was deleted outside magnumd; created it again as {}",
                                 scope.old_status.stack_id, created->id);
    deps_.events.warning(scope.cluster, "StackRecreated", "{}", scope.progress);
  } else {
    deps_.events.normal(scope.cluster, "StackCreating", "creating stack {} ({})", def.name,
                        describeChange(scope));
  }
  return Result::after(options_.in_flight_requeue);
}

Result ClusterReconciler::handleFailed(ClusterScope& scope) {
  const drivers::Stack stack = *scope.stack;
  scope.failure = explain(scope, stack);
  const bool spec_changed = generationTag(stack).value_or(scope.cluster.metadata.generation) <
                            scope.cluster.metadata.generation;
  const bool definition_changed = tagValue(stack.tags, kHashTagPrefix) != scope.desired_hash;
  if (!spec_changed && !definition_changed) {
    if (auto wait = retryDue(scope.uid(), stack)) return Result::after(*wait);
  }
  noteAttempt(scope.uid(), stack);
  const std::string why = spec_changed || definition_changed ? "the spec changed"
                                                             : "retrying after backoff";
  if (stack.action() == "UPDATE") {
    if (auto s = patch(scope, fmt::format("{} after {}", why, stack.status)); !s.ok()) {
      return Result::fail(s.takeError());
    }
    return Result::after(options_.in_flight_requeue);
  }
  // CREATE_FAILED (and a failed delete of it): delete the stack and create it again.
  auto deleted = scope.cloud.call->run(scope.cloud.call->driver().deleteStack(stack.ref));
  if (!deleted.ok() && deleted.error().code != util::ErrorCode::NotFound) {
    deps_.events.warning(scope.cluster, "StackDeleteFailed", "deleting failed stack {}: {}",
                         stack.ref.name, deleted.error().message);
    return Result::fail(deleted.takeError());
  }
  {
    std::lock_guard lock(mutex_);
    recreating_.insert(scope.uid());
  }
  drivers::Stack deleting = stack;
  deleting.status = "DELETE_IN_PROGRESS";
  deleting.status_reason.clear();
  scope.cloud.observer->recordStack(scope.uid(), deleting);
  scope.stack = deleting;
  scope.progress = fmt::format("{}: deleting failed stack {} to create it again", why, stack.ref.name);
  deps_.events.normal(scope.cluster, "StackRetry", "{} (it failed: {})", scope.progress, scope.failure);
  return Result::after(options_.in_flight_requeue);
}

Result ClusterReconciler::handleComplete(ClusterScope& scope) {
  {
    std::lock_guard lock(mutex_);
    attempts_.erase(scope.uid());
  }
  if (tagValue(scope.stack->tags, kHashTagPrefix) != scope.desired_hash) {
    if (auto s = patch(scope, describeChange(scope)); !s.ok()) return Result::fail(s.takeError());
    return Result::after(options_.in_flight_requeue);
  }
  return repairDrift(scope);
}

// A group with fewer live servers than its count lost servers behind our back: find the Heat
// members whose server is gone (confirmed with Nova), mark those servers unhealthy and PATCH, so
// Heat replaces exactly those servers (their ports, floating IPs and volumes stay).
Result ClusterReconciler::repairDrift(ClusterScope& scope) {
  std::set<std::string> short_groups;
  for (const auto& g : scope.shape.node_groups) {
    if (static_cast<int64_t>(scope.serversOf(g.name, g.slot).size()) < g.node_count) {
      short_groups.insert(coe::groupResourceName(g.key()));
    }
  }
  if (short_groups.empty()) return Result::done();

  const auto ref = scope.stack->ref;
  auto resources = scope.cloud.call->run(scope.cloud.call->driver().listResources(ref, 2));
  if (!resources.ok()) return Result::fail(resources.takeError());
  std::set<std::string> live;
  for (const auto& s : scope.observed ? scope.observed->servers : std::vector<drivers::Server>{}) live.insert(s.id);
  std::vector<GroupMember> missing;
  for (const auto& r : *resources) {
    if (r.type != "OS::Nova::Server" || r.physical_id.empty() || live.count(r.physical_id)) continue;
    GroupMember m = memberOf(r, *resources);
    if (!short_groups.count(m.group)) continue;
    auto server = scope.cloud.call->run(scope.cloud.call->driver().getServer(r.physical_id));
    bool gone = (!server.ok() && server.error().code == util::ErrorCode::NotFound) ||
                (server.ok() && server->status == "DELETED");
    if (gone) missing.push_back(std::move(m));
  }
  if (missing.empty()) {
    // The cache lags behind Nova (a server just created): look again later.
    return Result::after(options_.in_flight_requeue);
  }
  std::string names;
  for (const auto& m : missing) {
    auto marked = scope.cloud.call->run(scope.cloud.call->driver().markUnhealthy(
        ref, m.server_id, "server deleted outside magnumd"));
    if (!marked.ok()) return Result::fail(marked.takeError());
    names += fmt::format("{}{}.{} ({})", names.empty() ? "" : ", ", m.group, m.member, m.server_id);
  }
  deps_.events.warning(scope.cluster, "NodesMissing", "servers deleted outside magnumd: {}; replacing them",
                       names);
  if (auto s = patch(scope, "replacing servers deleted outside magnumd: " + names); !s.ok()) {
    return Result::fail(s.takeError());
  }
  return Result::after(options_.in_flight_requeue);
}

util::Status ClusterReconciler::patch(ClusterScope& scope, std::string_view why) {
  const auto& def = *scope.definition;
  drivers::StackPatch request;
  request.template_text = def.template_text;
  request.files = def.files;
  request.parameters = def.parameters;
  request.tags = stackTags(scope);
  request.timeout_mins = static_cast<int>(def.timeout_mins);
  drivers::Stack stack = *scope.stack;
  // PATCH keeps parameters it is not given; those of a removed node group would make Heat
  // refuse the new template ("The Parameter (...) was not defined in template"). Clear them.
  auto current = scope.cloud.call->run(scope.cloud.call->driver().getStack(stack.ref, false));
  if (current.ok()) {
    for (const auto& [key, value] : current->parameters) {
      if (!def.parameters.count(key) && !key.starts_with("OS::")) request.clear_parameters.push_back(key);
    }
  }
  auto patched = scope.cloud.call->run(scope.cloud.call->driver().patchStack(stack.ref, request));
  if (!patched.ok()) {
    scope.failure = fmt::format("updating stack {} failed: {}", stack.ref.name, patched.error().message);
    deps_.events.warning(scope.cluster, "StackUpdateFailed", "{}", scope.failure);
    return patched;
  }
  stack.status = "UPDATE_IN_PROGRESS";
  stack.status_reason.clear();
  stack.tags = *request.tags;
  stack.updated = deps_.clock.now();
  scope.cloud.observer->recordStack(scope.uid(), stack);
  scope.stack = stack;
  scope.failure.clear();
  scope.progress = std::string(why);
  deps_.events.normal(scope.cluster, "StackUpdating", "updating stack {}: {}", stack.ref.name, why);
  return {};
}

// The cloud's own reason for a failed stack, asked once per failure.
std::string ClusterReconciler::explain(ClusterScope& scope, const drivers::Stack& stack) {
  const std::string key = fmt::format("{}|{}|{}", stack.ref.id, stack.status,
                                      stack.updated ? util::formatRfc3339(*stack.updated) : "");
  {
    std::lock_guard lock(mutex_);
    auto it = explained_.find(scope.uid());
    if (it != explained_.end() && it->second.first == key) return it->second.second;
  }
  auto explained = scope.cloud.call->run(scope.cloud.call->driver().explainFailure(stack.ref));
  std::string reason = explained.ok() && !explained->empty() ? *explained : stack.status_reason;
  if (reason.empty()) reason = "the cloud gave no reason";
  {
    std::lock_guard lock(mutex_);
    explained_[scope.uid()] = {key, reason};
  }
  deps_.events.warning(scope.cluster, stack.action() == "CREATE" ? "StackCreateFailed"
                                      : stack.action() == "DELETE" ? "StackDeleteFailed"
                                                                   : "StackUpdateFailed",
                       "stack {} is {}: {}", stack.ref.name, stack.status, reason);
  return reason;
}

}  // namespace magnumd::reconcilers
