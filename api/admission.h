// What the REST layer asks of api/ before a write: defaults, validation, update rules.
// Pure functions, no I/O: cross-object checks (does the template exist, which clusters use it)
// are done by the caller, which passes what it looked up.
//
// Errors: BadRequest for unknown fields and wrong JSON types (message names every unknown field);
// Invalid with one Cause per bad field: {field: "spec.labels.flannel_backend",
// message: "\"gre\" is not one of udp, vxlan, host-gw"}.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "util/result.h"

namespace magnumd::api {

// Decodes object.spec for object.kind, applies the kind's defaults (the seed's defaults, label
// defaults per COE), validates every field, and returns the canonical spec JSON with defaults
// filled in. For Cluster and NodeGroup, `template_spec` is the canonical spec of the referenced
// ClusterTemplate (already admitted) when the caller found it, so COE-dependent rules can apply.
util::Result<std::string> admitSpec(Kind kind, std::string_view spec_json,
                                    const std::optional<std::string>& template_spec = std::nullopt);

// metadata.name and namespace are DNS-1123 labels; label keys/values follow Kubernetes syntax.
util::Status validateMetadata(const ObjectMeta& meta);

// Rules for changing an existing object's spec (old and new specs are canonical JSON):
// Cluster: masterCount, discoveryUrl immutable. ClusterTemplate: spec immutable while
// `referencing_clusters` is non-empty (Invalid naming them; metadata and public/hidden may change).
util::Status validateSpecUpdate(Kind kind, std::string_view old_spec, std::string_view new_spec,
                                const std::vector<std::string>& referencing_clusters = {});

// Cluster.spec.clusterTemplate is "name" (same namespace) or "namespace/name".
struct TemplateRef {
  std::string namespace_;
  std::string name;
};
TemplateRef templateRefOf(std::string_view cluster_spec_json, std::string_view cluster_namespace);
// NodeGroup.spec.cluster (same namespace).
std::string clusterOfNodeGroup(std::string_view nodegroup_spec_json);
// ClusterTemplate.spec.public (false when absent).
bool templateIsPublic(std::string_view template_spec_json);

// Kubernetes label selectors: "a=b,c!=d,e in (x,y),f notin (z),g,!h".
struct Requirement {
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist };
  std::string key;
  Op op = Op::Exists;
  std::vector<std::string> values;
};
struct LabelSelector {
  std::vector<Requirement> requirements;  // all must match
  bool empty() const { return requirements.empty(); }
  bool matches(const StringMap& labels) const;
};
// BadRequest naming the offending part: `labelSelector: "a in (b" is missing ")"`.
util::Result<LabelSelector> parseLabelSelector(std::string_view text);

}  // namespace magnumd::api
