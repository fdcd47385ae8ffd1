#include "api/fieldpath.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace magnumd::api::fieldpath {

using util::ErrorCode;
using util::Json;
using util::JsonAlloc;
using util::makeError;

namespace {

std::string_view nameOf(const Json& name) { return {name.GetString(), name.GetStringLength()}; }

// Members of a key object sorted by name, written compactly: one spelling per key.
std::string canonicalKey(const Json& key) {
  std::vector<std::pair<std::string_view, const Json*>> members;
  for (const auto& m : key.GetObject()) members.emplace_back(nameOf(m.name), &m.value);
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out = "{";
  util::JsonDoc scratch;
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) out += ',';
    out += util::toJson(util::str(members[i].first, scratch.GetAllocator()));
    out += ':';
    out += util::toJson(*members[i].second);
  }
  out += '}';
  return out;
}

util::Error invalid(std::string_view field, std::string message) {
  return makeError(ErrorCode::Invalid, fmt::format("{}: {}", field, message),
                   {{std::string(field), std::move(message)}});
}

struct Parser {
  std::string_view field;
  size_t max_paths;
  size_t paths = 0;

  util::Status count() {
    if (++paths <= max_paths) return {};
    return makeError(ErrorCode::TooLarge,
                     fmt::format("{}: a field set of more than {} fields; at most {} are allowed",
                                 field, max_paths, max_paths));
  }

  util::Result<PathElement> element(std::string_view name) {
    if (name.size() < 2 || name[1] != ':') {
      return invalid(field, fmt::format("\"{}\" is not a field set key (f:NAME, k:{{KEY}}, "
                                        "v:VALUE or \".\")",
                                        name.substr(0, 80)));
    }
    std::string_view rest = name.substr(2);
    switch (name[0]) {
      case 'f':
        return PathElement{PathElement::Type::Field, std::string(rest)};
      case 'k': {
        auto key = util::parseJson(rest, 8);
        if (!key.ok() || !key->IsObject() || key->MemberCount() == 0) {
          return invalid(field, fmt::format("\"{}\": k: must be followed by a JSON object of "
                                            "key fields",
                                            name.substr(0, 80)));
        }
        return PathElement{PathElement::Type::Key, canonicalKey(*key)};
      }
      case 'v': {
        auto value = util::parseJson(rest, 8);
        if (!value.ok()) {
          return invalid(field, fmt::format("\"{}\": v: must be followed by a JSON value",
                                            name.substr(0, 80)));
        }
        return PathElement{PathElement::Type::Value, util::toJson(*value)};
      }
      default:
        break;
    }
    return invalid(field, fmt::format("\"{}\": this server's schema has no list kept by index "
                                      "(i:); use f:, k: or v:",
                                      name.substr(0, 80)));
  }

  util::Status node(const Json& value, Set& out, bool root) {
    if (!value.IsObject()) {
      return invalid(field, fmt::format("must hold only objects, got {}", util::typeName(value)));
    }
    for (const auto& m : value.GetObject()) {
      std::string_view name = nameOf(m.name);
      if (name == ".") {
        if (root || !m.value.IsObject() || m.value.MemberCount() != 0) {
          return invalid(field, "\".\" marks a field that also has children; its value is {}");
        }
        if (!out.member()) RETURN_IF_ERROR(count());
        out.setMember(true);
        continue;
      }
      ASSIGN_OR_RETURN(PathElement element, element(name));
      Set& child = out.childFor(element);
      if (!m.value.IsObject()) {
        return invalid(field, fmt::format("\"{}\": must be an object, got {}", name.substr(0, 80),
                                          util::typeName(m.value)));
      }
      if (m.value.MemberCount() == 0) {
        if (!child.member()) RETURN_IF_ERROR(count());
        child.setMember(true);
        continue;
      }
      RETURN_IF_ERROR(node(m.value, child, false));
    }
    return {};
  }
};

}  // namespace

