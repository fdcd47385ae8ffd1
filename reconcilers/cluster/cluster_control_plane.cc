// A Kubernetes cluster seen through its own API: which clusters the ControlPlaneObserver probes
// (track/untrack), and every expected node (each server of the stack) held against the Nodes
// that API lists. cluster_status.cc turns the result into conditions, health and the phase: a
// stack that completed is a cluster that completed only once every expected node is a Ready
// Node, and a node that does not get there within spec.nodeStartupTimeout fails the operation.
#include <fmt/format.h>

#include <algorithm>

#include "api/labels.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"
#include "reconcilers/names.h"

namespace magnumd::reconcilers {

namespace {

using Mode = ControlPlaneView::Mode;

bool labelTrue(const api::StringMap& labels, const char* key, bool fallback) {
  auto it = labels.find(key);
  if (it == labels.end() || it->second.empty()) return fallback;
  return it->second == "true" || it->second == "True" || it->second == "1";
}

// Magnum's rule (k8s_monitor.py): the API is reachable from the control plane only through a
// floating IP, on the load balancer when there is one.
bool apiAccessible(const api::ClusterConfig& config) {
  if (config.master_lb_enabled) {
    return labelTrue(config.labels, "master_lb_floating_ip_enabled", config.floating_ip_enabled);
  }
  return config.floating_ip_enabled;
}

// The API address from the stack's outputs (kept from its last completion while it updates).
std::string apiUrlOf(const ClusterScope& scope) {
  if (!scope.stack || !scope.coe || scope.shape.node_groups.empty()) return "";
  std::map<std::string, std::string> outputs;
  for (const auto& o : scope.stack->outputs) outputs[o.key] = o.value_json;
  if (!outputs.count("api_address")) {
    // Outputs not read yet (a restart, a listing): the address this stack gave before stands.
    return scope.old_status.stack_id == scope.stack->ref.id ? scope.old_status.api_address : "";
  }
  return scope.coe->endpoints(scope.shape, outputs).api_address;
}

}  // namespace


// Magnum's phases describe the last operation: once it completed (the stored phase is the
// stack's own *_COMPLETE for this stack), a node that turns NotReady later shows in NodesReady
// and health, and does not reopen the operation. A new operation (a PATCH, a new stack) always
// passes through *_IN_PROGRESS first, which ends the settlement.
bool settled(const ClusterScope& scope) {
  return scope.stack && scope.old_status.phase == scope.stack->status &&
         scope.old_status.stack_id == scope.stack->ref.id;
}

// Whether the phase of this pass waits on the cluster's nodes: the stack finished creating or
// updating to what the spec wants, and that operation has not settled yet.
bool waitsForNodes(const ClusterScope& scope) {
  // WaitingForAddress too: a complete stack whose outputs are not read yet is not a cluster
  // whose nodes anyone has seen.
  if (scope.control_plane.mode != Mode::Tracked &&
      scope.control_plane.mode != Mode::CredentialsFailed &&
      scope.control_plane.mode != Mode::WaitingForAddress)
    return false;
  if (!scope.stack || !scope.stack->complete() || settled(scope)) return false;
  const auto action = scope.stack->action();
  if (action != "CREATE" && action != "UPDATE") return false;
  return scope.desired_hash.empty() ||
         tagValue(scope.stack->tags, kHashTagPrefix) == scope.desired_hash;
}

void ClusterReconciler::observeControlPlane(ClusterScope& scope) {
  auto* source = deps_.control_plane;
  auto& view = scope.control_plane;
  if (source == nullptr) return;
  if (scope.paused || !scope.blocked.empty() || !scope.coe || !scope.config) {
    view.mode = Mode::Keep;
    return;
  }
  if (scope.coe->coe() != "kubernetes") {
    source->untrack(scope.uid());
    return;
  }
  auto stopWith = [&](Mode mode, std::string detail) {
    source->untrack(scope.uid());
    view.mode = mode;
    view.detail = std::move(detail);
  };
  if (!apiAccessible(*scope.config)) {
    return stopWith(Mode::NotAccessible,
                    fmt::format("The cluster {} is not accessible.", scope.cluster.metadata.name));
  }
  view.api_url = apiUrlOf(scope);
  if (view.api_url.empty() && scope.stack && scope.stack->complete() &&
      scope.stack->action() != "DELETE") {
    // A complete stack without outputs in the cache (read before it finished, or replaced by a
    // listing): read them again.
    scope.cloud.observer->refreshOutputs(scope.uid());
  }
  if (view.api_url.empty() || scope.stack->action() == "DELETE") {
    stopWith(Mode::WaitingForAddress,
             scope.stack ? fmt::format("the API address is known once stack {} completes",
                                       scope.stack->ref.name)
                         : "the API address is known once the cluster's stack completes");
    // No Node has been seen: a complete create or update still waits for them (and times out).
    if (scope.stack && scope.stack->action() != "DELETE") assessNodes(scope);
    return;
  }
  if (deps_.secrets == nullptr) {
    return stopWith(Mode::NoClusterCa, "magnumd keeps no cluster CAs (no secret store)");
  }
  auto secrets = deps_.secrets->load(scope.cluster);
  if (!secrets.ok()) {
    return stopWith(
        Mode::NoClusterCa,
        secrets.error().code == util::ErrorCode::NotFound
            ? "the cluster has no CA in magnumd's store, so magnumd cannot talk to its API"
            : "the cluster's CA cannot be read: " + secrets.error().message);
  }
  const auto name =
      fmt::format("{}/{}", scope.cluster.metadata.namespace_, scope.cluster.metadata.name);
  auto tracked = source->track(scope.uid(), {view.api_url, name, secrets->clientAuthority()});
  if (!tracked.ok()) {
    view.mode = Mode::CredentialsFailed;
    view.detail = tracked.error().message;
  } else {
    view.mode = Mode::Tracked;
    view.observed = source->observation(scope.uid());
  }
  assessNodes(scope);
}

void ClusterReconciler::assessNodes(ClusterScope& scope) {
  const auto& view = scope.control_plane;
  auto& n = scope.nodes;
  // Tracked but not looked at yet: nothing to tell (the observer names the cluster once it has).
  if (view.mode == Mode::Tracked && !view.observed) return;
  n.assessed = true;
  const drivers::kube::ApiObservation* seen =
      view.mode == Mode::Tracked && view.observed && view.observed->nodes_listed ? &*view.observed
                                                                                 : nullptr;
  if (seen) n.registered = static_cast<int64_t>(seen->nodes.size());

  const bool gate = waitsForNodes(scope);
  // Waiting on an API that has no address or does not answer: its address output may have been
  // read before it existed (a simulator binds the API late; a restart may read none at all).
  if (gate && view.observed && !view.observed->reachable) {
    scope.cloud.observer->refreshOutputs(scope.uid());
  }
  const auto timeout = api::nodeStartupTimeoutOf(scope.spec);
  const auto now = deps_.clock.now();
  for (const auto& server :
       scope.observed ? scope.observed->servers : std::vector<drivers::Server>{}) {
    n.expected++;
    const auto* node = seen ? seen->node(server.name) : nullptr;
    if (node && node->isReady()) {
      n.ready++;
      continue;
    }
    if (!seen) {
      n.waiting.push_back(fmt::format("{}: not seen (no node list)", server.name));
    } else if (!node) {
      n.waiting.push_back(fmt::format("{}: not joined", server.name));
    } else {
      std::string why = node->ready_reason;
      if (!node->ready_message.empty()) why += (why.empty() ? "" : ": ") + node->ready_message;
      n.waiting.push_back(fmt::format("{}: {}{}", server.name,
                                      node->ready == "False" ? "NotReady" : "Ready Unknown",
                                      why.empty() ? "" : " (" + why + ")"));
    }
    // The clock starts when the server turned ACTIVE (Nova's updated time then), or when the
    // stack last changed, whichever is later: an update gives every node the full timeout.
    if (!gate || timeout.count() == 0 || server.status != "ACTIVE") continue;
    auto started = server.updated ? *server.updated : server.created.value_or(now);
    if (scope.stack->updated && *scope.stack->updated > started) started = *scope.stack->updated;
    const auto due = started + timeout;
    if (now >= due) {
      n.timed_out.push_back(server.name);
    } else if (!n.next_deadline || due < *n.next_deadline) {
      n.next_deadline = due;
    }
  }
}

// "prod-default-worker-1: not joined; prod-default-worker-2: NotReady (...)", at most `max_items`
// named and about `max_bytes` long: a message stays readable for a 500-node cluster.
std::string listBounded(const std::vector<std::string>& items, size_t max_items, size_t max_bytes,
                        std::string_view separator) {
  std::string out;
  size_t shown = 0;
  for (const auto& item : items) {
    if (shown == max_items || out.size() + item.size() > max_bytes) break;
    if (!out.empty()) out += separator;
    out += item;
    shown++;
  }
  if (shown < items.size()) {
    out += fmt::format("{}and {} more", out.empty() ? "" : std::string(separator),
                       items.size() - shown);
  }
  return out;
}

std::string nodeStartupFailure(const ClusterScope& scope) {
  const auto& n = scope.nodes;
  const auto& view = scope.control_plane;
  std::string why;
  if (view.mode == Mode::CredentialsFailed) {
    why = view.detail;
  } else if (view.observed && !view.observed->reachable) {
    why = fmt::format("the cluster's API at {} is not reachable: {}", view.api_url,
                      view.observed->error);
  } else {
    why = listBounded(n.waiting, 5, 768);
  }
  return fmt::format(
      "{} {} did not become Ready in the cluster's API within nodeStartupTimeout ({}): {}",
      n.timed_out.size() == 1 ? "node" : "nodes", listBounded(n.timed_out, 10, 512, ", "),
      formatDuration(api::nodeStartupTimeoutOf(scope.spec)), why);
}

}  // namespace magnumd::reconcilers
