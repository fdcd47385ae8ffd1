// Structured-merge-diff's walks over an object's JSON, guided by the kind's schema: the set of
// fields a value sets, the comparison of two values, the merge of an applied configuration into
// the live object, and the removal of fields. The schema is the one api/schema.h publishes as
// OpenAPI (from the records' fields() and FieldDocs), so what kubectl reads as a list's
// x-kubernetes-list-type and merge keys is what the server merges by.
//
// Maps and records are granular (each field its own path); lists follow their list type: `map`
// entries are identified by their key fields, `set` entries by their value, and `atomic` lists
// (the default) are one field. A value whose JSON type differs from the schema's counts as one
// field: admission reports the type error.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/field_doc.h"
#include "api/fieldpath.h"
#include "api/object.h"
#include "util/json.h"
#include "util/result.h"

namespace magnumd::api::typed {

struct TypeNode {
  enum class Shape { Scalar, Object, List, Untyped };
  Shape shape = Shape::Untyped;
  // Object: replaced whole (x-kubernetes-map-type: atomic). List: ListType::Atomic.
  bool atomic = false;
  std::map<std::string, const TypeNode*, std::less<>> fields;  // Object: declared properties
  const TypeNode* element = nullptr;  // Object: additionalProperties; List: items
  ListType list_type = ListType::Atomic;
  std::vector<std::string> keys;  // ListType::Map
  std::string scalar;             // string | integer | boolean | number

  // The type of a member: the declared field's, else the map's element type, else untyped.
  const TypeNode& member(std::string_view name) const;
  bool declares(std::string_view name) const { return fields.find(name) != fields.end(); }
};

// The schema of a served kind's whole object (apiVersion, kind, metadata, spec, status).
const TypeNode& typeOf(Kind kind);

// The paths `value` sets, as structured-merge-diff's ToFieldSet: every scalar, every list entry
// and map key, empty and null values, atomic values whole. Invalid (naming the field) for a list
// entry without its keys, a non-scalar in a set, or an entry given twice.
util::Result<fieldpath::Set> toFieldSet(const util::Json& value, const TypeNode& type);

struct Comparison {
  fieldpath::Set added;
  fieldpath::Set modified;
  fieldpath::Set removed;
};
// What changed from `lhs` to `rhs`. A map or list present on one side only is itself added or
// removed, with everything under it. A null, empty string, map or list where `lhs` has nothing
// is no change: the server stores it as nothing.
Comparison compare(const util::Json& lhs, const util::Json& rhs, const TypeNode& type);

// `rhs` merged into `lhs`: maps member by member, associative lists entry by entry (entries of
// `lhs` first, in their order, then those only `rhs` has), anything else replaced by `rhs`.
void merge(const util::Json& lhs, const util::Json& rhs, const TypeNode& type, util::Json& out,
           util::JsonAlloc& alloc);

// Removes from `value` every field and entry whose path is in `set` (with what is under it).
void removeItems(util::Json& value, const fieldpath::Set& set, const TypeNode& type);

// `set` plus each declared field (not map key) that has a path under it: "spec.a.b" brings
// "spec" and "spec.a", so removing what only one manager owned removes the records it emptied.
fieldpath::Set ensureNamedFieldsAreMembers(const fieldpath::Set& set, const TypeNode& type);

// Values of string maps given as booleans or integers become their text, as the decoder stores
// them (labels: {auto_healing_enabled: true}), so an applied `true` equals a stored "true".
void coerceScalars(util::Json& value, const TypeNode& type, util::JsonAlloc& alloc);

}  // namespace magnumd::api::typed
