// What a field of a typed record means beyond its name and type, written once beside the field in
// the record's fields() list:
//
//   v("nodeCount", s.node_count,
//     {.description = "Workers in the default-worker node group.", .minimum = 0,
//      .maximum = kMaxNodeCount});
//
// The codec ignores it. The OpenAPI schema (api/schema.h), and through it `kubectl explain`,
// `magnumctl explain` and the field reference in docs/api.md, read it; so do the update rules
// (`immutable`). Validation reads the same constants (bounds, value lists), so the schema states
// what admission enforces.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace magnumd::api {

// A function returning the values a field accepts: the same list validation checks against.
using ValueList = const std::vector<std::string_view>& (*)();

// How clients merge a list field (x-kubernetes-list-type): replaced whole, a set of distinct
// scalars, or a map of objects keyed by one of their fields.
enum class ListType { Atomic, Set, Map };

struct FieldDoc {
  std::string_view description;
  // What a string field accepts, in the words validation's errors use ("use {accepts}").
  std::string_view accepts;
  // The only values a string field accepts (the schema's enum).
  ValueList values = nullptr;
  // Integers: inclusive bounds.
  std::optional<int64_t> minimum;
  std::optional<int64_t> maximum;
  // Strings: at most this many characters; lists and maps: at most this many entries.
  std::optional<int64_t> max_size;
  // A default admission fills in that is not the record's initializer (a ClusterTemplate's come
  // from applyDefaults). Initializer defaults are read from a default-constructed record.
  std::string_view default_value;
  // Non-empty: the field cannot change once the object exists; says why (the update rules and
  // the schema both show it).
  std::string_view immutable;
  bool required = false;
  std::string_view format;  // "date-time" for RFC 3339 timestamps
  ListType list_type = ListType::Atomic;
  std::string_view list_key;  // ListType::Map: the field that identifies an entry
  // A map of driver labels: the schema lists the keys the labels table knows (api/labels.h).
  bool labels = false;
};

}  // namespace magnumd::api
