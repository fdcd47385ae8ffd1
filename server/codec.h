// Wire formats of the API: request bodies in JSON or YAML, responses in JSON (optionally
// pretty) or YAML, chosen from Content-Type and Accept the way kube-apiserver does.
#pragma once

#include <string>
#include <string_view>

#include "util/json.h"
#include "util/result.h"

namespace magnumd::server {

enum class Format { Json, Yaml };

inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kYamlType = "application/yaml";
inline constexpr std::string_view kMergePatchType = "application/merge-patch+json";
inline constexpr std::string_view kJsonPatchType = "application/json-patch+json";
// Server-side apply: the object as the client wants it, in YAML or JSON (kubectl sends JSON).
inline constexpr std::string_view kApplyPatchType = "application/apply-patch+yaml";
inline constexpr std::string_view kWatchType = "application/json;stream=watch";

// The media type without parameters, lower-cased: "application/json; charset=utf-8" -> "application/json".
std::string mediaType(std::string_view content_type);

// What a response holds: the objects themselves, or a meta.k8s.io Table of them (kubectl's
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) in the Table version asked for.
enum class Conversion { None, TableV1, TableV1beta1 };

struct OutputFormat {
  Format format = Format::Json;
  Conversion conversion = Conversion::None;
};

// Picks the response from an Accept header, the first listed alternative this server produces
// winning: JSON for empty, */*, application/*, application/json; YAML for application/yaml
// (also x-yaml, text/yaml); a Table in either when the type has as=Table;g=meta.k8s.io and v=v1
// or v1beta1. Other conversions (as=PartialObjectMetadata, ...) are skipped like unknown types.
// NotAcceptable when nothing is left.
util::Result<OutputFormat> negotiateOutputFormat(std::string_view accept);
// The format alone, for responses that are never converted.
util::Result<Format> negotiateOutput(std::string_view accept);

// Parses a request body given as JSON or YAML (one document). An empty Content-Type is
// detected from the text, as is an apply patch's (YAML, or JSON as kubectl sends it).
// UnsupportedMediaType for anything else. YAML whose flow nesting is
// deeper than a sane limit is refused before it reaches the recursive YAML parser.
util::Result<util::JsonDoc> decodeBody(std::string_view content_type, std::string_view body);

// Renders a JSON value in the chosen format.
std::string render(const util::Json& value, Format format, bool pretty = false);
std::string_view contentTypeOf(Format format);

}  // namespace magnumd::server
