#include "api/typed_value.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>

#include "api/schema.h"

namespace magnumd::api::typed {

using fieldpath::Path;
using fieldpath::PathElement;
using fieldpath::Set;
using util::ErrorCode;
using util::Json;
using util::JsonAlloc;
using util::makeError;

namespace {

std::string_view nameOf(const Json& name) { return {name.GetString(), name.GetStringLength()}; }

// The types of every served kind, built once from the OpenAPI (v2) definitions.
class Registry {
 public:
  Registry() {
    util::JsonDoc defs(rapidjson::kObjectType);
    schema::addDefinitions(defs, defs.GetAllocator(), schema::Dialect::V2);
    for (const auto& info : allKinds()) {
      const Json* def = util::member(defs, schema::definitionName(info.kind));
      roots_[info.kind] = def == nullptr ? &untyped_ : build(*def, defs);
    }
  }

  const TypeNode& root(Kind kind) const {
    auto it = roots_.find(kind);
    return it == roots_.end() ? untyped_ : *it->second;
  }
  const TypeNode& untyped() const { return untyped_; }

 private:
  const TypeNode* build(const Json& schema, const Json& defs) {
    if (auto ref = util::stringMember(schema, "$ref")) {
      constexpr std::string_view kPrefix = "#/definitions/";
      std::string name = ref->substr(std::min(ref->size(), kPrefix.size()));
      if (auto it = by_ref_.find(name); it != by_ref_.end()) return it->second;
      const Json* def = util::member(defs, name);
      const TypeNode* built = def == nullptr ? &untyped_ : build(*def, defs);
      by_ref_.emplace(name, built);
      return built;
    }
    TypeNode& node = nodes_.emplace_back();
    if (util::boolMember(schema, "x-kubernetes-preserve-unknown-fields").value_or(false)) {
      return &node;  // Untyped
    }
    std::string type = util::stringMember(schema, "type").value_or("");
    if (type == "array") {
      node.shape = TypeNode::Shape::List;
      std::string list_type =
          util::stringMember(schema, "x-kubernetes-list-type").value_or("atomic");
      node.list_type = list_type == "map"   ? ListType::Map
                       : list_type == "set" ? ListType::Set
                                            : ListType::Atomic;
      node.atomic = node.list_type == ListType::Atomic;
      if (const Json* keys = util::member(schema, "x-kubernetes-list-map-keys");
          keys != nullptr && keys->IsArray()) {
        for (const auto& k : keys->GetArray()) {
          if (k.IsString()) node.keys.emplace_back(k.GetString(), k.GetStringLength());
        }
      }
      if (const Json* items = util::member(schema, "items")) node.element = build(*items, defs);
      return &node;
    }
    if (type == "object") {
      const Json* properties = util::member(schema, "properties");
      const Json* additional = util::member(schema, "additionalProperties");
      if (properties == nullptr && (additional == nullptr || !additional->IsObject())) {
        return &node;  // an object the schema says nothing about
      }
      node.shape = TypeNode::Shape::Object;
      node.atomic = util::stringMember(schema, "x-kubernetes-map-type").value_or("") == "atomic";
      if (properties != nullptr && properties->IsObject()) {
        for (const auto& m : properties->GetObject()) {
          node.fields.emplace(std::string(nameOf(m.name)), build(m.value, defs));
        }
      }
      if (additional != nullptr && additional->IsObject()) node.element = build(*additional, defs);
      return &node;
    }
    if (!type.empty()) {
      node.shape = TypeNode::Shape::Scalar;
      node.scalar = type;
    }
    return &node;
  }

