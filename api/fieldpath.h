// Sets of field paths, as structured-merge-diff (Kubernetes' server-side apply) names the fields
// of an object: a path is a list of elements, each a field name (`.spec`), the key of an entry of
// a list of maps (`[type="Ready"]`), or a value of a list of scalars (`[="node-1"]`). A field
// manager owns a Set of paths; metadata.managedFields stores it in the FieldsV1 encoding:
//
//   {"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:nodesToRemove":{"v:\"n1\"":{}}}}
//
// (`f:` a field, `k:` a key as a JSON object, `v:` a value as JSON, `.` the node itself when it
// also has children). Pure data: the schema-aware walks are in api/typed_value.h.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"
#include "util/result.h"

namespace magnumd::api::fieldpath {

struct PathElement {
  // Declared in structured-merge-diff's order: fields sort before keys, keys before values.
  enum class Type { Field, Key, Value };
  Type type = Type::Field;
  // Field: the name. Key: a compact JSON object of the key fields, sorted by name. Value: the
  // value as compact JSON.
  std::string text;

  auto operator<=>(const PathElement&) const = default;

  static PathElement field(std::string_view name) { return {Type::Field, std::string(name)}; }
  // `.name`, `[type="Ready"]`, `[="node-1"]`: kube-apiserver's notation in conflict messages.
  std::string toString() const;
};

using Path = std::vector<PathElement>;

// ".spec.nodeCount".
std::string toString(const Path& path);

class Set {
 public:
  void insert(const Path& path);
  bool has(const Path& path) const;
  // No path at all (children without members are never kept).
  bool empty() const { return !member_ && children_.empty(); }
  // Number of paths.
  size_t size() const;

  Set unionWith(const Set& other) const;
  Set difference(const Set& other) const;
  Set intersection(const Set& other) const;

  // The paths under `element`, relative to it; null when there are none.
  const Set* child(const PathElement& element) const;
  // Whether this node (the path that led here) is itself in the set.
  bool member() const { return member_; }
  const std::map<PathElement, Set>& children() const { return children_; }
  // For the schema-aware walks that build sets node by node.
  Set& childFor(const PathElement& element) { return children_[element]; }
  void setMember(bool member) { member_ = member; }
  // Drops children left empty by the walks above.
  void prune();

  // Every path in order (each node before its children).
  void forEach(const std::function<void(const Path&)>& visit) const;

  bool operator==(const Set&) const = default;

 private:
  void forEachFrom(Path& prefix, const std::function<void(const Path&)>& visit) const;

  bool member_ = false;
  std::map<PathElement, Set> children_;
};

// FieldsV1 as compact JSON text. The root's own membership is not encodable (and never set).
std::string toFieldsV1(const Set& set);
void toFieldsV1(const Set& set, util::Json& out, util::JsonAlloc& alloc);
// Parses FieldsV1; errors (Invalid) say what is wrong and where, under `field`
// ("metadata.managedFields[0].fieldsV1"). `max_paths` bounds the work: a set with more paths is
// TooLarge.
util::Result<Set> fromFieldsV1(const util::Json& value, std::string_view field, size_t max_paths);
util::Result<Set> fromFieldsV1(std::string_view text, std::string_view field, size_t max_paths);

}  // namespace magnumd::api::fieldpath
