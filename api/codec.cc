#include "api/codec.h"

#include <fmt/format.h>

#include <algorithm>

namespace magnumd::api {

namespace {

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool validUtf8(const char* data, size_t size) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  size_t i = 0;
  while (i < size) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (size - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

bool shapeOk(const util::Json& v, int depth_left) {
  if (v.IsString()) return validUtf8(v.GetString(), v.GetStringLength());
  if (!v.IsObject() && !v.IsArray()) return true;
  if (depth_left == 0) return false;
  if (v.IsArray()) {
    for (const auto& item : v.GetArray()) {
      if (!shapeOk(item, depth_left - 1)) return false;
    }
    return true;
  }
  for (const auto& m : v.GetObject()) {
    if (!validUtf8(m.name.GetString(), m.name.GetStringLength()) || !shapeOk(m.value, depth_left - 1)) return false;
  }
  return true;
}

}  // namespace

util::Status checkJsonShape(const util::Json& value, std::string_view path, int max_depth) {
  if (shapeOk(value, max_depth)) return {};
  return util::makeError(util::ErrorCode::BadRequest,
                         fmt::format("{}: must nest at most {} levels and hold only valid UTF-8 text", path,
                                     max_depth));
}

util::Result<util::JsonDoc> parseBoundedJson(std::string_view text, std::string_view path) {
  ASSIGN_OR_RETURN(auto doc, util::parseJson(text));
  RETURN_IF_ERROR(checkJsonShape(doc, path));
  return doc;
}

}  // namespace magnumd::api

namespace magnumd::api::codec {

using util::Json;

namespace {

// A hostile body can carry thousands of bad fields; the error stays readable and bounded.
constexpr size_t kMaxProblems = 50;

void add(Problems& problems, std::string field, std::string message) {
  if (problems.size() >= kMaxProblems) return;
  problems.push_back({std::move(field), std::move(message)});
}

void typeMismatch(const Json& v, const std::string& path, std::string_view expected,
                  Problems& problems) {
  add(problems, path, fmt::format("must be {}, got {}", expected, util::typeName(v)));
}

}  // namespace

std::string childPath(const std::string& path, std::string_view name) {
  if (path.empty()) return std::string(name);
  return fmt::format("{}.{}", path, name);
}

void decodeLeaf(const Json& v, const std::string& path, std::string& out, Problems& problems) {
  if (!v.IsString()) return typeMismatch(v, path, "a string", problems);
  out.assign(v.GetString(), v.GetStringLength());
}

void decodeLeaf(const Json& v, const std::string& path, int64_t& out, Problems& problems) {
  if (v.IsInt64()) {
    out = v.GetInt64();
    return;
  }
  if (v.IsNumber()) {
    add(problems, path, "must be an integer between -2^63 and 2^63-1, got a non-integral or too large number");
    return;
  }
  typeMismatch(v, path, "an integer", problems);
}

void decodeLeaf(const Json& v, const std::string& path, bool& out, Problems& problems) {
  if (!v.IsBool()) return typeMismatch(v, path, "a boolean (true or false)", problems);
  out = v.GetBool();
}

void decodeLeaf(const Json& v, const std::string& path, StringMap& out, Problems& problems) {
  if (!expectObject(v, path, problems)) return;
  out.clear();
  for (const auto& m : v.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    const Json& value = m.value;
    if (value.IsString()) {
      out[key].assign(value.GetString(), value.GetStringLength());
    } else if (value.IsBool()) {
      out[key] = value.GetBool() ? "true" : "false";
    } else if (value.IsInt64()) {
      out[key] = std::to_string(value.GetInt64());
    } else {
      typeMismatch(value, childPath(path, key), "a string (quote it)", problems);
    }
  }
}

bool expectObject(const Json& v, const std::string& path, Problems& problems) {
  if (v.IsObject()) return true;
  typeMismatch(v, path, "an object", problems);
  return false;
}

bool expectArray(const Json& v, const std::string& path, Problems& problems) {
  if (v.IsArray()) return true;
  typeMismatch(v, path, "an array", problems);
  return false;
}

void reportUnknown(const Json& v, const std::string& path, const std::vector<std::string_view>& known,
                   Problems& problems) {
  for (const auto& m : v.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    add(problems, childPath(path, name),
        fmt::format("unknown field; valid fields{}: {}", path.empty() ? "" : " of " + path,
                    fmt::join(known, ", ")));
  }
}

util::Error decodeError(Problems problems) {
  // Unknown fields are grouped under their parent so the message lists the valid names once:
  // `spec: unknown fields "foo", "bar"; valid fields of spec: coe, image, ...`.
  struct Group {
    std::string parent;
    std::vector<std::string> names;
    std::string valid;
  };
  std::vector<Group> groups;
  std::vector<std::string> parts;
  for (const auto& p : problems) {
    constexpr std::string_view kUnknown = "unknown field; ";
    if (!p.message.starts_with(kUnknown)) {
      parts.push_back(fmt::format("{}: {}", p.field, p.message));
      continue;
    }
    size_t dot = p.field.rfind('.');
    std::string parent = dot == std::string::npos ? "" : p.field.substr(0, dot);
    std::string name = dot == std::string::npos ? p.field : p.field.substr(dot + 1);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.parent == parent; });
    if (it == groups.end()) {
      groups.push_back({parent, {}, p.message.substr(kUnknown.size())});
      it = groups.end() - 1;
    }
    it->names.push_back(fmt::format("\"{}\"", name));
  }
  std::vector<std::string> head;
  for (const auto& g : groups) {
    head.push_back(fmt::format("{}{}unknown field{} {}; {}", g.parent, g.parent.empty() ? "" : ": ",
                               g.names.size() > 1 ? "s" : "", fmt::join(g.names, ", "), g.valid));
  }
  parts.insert(parts.begin(), head.begin(), head.end());
  return util::makeError(util::ErrorCode::BadRequest, fmt::format("{}", fmt::join(parts, "; ")),
                         std::move(problems));
}

void encodeLeaf(const std::string& value, Json& out, util::JsonAlloc& a) { out = util::str(value, a); }
void encodeLeaf(int64_t value, Json& out, util::JsonAlloc&) { out.SetInt64(value); }
void encodeLeaf(bool value, Json& out, util::JsonAlloc&) { out.SetBool(value); }
void encodeLeaf(const StringMap& value, Json& out, util::JsonAlloc& a) {
  out.SetObject();
  for (const auto& [k, v] : value) out.AddMember(util::str(k, a), util::str(v, a), a);
}

}  // namespace magnumd::api::codec
