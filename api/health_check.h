// Auto-heal as Cluster API's MachineHealthCheck and KubeadmControlPlane remediation do it, for
// every node group of a cluster: which nodes are unhealthy, when remediation must stop (the
// short-circuit), and what status shows. The reconciler side is reconcilers/health_check.*.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/validation.h"
#include "util/result.h"

namespace magnumd::api {

inline constexpr std::string_view kDefaultUnhealthyTimeout = "5m";
inline constexpr std::string_view kDefaultMaxUnhealthy = "40%";
inline constexpr std::string_view kDefaultMinHealthyPeriod = "1h";
inline constexpr std::string_view kDefaultNodeDrainTimeout = "2m";
inline constexpr int64_t kDefaultMaxRemediationsPerHour = 6;

// spec.healthCheck. Unset fields take the defaults above; the checks run only when enabled
// (spec.healthCheck.enabled, else the label auto_healing_enabled).
struct HealthCheckSpec {
  std::optional<bool> enabled;
  // A node whose Ready condition is False or Unknown for longer than this is unhealthy; "0"
  // disables the check. (A node that never joins is judged by spec.nodeStartupTimeout.)
  std::string unhealthy_timeout = std::string(kDefaultUnhealthyTimeout);
  // Per node group: more unhealthy nodes than this (an integer, or a percentage of the group
  // rounded down as Cluster API does) stops remediation in that group.
  std::string max_unhealthy = std::string(kDefaultMaxUnhealthy);
  // A node replaced by remediation less than this ago is not replaced again.
  std::string min_healthy_period = std::string(kDefaultMinHealthyPeriod);
  // How long a drain through the cluster's API may take before the node is replaced anyway.
  std::string node_drain_timeout = std::string(kDefaultNodeDrainTimeout);
  // Nodes replaced per cluster in any hour, at most.
  int64_t max_remediations_per_hour = kDefaultMaxRemediationsPerHour;

  bool operator==(const HealthCheckSpec&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("enabled", s.enabled);
    v("unhealthyTimeout", s.unhealthy_timeout);
    v("maxUnhealthy", s.max_unhealthy);
    v("minHealthyPeriod", s.min_healthy_period);
    v("nodeDrainTimeout", s.node_drain_timeout);
    v("maxRemediationsPerHour", s.max_remediations_per_hour);
  }
};

// An integer ("2") or a percentage ("40%") of a total.
struct IntOrPercent {
  int64_t value = 0;
  bool percent = false;
  // Cluster API's GetScaledValueFromIntOrPercent: a percentage of `total`, rounded down or up.
  int64_t scaled(int64_t total, bool round_up = false) const;
};
util::Result<IntOrPercent> parseIntOrPercent(std::string_view text);

// Durations of a spec (validated at admission; an unparsable one counts as its default).
struct HealthCheckOptions {
  std::chrono::milliseconds unhealthy_timeout;
  IntOrPercent max_unhealthy;
  std::chrono::milliseconds min_healthy_period;
  std::chrono::milliseconds node_drain_timeout;
  int64_t max_remediations_per_hour;
};
HealthCheckOptions healthCheckOptionsOf(const HealthCheckSpec& spec);

void validate(const HealthCheckSpec& spec, const std::string& path, Causes& causes);

// status.healthCheck: what the last pass judged, and the remediations that count against the
// limits (kept as long as minHealthyPeriod or an hour, whichever is longer; bounded).
struct UnhealthyNodeStatus {
  std::string node;
  std::string node_group;
  std::string reason;   // ServerError | ServerShutoff | NodeNotReady | NodeStartupTimeout
  std::string message;
  std::string since;    // RFC 3339: when the condition that makes it unhealthy began

  bool operator==(const UnhealthyNodeStatus&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("node", s.node);
    v("nodeGroup", s.node_group);
    v("reason", s.reason);
    v("message", s.message);
    v("since", s.since);
  }
};

struct RemediationRecord {
  std::string node;
  std::string node_group;
  std::string reason;
  std::string time;  // RFC 3339: when magnumd asked the cloud to replace the node

  bool operator==(const RemediationRecord&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("node", s.node);
    v("nodeGroup", s.node_group);
    v("reason", s.reason);
    v("time", s.time);
  }
};

struct DrainStatus {
  std::string node;
  std::string started;  // RFC 3339
  int64_t pods_left = 0;

  bool operator==(const DrainStatus&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("node", s.node);
    v("started", s.started);
    v("podsLeft", s.pods_left);
  }
};

struct HealthCheckStatus {
  bool enabled = false;
  int64_t expected_nodes = 0;
  int64_t healthy_nodes = 0;
  int64_t remediations_allowed = 0;  // nodes that may be replaced now
  std::vector<UnhealthyNodeStatus> unhealthy;
  std::vector<DrainStatus> draining;
  std::vector<RemediationRecord> remediations;

  bool operator==(const HealthCheckStatus&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("enabled", s.enabled);
    v("expectedNodes", s.expected_nodes);
    v("healthyNodes", s.healthy_nodes);
    v("remediationsAllowed", s.remediations_allowed);
    v("unhealthy", s.unhealthy);
    v("draining", s.draining);
    v("remediations", s.remediations);
  }
};

}  // namespace magnumd::api
