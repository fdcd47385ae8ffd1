// ClusterTemplate: every parameter of the seed's ClusterTemplate section, camelCase.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/codec.h"
#include "api/object.h"
#include "api/validation.h"
#include "util/result.h"

namespace magnumd::api {

inline constexpr std::string_view kCoeKubernetes = "kubernetes";
inline constexpr std::string_view kCoeSwarm = "swarm";
inline constexpr std::string_view kCoeMesos = "mesos";

struct ClusterTemplateSpec {
  std::string coe;                            // kubernetes | swarm | mesos (required)
  std::string image;                          // Glance name or id (required)
  std::optional<std::string> cluster_distro;  // the image's os_distro when known
  std::optional<std::string> keypair;
  std::string external_network;               // required
  std::optional<std::string> fixed_network;
  std::optional<std::string> fixed_subnet;
  bool is_public = false;                     // "public"
  bool hidden = false;
  std::string server_type;                    // default vm
  std::string network_driver;                 // default per COE
  std::optional<std::string> volume_driver;   // no default
  std::string dns_nameserver;                 // default 8.8.8.8
  std::string flavor;                         // default m1.small
  std::string master_flavor;                  // default m1.small
  std::optional<std::string> http_proxy;
  std::optional<std::string> https_proxy;
  std::optional<std::string> no_proxy;
  std::optional<int64_t> docker_volume_size;  // GB; none = the instance's local disk
  std::string docker_storage_driver;          // default devicemapper
  StringMap labels;                           // label defaults per COE are added
  std::optional<bool> tls_disabled;           // default false; true for mesos (no TLS support)
  bool registry_enabled = false;
  std::optional<std::string> insecure_registry;
  bool master_lb_enabled = true;
  bool floating_ip_enabled = true;
  std::optional<int64_t> apiserver_port;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("coe", s.coe);
    v("image", s.image);
    v("clusterDistro", s.cluster_distro);
    v("keypair", s.keypair);
    v("externalNetwork", s.external_network);
    v("fixedNetwork", s.fixed_network);
    v("fixedSubnet", s.fixed_subnet);
    v("public", s.is_public);
    v("hidden", s.hidden);
    v("serverType", s.server_type);
    v("networkDriver", s.network_driver);
    v("volumeDriver", s.volume_driver);
    v("dnsNameserver", s.dns_nameserver);
    v("flavor", s.flavor);
    v("masterFlavor", s.master_flavor);
    v("httpProxy", s.http_proxy);
    v("httpsProxy", s.https_proxy);
    v("noProxy", s.no_proxy);
    v("dockerVolumeSize", s.docker_volume_size);
    v("dockerStorageDriver", s.docker_storage_driver);
    v("labels", s.labels);
    v("tlsDisabled", s.tls_disabled);
    v("registryEnabled", s.registry_enabled);
    v("insecureRegistry", s.insecure_registry);
    v("masterLbEnabled", s.master_lb_enabled);
    v("floatingIpEnabled", s.floating_ip_enabled);
    v("apiserverPort", s.apiserver_port);
  }
};

// Strict decode (BadRequest on unknown fields / wrong types), no defaults, no validation.
util::Result<ClusterTemplateSpec> decodeClusterTemplateSpec(std::string_view json);
std::string encodeClusterTemplateSpec(const ClusterTemplateSpec& spec);

// Fills the seed's defaults: serverType vm, networkDriver per COE, dnsNameserver 8.8.8.8, flavors
// m1.small, dockerStorageDriver devicemapper, tlsDisabled false (true for mesos), label defaults.
void applyDefaults(ClusterTemplateSpec& spec);
// One cause per bad field, paths under "spec.".
void validate(const ClusterTemplateSpec& spec, Causes& causes);

// Supported drivers per COE (the seed's tables); empty when the COE is unknown.
const std::vector<std::string_view>& networkDriversFor(std::string_view coe);
const std::vector<std::string_view>& volumeDriversFor(std::string_view coe);
std::string_view defaultNetworkDriver(std::string_view coe);
const std::vector<std::string_view>& coes();
const std::vector<std::string_view>& dockerStorageDrivers();

// dockerVolumeSize against the storage driver: ≥ 3 GB for devicemapper, ≥ 1 GB for overlay(2).
// Adds a cause at `field` when `size` is too small.
void validateDockerVolumeSize(int64_t size, std::string_view storage_driver, const std::string& field,
                              Causes& causes);

// Shared field checks the Cluster and NodeGroup specs reuse.
void validateResourceName(const std::optional<std::string>& value, const std::string& field, Causes& causes);
void validateResourceName(const std::string& value, const std::string& field, Causes& causes);

}  // namespace magnumd::api