  std::deque<TypeNode> nodes_;
  std::unordered_map<std::string, const TypeNode*> by_ref_;
  std::map<Kind, const TypeNode*> roots_;
  TypeNode untyped_;
};

const Registry& registry() {
  static const Registry kRegistry;
  return kRegistry;
}

// How a walk treats a value: as a map of members, a list of entries, or one field.
enum class Walk { Map, List, Leaf };

Walk walkOf(const Json& v, const TypeNode& t) {
  using Shape = TypeNode::Shape;
  if (v.IsObject() && (t.shape == Shape::Object || t.shape == Shape::Untyped)) {
    return t.atomic ? Walk::Leaf : Walk::Map;
  }
  if (v.IsArray() && t.shape == Shape::List && !t.atomic) return Walk::List;
  return Walk::Leaf;  // scalars, atomic values, untyped lists, and values of the wrong type
}

bool emptyContainer(const Json* v) {
  return v == nullptr || v->IsNull() || (v->IsObject() && v->MemberCount() == 0) ||
         (v->IsArray() && v->Empty());
}

// What the server stores as no value at all: canonical objects omit nulls, empty strings and
// empty maps and lists, so writing one where nothing was changes nothing.
bool storedAsAbsent(const Json& v) {
  return emptyContainer(&v) || (v.IsString() && v.GetStringLength() == 0);
}

std::string fieldName(const Path& path) {
  std::string text = fieldpath::toString(path);
  return text.empty() || text[0] != '.' ? text : text.substr(1);
}

util::Error invalidAt(const Path& path, std::string message) {
  std::string field = fieldName(path);
  return makeError(ErrorCode::Invalid, fmt::format("{}: {}", field, message),
                   {{field, std::move(message)}});
}

// The element naming one entry of an associative list.
util::Result<PathElement> entryElement(const Json& item, const TypeNode& list, const Path& path) {
  if (list.list_type == ListType::Set) {
    if (item.IsObject() || item.IsArray()) {
      return invalidAt(
          path, fmt::format("a list of type set holds only scalars, got {}", util::typeName(item)));
    }
    return PathElement{PathElement::Type::Value, util::toJson(item)};
  }
  if (!item.IsObject()) {
    return invalidAt(
        path, fmt::format("a list of type map holds only objects, got {}", util::typeName(item)));
  }
  // Keys sorted by name, as FieldsV1 spells them.
  std::vector<std::string> keys = list.keys;
  std::sort(keys.begin(), keys.end());
  util::JsonDoc key(rapidjson::kObjectType);
  for (const auto& name : keys) {
    const Json* value = util::member(item, name);
    if (value == nullptr || value->IsNull()) {
      return invalidAt(path, fmt::format("every entry needs its key field \"{}\"", name));
    }
    key.AddMember(util::str(name, key.GetAllocator()), Json(*value, key.GetAllocator()),
                  key.GetAllocator());
  }
  return PathElement{PathElement::Type::Key, util::toJson(key)};
}

// Entries of an associative list by element, first occurrence only; nullopt when one is not
// identifiable (the list is then handled as one field).
std::optional<std::vector<std::pair<PathElement, const Json*>>> entriesOf(const Json& list,
                                                                          const TypeNode& t) {
  std::vector<std::pair<PathElement, const Json*>> out;
  std::map<PathElement, size_t> seen;
  Path none;
  for (const auto& item : list.GetArray()) {
    auto element = entryElement(item, t, none);
    if (!element.ok()) return std::nullopt;
    if (seen.emplace(*element, out.size()).second) out.emplace_back(std::move(*element), &item);
  }
  return out;
}

const Json* findEntry(const std::vector<std::pair<PathElement, const Json*>>& entries,
                      const PathElement& element) {
  for (const auto& [e, item] : entries) {
    if (e == element) return item;
  }
  return nullptr;
}

util::Status fieldSetOf(const Json& v, const TypeNode& t, Path& path, Set& out) {
  switch (walkOf(v, t)) {
    case Walk::Leaf:
      out.insert(path);
      return {};
    case Walk::Map:
      for (const auto& m : v.GetObject()) {
        std::string_view name = nameOf(m.name);
        path.push_back(PathElement::field(name));
        RETURN_IF_ERROR(fieldSetOf(m.value, t.member(name), path, out));
        if (emptyContainer(&m.value) || !t.declares(name)) out.insert(path);
        path.pop_back();
      }
      return {};
    case Walk::List: {
      std::map<PathElement, bool> seen;
      for (const auto& item : v.GetArray()) {
        ASSIGN_OR_RETURN(PathElement element, entryElement(item, t, path));
        if (!seen.emplace(element, true).second) {
          return invalidAt(path, fmt::format("entry {} is given twice", element.toString()));
        }
        path.push_back(std::move(element));
        RETURN_IF_ERROR(fieldSetOf(item, t.element ? *t.element : registry().untyped(), path, out));
        out.insert(path);
        path.pop_back();
      }
      return {};
    }
  }
  return {};
}

class Comparer {
 public:
  explicit Comparer(Comparison& out) : out_(out) {}

