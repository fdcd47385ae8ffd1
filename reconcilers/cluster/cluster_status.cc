// The Cluster's status, computed once at the end of a pass from what was observed (and what the
// pass started), written only when it differs from the stored one.
#include <fmt/format.h>

#include <algorithm>

#include "controller/object_helpers.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"
#include "reconcilers/names.h"

namespace magnumd::reconcilers {

namespace {

// Sets a condition, keeping lastTransitionTime unless the status flips.
void setCondition(std::vector<api::Condition>& conditions, api::Condition c, const std::string& now) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const api::Condition& x) { return x.type == c.type; });
  if (it == conditions.end()) {
    c.last_transition_time = now;
    conditions.push_back(std::move(c));
    return;
  }
  c.last_transition_time = it->status == c.status ? it->last_transition_time : now;
  *it = std::move(c);
}

std::string firstAddress(const drivers::Server& s) {
  for (const auto& a : s.addresses) {
    if (a.type == "floating") return a.addr;
  }
  return s.addresses.empty() ? std::string() : s.addresses.front().addr;
}

bool isPhase(std::string_view value) {
  const auto& all = api::phases();
  return std::find(all.begin(), all.end(), value) != all.end();
}

// "CREATE_FAILED" -> "CreateFailed".
std::string camel(std::string_view phase) {
  std::string out;
  bool upper = true;
  for (char c : phase) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out.push_back(upper ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    upper = false;
  }
  return out;
}

std::string phaseOf(const ClusterScope& scope) {
  const auto* stack = scope.stack ? &*scope.stack : nullptr;
  if (scope.cluster.deleting()) {
    if (stack && stack->status == "DELETE_FAILED") return std::string(api::kPhaseDeleteFailed);
    return std::string(api::kPhaseDeleteInProgress);
  }
  if (!stack) {
    if (!scope.blocked.empty() || !scope.failure.empty()) return std::string(api::kPhaseCreateFailed);
    return scope.paused ? scope.old_status.phase : std::string(api::kPhaseCreateInProgress);
  }
  if (stack->action() == "DELETE") {  // a failed stack deleted to be created again
    return std::string(stack->failed() ? api::kPhaseCreateFailed : api::kPhaseCreateInProgress);
  }
  if (scope.timed_out) return std::string(api::kPhaseCreateFailed);
  if (isPhase(stack->status) && stack->action() != "DELETE") return stack->status;
  // ROLLBACK_*, CHECK_*, SUSPEND_*, ...: report as an update in that state.
  return "UPDATE_" + stack->state();
}

}  // namespace

