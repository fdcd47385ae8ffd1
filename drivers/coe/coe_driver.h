// A COE driver turns a declared cluster into the Heat stack that realises it: the HOT template,
// its parameters, and how to read the stack's outputs back. One stack per cluster; one
// OS::Heat::ResourceGroup per node group, whose members are the group's provider template (a
// server with its port, floating IP and volumes; see heat_stack.h); scale-down by
// removal_policies.
//
// Pure functions of their input: the same shape always renders the same template, files and
// parameters, so a stack PATCH with an unchanged shape changes nothing and a new node group adds
// exactly one group.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace magnumd::coe {

// Server metadata keys every magnumd server carries, so observation maps servers to clusters
// and node groups without asking Heat.
inline constexpr std::string_view kMetaClusterUid = "magnumd_cluster_uid";
inline constexpr std::string_view kMetaNodeGroup = "magnumd_nodegroup";
inline constexpr std::string_view kMetaRole = "magnumd_role";
// The node group revision ("r1", "r2", ...) of a server made by a rolling replacement; absent on
// the group's first servers.
inline constexpr std::string_view kMetaSlot = "magnumd_slot";
// Every magnumd stack carries this tag, plus "magnumd-cluster=<uid>".
inline constexpr std::string_view kStackTag = "magnumd";
// Where user_data names the control plane's stable address (load balancer VIP or API floating
// IP). Only Heat knows it once the stack exists, so the template substitutes it (str_replace).
inline constexpr std::string_view kApiHostToken = "__MAGNUMD_API_HOST__";

struct NodeGroupShape {
  std::string name;           // "default-worker"
  std::string role;           // "master" | "worker" | free-form
  int64_t node_count = 0;
  std::string flavor;
  std::string image;
  int64_t docker_volume_size = 0;  // 0: none
  // Member names ("3", "7") Heat must remove when count drops; removed names are never reused.
  std::vector<std::string> removal_list;
  std::map<std::string, std::string> labels;
  // Kubernetes labels and taints ("key[=value]:Effect") its nodes register with.
  std::map<std::string, std::string> node_labels;
  std::vector<std::string> node_taints;
  // The cloud-config every server of the group boots with; empty: none. Heat substitutes
  // "%index%" (the member's name) and kApiHostToken in it.
  std::string user_data;
  // A rolling replacement renders a node group as one ResourceGroup per revision ("slot"): ""
  // is the group's first, "r1", "r2", ... the later ones, each with its own image, flavor and
  // user_data. Their names and Heat identifiers derive from key().
  std::string slot;
  // The CA set its user_data carries (api/ca_rotation.h); "" the cluster's first CAs.
  std::string pki;

  std::string key() const { return slot.empty() ? name : name + "-" + slot; }
};

struct ClusterShape {
  std::string name;
  std::string namespace_;
  std::string uid;
  std::string coe;  // kubernetes | swarm | mesos
  std::string keypair;
  std::string external_network;
  std::string fixed_network;  // empty: the stack creates a private network
  std::string fixed_subnet;
  std::string dns_nameserver;
  std::string network_driver;
  std::string volume_driver;
  std::string docker_storage_driver;
  std::string http_proxy, https_proxy, no_proxy;
  bool tls_disabled = false;
  bool master_lb_enabled = false;
  bool floating_ip_enabled = true;
  bool registry_enabled = false;
  std::string discovery_url;
  std::map<std::string, std::string> labels;  // template labels overlaid by cluster labels
  std::vector<NodeGroupShape> node_groups;    // masters first
};

struct StackDefinition {
  std::string name;                                 // derived from the cluster uid
  std::string template_text;                        // HOT, YAML
  std::map<std::string, std::string> files;         // provider templates, by the name types use
  std::map<std::string, std::string> parameters;    // every value as Heat takes it on the wire
  std::vector<std::string> tags;
  int64_t timeout_mins = 60;
};

// What the cluster looks like from the stack's outputs.
struct ClusterEndpoints {
  std::string api_address;  // "https://10.0.0.5:6443": the stable address
  std::vector<std::string> master_addresses;
  std::vector<std::string> node_addresses;
  std::string coe_version;
};

class CoeDriver {
 public:
  virtual ~CoeDriver() = default;
  virtual std::string_view coe() const = 0;
  // Fails, naming the field or label, when the shape cannot become a working stack.
  virtual util::Result<StackDefinition> render(const ClusterShape& cluster,
                                               int64_t timeout_mins) const = 0;
  // `outputs` are the stack's resolved outputs (output_key -> JSON text of output_value). The
  // api_address output is the API's host, or already a URL ("https://127.0.0.1:40123", as
  // cloudsim reports a simulated cluster's API), which is taken as it is.
  virtual ClusterEndpoints endpoints(const ClusterShape& cluster,
                                     const std::map<std::string, std::string>& outputs) const = 0;
  // The COE version the cluster runs (kube_tag, swarm docker version, mesos version labels).
  virtual std::string coeVersion(const ClusterShape& cluster) const = 0;
};
using CoeDriverPtr = std::unique_ptr<CoeDriver>;

// nullptr when the COE is unknown.
CoeDriverPtr makeCoeDriver(std::string_view coe);

// "prod" + uid -> "prod-4f9a1c2e"; at most 60 characters, DNS-safe; stable for a uid.
std::string stackNameFor(std::string_view cluster_name, std::string_view uid);
std::string clusterTag(std::string_view uid);  // "magnumd-cluster=<uid>"
// Heat identifiers for a node group: "ng_default_worker" (resource), "ng_default_worker_count".
std::string groupResourceName(std::string_view nodegroup);
std::string groupParameter(std::string_view nodegroup, std::string_view what);
// Server names are "<cluster>-<nodegroup>[-<slot>]-<index>"; the index is the group member's name.
std::optional<std::string> memberIndexOf(std::string_view server_name);

}  // namespace magnumd::coe
