// YAML <-> JSON, so every layer works on JSON and YAML is only a wire/file format.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

namespace magnumd::util {

// What one call of parseYamlDocuments may produce, whatever the text: the work and memory of a
// parse are proportional to the text plus `max_nodes`, never to what aliases would expand to.
struct YamlLimits {
  // Nodes (scalars, sequences, mappings, and every node an alias copies) across all documents.
  // Aliases share nodes in YAML but expand when converted: a few hundred bytes of "billion
  // laughs" would become gigabytes of JSON. No honest manifest of ours comes near this.
  size_t max_nodes = 200000;
  // Non-empty documents; the parse stops at the first one past the limit, before reading it.
  size_t max_documents = std::numeric_limits<size_t>::max();
  int max_depth = 64;
};

// Parses one or more YAML documents ("---" separated) straight from the parser's events, without
// building yaml-cpp's node graph. Plain scalars become JSON numbers, booleans or null when YAML
// 1.2's core schema says so; quoted scalars stay strings. Empty documents are skipped. Errors are
// BadRequest naming the line and column; exceeding a limit is TooLarge naming the limit.
Result<std::vector<JsonDoc>> parseYamlDocuments(std::string_view text, const YamlLimits& limits = {});

// Emits block-style YAML for a JSON value (strings quoted when they would read as another type).
// Linear in the size of the value.
std::string toYaml(const Json& value);

// True when the text looks like YAML rather than JSON (first non-space character is not { or [).
bool looksLikeYaml(std::string_view text);

}  // namespace magnumd::util
