#include "api/cluster.h"

#include <fmt/format.h>

#include "api/labels.h"
#include "util/time.h"

namespace magnumd::api {

namespace {

// As Cluster API's MachineHealthCheck webhook: 0 disables, else at least 30 s.
constexpr std::chrono::seconds kMinNodeStartupTimeout{30};
constexpr std::chrono::hours kMaxNodeStartupTimeout{24 * 7};

void validateNodeStartupTimeout(const std::string& value, Causes& causes) {
  const std::string field = "spec.nodeStartupTimeout";
  auto parsed = util::parseDuration(value);
  if (!parsed.ok()) {
    causes.add(field, fmt::format("{} is not a duration: use {}", quoted(value),
                                  kNodeStartupTimeoutForm));
  } else if (parsed->count() != 0 &&
             (*parsed < kMinNodeStartupTimeout || *parsed > kMaxNodeStartupTimeout)) {
    causes.add(field,
               fmt::format("{} is out of range: use {}", quoted(value), kNodeStartupTimeoutForm));
  }
}

void validateTemplateRef(const std::string& ref, Causes& causes) {
  const std::string field = "spec.clusterTemplate";
  if (ref.empty()) {
    causes.add(field, "required: the name of a ClusterTemplate in this namespace, or namespace/name "
                      "of a public one");
    return;
  }
  size_t slash = ref.find('/');
  std::string_view ns = slash == std::string::npos ? std::string_view() : std::string_view(ref).substr(0, slash);
  std::string_view name = slash == std::string::npos ? std::string_view(ref) : std::string_view(ref).substr(slash + 1);
  if (slash != std::string::npos) {
    if (auto p = dns1123LabelProblem(ns)) {
      causes.add(field, fmt::format("{}: the namespace part {}", quoted(ref), *p));
      return;
    }
  }
  if (auto p = dns1123LabelProblem(name)) {
    causes.add(field, fmt::format("{}: the name part {}", quoted(ref), *p));
  }
}

}  // namespace

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const auto& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

const std::vector<std::string_view>& healthStatuses() {
  static const std::vector<std::string_view> kStatuses = {kHealthHealthy, kHealthUnhealthy,
                                                          kHealthUnknown};
  return kStatuses;
}

const std::vector<std::string_view>& phases() {
  static const std::vector<std::string_view> kPhases = {
      "CREATE_IN_PROGRESS", "CREATE_FAILED",     "CREATE_COMPLETE",      "UPDATE_IN_PROGRESS",
      "UPDATE_FAILED",      "UPDATE_COMPLETE",   "DELETE_IN_PROGRESS",   "DELETE_FAILED",
      "DELETE_COMPLETE",    "RESUME_COMPLETE",   "RESUME_FAILED",        "RESTORE_COMPLETE",
      "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE",    "SNAPSHOT_COMPLETE",
      "CHECK_COMPLETE",     "ADOPT_COMPLETE"};
  return kPhases;
}

std::chrono::milliseconds nodeStartupTimeoutOf(const ClusterSpec& spec) {
  auto parsed = util::parseDuration(spec.node_startup_timeout);
  if (parsed.ok()) return *parsed;
  return *util::parseDuration(kDefaultNodeStartupTimeout);
}

util::Result<ClusterSpec> decodeClusterSpec(std::string_view json) { return decodeRecord<ClusterSpec>(json, "spec"); }
std::string encodeClusterSpec(const ClusterSpec& spec) { return encodeRecord(spec); }
util::Result<ClusterStatus> decodeClusterStatus(std::string_view json) {
  return decodeRecord<ClusterStatus>(json, "status");
}
std::string encodeClusterStatus(const ClusterStatus& status) { return encodeRecord(status); }

void validate(const ClusterSpec& s, const ClusterTemplateSpec* tmpl, Causes& causes) {
  validateTemplateRef(s.cluster_template, causes);
  validateResourceName(s.keypair, "spec.keypair", causes);
  if (s.node_count < 0 || s.node_count > kMaxNodeCount) {
    causes.add("spec.nodeCount", fmt::format("{} is not between 0 and {}", s.node_count, kMaxNodeCount));
  }
  if (s.master_count < 1 || s.master_count > kMaxMasterCount) {
    causes.add("spec.masterCount", fmt::format("{} is not between 1 and {}", s.master_count, kMaxMasterCount));
  } else if (s.master_count % 2 == 0) {
    causes.add("spec.masterCount", fmt::format("{} is even; it must be odd (1, 3, 5, ...) so etcd keeps a "
                                               "majority when a master fails", s.master_count));
  }
  if (s.discovery_url) {
    if (s.discovery_url->size() > kMaxUrlLength) {
      causes.add("spec.discoveryUrl", fmt::format("must be at most {} characters", kMaxUrlLength));
    } else if (auto p = urlProblem(*s.discovery_url, false)) {
      causes.add("spec.discoveryUrl", fmt::format("{} {}", quoted(*s.discovery_url), *p));
    }
  }
  if (s.ca_generation < 0 || s.ca_generation > kMaxCaGeneration) {
    causes.add("spec.caGeneration", fmt::format("{} is not a generation between 0 and {}",
                                                s.ca_generation, kMaxCaGeneration));
  }
  if (s.create_timeout < 1 || s.create_timeout > kMaxCreateTimeout) {
    causes.add("spec.createTimeout", fmt::format("{} is not a number of minutes between 1 and {}",
                                                 s.create_timeout, kMaxCreateTimeout));
  }
  validateNodeStartupTimeout(s.node_startup_timeout, causes);
  if (s.health_check) validate(*s.health_check, "spec.healthCheck", causes);
  if (s.rollout_strategy) validate(*s.rollout_strategy, "spec.rolloutStrategy", causes);
  validateResourceName(s.flavor, "spec.flavor", causes);
  validateResourceName(s.master_flavor, "spec.masterFlavor", causes);
  validateResourceName(s.fixed_network, "spec.fixedNetwork", causes);
  validateResourceName(s.fixed_subnet, "spec.fixedSubnet", causes);
  if (s.docker_volume_size) {
    validateDockerVolumeSize(*s.docker_volume_size, tmpl ? tmpl->docker_storage_driver : "overlay2",
                             "spec.dockerVolumeSize", causes);
  }
  if (tmpl == nullptr) {
    validateLabels(s.labels, nullptr, "spec.labels", causes);
    return;
  }
  LabelContext ctx{tmpl->coe, tmpl->network_driver, tmpl->volume_driver.value_or("")};
  validateLabels(s.labels, &ctx, "spec.labels", causes);
  if (!s.keypair && !tmpl->keypair) {
    causes.add("spec.keypair", fmt::format("required: the template {} has no keypair, so the cluster "
                                           "must name one", quoted(s.cluster_template)));
  }
}

ClusterConfig resolveCluster(const ClusterTemplateSpec& t, const ClusterSpec& c) {
  ClusterConfig out;
  out.coe = t.coe;
  out.image = t.image;
  out.keypair = c.keypair ? c.keypair : t.keypair;
  out.flavor = c.flavor.value_or(t.flavor);
  out.master_flavor = c.master_flavor.value_or(t.master_flavor);
  out.docker_volume_size = c.docker_volume_size ? c.docker_volume_size : t.docker_volume_size;
  out.docker_storage_driver = t.docker_storage_driver;
  if (c.labels.empty()) {
    out.labels = t.labels;
  } else if (c.merge_labels) {
    out.labels = t.labels;
    for (const auto& [k, v] : c.labels) out.labels[k] = v;
  } else {
    out.labels = c.labels;
  }
  applyLabelDefaults({t.coe, t.network_driver, t.volume_driver.value_or("")}, out.labels);
  out.master_lb_enabled = c.master_lb_enabled.value_or(t.master_lb_enabled);
  out.floating_ip_enabled = c.floating_ip_enabled.value_or(t.floating_ip_enabled);
  out.fixed_network = c.fixed_network ? c.fixed_network : t.fixed_network;
  out.fixed_subnet = c.fixed_subnet ? c.fixed_subnet : t.fixed_subnet;
  return out;
}

NamespacedName splitTemplateRef(std::string_view ref, std::string_view default_namespace) {
  size_t slash = ref.find('/');
  if (slash == std::string_view::npos) return {std::string(default_namespace), std::string(ref)};
  return {std::string(ref.substr(0, slash)), std::string(ref.substr(slash + 1))};
}

}  // namespace magnumd::api
