// The kind-agnostic envelope every stored object shares: apiVersion/kind, metadata, spec, status.
// Typed specs (cluster_template.h, cluster.h, nodegroup.h) decode `spec` on demand; the store
// and the REST layer move Objects around without knowing the kind's fields.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"
#include "util/result.h"

namespace magnumd::api {

inline constexpr std::string_view kApiGroup = "container-infra";
inline constexpr std::string_view kApiVersion = "container-infra/v1";

// ClusterSecret is internal: stored like the others (so every backend keeps it durable and
// revisioned) but never served by the API nor named by the CLI. It holds a cluster's wrapped CA
// keys and join token (secrets/cluster_secrets.h).
enum class Kind { ClusterTemplate, Cluster, NodeGroup, Event, ClusterSecret, Quota };
inline constexpr size_t kKindCount = 6;

struct KindInfo {
  Kind kind;
  std::string_view name;      // "ClusterTemplate"
  std::string_view plural;    // "clustertemplates"
  std::string_view singular;  // "clustertemplate"
  std::string_view short_name;  // "ct"
  bool served = true;           // false: internal, never reachable through the API
};

const KindInfo& kindInfo(Kind kind);
// The kinds the API serves (internal kinds excluded).
const std::vector<KindInfo>& allKinds();
// Accepts a served Kind's name, plural, singular or short name, case-insensitively (kubectl's
// rules).
std::optional<Kind> kindFromAnyName(std::string_view name);
std::optional<Kind> kindFromPlural(std::string_view plural);

using StringMap = std::map<std::string, std::string>;

// One entry of metadata.managedFields: the fields one manager set through one kind of write
// (server-side apply, api/managed_fields.h). Kept as sent or computed; api/managed_fields.h
// validates and interprets them.
struct ManagedFieldsEntry {
  std::string manager;
  std::string operation;  // Apply | Update
  std::string api_version;
  std::string time;         // RFC 3339
  std::string fields_type;  // FieldsV1
  std::string fields_v1;    // compact JSON text of the FieldsV1 object; empty: absent
  std::string subresource;

  bool operator==(const ManagedFieldsEntry&) const = default;
};

struct ObjectMeta {
  std::string name;
  std::string namespace_;
  std::string uid;
  int64_t resource_version = 0;  // serialised as a string, as Kubernetes does
  int64_t generation = 0;
  std::string creation_timestamp;                 // RFC 3339
  std::optional<std::string> deletion_timestamp;  // RFC 3339
  StringMap labels;
  StringMap annotations;
  std::vector<std::string> finalizers;
  std::vector<ManagedFieldsEntry> managed_fields;

  bool operator==(const ObjectMeta&) const = default;
};

struct Object {
  Kind kind = Kind::Cluster;
  ObjectMeta metadata;
  std::string spec = "{}";    // canonical compact JSON of an object
  std::string status = "{}";  // canonical compact JSON of an object

  bool operator==(const Object&) const = default;
  bool deleting() const { return metadata.deletion_timestamp.has_value(); }
};

struct ObjectKey {
  Kind kind;
  std::string namespace_;
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
};
inline ObjectKey keyOf(const Object& o) { return {o.kind, o.metadata.namespace_, o.metadata.name}; }

// Full wire form: {"apiVersion","kind","metadata":{...},"spec":{...},"status":{...}}.
std::string encodeObject(const Object& object);
void encodeObject(const Object& object, util::Json& out, util::JsonAlloc& alloc);

// Decodes the envelope of a user-written object. Checks apiVersion and kind, decodes metadata
// (rejecting unknown metadata fields), keeps spec and status as canonical JSON text. Unknown
// top-level fields are a BadRequest naming them. Read-only metadata the server owns (uid,
// creationTimestamp, generation, deletionTimestamp) is accepted and later overwritten.
util::Result<Object> decodeObject(const util::Json& value);
util::Result<Object> decodeObject(std::string_view json_text);

}  // namespace magnumd::api