std::string PathElement::toString() const {
  switch (type) {
    case Type::Field:
      return "." + text;
    case Type::Value:
      return "[=" + text + "]";
    case Type::Key:
      break;
  }
  auto key = util::parseJson(text);
  if (!key.ok() || !key->IsObject()) return "[" + text + "]";
  std::string out = "[";
  bool first = true;
  for (const auto& m : key->GetObject()) {
    if (!first) out += ',';
    first = false;
    out += nameOf(m.name);
    out += '=';
    out += util::toJson(m.value);
  }
  return out + "]";
}

std::string toString(const Path& path) {
  std::string out;
  for (const auto& e : path) out += e.toString();
  return out;
}

void Set::insert(const Path& path) {
  Set* node = this;
  for (const auto& e : path) node = &node->children_[e];
  node->member_ = true;
}

bool Set::has(const Path& path) const {
  const Set* node = this;
  for (const auto& e : path) {
    auto it = node->children_.find(e);
    if (it == node->children_.end()) return false;
    node = &it->second;
  }
  return node->member_;
}

size_t Set::size() const {
  size_t n = member_ ? 1 : 0;
  for (const auto& [e, child] : children_) n += child.size();
  return n;
}

const Set* Set::child(const PathElement& element) const {
  auto it = children_.find(element);
  return it == children_.end() ? nullptr : &it->second;
}

void Set::prune() {
  for (auto it = children_.begin(); it != children_.end();) {
    it->second.prune();
    it = it->second.empty() ? children_.erase(it) : std::next(it);
  }
}

namespace {

void unionInto(Set& out, const Set& other) {
  if (other.member()) out.setMember(true);
  for (const auto& [e, child] : other.children()) unionInto(out.childFor(e), child);
}

}  // namespace

Set Set::unionWith(const Set& other) const {
  Set out = *this;
  unionInto(out, other);
  return out;
}

Set Set::difference(const Set& other) const {
  Set out;
  out.member_ = member_ && !other.member_;
  for (const auto& [e, child] : children_) {
    const Set* theirs = other.child(e);
    Set rest = theirs == nullptr ? child : child.difference(*theirs);
    if (!rest.empty()) out.children_.emplace(e, std::move(rest));
  }
  return out;
}

Set Set::intersection(const Set& other) const {
  Set out;
  out.member_ = member_ && other.member_;
  for (const auto& [e, child] : children_) {
    const Set* theirs = other.child(e);
    if (theirs == nullptr) continue;
    Set both = child.intersection(*theirs);
    if (!both.empty()) out.children_.emplace(e, std::move(both));
  }
  return out;
}

void Set::forEach(const std::function<void(const Path&)>& visit) const {
  Path prefix;
  forEachFrom(prefix, visit);
}

void Set::forEachFrom(Path& prefix, const std::function<void(const Path&)>& visit) const {
  if (member_) visit(prefix);
  for (const auto& [e, child] : children_) {
    prefix.push_back(e);
    child.forEachFrom(prefix, visit);
    prefix.pop_back();
  }
}

void toFieldsV1(const Set& set, Json& out, JsonAlloc& a) {
  out.SetObject();
  if (set.member() && !set.children().empty()) out.AddMember(".", Json(rapidjson::kObjectType), a);
  for (const auto& [e, child] : set.children()) {
    std::string_view prefix = e.type == PathElement::Type::Field ? "f:"
                              : e.type == PathElement::Type::Key ? "k:"
                                                                 : "v:";
    Json value;
    toFieldsV1(child, value, a);
    out.AddMember(util::str(fmt::format("{}{}", prefix, e.text), a), value, a);
  }
}

std::string toFieldsV1(const Set& set) {
  util::JsonDoc doc;
  toFieldsV1(set, doc, doc.GetAllocator());
  return util::toJson(doc);
}

util::Result<Set> fromFieldsV1(const Json& value, std::string_view field, size_t max_paths) {
  Set out;
  Parser parser{field, max_paths};
  RETURN_IF_ERROR(parser.node(value, out, true));
  out.prune();
  return out;
}

util::Result<Set> fromFieldsV1(std::string_view text, std::string_view field, size_t max_paths) {
  auto doc = util::parseJson(text);
  if (!doc.ok()) return invalid(field, "not valid JSON: " + doc.error().message);
  return fromFieldsV1(static_cast<const Json&>(*doc), field, max_paths);
}

}  // namespace magnumd::api::fieldpath