util::Status ClusterReconciler::writeStatus(ClusterScope& scope) {
  api::ClusterStatus st = scope.old_status;
  const std::string now = util::formatRfc3339(deps_.clock.now());
  const int64_t generation = scope.cluster.metadata.generation;
  const auto* stack = scope.stack ? &*scope.stack : nullptr;

  st.phase = phaseOf(scope);
  if (!scope.blocked.empty()) {
    st.status_reason = scope.blocked;
  } else if (scope.paused) {
    st.status_reason = "paused (spec.paused): magnumd takes no cloud action for this cluster";
  } else if (scope.timed_out) {
    st.status_reason = fmt::format("stack {} did not finish creating within createTimeout ({} minutes)",
                                   stack->ref.name, scope.spec.create_timeout);
  } else if (!scope.failure.empty()) {
    st.status_reason = scope.failure;
  } else if (!scope.progress.empty()) {
    st.status_reason = scope.progress;
  } else {
    st.status_reason = stack ? stack->status_reason : std::string();
  }
  st.stack_id = stack ? stack->ref.id : (scope.cluster.deleting() ? std::string() : st.stack_id);
  st.observed_generation = generation;
  if (!scope.certificate_authorities.empty()) st.certificate_authorities = scope.certificate_authorities;

  // Addresses from the servers we observe (always fresh), the API address from the stack's
  // outputs when we have them, else the first master.
  if (scope.observed || !stack) {
    st.master_addresses.clear();
    st.node_addresses.clear();
    for (const auto& s : scope.observed ? scope.observed->servers : std::vector<drivers::Server>{}) {
      auto role = s.metadata.find(std::string(coe::kMetaRole));
      auto addr = firstAddress(s);
      if (addr.empty()) continue;
      bool master = role != s.metadata.end() && role->second == api::kRoleMaster;
      (master ? st.master_addresses : st.node_addresses).push_back(addr);
    }
  }
  if (!scope.shape.node_groups.empty()) {
    int64_t workers = 0;
    for (const auto& g : scope.shape.node_groups) {
      if (g.role != api::kRoleMaster) workers += g.node_count;
    }
    st.node_count = workers;
  }
  if (scope.coe && !scope.shape.node_groups.empty()) {
    std::map<std::string, std::string> outputs;
    if (stack) {
      for (const auto& o : stack->outputs) outputs[o.key] = o.value_json;
    }
    if (!outputs.count("api_address") && !st.master_addresses.empty()) {
      outputs["api_address"] = fmt::format("\"{}\"", st.master_addresses.front());
    }
    auto endpoints = scope.coe->endpoints(scope.shape, outputs);
    if (!endpoints.api_address.empty()) st.api_address = endpoints.api_address;
    st.coe_version = endpoints.coe_version;
  }
  if (!stack) st.api_address.clear();

  // Health from Nova's view of every node.
  st.health_status_reason.clear();
  bool any_server = scope.observed && !scope.observed->servers.empty();
  for (const auto& s : scope.observed ? scope.observed->servers : std::vector<drivers::Server>{}) {
    if (s.status != "ACTIVE" && s.status != "BUILD") st.health_status_reason[s.name + ".status"] = s.status;
  }
  if (!st.health_status_reason.empty()) {
    st.health_status = std::string(api::kHealthUnhealthy);
  } else if (any_server && stack && stack->complete()) {
    st.health_status = std::string(api::kHealthHealthy);
  } else {
    st.health_status = std::string(api::kHealthUnknown);
  }

  // Conditions.
  const bool applied = stack && stack->complete() &&
                       (scope.desired_hash.empty() || tagValue(stack->tags, kHashTagPrefix) == scope.desired_hash);
  api::Condition stack_ready{"StackReady", std::string(applied ? api::kConditionTrue : api::kConditionFalse),
                             applied ? "StackComplete" : camel(st.phase), st.status_reason, "", generation};
  if (!stack && scope.paused) stack_ready.status = std::string(api::kConditionUnknown);
  setCondition(st.conditions, stack_ready, now);

  api::Condition nodes_ready{"NodesReady", std::string(api::kConditionUnknown), "NotObserved", "", "", generation};
  if (!scope.shape.node_groups.empty()) {
    std::string missing;
    int64_t want = 0, active = 0;
    for (const auto& g : scope.shape.node_groups) {
      auto servers = scope.serversOf(g.name);
      auto up = std::count_if(servers.begin(), servers.end(),
                              [](const drivers::Server& s) { return s.status == "ACTIVE"; });
      want += g.node_count;
      active += std::min<int64_t>(up, g.node_count);
      if (up != g.node_count) missing += fmt::format("{}{}: {}/{} ACTIVE", missing.empty() ? "" : "; ", g.name, up, g.node_count);
    }
    bool ok = missing.empty();
    nodes_ready = {"NodesReady", std::string(ok ? api::kConditionTrue : api::kConditionFalse),
                   ok ? "AllNodesActive" : "NodesNotReady",
                   ok ? fmt::format("{}/{} nodes ACTIVE", active, want) : missing, "", generation};
  }
  setCondition(st.conditions, nodes_ready, now);

  bool ready = stack_ready.status == api::kConditionTrue && nodes_ready.status == api::kConditionTrue;
  api::Condition ready_c{"Ready", std::string(ready ? api::kConditionTrue : api::kConditionFalse),
                         ready ? "ClusterReady" : (stack_ready.status != api::kConditionTrue ? stack_ready.reason
                                                                                             : nodes_ready.reason),
                         ready ? "the stack matches the spec and every node is ACTIVE"
                               : (stack_ready.status != api::kConditionTrue ? stack_ready.message : nodes_ready.message),
                         "", generation};
  setCondition(st.conditions, ready_c, now);
  if (scope.paused) {
    setCondition(st.conditions, {"Paused", std::string(api::kConditionTrue), "Paused",
                                 "spec.paused is true", "", generation}, now);
  } else {
    std::erase_if(st.conditions, [](const api::Condition& c) { return c.type == "Paused"; });
  }

  if (st == scope.old_status) return {};
  auto written = controller::patchStatus(deps_.store, scope.cluster, api::encodeClusterStatus(st));
  if (!written.ok()) return written.takeError();
  scope.cluster = std::move(*written);
  scope.old_status = std::move(st);
  return {};
}

}  // namespace magnumd::reconcilers
