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
// The same, per kind: Event names may be DNS-1123 subdomains ("prod.17a3f0c2"), as in Kubernetes.
util::Status validateMetadata(const ObjectMeta& meta, Kind kind);

// Rules that hold only when a user creates an object (POST, or PUT that creates), on the admitted
// spec: a NodeGroup cannot have role "master" or take the names default-master/default-worker,
// which the cluster reconciler creates itself (straight through the store, not through this).
util::Status validateCreate(Kind kind, const ObjectMeta& meta, std::string_view canonical_spec);

// Decodes a status written through the /status subresource strictly (BadRequest on unknown fields
// and wrong types), checks phase, healthStatus and conditions (Invalid), and returns it canonical.
// ClusterTemplate and Event statuses only need to be JSON objects.
util::Result<std::string> admitStatus(Kind kind, std::string_view status_json);

// Rules for changing an existing object's spec (old and new specs are canonical JSON):
// the fields whose FieldDoc is `immutable` (Cluster: masterCount, discoveryUrl; NodeGroup:
// cluster, role) may not change. ClusterTemplate: spec immutable while
// `referencing_clusters` is non-empty (Invalid naming them; metadata and public/hidden may change).
util::Status validateSpecUpdate(Kind kind, std::string_view old_spec, std::string_view new_spec,
                                const std::vector<std::string>& referencing_clusters = {});

// Cluster.spec.clusterTemplate is "name" (same namespace) or "namespace/name".
struct TemplateRef {
  std::string namespace_;
  std::string name;
};
TemplateRef templateRefOf(std::string_view cluster_spec_json, std::string_view cluster_namespace);
// The cross-object rules of a Cluster's template reference, given what the caller looked up
// (`template_spec`: the referenced template's canonical spec, nullopt when it does not exist):
// missing → Invalid at spec.clusterTemplate; in another namespace and not public → Invalid.
util::Status validateTemplateReference(std::string_view cluster_namespace, std::string_view cluster_spec_json,
                                       const std::optional<std::string>& template_spec);
// Deleting a template that clusters use: Conflict (409) naming them; OK when none do.
util::Status validateTemplateDelete(std::string_view template_name,
                                    const std::vector<std::string>& referencing_clusters);

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
  // Canonical text: "a=b,c!=d,e in (x,y),f notin (z),g,!h".
  std::string toString() const;
};
// BadRequest naming the offending part: `labelSelector: "a in (b" is missing ")"`.
util::Result<LabelSelector> parseLabelSelector(std::string_view text);

}  // namespace magnumd::api
