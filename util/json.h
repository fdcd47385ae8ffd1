// Thin helpers over RapidJSON: parsing with readable errors, serialising, typed field access.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace magnumd::util {

using Json = rapidjson::Value;
using JsonDoc = rapidjson::Document;
using JsonAlloc = rapidjson::Document::AllocatorType;

// Deeper than any document of ours (an object is 64 levels at most, and a watch event or a list
// wraps it in two more), shallow enough for the recursive copy, compare and write.
inline constexpr int kMaxParseDepth = 128;

// Parses JSON text iteratively (no recursion, so hostile nesting cannot overflow the stack), and
// refuses text nested deeper than `max_depth`. Errors are BadRequest with the offset and
// RapidJSON's description.
Result<JsonDoc> parseJson(std::string_view text, int max_depth = kMaxParseDepth);

std::string toJson(const Json& value);
std::string toPrettyJson(const Json& value);

// Field access that tolerates absence and wrong types: nullopt/nullptr instead of asserting.
const Json* member(const Json& object, std::string_view name);
std::optional<std::string> stringMember(const Json& object, std::string_view name);
std::optional<int64_t> intMember(const Json& object, std::string_view name);
std::optional<bool> boolMember(const Json& object, std::string_view name);

inline Json str(std::string_view s, JsonAlloc& a) {
  return Json(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

// "object", "array", "string", ... for messages like `must be an object, got array`.
const char* typeName(const Json& value);

}  // namespace magnumd::util
