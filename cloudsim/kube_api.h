// The part of kube-apiserver that kubectl 1.32 uses for `version`, `get nodes [-o wide|yaml]`,
// `get --raw /healthz` (shared/reference/kubeadm-bootstrap.md §5), `cordon`, `uncordon`, `drain`,
// `delete node` and `get pods`, plus kube-public/cluster-info (read and rewritten during a CA
// rotation) and kube-system's bootstrap-token Secrets (rewritten to keep a join token valid),
// answered from one simulated cluster: a function from request to response, so tests
// need no sockets. Watches are streamed by the embedding (kube_listeners.cc) from the cluster's
// event backlog.
#pragma once

#include <optional>
#include <string>

#include "cloudsim/api_util.h"
#include "cloudsim/kube_cluster.h"
#include "cloudsim/kube_render.h"

namespace magnumd::cloudsim {

// `authenticated`: the client presented a certificate that the master serving its connection
// trusts. Like kube-apiserver, /healthz, /readyz, /livez and /version answer anonymous clients.
// Writes (node PATCH and DELETE, pod DELETE and eviction, cluster-info PATCH and PUT) go through
// `clusters`.
Response handleKubeApi(KubeClusters& clusters, KubeCluster& cluster, const Request& req,
                       bool authenticated, SystemTime now);

// Applies a merge patch or strategic merge patch (as `kubectl cordon` sends) to a copy of a node:
// metadata.labels, metadata.annotations (null deletes a key), spec.unschedulable (null is false);
// metadata.resourceVersion, when given, must be the node's. Directives ($patch, $retainKeys,
// $setElementOrder) are ignored, status is ignored as kube-apiserver ignores it on the main
// resource; any other field is Invalid (cloudsim does not model it), naming the field.
util::Status applyNodePatch(KubeNode& node, const util::Json& patch);

struct NodeWatch {
  uint64_t after = 0;        // send events newer than this resourceVersion
  bool initial_list = true;  // first send every node as ADDED
  bool table = false;        // Accept asked for Tables (kubectl get nodes -w)
  std::chrono::seconds timeout{1800};
};
// A GET /api/v1/nodes?watch=1 (or true): what to stream. nullopt for any other request.
std::optional<NodeWatch> nodeWatchOf(const Request& req);

// Status bodies as kube-apiserver writes them.
Response kubeStatus(http::status status, std::string_view reason, std::string_view message);
// A JSON answer with kube-apiserver's headers.
Response kubeJson(http::status status, std::string body,
                  std::string_view content_type = "application/json");

// /api/v1/namespaces/{ns}/secrets[/{name}] (`name` empty: the collection): kube-system's
// bootstrap-token Secrets (kube_tokens.h), after the token cleaner ran at `now`.
// kube_secrets_api.cc.
Response handleSecrets(KubeCluster& cluster, const Request& req, const Query& query,
                       std::string_view ns, std::string_view name, SystemTime now);

}  // namespace magnumd::cloudsim
