// Magnum's v1 representations of the stored ClusterTemplates, Clusters and NodeGroups, and
// the way back: one table per kind maps each Magnum attribute to where the object keeps it,
// so both APIs read and write the same objects (a Magnum uuid is the object's uid).
//
// Names: Magnum allows names Kubernetes does not ("My_Cluster"; `^[a-zA-Z][a-zA-Z0-9_.-]*$`).
// Such a name is kept in the annotation kMagnumNameAnnotation and the object gets a DNS-1123
// name derived from it; the Magnum API shows and finds the original.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "api/object.h"
#include "server/magnum_version.h"
#include "util/json.h"
#include "util/result.h"

namespace magnumd::server::magnum {

inline constexpr std::string_view kMagnumNameAnnotation = "magnum.openstack.org/name";
inline constexpr std::string_view kMagnumTagsAnnotation = "magnum.openstack.org/tags";

// One Magnum attribute kept in the object's spec or status.
struct Field {
  std::string_view magnum;  // "image_id"
  std::string_view path;    // "spec.image", "status.stackId"
  bool create = true;       // accepted in a create body
  bool list = false;        // shown by the non-detailed list of clusters and node groups
  int since_minor = 1;      // shown and accepted from microversion 1.<since_minor> on
};
std::span<const Field> fieldsOf(api::Kind kind);

// What a view needs beyond the object itself.
struct ViewContext {
  std::string base_url;  // "http://127.0.0.1:9511", for links
  Microversion version;
  bool detail = true;  // false: the non-detailed list view
  // The cluster's template (clusters), or the cluster (node groups); null when missing. `spec`
  // is the object's spec, already parsed.
  using ParentLookup =
      std::function<std::shared_ptr<const api::Object>(const api::Object&, const util::Json& spec)>;
  ParentLookup parent;
  // Templates' specs parsed once per view (a list renders many clusters of few templates).
  mutable std::map<std::string, std::unique_ptr<util::JsonDoc>> parent_specs;
};

// The Magnum JSON of one object.
void renderObject(const api::Object& object, const ViewContext& ctx, util::Json& out,
                  util::JsonAlloc& alloc);

// The name Magnum shows for an object; the object name for one made through /apis.
std::string magnumName(const api::Object& object);
// A DNS-1123 label for a Magnum name (itself when it already is one).
std::string objectNameFor(std::string_view magnum_name);
// BadRequest unless `name` is a valid Magnum name (what Magnum's API enforces).
util::Status checkMagnumName(std::string_view name, std::string_view kind_singular);

// Writes the attributes present in `body` (a Magnum create body or a patched representation)
// into `object`'s spec, converted to the stored types: a null removes the field, labels become
// strings, unknown attributes are BadRequest naming them. `allowed` limits what may be set.
util::Status applyAttributes(api::Kind kind, const util::Json& body, api::Object& object,
                             const std::function<bool(const Field&)>& allowed);

// RFC 3339 "2026-12-07T15:04:05Z" as Magnum prints times: "2026-12-07T15:04:05+00:00".
std::string magnumTime(std::string_view rfc3339);

}  // namespace magnumd::server::magnum
