// Cluster: the seed's cluster-create parameters plus magnumd's own (paused), and the status the
// reconciler writes (Magnum's vocabulary plus conditions).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/ca_rotation.h"
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
inline constexpr int64_t kMaxNodeCount = 10000;  // servers of one node group
inline constexpr int64_t kMaxMasterCount = 99;
inline constexpr int64_t kMaxCreateTimeout = 7 * 24 * 60;  // a week, in minutes
// What spec.nodeStartupTimeout accepts, as its errors and its description say it.
inline constexpr std::string_view kNodeStartupTimeoutForm =
    "a duration such as 10m, 90s or 1h30m, at least 30s and at most 7d; 0 waits without a limit";

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
  // The generation of the cluster's certificate authorities the user asks for: raising it by one
  // rotates them (the seed's `openstack coe ca rotate`; api/ca_rotation.h).
  int64_t ca_generation = 0;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("clusterTemplate", s.cluster_template,
      {.description = "The ClusterTemplate the cluster is made from: a name in the cluster's "
                      "namespace, or namespace/name of a public template. Pointing the cluster "
                      "at another template upgrades it, replacing its servers in a rolling way.",
       .required = true});
    v("keypair", s.keypair,
      {.description = "Nova keypair for SSH access to the servers; unset: the template's. "
                      "Required when the template has none.",
       .max_size = kMaxResourceName});
    v("nodeCount", s.node_count,
      {.description = "Servers in the default-worker node group.",
       .minimum = 0,
       .maximum = kMaxNodeCount});
    v("masterCount", s.master_count,
      {.description = "Master servers. Odd (1, 3, 5, ...), so that etcd keeps a majority when a "
                      "master fails.",
       .minimum = 1,
       .maximum = kMaxMasterCount,
       .immutable = "create a new cluster to change the number of masters"});
    v("discoveryUrl", s.discovery_url,
      {.description = "An etcd discovery URL the masters bootstrap with (Magnum's discovery_url).",
       .max_size = kMaxUrlLength,
       .immutable = "the cluster's etcd was bootstrapped with it"});
    v("createTimeout", s.create_timeout,
      {.description = "Minutes the creation may take before it fails (Magnum's create_timeout).",
       .minimum = 1,
       .maximum = kMaxCreateTimeout});
    v("nodeStartupTimeout", s.node_startup_timeout,
      {.description = "How long a node may take to become a Ready Node in the cluster's API once "
                      "its server is ACTIVE, before the create or scale fails naming it (Cluster "
                      "API's nodeStartupTimeout).",
       .accepts = kNodeStartupTimeoutForm});
    v("masterLbEnabled", s.master_lb_enabled,
      {.description = "Put a load balancer in front of the masters; unset: the template's."});
    v("floatingIpEnabled", s.floating_ip_enabled,
      {.description = "Give the servers floating IPs; unset: the template's."});
    v("flavor", s.flavor,
      {.description = "Nova flavor of the worker servers; unset: the template's.",
       .max_size = kMaxResourceName});
    v("masterFlavor", s.master_flavor,
      {.description = "Nova flavor of the master servers; unset: the template's.",
       .max_size = kMaxResourceName});
    v("dockerVolumeSize", s.docker_volume_size,
      {.description = "Size in GB of each server's Cinder volume for container images; unset: the "
                      "template's. At least 3 when the template's dockerStorageDriver is "
                      "devicemapper.",
       .minimum = 1,
       .maximum = kMaxVolumeGb});
    v("labels", s.labels,
      {.description = "Driver parameters, as a ClusterTemplate's labels. They replace the "
                      "template's labels unless mergeLabels is true; label defaults for the "
                      "template's COE and drivers are added either way.",
       .max_size = kMaxLabels,
       .labels = true});
    v("mergeLabels", s.merge_labels,
      {.description = "Merge labels into the template's instead of replacing them; the cluster's "
                      "values win."});
    v("fixedNetwork", s.fixed_network,
      {.description = "Name or ID of an existing Neutron network for the servers; unset: the "
                      "template's.",
       .max_size = kMaxResourceName});
    v("fixedSubnet", s.fixed_subnet,
      {.description = "Name or ID of a subnet of fixedNetwork; unset: the template's.",
       .max_size = kMaxResourceName});
    v("paused", s.paused,
      {.description = "While true, magnumd takes no cloud action for the cluster (Cluster API's "
                      "paused); its status still shows what is observed."});
    v("healthCheck", s.health_check,
      {.description = "Auto-heal: when a node is unhealthy and how many may be replaced, as "
                      "Cluster API's MachineHealthCheck. Unset: the defaults, enabled by the "
                      "label auto_healing_enabled."});
    v("rolloutStrategy", s.rollout_strategy,
      {.description = "How a change that needs new servers rolls out. Unset: one server above "
                      "the count at a time and none unavailable."});
    v("caGeneration", s.ca_generation,
      {.description = "Generation of the cluster's certificate authorities; 0 for the ones it was "
                      "created with. Raise it by one to rotate them (magnumctl ca rotate): every "
                      "node is replaced three times (trust the new CAs, sign with them, drop the "
                      "old ones) and kubeconfigs issued before the rotation stop working. "
                      "Refused (409) while a rollout or another rotation runs.",
       .minimum = 0,
       .maximum = kMaxCaGeneration});
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
const std::vector<std::string_view>& healthStatuses();

