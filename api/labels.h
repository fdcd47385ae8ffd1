// The seed's labels table: which label keys magnumd knows, which values each accepts, and the
// default each gets per COE and network/volume driver. Unknown keys stay allowed (labels pass
// extra parameters to drivers), known keys are validated.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "api/validation.h"

namespace magnumd::api {

enum class LabelType {
  Text,          // any string (tags, options, names)
  Enum,          // one of `values`
  EnumList,      // comma-separated list, each item one of `values`, no repeats
  Bool,          // true/false, case-insensitive (Magnum's docs write True and False)
  Ipv4Cidr,      // 10.100.0.0/16
  CidrList,      // comma-separated CIDRs (IPv4 or IPv6)
  Integer,       // base-10 integer ≥ min
  AbsolutePath,  // /var/lib/mesos
  KubernetesVersion,  // v1.32.4, a minor from kOldestKubernetesMinor to kNewestKubernetesMinor
  Flags,              // "--name=value --other": command-line flags of a Kubernetes component
};

// The Kubernetes releases magnumd bootstraps with kubeadm (v1beta3 configuration below 1.31,
// v1beta4 from 1.31), and kube_tag's default: a minor still supported upstream, and the one the
// kubectl these machines ship was built for.
inline constexpr std::string_view kDefaultKubernetesVersion = "v1.32.4";
inline constexpr int kOldestKubernetesMinor = 29;
inline constexpr int kNewestKubernetesMinor = 35;

// Labels of one spec, and the bytes of one value.
inline constexpr size_t kMaxLabels = 256;
inline constexpr size_t kMaxLabelValue = 4096;

// Where a label's default applies: the defaults are driver parameters, so a swarm template does not
// get kubernetes' dashboard switch and a calico template does not get flannel's backend.
enum class LabelScope { Kubernetes, Swarm, Mesos, Flannel, Calico, Rexray, Any };

struct LabelRule {
  std::string_view key;
  LabelType type = LabelType::Text;
  std::vector<std::string_view> values;  // Enum / EnumList
  std::string_view default_value;        // empty: no default written into the spec
  LabelScope scope = LabelScope::Any;
  int64_t min = 0;                       // Integer
};

const std::vector<LabelRule>& labelRules();
const LabelRule* findLabelRule(std::string_view key);

// What a template's labels are validated and defaulted against.
struct LabelContext {
  std::string coe;             // kubernetes | swarm | mesos
  std::string network_driver;  // flannel | calico | docker
  std::string volume_driver;   // "" | cinder | rexray
};

// Adds the table's default for every label that applies in `ctx` and is not already set.
void applyLabelDefaults(const LabelContext& ctx, StringMap& labels);

// One cause per bad label under `path` ("spec.labels"): key syntax, value syntax per the table,
// and the cross rules the seed states (cinder_csi_enabled needs the cinder volume driver, flannel
// subnet length longer than the flannel network prefix, min_node_count ≤ max_node_count).
// `ctx` may be null when the COE is not known (a Cluster whose template was not found).
void validateLabels(const StringMap& labels, const LabelContext* ctx, std::string_view path, Causes& causes);

// Reads a Bool label leniently (true/True/TRUE, false/...); nullopt when absent or not a boolean.
std::optional<bool> boolLabel(const StringMap& labels, std::string_view key);

// The seed's "see below" version defaults (Ussuri/Victoria column), which are not written into
// specs but which a COE driver falls back to: kube_tag, etcd_tag, coredns_tag, flannel_tag, ...
std::optional<std::string_view> versionLabelDefault(std::string_view key);

// The Kubernetes version servers with these labels install: kube_tag, else the default.
std::string kubernetesVersionOf(const StringMap& labels);

// Orders Kubernetes versions by their numeric components, so v1.9.2 < v1.10.0 and v1.33 ==
// v1.33.0; the leading "v" is optional. nullopt when either is not such a version.
std::optional<std::strong_ordering> compareKubernetesVersions(std::string_view a,
                                                              std::string_view b);

// Whether an object's own labels decide `key` rather than the labels it inherits (a Cluster's from
// its template, a NodeGroup's from its cluster): they set it, or they replace the inherited labels
// wholesale (mergeLabels false).
bool ownLabelsDecide(const StringMap& labels, bool merge_labels, std::string_view key);

}  // namespace magnumd::api
