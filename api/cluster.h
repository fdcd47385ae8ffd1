// Cluster: the seed's cluster-create parameters plus magnumd's own (paused), and the status the
// reconciler writes (Magnum's vocabulary plus conditions).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/cluster_template.h"
#include "api/codec.h"
#include "api/condition.h"
#include "api/health_check.h"
#include "api/rollout.h"
#include "api/object.h"
#include "api/validation.h"
#include "util/result.h"

namespace magnumd::api {

inline constexpr std::string_view kDefaultNodeStartupTimeout = "10m";

struct ClusterSpec {
  std::string cluster_template;  // "name" (same namespace) or "namespace/name" (required)
  std::optional<std::string> keypair;         // overrides the template's
  int64_t node_count = 1;                     // the default-worker node group's size
  int64_t master_count = 1;                   // odd; immutable
  std::optional<std::string> discovery_url;   // immutable
  int64_t create_timeout = 60;                // minutes
  // How long a node may take to become a Ready Node in the cluster's API once its server is
  // ACTIVE, before the create (or scale) fails naming it; Cluster API's MachineHealthCheck
  // nodeStartupTimeout. A duration ("10m", "90s", "1h"); "0" waits without a limit.
  std::string node_startup_timeout = std::string(kDefaultNodeStartupTimeout);
  std::optional<bool> master_lb_enabled;      // unset: the template's
  std::optional<bool> floating_ip_enabled;    // unset: the template's
  std::optional<std::string> flavor;          // unset: the template's
  std::optional<std::string> master_flavor;   // unset: the template's
  std::optional<int64_t> docker_volume_size;  // unset: the template's
  StringMap labels;                           // replace the template's, or merge when mergeLabels
  bool merge_labels = false;
  std::optional<std::string> fixed_network;
  std::optional<std::string> fixed_subnet;
  bool paused = false;                        // stops all cloud actions for this cluster
  // Auto-heal (api/health_check.h); unset: the defaults, enabled by auto_healing_enabled.
  std::optional<HealthCheckSpec> health_check;
  // How a change that needs new servers rolls out (api/rollout.h); unset: surge 1, none
  // unavailable.
  std::optional<RolloutStrategySpec> rollout_strategy;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("clusterTemplate", s.cluster_template);
    v("keypair", s.keypair);
    v("nodeCount", s.node_count);
    v("masterCount", s.master_count);
    v("discoveryUrl", s.discovery_url);
    v("createTimeout", s.create_timeout);
    v("nodeStartupTimeout", s.node_startup_timeout);
    v("masterLbEnabled", s.master_lb_enabled);
    v("floatingIpEnabled", s.floating_ip_enabled);
    v("flavor", s.flavor);
    v("masterFlavor", s.master_flavor);
    v("dockerVolumeSize", s.docker_volume_size);
    v("labels", s.labels);
    v("mergeLabels", s.merge_labels);
    v("fixedNetwork", s.fixed_network);
    v("fixedSubnet", s.fixed_subnet);
    v("paused", s.paused);
    v("healthCheck", s.health_check);
    v("rolloutStrategy", s.rollout_strategy);
  }
};

// Magnum's cluster statuses (`phase`) and health statuses.
inline constexpr std::string_view kPhaseCreateInProgress = "CREATE_IN_PROGRESS";
inline constexpr std::string_view kPhaseCreateComplete = "CREATE_COMPLETE";
inline constexpr std::string_view kPhaseCreateFailed = "CREATE_FAILED";
inline constexpr std::string_view kPhaseUpdateInProgress = "UPDATE_IN_PROGRESS";
inline constexpr std::string_view kPhaseUpdateComplete = "UPDATE_COMPLETE";
inline constexpr std::string_view kPhaseUpdateFailed = "UPDATE_FAILED";
inline constexpr std::string_view kPhaseDeleteInProgress = "DELETE_IN_PROGRESS";
inline constexpr std::string_view kPhaseDeleteComplete = "DELETE_COMPLETE";
inline constexpr std::string_view kPhaseDeleteFailed = "DELETE_FAILED";
// Every phase a status may carry (Magnum's 18 ClusterStatus values).
const std::vector<std::string_view>& phases();
inline constexpr std::string_view kHealthHealthy = "HEALTHY";
inline constexpr std::string_view kHealthUnhealthy = "UNHEALTHY";
inline constexpr std::string_view kHealthUnknown = "UNKNOWN";

