// Which nodes of a cluster are unhealthy and which of them to replace now: Cluster API's
// MachineHealthCheck checks and short-circuit, and KubeadmControlPlane's remediation rules for
// masters, as one pure function (unit-tested without a cloud). The Cluster reconciler feeds it
// what Nova and the cluster's API show, and acts on the plan (cluster_remediation.cc).
//
// - A node is unhealthy when its server is ERROR or SHUTOFF; when its Node's Ready condition has
//   been False or Unknown for longer than unhealthyTimeout; or when its server has been ACTIVE for
//   longer than nodeStartupTimeout without a Node. Without a node list (the API does not answer)
//   only Nova's view counts: a partition never makes nodes unhealthy.
// - Short-circuit per node group: more unhealthy nodes than maxUnhealthy (an integer, or a
//   percentage of the group rounded down) stops remediation in that group.
// - Masters one at a time, and only while the other masters keep etcd's quorum (so never the only
//   master: replacing it would lose etcd's data); a master round replaces no worker.
// - A node replaced less than minHealthyPeriod ago is not replaced again; at most
//   maxRemediationsPerHour nodes per cluster in any hour.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/health_check.h"
#include "drivers/kube/kube_client.h"
#include "util/time.h"

namespace magnumd::reconcilers {

// One expected node: a server of the cluster's stack (its name is the Node's).
struct HealthTarget {
  std::string name;
  std::string group;
  bool master = false;
  std::string server_status;  // Nova: ACTIVE, BUILD, ERROR, SHUTOFF, ...
  std::string server_fault;   // Nova's fault message, if any
  util::SystemTime started{};  // when its startup clock began (ACTIVE, or the stack's last change)
};

struct HealthInputs {
  std::vector<HealthTarget> targets;
  // The cluster's API as last seen; null or without a node list: Nova's view only.
  const drivers::kube::ApiObservation* api = nullptr;
  std::vector<api::RemediationRecord> history;
  std::chrono::milliseconds node_startup_timeout{0};  // 0: no startup check
  api::HealthCheckOptions options;
  util::SystemTime now{};
};

struct UnhealthyNode {
  std::string name;
  std::string group;
  bool master = false;
  std::string reason;  // ServerError | ServerShutoff | NodeNotReady | NodeStartupTimeout
  std::string message;
  util::SystemTime since{};
};

struct HealthPlan {
  int64_t expected = 0;
  int64_t healthy = 0;
  std::vector<UnhealthyNode> unhealthy;
  std::vector<UnhealthyNode> remediate;  // replace these now
  // Why some unhealthy node is not replaced now (the RemediationAllowed condition): reason
  // TooManyUnhealthy | EtcdQuorum | MinHealthyPeriod | RateLimited, with a message naming the
  // group or node. Empty when every unhealthy node is in `remediate`.
  std::string blocked_reason;
  std::string blocked_message;
  // The earliest time a pending check or limit changes the plan (requeue then).
  std::optional<util::SystemTime> next_check;
};

HealthPlan planHealth(const HealthInputs& in);

// "10m", "90s", "1h": a duration as the spec's fields write it.
std::string formatDuration(std::chrono::milliseconds d);

// Remediations that still count against minHealthyPeriod or the hourly limit at `now`.
std::vector<api::RemediationRecord> recentRemediations(std::vector<api::RemediationRecord> history,
                                                       const api::HealthCheckOptions& options,
                                                       util::SystemTime now);

}  // namespace magnumd::reconcilers