  void node(const Json* l, const Json* r, const TypeNode& t) {
    Walk lw = l ? walkOf(*l, t) : Walk::Leaf;
    Walk rw = r ? walkOf(*r, t) : Walk::Leaf;
    Walk walk = l == nullptr ? rw : r == nullptr ? lw : (lw == rw ? lw : Walk::Leaf);
    if (walk != Walk::Leaf && emptyContainer(l) && emptyContainer(r)) walk = Walk::Leaf;
    if (walk == Walk::List) {
      using Entries = std::vector<std::pair<PathElement, const Json*>>;
      std::optional<Entries> left = l ? entriesOf(*l, t) : Entries{};
      std::optional<Entries> right = r ? entriesOf(*r, t) : Entries{};
      if (!left || !right) walk = Walk::Leaf;
      if (walk == Walk::List) {
        const TypeNode& item = t.element ? *t.element : registry().untyped();
        for (const auto& [e, value] : *left) child(e, value, findEntry(*right, e), item);
        for (const auto& [e, value] : *right) {
          if (findEntry(*left, e) == nullptr) child(e, nullptr, value, item);
        }
      }
    } else if (walk == Walk::Map) {
      if (l != nullptr) {
        for (const auto& m : l->GetObject()) {
          std::string_view name = nameOf(m.name);
          child(PathElement::field(name), &m.value, r ? util::member(*r, name) : nullptr,
                t.member(name));
        }
      }
      if (r != nullptr) {
        for (const auto& m : r->GetObject()) {
          std::string_view name = nameOf(m.name);
          if (l == nullptr || util::member(*l, name) == nullptr) {
            child(PathElement::field(name), nullptr, &m.value, t.member(name));
          }
        }
      }
    }
    if (walk == Walk::Leaf) {
      if (l == nullptr) {
        if (!storedAsAbsent(*r)) out_.added.insert(path_);
      } else if (r == nullptr) {
        out_.removed.insert(path_);
      } else if (*l != *r) {
        out_.modified.insert(path_);
      }
      return;
    }
    if (l == nullptr) out_.added.insert(path_);
    if (r == nullptr) out_.removed.insert(path_);
  }

 private:
  void child(PathElement e, const Json* l, const Json* r, const TypeNode& t) {
    path_.push_back(std::move(e));
    node(l, r, t);
    path_.pop_back();
  }

