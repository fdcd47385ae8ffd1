// meta.k8s.io Table responses, what `kubectl get` asks for (Accept:
// application/json;as=Table;v=v1;g=meta.k8s.io): the kind's columns from api/printer_columns.h
// (so magnumctl and kubectl show the same), one row per object, each row carrying the object
// as includeObject says. Lists, single GETs and watch events (one row each) are all Tables built
// here; a pure function of the objects and the clock, testable without sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "api/object.h"
#include "server/codec.h"
#include "util/json.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::server {

// What each row's `object` holds (kube-apiserver's includeObject query parameter).
enum class IncludeObject {
  None,      // no object
  Metadata,  // a meta.k8s.io PartialObjectMetadata: apiVersion, kind and the whole metadata
  Object,    // the object itself
};

// "None", "Metadata" or "Object"; empty means Metadata, kube-apiserver's default. BadRequest
// naming the parameter and the valid values otherwise.
util::Result<IncludeObject> parseIncludeObject(std::string_view text);

struct TableOptions {
  Conversion version = Conversion::TableV1;  // TableV1 or TableV1beta1
  IncludeObject include = IncludeObject::Metadata;
  // Leave columnDefinitions empty: watch events after a stream's first, as kube-apiserver does
  // (kubectl keeps the columns it was given first).
  bool no_headers = false;
  util::SystemTime now;  // ages are computed at this time
};

// The Table's own metadata: a list's resourceVersion and paging fields, or for one object its
// resourceVersion.
struct TableMeta {
  std::string resource_version;
  std::string continue_token;
  std::optional<int64_t> remaining_items;
};

// A Table of `objects` (all of `kind`) into `out`.
void buildTable(api::Kind kind, std::span<const api::Object> objects, const TableOptions& options,
                const TableMeta& meta, util::JsonDoc& out);

// A Table of one object, with the object's resourceVersion (single GETs and watch events).
void buildObjectTable(const api::Object& object, const TableOptions& options, util::JsonDoc& out);

// "meta.k8s.io/v1" or "meta.k8s.io/v1beta1".
std::string_view tableApiVersion(Conversion version);

}  // namespace magnumd::server
