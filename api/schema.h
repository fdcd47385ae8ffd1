// The OpenAPI schemas of the served kinds, generated from the records' fields() lists and their
// FieldDocs (api/field_doc.h): the lists the decoder, the defaults and validation use, so the
// schema cannot say something admission does not do.
//
// Definitions are named and shaped as kube-apiserver publishes a CRD's:
// "container-infra.v1.Cluster" with `x-kubernetes-group-version-kind`, a structural schema with the
// nested records inline, `metadata` a reference to io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta,
// list types with their merge keys. Pure: no I/O; server/openapi.* serves them, `magnumctl explain`
// reads them.
#pragma once

#include <string>
#include <string_view>

#include "api/object.h"
#include "util/json.h"

namespace magnumd::api::schema {

inline constexpr std::string_view kObjectMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
inline constexpr std::string_view kListMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
inline constexpr std::string_view kStatus = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
inline constexpr std::string_view kDeleteOptions =
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
inline constexpr std::string_view kPatch = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
inline constexpr std::string_view kWatchEvent = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";

// Swagger 2.0 (/openapi/v2: "#/definitions/...") or OpenAPI 3.0 (/openapi/v3:
// "#/components/schemas/...", references wrapped in allOf so a description can sit beside them).
enum class Dialect { V2, V3 };

// "container-infra.v1.Cluster", or "container-infra.v1.ClusterList" with `list`.
std::string definitionName(Kind kind, bool list = false);
// "#/definitions/NAME" or "#/components/schemas/NAME".
std::string refTo(std::string_view definition, Dialect dialect);

// Adds every definition, name -> schema, to the object `out`: each served kind and its list,
// and the meta.k8s.io types they reference.
void addDefinitions(util::Json& out, util::JsonAlloc& alloc, Dialect dialect);

}  // namespace magnumd::api::schema
