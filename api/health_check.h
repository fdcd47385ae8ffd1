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
inline constexpr int64_t kMaxRemediationsPerHour = 1000;
// What the health check's durations accept, as their errors and descriptions say it.
inline constexpr std::string_view kHealthCheckDurationForm =
    "a duration such as 5m, 90s or 1h30m, at most 30d";
inline constexpr std::string_view kIntOrPercentForm =
    "an integer of at least 0 or a percentage from 0% to 100%";

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
    v("enabled", s.enabled,
      {.description = "Check the nodes and replace unhealthy ones. Unset: the label "
                      "auto_healing_enabled decides."});
    v("unhealthyTimeout", s.unhealthy_timeout,
      {.description = "A node whose Ready condition is False or Unknown for longer than this is "
                      "unhealthy; 0 disables the check. (A node that never joins is judged by "
                      "spec.nodeStartupTimeout.)",
       .accepts = kHealthCheckDurationForm});
    v("maxUnhealthy", s.max_unhealthy,
      {.description = "More unhealthy nodes than this in a node group stops remediation in that "
                      "group (the short-circuit); a percentage of the group is rounded down.",
       .accepts = kIntOrPercentForm});
    v("minHealthyPeriod", s.min_healthy_period,
      {.description = "A node that remediation replaced less than this ago is not replaced "
                      "again.",
       .accepts = kHealthCheckDurationForm});
    v("nodeDrainTimeout", s.node_drain_timeout,
      {.description = "How long draining a node through the cluster's API may take before the "
                      "node is replaced anyway.",
       .accepts = kHealthCheckDurationForm});
    v("maxRemediationsPerHour", s.max_remediations_per_hour,
      {.description = "Nodes replaced per cluster in any hour, at most; 0 never replaces a node.",
       .minimum = 0,
       .maximum = kMaxRemediationsPerHour});
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
    v("node", s.node, {.required = true});
    v("nodeGroup", s.node_group);
    v("reason", s.reason,
      {.description = "ServerError, ServerShutoff, NodeNotReady or NodeStartupTimeout."});
    v("message", s.message);
    v("since", s.since,
      {.description = "When the condition that makes the node unhealthy began.",
       .format = "date-time"});
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
    v("time", s.time,
      {.description = "When magnumd asked the cloud to replace the node.", .format = "date-time"});
  }
};

struct DrainStatus {
  std::string node;
  std::string started;  // RFC 3339
  int64_t pods_left = 0;

  bool operator==(const DrainStatus&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("node", s.node, {.required = true});
    v("started", s.started, {.format = "date-time"});
    v("podsLeft", s.pods_left, {.description = "Pods still to be evicted."});
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
    v("enabled", s.enabled, {.description = "Whether the checks ran."});
    v("expectedNodes", s.expected_nodes, {.description = "Nodes the checks expect."});
    v("healthyNodes", s.healthy_nodes, {.description = "Of those, the healthy ones."});
    v("remediationsAllowed", s.remediations_allowed,
      {.description = "Nodes that may be replaced now, within maxUnhealthy and "
                      "maxRemediationsPerHour."});
    v("unhealthy", s.unhealthy,
      {.description = "The nodes judged unhealthy.",
       .list_type = ListType::Map,
       .list_key = "node"});
    v("draining", s.draining,
      {.description = "Nodes being drained before they are replaced.",
       .list_type = ListType::Map,
       .list_key = "node"});
    v("remediations", s.remediations,
      {.description = "Recent replacements that count against the limits, kept as long as "
                      "minHealthyPeriod or an hour, whichever is longer."});
  }
};

}  // namespace magnumd::api
