// YAML <-> JSON, so every layer works on JSON and YAML is only a wire/file format.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

namespace magnumd::util {

// Parses one or more YAML documents ("---" separated). Plain scalars become JSON numbers, booleans
// or null when YAML 1.2 core schema says so; quoted scalars stay strings. Empty documents are
// skipped. Errors are BadRequest naming the line and column.
Result<std::vector<JsonDoc>> parseYamlDocuments(std::string_view text);

// Emits block-style YAML for a JSON value (strings quoted when they would read as another type).
std::string toYaml(const Json& value);

// True when the text looks like YAML rather than JSON (first non-space character is not { or [).
bool looksLikeYaml(std::string_view text);

}  // namespace magnumd::util
