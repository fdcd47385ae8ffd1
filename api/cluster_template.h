// ClusterTemplate: every parameter of the seed's ClusterTemplate section, camelCase.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/labels.h"
#include "api/object.h"
#include "api/validation.h"
#include "util/result.h"

namespace magnumd::api {

inline constexpr std::string_view kCoeKubernetes = "kubernetes";
inline constexpr std::string_view kCoeSwarm = "swarm";
inline constexpr std::string_view kCoeMesos = "mesos";

inline constexpr size_t kMaxResourceName = 255;  // names and IDs of OpenStack resources
inline constexpr size_t kMaxUrlLength = 2048;
inline constexpr size_t kMaxNoProxy = 4096;
inline constexpr int64_t kMaxVolumeGb = 1 << 20;
inline constexpr int64_t kMinApiserverPort = 1024;
inline constexpr int64_t kMaxApiserverPort = 65535;
inline constexpr std::string_view kDefaultServerType = "vm";
inline constexpr std::string_view kDefaultDnsNameserver = "8.8.8.8";
inline constexpr std::string_view kDefaultFlavor = "m1.small";

const std::vector<std::string_view>& coes();
const std::vector<std::string_view>& serverTypes();
// Every COE's, for the schema; networkDriversFor() and volumeDriversFor() say which per COE.
const std::vector<std::string_view>& networkDrivers();
const std::vector<std::string_view>& volumeDrivers();
const std::vector<std::string_view>& clusterDistros();
// The os_distro values (an image property, spec.clusterDistro) the COE's driver boots.
const std::vector<std::string_view>& clusterDistrosFor(std::string_view coe);
const std::vector<std::string_view>& dockerStorageDrivers();

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
    v("coe", s.coe,
      {.description = "The container orchestration engine of the template's clusters. It decides "
                      "which networkDriver, volumeDriver, clusterDistro and labels are valid.",
       .values = coes,
       .required = true});
    v("image", s.image,
      {.description = "Name or ID of the Glance image every server boots. For kubernetes, a "
                      "kubeadm-ready image (kubelet, kubeadm and containerd installed).",
       .max_size = kMaxResourceName,
       .required = true});
    v("clusterDistro", s.cluster_distro,
      {.description = "The image's os_distro, when known: fedora-atomic, coreos or fedora-coreos "
                      "for kubernetes, fedora-atomic for swarm, ubuntu for mesos. With "
                      "fedora-coreos, dockerStorageDriver defaults to overlay2.",
       .values = clusterDistros});
    v("keypair", s.keypair,
      {.description = "Nova keypair installed on every server for SSH access. A cluster may name "
                      "its own, which wins; one of the two is required.",
       .max_size = kMaxResourceName});
    v("externalNetwork", s.external_network,
      {.description = "Name or ID of the Neutron network with external connectivity "
                      "(router:external). The cluster's router uplinks to it; floating IPs and "
                      "the API load balancer's address come from it.",
       .max_size = kMaxResourceName,
       .required = true});
    v("fixedNetwork", s.fixed_network,
      {.description = "Name or ID of an existing Neutron network for the servers. Unset: each "
                      "cluster gets a private network of its own.",
       .max_size = kMaxResourceName});
    v("fixedSubnet", s.fixed_subnet,
      {.description = "Name or ID of a subnet of fixedNetwork for the servers.",
       .max_size = kMaxResourceName});
    v("public", s.is_public,
      {.description = "Whether clusters of other namespaces may use the template, naming it "
                      "namespace/name. May change while clusters use the template."});
    v("hidden", s.hidden,
      {.description = "Magnum's hidden flag, for clients that leave such templates out of their "
                      "listings; it changes nothing for clusters. May change while clusters use "
                      "the template."});
    v("serverType", s.server_type,
      {.description = "Whether the servers are virtual machines (vm) or bare metal (bm).",
       .values = serverTypes,
       .default_value = kDefaultServerType});
    v("networkDriver", s.network_driver,
      {.description = "The container network: flannel or calico for kubernetes (default flannel), "
                      "docker or flannel for swarm (default flannel), docker for mesos (the "
                      "default).",
       .values = networkDrivers});
    v("volumeDriver", s.volume_driver,
      {.description = "The driver of containers' persistent volumes: cinder for kubernetes, "
                      "rexray for swarm and mesos. Unset: no volume driver.",
       .values = volumeDrivers});
    v("dnsNameserver", s.dns_nameserver,
      {.description = "IPv4 or IPv6 address of the DNS server the servers and containers use, set "
                      "on the cluster's private network.",
       .default_value = kDefaultDnsNameserver});
    v("flavor", s.flavor,
      {.description = "Nova flavor of the worker servers; a cluster or node group may override it.",
       .max_size = kMaxResourceName,
       .default_value = kDefaultFlavor});
    v("masterFlavor", s.master_flavor,
      {.description = "Nova flavor of the master servers; a cluster may override it.",
       .max_size = kMaxResourceName,
       .default_value = kDefaultFlavor});
    v("httpProxy", s.http_proxy,
      {.description = "URL with a port of the proxy the servers and containers use for HTTP, such "
                      "as http://proxy.example.com:3128.",
       .max_size = kMaxUrlLength});
    v("httpsProxy", s.https_proxy,
      {.description = "URL with a port of the proxy the servers and containers use for HTTPS.",
       .max_size = kMaxUrlLength});
    v("noProxy", s.no_proxy,
      {.description = "Comma-separated IP addresses, CIDRs and host names reached without the "
                      "proxy.",
       .max_size = kMaxNoProxy});
    v("dockerVolumeSize", s.docker_volume_size,
      {.description = "Size in GB of a Cinder volume attached to each server for container images. "
                      "At least 3 with the devicemapper storage driver, at least 1 with overlay "
                      "and overlay2. Unset: images live on the server's local disk. Clusters and "
                      "node groups may override it.",
       .minimum = 1,
       .maximum = kMaxVolumeGb});
    v("dockerStorageDriver", s.docker_storage_driver,
      {.description = "How container images and writable layers are stored. Default devicemapper, "
                      "overlay2 when clusterDistro is fedora-coreos (which cannot use "
                      "devicemapper).",
       .values = dockerStorageDrivers});
    v("labels", s.labels,
      {.description = "Driver parameters as key=value (Magnum's labels). Keys the table knows are "
                      "validated and defaulted per COE and driver; other keys pass through to "
                      "the driver. A cluster's labels replace these unless it sets mergeLabels.",
       .max_size = kMaxLabels,
       .labels = true});
    v("tlsDisabled", s.tls_disabled,
      {.description = "Serve the COE's API without TLS. Default false; true for mesos, which has "
                      "no TLS support."});
    v("registryEnabled", s.registry_enabled,
      {.description = "Run a local Docker registry in the cluster, backed by Swift."});
    v("insecureRegistry", s.insecure_registry,
      {.description = "host[:port] of a container registry the nodes reach without TLS, like "
                      "registry.example.com:5000."});
    v("masterLbEnabled", s.master_lb_enabled,
      {.description = "Put a load balancer in front of the masters as the API endpoint. false: "
                      "a master serves the API itself."});
    v("floatingIpEnabled", s.floating_ip_enabled,
      {.description = "Give the servers floating IPs from externalNetwork."});
    v("apiserverPort", s.apiserver_port,
      {.description = "Port of the COE's API.",
       .minimum = kMinApiserverPort,
       .maximum = kMaxApiserverPort});
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

// dockerVolumeSize against the storage driver: ≥ 3 GB for devicemapper, ≥ 1 GB for overlay(2).
// Adds a cause at `field` when `size` is too small.
void validateDockerVolumeSize(int64_t size, std::string_view storage_driver, const std::string& field,
                              Causes& causes);

// Shared field checks the Cluster and NodeGroup specs reuse.
void validateResourceName(const std::optional<std::string>& value, const std::string& field, Causes& causes);
void validateResourceName(const std::string& value, const std::string& field, Causes& causes);

}  // namespace magnumd::api