// One of the cluster's certificate authorities, as operators check it: never key material.
struct CertificateAuthorityStatus {
  std::string name;         // cluster | etcd | front-proxy
  std::string fingerprint;  // SHA-256, "AB:CD:..." as `openssl x509 -fingerprint -sha256`
  std::string not_after;    // RFC 3339

  bool operator==(const CertificateAuthorityStatus&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("name", s.name, {.description = "cluster, etcd or front-proxy.", .required = true});
    v("fingerprint", s.fingerprint,
      {.description = "SHA-256 fingerprint of the certificate, AB:CD:... as `openssl x509 "
                      "-fingerprint -sha256` prints it."});
    v("notAfter", s.not_after,
      {.description = "When the certificate expires.", .format = "date-time"});
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
    v("reachable", s.reachable,
      {.description = "Whether the API answered /version over mutual TLS."});
    v("nodes", s.nodes, {.description = "Node objects registered."});
    v("readyNodes", s.ready_nodes, {.description = "Nodes whose Ready condition is True."});
    v("expectedNodes", s.expected_nodes,
      {.description = "Servers of the cluster's stack, each of which should be a Node."});
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
  std::optional<CaRotationStatus> ca_rotation;

  bool operator==(const ClusterStatus&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("phase", s.phase,
      {.description = "Magnum's cluster status. It summarises the conditions; magnumd's decisions "
                      "never branch on it.",
       .values = phases});
    v("statusReason", s.status_reason,
      {.description = "Why the phase is what it is; on failure, in the cloud's own words."});
    v("healthStatus", s.health_status,
      {.description = "What the last health check of the cluster's API and nodes found.",
       .values = healthStatuses});
    v("healthStatusReason", s.health_status_reason,
      {.description = "Per check, what it found, as Magnum reports it: {\"api\": \"ok\", "
                      "\"<node>.Ready\": \"True\"}."});
    v("apiAddress", s.api_address, {.description = "URL of the cluster's API."});
    v("masterAddresses", s.master_addresses, {.description = "Addresses of the master servers."});
    v("nodeAddresses", s.node_addresses, {.description = "Addresses of the worker servers."});
    v("nodeCount", s.node_count,
      {.description = "Worker servers wanted across every non-master node group (Magnum's "
                      "node_count); spec.nodeCount is only the default-worker group's."});
    v("coeVersion", s.coe_version,
      {.description = "The COE's version: what the cluster's API reports once observed, else the "
                      "template's kube_tag."});
    v("api", s.api,
      {.description = "What the cluster's own API showed at magnumd's last look; absent when "
                      "magnumd cannot reach it."});
    v("stackId", s.stack_id, {.description = "ID of the cluster's Heat stack."});
    v("faults", s.faults, {.description = "Node group name to why it failed."});
    v("observedGeneration", s.observed_generation,
      {.description = "The metadata.generation this status describes."});
    v("conditions", s.conditions,
      {.description = "Kubernetes conditions, one per type: Ready, StackReady, NodesReady, ...",
       .list_type = ListType::Map,
       .list_key = "type"});
    v("certificateAuthorities", s.certificate_authorities,
      {.description = "The cluster's certificate authorities as operators check them; never key "
                      "material.",
       .list_type = ListType::Map,
       .list_key = "name"});
    v("healthCheck", s.health_check,
      {.description = "What the last auto-heal pass judged, and the recent replacements that "
                      "count against its limits."});
    v("rollout", s.rollout,
      {.description = "Progress of the rolling replacement of the cluster's servers."});
    v("caRotation", s.ca_rotation,
      {.description = "The generation of the cluster's certificate authorities and the progress "
                      "of their rotation."});
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
