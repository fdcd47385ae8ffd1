// What a node would do with its user_data, read the way cloud-init and kubeadm read it: the
// `write_files` of a `#cloud-config` document (Cluster API's kubeadm bootstrap layout), the cluster
// CA files, and kubeadm's ClusterConfiguration + InitConfiguration (first control-plane node) or
// JoinConfiguration (every other node). A master of a magnumd group carries both, and
// /etc/magnumd/bootstrap.env says which member it is: its script runs `kubeadm init` only as
// member 0 while the API does not answer yet, and joins otherwise. Bad input is an error value
// naming what is wrong; the simulated node then never joins.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "util/time.h"

namespace magnumd::cloudsim {

// Nova's limit on user_data, counted on the base64 text (nova/api/openstack/compute/schemas).
inline constexpr size_t kMaxUserDataBase64 = 65535;

// An InitConfiguration bootstrapTokens entry: what kubeadm init writes into the token's Secret.
struct KubeadmToken {
  std::string token;  // "<id>.<secret>", [a-z0-9]{6}.[a-z0-9]{16}
  std::string description;
  std::optional<std::chrono::seconds> ttl;  // absent: kubeadm's 24h; zero: never expires
  std::optional<util::SystemTime> expires;  // absolute; wins over ttl, as in kubeadm
  std::vector<std::string> usages;          // absent: signing, authentication
  std::vector<std::string> groups;  // absent: system:bootstrappers:kubeadm:default-node-token
};

struct KubeadmInit {
  std::string kubernetes_version;      // "v1.30.4"
  std::string control_plane_endpoint;  // "host:port", may be empty
  std::vector<std::string> cert_sans;
  std::vector<KubeadmToken> bootstrap_tokens;
  std::string advertise_address;
  std::string service_subnet;
};

struct KubeadmJoin {
  std::string token;
  std::string api_server_endpoint;
  std::vector<std::string> ca_cert_hashes;
  bool control_plane = false;
};

struct NodeBootstrap {
  std::optional<KubeadmInit> init;
  std::optional<KubeadmJoin> join;
  std::string node_name;                      // nodeRegistration.name, after jinja; may be empty
  std::map<std::string, std::string> labels;  // --node-labels from kubeletExtraArgs
  std::string ca_cert_pem;                    // /etc/kubernetes/pki/ca.crt
  std::string ca_key_pem;                     // /etc/kubernetes/pki/ca.key (control plane only)
  // MEMBER_INDEX in /etc/magnumd/bootstrap.env (Heat's %index%); required with init and join.
  std::optional<int64_t> member_index;
  // KUBERNETES_VERSION in /etc/magnumd/bootstrap.env, if any: the kubelet version of a node whose
  // user_data has no ClusterConfiguration (a worker), as its image would provide it.
  std::string kubernetes_version;
};

// What cloud-init's jinja would substitute ({{ local_hostname }}, {{ instance_id }}, also under
// ds.meta_data. and v1.).
struct NodeIdentity {
  std::string hostname;
  std::string instance_id;
};

// `text` is `length` characters of [a-z0-9]: kubeadm's token id (6) or secret (16).
bool isBootstrapTokenPart(std::string_view text, size_t length);

// Parses decoded user_data (the cloud-config text, not base64). An error names the file or field.
util::Result<NodeBootstrap> parseNodeBootstrap(std::string_view user_data,
                                               const NodeIdentity& identity);

// "node-role.kubernetes.io/control-plane=,magnum.openstack.org/role=worker" into a map; entries
// without '=' are an error.
util::Result<std::map<std::string, std::string>> parseNodeLabels(std::string_view value);

}  // namespace magnumd::cloudsim
