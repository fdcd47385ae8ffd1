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

// Parses JSON text iteratively (no recursion, so hostile nesting cannot overflow the stack).
// Errors are BadRequest with the offset and RapidJSON's description.
Result<JsonDoc> parseJson(std::string_view text);

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
