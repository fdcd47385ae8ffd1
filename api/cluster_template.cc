#include "api/cluster_template.h"

#include <fmt/format.h>

#include <algorithm>

#include "api/labels.h"

namespace magnumd::api {

namespace {

bool contains(const std::vector<std::string_view>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

void validateEnum(const std::string& value, const std::vector<std::string_view>& valid,
                  const std::string& field, Causes& causes) {
  if (!contains(valid, value)) {
    causes.add(field, fmt::format("{} is not one of {}", quoted(value), joinValues(valid)));
  }
}

// The seed's os_distro table: which image distributions each COE's driver boots.
const std::vector<std::string_view>& distrosFor(std::string_view coe) {
  static const std::vector<std::string_view> kKubernetes = {"fedora-atomic", "coreos", "fedora-coreos"};
  static const std::vector<std::string_view> kSwarm = {"fedora-atomic"};
  static const std::vector<std::string_view> kMesos = {"ubuntu"};
  static const std::vector<std::string_view> kNone;
  if (coe == kCoeKubernetes) return kKubernetes;
  if (coe == kCoeSwarm) return kSwarm;
  if (coe == kCoeMesos) return kMesos;
  return kNone;
}

void validateProxies(const ClusterTemplateSpec& s, Causes& causes) {
  for (auto [field, value] : {std::pair{"spec.httpProxy", &s.http_proxy}, {"spec.httpsProxy", &s.https_proxy}}) {
    if (!*value) continue;
    if ((*value)->size() > kMaxUrlLength) {
      causes.add(field, fmt::format("must be at most {} characters", kMaxUrlLength));
    } else if (auto p = urlProblem(**value, true)) {
      causes.add(field, fmt::format("{} {}", quoted(**value), *p));
    }
  }
  if (s.no_proxy) {
    const std::string& v = *s.no_proxy;
    bool ok = v.size() <= kMaxNoProxy && !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ',' ||
             c == ':' || c == '/' || c == '*' || c == '_';
    });
    if (!ok) {
      causes.add("spec.noProxy", fmt::format("{} must be a comma-separated list of IP addresses, CIDRs "
                                             "or host names (at most {} characters)",
                                             quoted(v), kMaxNoProxy));
    }
  }
}

}  // namespace

const std::vector<std::string_view>& coes() {
  static const std::vector<std::string_view> kCoes = {kCoeKubernetes, kCoeSwarm, kCoeMesos};
  return kCoes;
}

const std::vector<std::string_view>& serverTypes() {
  static const std::vector<std::string_view> kTypes = {"vm", "bm"};
  return kTypes;
}

const std::vector<std::string_view>& networkDrivers() {
  static const std::vector<std::string_view> kDrivers = {"flannel", "calico", "docker"};
  return kDrivers;
}

const std::vector<std::string_view>& volumeDrivers() {
  static const std::vector<std::string_view> kDrivers = {"cinder", "rexray"};
  return kDrivers;
}

const std::vector<std::string_view>& clusterDistros() {
  static const std::vector<std::string_view> kDistros = {"fedora-atomic", "coreos", "fedora-coreos",
                                                         "ubuntu"};
  return kDistros;
}

const std::vector<std::string_view>& clusterDistrosFor(std::string_view coe) {
  return distrosFor(coe);
}

const std::vector<std::string_view>& networkDriversFor(std::string_view coe) {
  static const std::vector<std::string_view> kKubernetes = {"flannel", "calico"};
  static const std::vector<std::string_view> kSwarm = {"docker", "flannel"};
  static const std::vector<std::string_view> kMesos = {"docker"};
  static const std::vector<std::string_view> kNone;
  if (coe == kCoeKubernetes) return kKubernetes;
  if (coe == kCoeSwarm) return kSwarm;
  if (coe == kCoeMesos) return kMesos;
  return kNone;
}

