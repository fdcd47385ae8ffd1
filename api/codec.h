// Strict JSON <-> struct mapping for the typed specs and statuses.
//
// A record type lists its fields once, in wire order, with a static visitor:
//
//   template <class S, class V> static void fields(S& s, V& v) {
//     v("coe", s.coe, {.description = "...", .values = coes, .required = true});
//     v("nodeCount", s.node_count, {.description = "...", .minimum = 0});
//   }
//
// and gets strict decoding (unknown fields and wrong JSON types are reported with their field path,
// all of them, not just the first) and canonical encoding (fields in declaration order; absent
// optionals, empty strings and empty containers omitted) from the same list. The optional third
// argument (api/field_doc.h) documents the field for the schema; the codec ignores it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "api/field_doc.h"
#include "api/object.h"
#include "util/json.h"
#include "util/result.h"

namespace magnumd::api {

// Objects nest a few levels; anything deeper is hostile, and RapidJSON's writer, comparison and
// copy recurse, so depth is bounded before any of them runs.
inline constexpr int kMaxJsonDepth = 64;

// OK when `value` nests at most `max_depth` levels and every string is valid UTF-8; otherwise
// BadRequest naming `path`. Recursion is bounded by `max_depth`.
util::Status checkJsonShape(const util::Json& value, std::string_view path, int max_depth = kMaxJsonDepth);
// parseJson + checkJsonShape.
util::Result<util::JsonDoc> parseBoundedJson(std::string_view text, std::string_view path);

namespace codec {

using Problems = std::vector<util::Cause>;

// Satisfied by any type with a static `fields(self, visitor)`.
struct FieldProbe {
  template <class F>
  void operator()(std::string_view, F&, const FieldDoc& = {}) {}
};
template <class T>
concept Record = requires(T& t, FieldProbe& p) { T::fields(t, p); };

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

// Leaf decoders: on a type mismatch they append one problem and leave `out` untouched.
void decodeLeaf(const util::Json& v, const std::string& path, std::string& out, Problems& problems);
void decodeLeaf(const util::Json& v, const std::string& path, int64_t& out, Problems& problems);
void decodeLeaf(const util::Json& v, const std::string& path, bool& out, Problems& problems);
// Values of a string map may also be YAML-ish scalars (true, 3): they are stored as their text,
// because Magnum accepts `labels: {auto_healing_enabled: true}` and users write it that way.
void decodeLeaf(const util::Json& v, const std::string& path, StringMap& out, Problems& problems);

bool expectObject(const util::Json& v, const std::string& path, Problems& problems);
bool expectArray(const util::Json& v, const std::string& path, Problems& problems);
// Reports every member of `v` whose name is not in `known`, listing the valid names.
void reportUnknown(const util::Json& v, const std::string& path,
                   const std::vector<std::string_view>& known, Problems& problems);
std::string childPath(const std::string& path, std::string_view name);

template <class T>
void decodeValue(const util::Json& v, const std::string& path, T& out, Problems& problems);

template <Record T>
void readRecord(const util::Json& v, const std::string& path, T& out, Problems& problems) {
  if (!expectObject(v, path, problems)) return;
  std::vector<std::string_view> known;
  auto visit = [&](std::string_view name, auto& field, const FieldDoc& = {}) {
    known.push_back(name);
    const util::Json* member = util::member(v, name);
    if (member == nullptr || member->IsNull()) return;  // null means "unset", as in merge patch
    decodeValue(*member, childPath(path, name), field, problems);
  };
  T::fields(out, visit);
  reportUnknown(v, path, known, problems);
}

template <class T>
void decodeValue(const util::Json& v, const std::string& path, T& out, Problems& problems) {
  if constexpr (IsOptional<T>::value) {
    typename T::value_type value{};
    size_t before = problems.size();
    decodeValue(v, path, value, problems);
    if (problems.size() == before) out = std::move(value);
  } else if constexpr (IsVector<T>::value) {
    if (!expectArray(v, path, problems)) return;
    out.clear();
    size_t i = 0;
    for (const auto& item : v.GetArray()) {
      typename T::value_type value{};
      decodeValue(item, path + "[" + std::to_string(i++) + "]", value, problems);
      out.push_back(std::move(value));
    }
  } else if constexpr (Record<T>) {
    readRecord(v, path, out, problems);
  } else {
    decodeLeaf(v, path, out, problems);
  }
}

void encodeLeaf(const std::string& value, util::Json& out, util::JsonAlloc& a);
void encodeLeaf(int64_t value, util::Json& out, util::JsonAlloc& a);
void encodeLeaf(bool value, util::Json& out, util::JsonAlloc& a);
void encodeLeaf(const StringMap& value, util::Json& out, util::JsonAlloc& a);

template <class T>
bool isEmptyValue(const T& value) {
  if constexpr (IsOptional<T>::value) {
    return !value.has_value();
  } else if constexpr (std::is_same_v<T, std::string> || IsVector<T>::value ||
                       std::is_same_v<T, StringMap>) {
    return value.empty();
  } else {
    return false;  // numbers, booleans and records are always written
  }
}

template <class T>
void encodeValue(const T& value, util::Json& out, util::JsonAlloc& a);

template <Record T>
void writeRecord(const T& record, util::Json& out, util::JsonAlloc& a) {
  out.SetObject();
  auto visit = [&](std::string_view name, const auto& field, const FieldDoc& = {}) {
    if (isEmptyValue(field)) return;
    util::Json v;
    encodeValue(field, v, a);
    out.AddMember(util::str(name, a), v, a);
  };
  T::fields(record, visit);
}

template <class T>
void encodeValue(const T& value, util::Json& out, util::JsonAlloc& a) {
  if constexpr (IsOptional<T>::value) {
    encodeValue(*value, out, a);
  } else if constexpr (IsVector<T>::value) {
    out.SetArray();
    for (const auto& item : value) {
      util::Json v;
      encodeValue(item, v, a);
      out.PushBack(v, a);
    }
  } else if constexpr (Record<T>) {
    writeRecord(value, out, a);
  } else {
    encodeLeaf(value, out, a);
  }
}

// Problems found while decoding become one BadRequest: the message lists them all, the causes
// carry one entry per field.
util::Error decodeError(Problems problems);

}  // namespace codec

// Decodes a record from parsed JSON or JSON text; `path` prefixes field names in errors ("spec").
template <codec::Record T>
util::Result<T> decodeRecord(const util::Json& value, std::string_view path) {
  T out{};
  codec::Problems problems;
  codec::readRecord(value, std::string(path), out, problems);
  if (!problems.empty()) return codec::decodeError(std::move(problems));
  return out;
}

template <codec::Record T>
util::Result<T> decodeRecord(std::string_view json_text, std::string_view path) {
  ASSIGN_OR_RETURN(auto doc, parseBoundedJson(json_text, path));
  return decodeRecord<T>(static_cast<const util::Json&>(doc), path);
}

template <codec::Record T>
void encodeRecord(const T& record, util::Json& out, util::JsonAlloc& alloc) {
  codec::writeRecord(record, out, alloc);
}

// Canonical compact JSON: fields in declaration order, empty values omitted.
template <codec::Record T>
std::string encodeRecord(const T& record) {
  util::JsonDoc doc;
  codec::writeRecord(record, doc, doc.GetAllocator());
  return util::toJson(doc);
}

}  // namespace magnumd::api
