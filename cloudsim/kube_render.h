// The simulated kube-apiserver's objects as JSON, shaped as the real one writes them: Nodes (with
// the kubelet's usual status), Pods, the kube-proxy DaemonSet, cluster-info, and the meta.k8s.io/v1
// Tables kubectl asks for (`kubectl get nodes`, `kubectl get pods`). No HTTP here.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "cloudsim/kube_cluster.h"

namespace magnumd::cloudsim {

// Renders one Node as the kube-apiserver does (kubelet's usual status fields).
std::string nodeJson(const KubeCluster& cluster, const KubeNode& node);
std::string nodeListJson(const KubeCluster& cluster, const std::vector<const KubeNode*>& nodes);
// kubectl's node columns (pkg/printers/internalversion/printers.go); the STATUS column reads
// "Ready", "NotReady" or "Unknown", with ",SchedulingDisabled" when cordoned.
std::string nodeTableJson(const KubeCluster& cluster, const std::vector<const KubeNode*>& nodes,
                          SystemTime now, bool with_columns = true);

std::string podJson(const KubeCluster& cluster, const KubePod& pod);
std::string podListJson(const KubeCluster& cluster, const std::vector<const KubePod*>& pods);
// kubectl get pods' columns (NAME, READY, STATUS, RESTARTS, AGE; -o wide: IP, NODE, NOMINATED
// NODE, READINESS GATES).
std::string podTableJson(const KubeCluster& cluster, const std::vector<const KubePod*>& pods,
                         SystemTime now);
// The DaemonSet `ns/name` (only kube-system/kube-proxy exists), or "" when there is none:
// kubectl drain checks that a DaemonSet pod's controller exists before it ignores the pod.
std::string daemonSetJson(const KubeCluster& cluster, std::string_view ns, std::string_view name);

// kube-public/cluster-info as a v1 ConfigMap (`info` may be a copy patched by a dry run).
std::string clusterInfoJson(const KubeCluster& cluster, const ClusterInfo& info);

// One watch event line: {"type":..., "object": Node or one-row Table}\n. Like kube-apiserver, a
// Table stream carries the column definitions in its first event only.
std::string watchEventLine(const KubeCluster& cluster, std::string_view type, const KubeNode& node,
                           bool table, bool with_columns, SystemTime now);

// kube's duration.HumanDuration: "45s", "5m3s", "3h10m", "12d".
std::string humanDuration(std::chrono::seconds d);

}  // namespace magnumd::cloudsim
