// The part of kube-apiserver that kubectl 1.32 uses for `version`, `get nodes [-o wide|yaml]` and
// `get --raw /healthz` (shared/reference/kubeadm-bootstrap.md §5), answered from one simulated
// cluster: a function from request to response, so tests need no sockets. Watches are streamed by
// the embedding (cloudsim.cc) from the cluster's event backlog.
#pragma once

#include <optional>
#include <string>

#include "cloudsim/api_util.h"
#include "cloudsim/kube_cluster.h"

namespace magnumd::cloudsim {

// `authenticated`: the client presented a certificate that the cluster CA signed. Like
// kube-apiserver, /healthz, /readyz, /livez and /version answer anonymous clients.
Response handleKubeApi(const KubeCluster& cluster, const Request& req, bool authenticated,
                       SystemTime now);

struct NodeWatch {
  uint64_t after = 0;        // send events newer than this resourceVersion
  bool initial_list = true;  // first send every node as ADDED
  bool table = false;        // Accept asked for Tables (kubectl get nodes -w)
  std::chrono::seconds timeout{1800};
};
// A GET /api/v1/nodes?watch=1 (or true): what to stream. nullopt for any other request.
std::optional<NodeWatch> nodeWatchOf(const Request& req);

// One watch event line: {"type":..., "object": Node or one-row Table}\n. Like kube-apiserver, a
// Table stream carries the column definitions in its first event only.
std::string watchEventLine(const KubeCluster& cluster, std::string_view type, const KubeNode& node,
                           bool table, bool with_columns, SystemTime now);

// Status bodies as kube-apiserver writes them.
Response kubeStatus(http::status status, std::string_view reason, std::string_view message);

// kube's duration.HumanDuration: "45s", "5m3s", "3h10m", "12d".
std::string humanDuration(std::chrono::seconds d);

}  // namespace magnumd::cloudsim
