// The Cluster's status, computed once at the end of a pass from what was observed (and what the
// pass started), written only when it differs from the stored one.
#include <fmt/format.h>

#include <algorithm>

#include "controller/conditions.h"
#include "controller/object_helpers.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"
#include "reconcilers/names.h"

namespace magnumd::reconcilers {

namespace {

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
  // A rolling replacement is one update from its first step to its last.
  if (scope.rolling && scope.rollout) {
    return std::string(scope.rollout->phase == "Stalled" ? api::kPhaseUpdateFailed
                                                         : api::kPhaseUpdateInProgress);
  }
  // So is a CA rotation, from its first roll to its last, including the moments between them.
  if (caRotating(scope)) return std::string(api::kPhaseUpdateInProgress);
  if (waitsForNodes(scope)) {
    if (!scope.nodes.timed_out.empty()) return stack->action() + "_FAILED";
    if (!scope.nodes.assessed || !scope.nodes.allReady()) return stack->action() + "_IN_PROGRESS";
  }
  // A pass that could not look (blocked, paused) never completes an operation it did not see
  // complete: the stack being done says nothing about the nodes.
  if (scope.control_plane.mode == ControlPlaneView::Mode::Keep && stack->complete() &&
      !settled(scope) && !scope.old_status.phase.empty()) {
    return scope.old_status.phase;
  }
  if (isPhase(stack->status) && stack->action() != "DELETE") return stack->status;
  // ROLLBACK_*, CHECK_*, SUSPEND_*, ...: report as an update in that state.
  return "UPDATE_" + stack->state();
}

using Mode = ControlPlaneView::Mode;

std::string waitingForNodes(const ClusterScope& scope) {
  const auto& view = scope.control_plane;
  const auto& n = scope.nodes;
  if (!n.assessed) {
    return fmt::format(
        "stack {} is complete; waiting for magnumd's first look at the cluster's API at {}",
        scope.stack->ref.name, view.api_url);
  }
  std::string out = fmt::format(
      "stack {} is complete; waiting for {} of {} nodes to become Ready in the cluster's API: {}",
      scope.stack->ref.name, n.expected - n.ready, n.expected, listBounded(n.waiting, 5, 768));
  if (view.mode == Mode::CredentialsFailed) out += "; " + view.detail;
  if (view.observed && !view.observed->reachable) {
    out += fmt::format("; the API at {} is not reachable: {}", view.api_url, view.observed->error);
  }
  return out;
}

api::Condition condition(std::string_view type, bool ok, std::string reason, std::string message,
                         int64_t generation) {
  return {std::string(type),
          std::string(ok ? api::kConditionTrue : api::kConditionFalse),
          std::move(reason),
          std::move(message),
          "",
          generation};
}

api::Condition unknown(std::string_view type, std::string reason, std::string message,
                       int64_t generation) {
  return {std::string(type),
          std::string(api::kConditionUnknown),
          std::move(reason),
          std::move(message),
          "",
          generation};
}

// ControlPlaneReady from what the API answered: reachable over verified mutual TLS and ready.
api::Condition controlPlaneCondition(const ClusterScope& scope, int64_t generation) {
  const auto& view = scope.control_plane;
  switch (view.mode) {
    case Mode::NotAccessible:
      return unknown("ControlPlaneReady", "NotAccessible", view.detail, generation);
    case Mode::NoClusterCa:
      return unknown("ControlPlaneReady", "NoClusterCA", view.detail, generation);
    case Mode::WaitingForAddress:
      return condition("ControlPlaneReady", false, "WaitingForStack", view.detail, generation);
    case Mode::CredentialsFailed:
      return condition("ControlPlaneReady", false, "ClientCertificateFailed", view.detail,
                       generation);
    default:
      break;
  }
  if (!view.observed) {
    return unknown(
        "ControlPlaneReady", "NotProbed",
        fmt::format("waiting for magnumd's first look at the cluster's API at {}", view.api_url),
        generation);
  }
  const auto& o = *view.observed;
  if (!o.reachable) {
    using drivers::kube::ApiFailure;
    const char* reason = o.failure == ApiFailure::Tls ? "APICertificateRejected"
                         : o.failure == ApiFailure::HttpStatus ||
                                 o.failure == ApiFailure::Malformed ||
                                 o.failure == ApiFailure::TooLarge
                             ? "APIError"
                             : "APIUnreachable";
    return condition("ControlPlaneReady", false, reason, o.error, generation);
  }
  if (!o.ready) {
    return condition("ControlPlaneReady", false, "APINotReady",
                     fmt::format("the API at {} answers ({}) but is not ready: {}", view.api_url,
                                 o.git_version, o.readiness_error),
                     generation);
  }
  return condition(
      "ControlPlaneReady", true, "APIReady",
      fmt::format("the API at {} answers {} and is ready", view.api_url, o.git_version),
      generation);
}

// NodesReady from the cluster's API: every server of the stack is a Ready Node.
api::Condition apiNodesCondition(const ClusterScope& scope, int64_t generation) {
  const auto& view = scope.control_plane;
  const auto& n = scope.nodes;
  if (view.mode == Mode::CredentialsFailed) {
    return unknown("NodesReady", "ClientCertificateFailed", view.detail, generation);
  }
  if (!view.observed)
    return unknown("NodesReady", "NotProbed", "the cluster's API has not been looked at yet",
                   generation);
  const auto& o = *view.observed;
  if (!o.reachable) {
    return unknown("NodesReady", "APIUnreachable",
                   "the cluster's API cannot list nodes: " + o.error, generation);
  }
  if (!o.nodes_listed) return unknown("NodesReady", "NodesNotListed", o.error, generation);
  if (n.allReady()) {
    return condition("NodesReady", true, "AllNodesReady",
                     fmt::format("{}/{} expected nodes are Ready Nodes", n.ready, n.expected),
                     generation);
  }
  const bool joined_all =
      n.expected - n.ready == static_cast<int64_t>(std::count_if(
                                  n.waiting.begin(), n.waiting.end(), [](const std::string& w) {
                                    return w.find(": not joined") == std::string::npos;
                                  }));
  std::string reason = !n.timed_out.empty() && waitsForNodes(scope) ? "NodeStartupTimeout"
                       : joined_all                                 ? "NodesNotReady"
                                                                    : "NodesNotJoined";
  return condition("NodesReady", false, reason,
                   fmt::format("{}/{} expected nodes are Ready Nodes; {}", n.ready, n.expected,
                               listBounded(n.waiting, 5, 768)),
                   generation);
}

// Magnum's health from the API (k8s_monitor.py): HEALTHY when the API is ready and every node is
// Ready; healthStatusReason {"api": "ok" | why not, "<node>.Ready": "True" | "False"}.
constexpr size_t kMaxHealthNodes = 200;

void apiHealth(const ClusterScope& scope, api::ClusterStatus& st) {
  const auto& view = scope.control_plane;
  if (view.mode != Mode::Tracked || !view.observed) {
    st.health_status = std::string(api::kHealthUnknown);
    st.health_status_reason["api"] = view.mode == Mode::Tracked ? "not probed yet" : view.detail;
    return;
  }
  const auto& o = *view.observed;
  st.health_status_reason["api"] = !o.reachable ? o.error : o.ready ? "ok" : o.readiness_error;
  size_t listed = 0;
  for (const auto& server :
       scope.observed ? scope.observed->servers : std::vector<drivers::Server>{}) {
    if (listed++ == kMaxHealthNodes) break;
    const auto* node = o.nodes_listed ? o.node(server.name) : nullptr;
    st.health_status_reason[server.name + ".Ready"] = node && node->isReady() ? "True" : "False";
  }
  const bool healthy = o.reachable && o.ready && scope.nodes.assessed && scope.nodes.allReady();
  st.health_status = std::string(healthy ? api::kHealthHealthy : api::kHealthUnhealthy);
}

// Health from Nova's view of every node (COEs magnumd does not look into, clusters it cannot
// reach).
void novaHealth(const ClusterScope& scope, api::ClusterStatus& st) {
  const auto* stack = scope.stack ? &*scope.stack : nullptr;
  const bool any_server = scope.observed && !scope.observed->servers.empty();
  st.health_status = std::string(any_server && stack && stack->complete() ? api::kHealthHealthy
                                                                          : api::kHealthUnknown);
}

// A server Nova reports broken makes the cluster UNHEALTHY whatever else is known.
void addNovaFaults(const ClusterScope& scope, api::ClusterStatus& st) {
  bool fault = false;
  for (const auto& s : scope.observed ? scope.observed->servers : std::vector<drivers::Server>{}) {
    if (s.status == "ACTIVE" || s.status == "BUILD") continue;
    st.health_status_reason[s.name + ".status"] = s.status;
    fault = true;
  }
  if (fault) st.health_status = std::string(api::kHealthUnhealthy);
}

api::Condition novaNodesCondition(const ClusterScope& scope, int64_t generation) {
  if (scope.shape.node_groups.empty()) return unknown("NodesReady", "NotObserved", "", generation);
  std::string missing;
  int64_t want = 0, active = 0;
  for (const auto& g : scope.shape.node_groups) {
    auto servers = scope.serversOf(g.name, g.slot);
    auto up = std::count_if(servers.begin(), servers.end(),
                            [](const drivers::Server& s) { return s.status == "ACTIVE"; });
    want += g.node_count;
    active += std::min<int64_t>(up, g.node_count);
    if (up != g.node_count)
      missing +=
          fmt::format("{}{}: {}/{} ACTIVE", missing.empty() ? "" : "; ", g.name, up, g.node_count);
  }
  const bool ok = missing.empty();
  return condition("NodesReady", ok, ok ? "AllNodesActive" : "NodesNotReady",
                   ok ? fmt::format("{}/{} nodes ACTIVE", active, want) : missing, generation);
}

api::ClusterApiStatus observedApi(const ClusterScope& scope) {
  api::ClusterApiStatus out;
  out.expected_nodes = scope.observed ? static_cast<int64_t>(scope.observed->servers.size()) : 0;
  const auto& observed = scope.control_plane.observed;
  if (scope.control_plane.mode != Mode::Tracked || !observed) return out;
  out.reachable = observed->reachable;
  out.nodes = static_cast<int64_t>(observed->nodes.size());
  out.ready_nodes = std::count_if(observed->nodes.begin(), observed->nodes.end(),
                                  [](const drivers::kube::NodeInfo& n) { return n.isReady(); });
  return out;
}

}  // namespace