  Comparison& out_;
  Path path_;
};

void copy(const Json* v, Json& out, JsonAlloc& a) {
  if (v == nullptr) {
    out.SetNull();
  } else {
    out.CopyFrom(*v, a);
  }
}

void mergeNode(const Json* l, const Json* r, const TypeNode& t, Json& out, JsonAlloc& a) {
  if (r == nullptr) return copy(l, out, a);
  if (l == nullptr) return copy(r, out, a);
  Walk lw = walkOf(*l, t);
  Walk rw = walkOf(*r, t);
  if (lw != rw || lw == Walk::Leaf) return copy(r, out, a);
  if (lw == Walk::Map) {
    out.SetObject();
    for (const auto& m : l->GetObject()) {
      std::string_view name = nameOf(m.name);
      Json value;
      mergeNode(&m.value, util::member(*r, name), t.member(name), value, a);
      out.AddMember(Json(m.name, a), value, a);
    }
    for (const auto& m : r->GetObject()) {
      if (util::member(*l, nameOf(m.name)) != nullptr) continue;
      out.AddMember(Json(m.name, a), Json(m.value, a), a);
    }
    return;
  }
  auto left = entriesOf(*l, t);
  auto right = entriesOf(*r, t);
  if (!left || !right) return copy(r, out, a);
  const TypeNode& item = t.element ? *t.element : registry().untyped();
  out.SetArray();
  for (const auto& [e, value] : *left) {
    Json merged;
    mergeNode(value, findEntry(*right, e), item, merged, a);
    out.PushBack(merged, a);
  }
  for (const auto& [e, value] : *right) {
    if (findEntry(*left, e) == nullptr) out.PushBack(Json(*value, a), a);
  }
}

}  // namespace

const TypeNode& TypeNode::member(std::string_view name) const {
  if (auto it = fields.find(name); it != fields.end()) return *it->second;
  if (element != nullptr) return *element;
  return registry().untyped();
}

const TypeNode& typeOf(Kind kind) { return registry().root(kind); }

util::Result<Set> toFieldSet(const Json& value, const TypeNode& type) {
  Set out;
  Path path;
  if (walkOf(value, type) == Walk::Leaf) return out;  // the root is never a field
  RETURN_IF_ERROR(fieldSetOf(value, type, path, out));
  return out;
}

Comparison compare(const Json& lhs, const Json& rhs, const TypeNode& type) {
  Comparison out;
  Comparer(out).node(&lhs, &rhs, type);
  return out;
}

void merge(const Json& lhs, const Json& rhs, const TypeNode& type, Json& out, JsonAlloc& alloc) {
  mergeNode(&lhs, &rhs, type, out, alloc);
}

void removeItems(Json& value, const Set& set, const TypeNode& type) {
  switch (walkOf(value, type)) {
    case Walk::Leaf:
      return;
    case Walk::Map:
      for (auto m = value.MemberBegin(); m != value.MemberEnd();) {
        std::string_view name = nameOf(m->name);
        const Set* under = set.child(PathElement::field(name));
        if (under != nullptr && under->member()) {
          m = value.EraseMember(m);
          continue;
        }
        if (under != nullptr) removeItems(m->value, *under, type.member(name));
        ++m;
      }
      return;
    case Walk::List: {
      const TypeNode& item = type.element ? *type.element : registry().untyped();
      Path none;
      for (auto it = value.Begin(); it != value.End();) {
        auto element = entryElement(*it, type, none);
        const Set* under = element.ok() ? set.child(*element) : nullptr;
        if (under != nullptr && under->member()) {
          it = value.Erase(it);
          continue;
        }
        if (under != nullptr) removeItems(*it, *under, item);
        ++it;
      }
      return;
    }
  }
}

Set ensureNamedFieldsAreMembers(const Set& set, const TypeNode& type) {
  Set out;
  out.setMember(set.member());
  for (const auto& [e, child] : set.children()) {
    bool field = e.type == PathElement::Type::Field;
    const TypeNode& child_type =
        field ? type.member(e.text)
              : (type.element != nullptr ? *type.element : registry().untyped());
    Set& node = out.childFor(e);
    node = ensureNamedFieldsAreMembers(child, child_type);
    if (field && type.shape == TypeNode::Shape::Object && type.declares(e.text)) {
      node.setMember(true);
    }
  }
  return out;
}

void coerceScalars(Json& value, const TypeNode& type, JsonAlloc& alloc) {
  switch (walkOf(value, type)) {
    case Walk::Leaf:
      return;
    case Walk::Map: {
      const bool string_map = type.element != nullptr &&
                              type.element->shape == TypeNode::Shape::Scalar &&
                              type.element->scalar == "string";
      for (auto& m : value.GetObject()) {
        if (string_map && m.value.IsBool()) {
          m.value.SetString(m.value.GetBool() ? "true" : "false", alloc);
        } else if (string_map && m.value.IsInt64()) {
          std::string text = std::to_string(m.value.GetInt64());
          m.value.SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
        } else {
          coerceScalars(m.value, type.member(nameOf(m.name)), alloc);
        }
      }
      return;
    }
    case Walk::List: {
      const TypeNode& item = type.element ? *type.element : registry().untyped();
      for (auto& v : value.GetArray()) coerceScalars(v, item, alloc);
      return;
    }
  }
}

}  // namespace magnumd::api::typed
