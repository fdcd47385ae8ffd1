// What `apply` changes on an existing object: a three-way merge patch between the configuration the
// user applied last time (kept in an annotation, as kubectl does), what they declare now, and
// the live object. Fields the user never declared (server defaults, other writers' labels) are
// left alone; fields the user removed from the file since the last apply are removed.
#pragma once

#include <optional>
#include <string_view>

#include "util/json.h"

namespace magnumd::cli {

inline constexpr std::string_view kLastAppliedAnnotation =
    "magnumctl.container-infra/last-applied-configuration";

// The part of a manifest apply manages: {"metadata":{"labels","annotations"},"spec"}, without
// the last-applied annotation itself.
util::JsonDoc declaredConfig(const util::Json& manifest);

// The body to POST for a new object: the manifest with `namespace` set and the last-applied
// annotation recorded.
util::JsonDoc manifestForCreate(const util::Json& manifest, std::string_view ns);

// The merge patch (RFC 7386) that makes `live` match the manifest, including the updated
// last-applied annotation; nullopt when nothing the user declared differs and the annotation is
// current ("unchanged").
std::optional<util::JsonDoc> computeApplyPatch(const util::Json& manifest, const util::Json& live);

}  // namespace magnumd::cli