util::Status ClusterReconciler::writeStatus(ClusterScope& scope) {
  api::ClusterStatus st = scope.old_status;
  const auto now = deps_.clock.now();
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
  } else if (caRotating(scope)) {
    st.status_reason = "CA rotation: " + scope.ca_rotation->message;
  } else if (scope.rolling && scope.rollout) {
    st.status_reason = "rolling update: " + scope.rollout->message;
  } else if (!scope.progress.empty()) {
    st.status_reason = scope.progress;
  } else if (waitsForNodes(scope) && !scope.nodes.timed_out.empty()) {
    st.status_reason = nodeStartupFailure(scope);
  } else if (waitsForNodes(scope) && !(scope.nodes.assessed && scope.nodes.allReady())) {
    st.status_reason = waitingForNodes(scope);
  } else {
    st.status_reason = stack ? stack->status_reason : std::string();
  }
  st.stack_id = stack ? stack->ref.id : (scope.cluster.deleting() ? std::string() : st.stack_id);
  st.observed_generation = generation;
  if (!scope.certificate_authorities.empty()) st.certificate_authorities = scope.certificate_authorities;
  if (scope.rollout) st.rollout = scope.rollout;
  if (scope.ca_rotation) st.ca_rotation = scope.ca_rotation;

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
    // Without the stack's api_address output: the address this stack gave before, else the
    // first master's.
    const bool known = stack && scope.old_status.stack_id == stack->ref.id &&
                       !scope.old_status.api_address.empty();
    if (!outputs.count("api_address") && !known && !st.master_addresses.empty()) {
      outputs["api_address"] = fmt::format("\"{}\"", st.master_addresses.front());
    }
    auto endpoints = scope.coe->endpoints(scope.shape, outputs);
    if (!endpoints.api_address.empty()) st.api_address = endpoints.api_address;
    st.coe_version = endpoints.coe_version;
  }
  if (!stack) st.api_address.clear();

  // What the cluster's own API showed, when magnumd looks at it; Nova's view otherwise.
  const auto& view = scope.control_plane;
  const bool keep_observed =
      (view.mode == Mode::Keep || (view.mode == Mode::Tracked && !view.observed)) &&
      scope.old_status.api.has_value();
  const bool from_api =
      !keep_observed && (view.mode == Mode::Tracked || view.mode == Mode::CredentialsFailed);
  if (keep_observed) {
    st.coe_version = scope.old_status.coe_version;
  } else if (from_api) {
    if (view.observed && view.observed->reachable) {
      st.coe_version = view.observed->git_version;
    } else if (scope.old_status.api) {
      st.coe_version = scope.old_status.coe_version;  // the last version the API told
    }
    st.api = observedApi(scope);
  } else {
    st.api.reset();
  }

  if (externalHealer(scope)) {
    // magnum-auto-healer writes healthStatus and healthStatusReason (as Magnum lets it).
    st.health_status = scope.old_status.health_status;
    st.health_status_reason = scope.old_status.health_status_reason;
  } else if (!keep_observed) {
    st.health_status_reason.clear();
    if (from_api) {
      apiHealth(scope, st);
    } else if (view.mode == Mode::NotAccessible) {
      st.health_status = std::string(api::kHealthUnknown);  // Magnum's answer for a private API
      st.health_status_reason["api"] = view.detail;
    } else {
      novaHealth(scope, st);
    }
    addNovaFaults(scope, st);
  }

  // Conditions.
  const bool applied = stack && stack->complete() &&
                       (scope.desired_hash.empty() || tagValue(stack->tags, kHashTagPrefix) == scope.desired_hash);
  api::Condition stack_ready{"StackReady", std::string(applied ? api::kConditionTrue : api::kConditionFalse),
                             applied ? "StackComplete" : camel(st.phase), st.status_reason, "", generation};
  if (!stack && scope.paused) stack_ready.status = std::string(api::kConditionUnknown);
  controller::setCondition(st.conditions, stack_ready, now);

  if (view.mode == Mode::Off) {
    controller::removeCondition(st.conditions, "ControlPlaneReady");
  } else if (!keep_observed) {
    controller::setCondition(st.conditions, controlPlaneCondition(scope, generation), now);
  }
  if (!keep_observed) {
    controller::setCondition(
        st.conditions,
        from_api ? apiNodesCondition(scope, generation) : novaNodesCondition(scope, generation),
        now);
  }

  const auto* control_plane = api::findCondition(st.conditions, "ControlPlaneReady");
  const auto* nodes_ready = api::findCondition(st.conditions, "NodesReady");
  const bool api_in_play = from_api || keep_observed;
  const api::Condition* blocking = nullptr;
  if (stack_ready.status != api::kConditionTrue) {
    blocking = &stack_ready;
  } else if (api_in_play && control_plane && control_plane->status != api::kConditionTrue) {
    blocking = control_plane;
  } else if (nodes_ready && nodes_ready->status != api::kConditionTrue) {
    blocking = nodes_ready;
  }
  // A rolling replacement is not Ready until its last old node is gone, even when every node of
  // the moment is Ready (kubectl wait --for condition=Ready waits for the whole upgrade).
  std::optional<api::Condition> rolling;
  if (!blocking && scope.rolling && scope.rollout) {
    rolling = condition("Ready", false,
                        scope.rollout->phase == "Stalled" ? "RolloutStalled" : "RollingUpdate",
                        "rolling update: " + scope.rollout->message, generation);
  }
  if (!blocking && caRotating(scope)) {
    rolling = condition("Ready", false, "CARotation", "CA rotation: " + scope.ca_rotation->message,
                        generation);
  }
  api::Condition ready_c =
      rolling  ? *rolling
      : blocking ? condition("Ready", false, blocking->reason, blocking->message, generation)
               : condition("Ready", true, "ClusterReady",
                           api_in_play ? "the stack matches the spec and every node is a Ready Node"
                                       : "the stack matches the spec and every node is ACTIVE",
                           generation);
  controller::setCondition(st.conditions, ready_c, now);
  healthStatus(scope, st, now);
  if (scope.paused) {
    controller::setCondition(st.conditions, {"Paused", std::string(api::kConditionTrue), "Paused",
                                 "spec.paused is true", "", generation}, now);
  } else {
    controller::removeCondition(st.conditions, "Paused");
  }

  if (st == scope.old_status) return {};
  auto written = controller::patchStatus(deps_.store, scope.cluster, api::encodeClusterStatus(st));
  if (!written.ok()) return written.takeError();
  scope.cluster = std::move(*written);
  scope.old_status = std::move(st);
  return {};
}

}  // namespace magnumd::reconcilers