const std::vector<std::string_view>& volumeDriversFor(std::string_view coe) {
  static const std::vector<std::string_view> kKubernetes = {"cinder"};
  static const std::vector<std::string_view> kRexray = {"rexray"};
  static const std::vector<std::string_view> kNone;
  if (coe == kCoeKubernetes) return kKubernetes;
  if (coe == kCoeSwarm || coe == kCoeMesos) return kRexray;
  return kNone;
}

std::string_view defaultNetworkDriver(std::string_view coe) {
  // The ClusterTemplate table: flannel for kubernetes and swarm, docker for mesos.
  if (coe == kCoeMesos) return "docker";
  if (coe == kCoeKubernetes || coe == kCoeSwarm) return "flannel";
  return "";
}

const std::vector<std::string_view>& dockerStorageDrivers() {
  static const std::vector<std::string_view> kDrivers = {"devicemapper", "overlay", "overlay2"};
  return kDrivers;
}

util::Result<ClusterTemplateSpec> decodeClusterTemplateSpec(std::string_view json) {
  return decodeRecord<ClusterTemplateSpec>(json, "spec");
}

std::string encodeClusterTemplateSpec(const ClusterTemplateSpec& spec) { return encodeRecord(spec); }

void applyDefaults(ClusterTemplateSpec& s) {
  if (s.server_type.empty()) s.server_type = std::string(kDefaultServerType);
  if (s.network_driver.empty()) s.network_driver = std::string(defaultNetworkDriver(s.coe));
  if (s.dns_nameserver.empty()) s.dns_nameserver = std::string(kDefaultDnsNameserver);
  if (s.flavor.empty()) s.flavor = std::string(kDefaultFlavor);
  if (s.master_flavor.empty()) s.master_flavor = std::string(kDefaultFlavor);
  if (s.docker_storage_driver.empty()) {
    // The seed: "For Fedora CoreOS driver, devicemapper is not supported."
    s.docker_storage_driver = s.cluster_distro == "fedora-coreos" ? "overlay2" : "devicemapper";
  }
  // TLS is on by default for the COEs that support it; the seed's TLS table says mesos has none.
  if (!s.tls_disabled) s.tls_disabled = s.coe == kCoeMesos;
  LabelContext ctx{s.coe, s.network_driver, s.volume_driver.value_or("")};
  applyLabelDefaults(ctx, s.labels);
}

void validateDockerVolumeSize(int64_t size, std::string_view storage_driver, const std::string& field,
                              Causes& causes) {
  if (size > kMaxVolumeGb) {
    causes.add(field, fmt::format("{} GB is more than the {} GB limit", size, kMaxVolumeGb));
  } else if (storage_driver == "devicemapper" && size < 3) {
    causes.add(field, fmt::format("{} is too small: the devicemapper storage driver needs at least 3 GB "
                                  "(or use overlay2 or omit dockerVolumeSize)", size));
  } else if (size < 1) {
    causes.add(field, fmt::format("{} is too small: the minimum is 1 GB with the {} storage driver "
                                  "(omit dockerVolumeSize for no volume)", size, storage_driver));
  }
}

void validateResourceName(const std::string& value, const std::string& field, Causes& causes) {
  if (value.empty()) {
    causes.add(field, "must not be empty");
  } else if (value.size() > kMaxResourceName) {
    causes.add(field, fmt::format("must be at most {} characters (has {})", kMaxResourceName,
                                  value.size()));
  } else if (std::any_of(value.begin(), value.end(), [](char c) {
               return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
             })) {
    causes.add(field, fmt::format("{} must not contain control characters", quoted(value)));
  }
}

void validateResourceName(const std::optional<std::string>& value, const std::string& field, Causes& causes) {
  if (value) validateResourceName(*value, field, causes);
}