// One of the cluster's certificate authorities, as operators check it: never key material.
struct CertificateAuthorityStatus {
  std::string name;         // cluster | etcd | front-proxy
  std::string fingerprint;  // SHA-256, "AB:CD:..." as `openssl x509 -fingerprint -sha256`
  std::string not_after;    // RFC 3339

  bool operator==(const CertificateAuthorityStatus&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("name", s.name);
    v("fingerprint", s.fingerprint);
    v("notAfter", s.not_after);
  }
};

// What the cluster's own API showed at magnumd's last look (Kubernetes clusters whose API
// magnumd can reach; absent otherwise).
struct ClusterApiStatus {
  bool reachable = false;      // /version answered over mutual TLS
  int64_t nodes = 0;           // Node objects registered
  int64_t ready_nodes = 0;     // of those, Ready
  int64_t expected_nodes = 0;  // servers of the cluster's stack, each of which should be a Node

  bool operator==(const ClusterApiStatus&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("reachable", s.reachable);
    v("nodes", s.nodes);
    v("readyNodes", s.ready_nodes);
    v("expectedNodes", s.expected_nodes);
  }
};

struct ClusterStatus {
  std::string phase;
  std::string status_reason;
  std::string health_status;          // HEALTHY | UNHEALTHY | UNKNOWN
  StringMap health_status_reason;     // as Magnum: {"api": "...", "<node>.Ready": "..."}
  std::string api_address;
  std::vector<std::string> master_addresses;
  std::vector<std::string> node_addresses;
  // Worker nodes wanted across every non-master node group (Magnum's cluster node_count);
  // spec.nodeCount is only the default worker group's.
  std::optional<int64_t> node_count;
  std::string coe_version;  // the API's /version once observed, else the template's
  std::optional<ClusterApiStatus> api;
  std::string stack_id;
  StringMap faults;                   // node group name -> why it failed
  int64_t observed_generation = 0;
  std::vector<Condition> conditions;
  std::vector<CertificateAuthorityStatus> certificate_authorities;
  std::optional<HealthCheckStatus> health_check;
  std::optional<RolloutStatus> rollout;

  bool operator==(const ClusterStatus&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("phase", s.phase);
    v("statusReason", s.status_reason);
    v("healthStatus", s.health_status);
    v("healthStatusReason", s.health_status_reason);
    v("apiAddress", s.api_address);
    v("masterAddresses", s.master_addresses);
    v("nodeAddresses", s.node_addresses);
    v("nodeCount", s.node_count);
    v("coeVersion", s.coe_version);
    v("api", s.api);
    v("stackId", s.stack_id);
    v("faults", s.faults);
    v("observedGeneration", s.observed_generation);
    v("conditions", s.conditions);
    v("certificateAuthorities", s.certificate_authorities);
    v("healthCheck", s.health_check);
    v("rollout", s.rollout);
  }
};

// spec.nodeStartupTimeout as a duration; zero: no limit. An unparsable value (never admitted)
// counts as the default.
std::chrono::milliseconds nodeStartupTimeoutOf(const ClusterSpec& spec);

util::Result<ClusterSpec> decodeClusterSpec(std::string_view json);
std::string encodeClusterSpec(const ClusterSpec& spec);
util::Result<ClusterStatus> decodeClusterStatus(std::string_view json);
std::string encodeClusterStatus(const ClusterStatus& status);

// Field rules of the spec alone (paths under "spec."); with the template, also the rules that need
// it: a keypair from somewhere, dockerVolumeSize against the template's storage driver, label rules
// against the template's COE and drivers.
void validate(const ClusterSpec& spec, const ClusterTemplateSpec* tmpl, Causes& causes);

// What a cluster actually gets once the template's values fill the gaps the cluster left, the way
// Magnum resolves them at create: cluster values win; labels replace the template's unless
// mergeLabels, and label defaults for the template's COE are added back either way.
struct ClusterConfig {
  std::string coe;
  std::string image;
  std::optional<std::string> keypair;
  std::string flavor;
  std::string master_flavor;
  std::optional<int64_t> docker_volume_size;
  std::string docker_storage_driver;
  StringMap labels;
  bool master_lb_enabled = true;
  bool floating_ip_enabled = true;
  std::optional<std::string> fixed_network;
  std::optional<std::string> fixed_subnet;
};
ClusterConfig resolveCluster(const ClusterTemplateSpec& tmpl, const ClusterSpec& cluster);

// Splits "ns/name" or "name" (then `default_namespace`).
struct NamespacedName {
  std::string namespace_;
  std::string name;
};
NamespacedName splitTemplateRef(std::string_view ref, std::string_view default_namespace);

}  // namespace magnumd::api