void validate(const ClusterTemplateSpec& s, Causes& causes) {
  bool coe_ok = contains(coes(), s.coe);
  if (s.coe.empty()) {
    causes.add("spec.coe", fmt::format("required: one of {}", joinValues(coes())));
  } else if (!coe_ok) {
    validateEnum(s.coe, coes(), "spec.coe", causes);
  }
  if (s.image.empty()) {
    causes.add("spec.image", "required: the name or id of a Glance image");
  } else {
    validateResourceName(s.image, "spec.image", causes);
  }
  if (s.external_network.empty()) {
    causes.add("spec.externalNetwork", "required: the name or id of an external Neutron network");
  } else {
    validateResourceName(s.external_network, "spec.externalNetwork", causes);
  }
  validateResourceName(s.keypair, "spec.keypair", causes);
  validateResourceName(s.fixed_network, "spec.fixedNetwork", causes);
  validateResourceName(s.fixed_subnet, "spec.fixedSubnet", causes);
  validateResourceName(s.flavor, "spec.flavor", causes);
  validateResourceName(s.master_flavor, "spec.masterFlavor", causes);
  validateEnum(s.server_type, serverTypes(), "spec.serverType", causes);
  if (coe_ok) {
    const auto& drivers = networkDriversFor(s.coe);
    if (!contains(drivers, s.network_driver)) {
      causes.add("spec.networkDriver", fmt::format("{} is not supported with coe {}; valid: {}",
                                                   quoted(s.network_driver), s.coe, joinValues(drivers)));
    }
    if (s.volume_driver && !contains(volumeDriversFor(s.coe), *s.volume_driver)) {
      causes.add("spec.volumeDriver",
                 fmt::format("{} is not supported with coe {}; valid: {} (or omit it for no volume driver)",
                             quoted(*s.volume_driver), s.coe, joinValues(volumeDriversFor(s.coe))));
    }
    if (s.cluster_distro && !contains(distrosFor(s.coe), *s.cluster_distro)) {
      causes.add("spec.clusterDistro", fmt::format("{} is not an os_distro the {} driver boots; valid: {}",
                                                   quoted(*s.cluster_distro), s.coe,
                                                   joinValues(distrosFor(s.coe))));
    }
    if (s.coe == kCoeMesos && s.tls_disabled == false) {
      causes.add("spec.tlsDisabled", "false is not possible with coe mesos, which has no TLS support; "
                                     "set it to true or omit it");
    }
  }
  if (!parseIp(s.dns_nameserver)) {
    causes.add("spec.dnsNameserver", fmt::format("{} is not an IPv4 or IPv6 address", quoted(s.dns_nameserver)));
  }
  validateProxies(s, causes);
  validateEnum(s.docker_storage_driver, dockerStorageDrivers(), "spec.dockerStorageDriver", causes);
  if (s.cluster_distro == "fedora-coreos" && s.docker_storage_driver == "devicemapper") {
    causes.add("spec.dockerStorageDriver", "\"devicemapper\" is not supported on fedora-coreos; valid: overlay, overlay2");
  }
  if (s.docker_volume_size) {
    validateDockerVolumeSize(*s.docker_volume_size, s.docker_storage_driver, "spec.dockerVolumeSize", causes);
  }
  if (s.insecure_registry) {
    // host:port of a registry reachable without TLS.
    if (urlProblem("http://" + *s.insecure_registry, false) || s.insecure_registry->find('/') != std::string::npos) {
      causes.add("spec.insecureRegistry",
                 fmt::format("{} must be host[:port], like registry.example.com:5000", quoted(*s.insecure_registry)));
    }
  }
  if (s.apiserver_port &&
      (*s.apiserver_port < kMinApiserverPort || *s.apiserver_port > kMaxApiserverPort)) {
    causes.add("spec.apiserverPort", fmt::format("{} is not between {} and {}", *s.apiserver_port,
                                                 kMinApiserverPort, kMaxApiserverPort));
  }
  LabelContext ctx{s.coe, s.network_driver, s.volume_driver.value_or("")};
  validateLabels(s.labels, coe_ok ? &ctx : nullptr, "spec.labels", causes);
}

}  // namespace magnumd::api
