#include "server/codec.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <cctype>
#include <string>
#include <unordered_set>

#include "util/yaml.h"

namespace magnumd::server {

using util::ErrorCode;
using util::makeError;

namespace {

constexpr int kMaxNestingDepth = 64;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool isYamlType(std::string_view t) {
  return t == "application/yaml" || t == "application/x-yaml" || t == "text/yaml" ||
         t == "text/x-yaml";
}

bool isJsonType(std::string_view t) {
  return t == "application/json" || t == kMergePatchType || t == kJsonPatchType;
}

// yaml-cpp parses flow collections recursively, and RapidJSON's writer and deep copies recurse
// too: "[[[[..." a megabyte deep would exhaust the stack, so count bracket depth outside quoted
// strings first (for JSON and YAML alike).
// A quote opens a quoted string only at the start of a token; "it's" is a plain YAML scalar.
bool startsToken(std::string_view text, size_t i) {
  if (i == 0) return true;
  char prev = text[i - 1];
  return std::isspace(static_cast<unsigned char>(prev)) || prev == '[' || prev == '{' ||
         prev == ',' || prev == ':' || prev == '-';
}

util::Status checkNestingDepth(std::string_view text) {
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if ((c == '"' || c == '\'') && startsToken(text, i)) {
      quote = c;
    } else if (c == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(text[i - 1])))) {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxNestingDepth) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("request body nested deeper than {} levels", kMaxNestingDepth));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return {};
}

// A JSON object may repeat a key (RFC 8259 leaves the meaning open, RapidJSON keeps both); YAML
// may not. Refusing repeats in JSON bodies too means one body has one meaning, whatever reads it.
// Linear: a hash set for large objects, a short scan for small ones.
util::Status checkUniqueKeys(const util::Json& value, std::string& path) {
  constexpr rapidjson::SizeType kScanned = 16;
  if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      size_t length = path.size();
      path += fmt::format("/{}", i);
      RETURN_IF_ERROR(checkUniqueKeys(value[i], path));
      path.resize(length);
    }
    return {};
  }
  if (!value.IsObject()) return {};
  std::unordered_set<std::string_view> seen;
  for (auto m = value.MemberBegin(); m != value.MemberEnd(); ++m) {
    std::string_view name(m->name.GetString(), m->name.GetStringLength());
    bool repeated = false;
    if (value.MemberCount() > kScanned) {
      repeated = !seen.insert(name).second;
    } else {
      for (auto earlier = value.MemberBegin(); earlier != m && !repeated; ++earlier) {
        repeated = std::string_view(earlier->name.GetString(), earlier->name.GetStringLength()) == name;
      }
    }
    if (repeated) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("request body: duplicate key \"{}\" in the object at \"{}\"", name,
                                   path.empty() ? "/" : path));
    }
    size_t length = path.size();
    path += "/";
    path += name;
    RETURN_IF_ERROR(checkUniqueKeys(m->value, path));
    path.resize(length);
  }
  return {};
}

util::Result<util::JsonDoc> decodeJson(std::string_view body) {
  ASSIGN_OR_RETURN(auto doc, util::parseJson(body));
  std::string path;
  RETURN_IF_ERROR(checkUniqueKeys(doc, path));
  return doc;
}

util::Result<util::JsonDoc> decodeYaml(std::string_view body) {
  util::YamlLimits limits;
  limits.max_documents = 1;  // a second document is refused before it is read
  ASSIGN_OR_RETURN(auto docs, util::parseYamlDocuments(body, limits));
  if (docs.size() != 1) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("request body: expected exactly one YAML document, got {}",
                                 docs.size()));
  }
  return std::move(docs.front());
}

}  // namespace

std::string mediaType(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string out(trim(content_type.substr(0, semi)));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

namespace {

// The parameters of one Accept alternative: `as`, `g` and `v` name a conversion.
struct MediaParams {
  std::string as, group, version;
};

MediaParams mediaParams(std::string_view type) {
  MediaParams out;
  auto semi = type.find(';');
  while (semi != std::string_view::npos) {
    type.remove_prefix(semi + 1);
    semi = type.find(';');
    std::string_view param = trim(type.substr(0, semi));
    auto eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = trim(param.substr(0, eq));
    std::string value(trim(param.substr(eq + 1)));
    if (name == "as") out.as = std::move(value);
    if (name == "g") out.group = std::move(value);
    if (name == "v") out.version = std::move(value);
  }
  return out;
}

std::optional<Conversion> conversionOf(const MediaParams& params) {
  if (params.as.empty()) return Conversion::None;
  if (params.as != "Table" || params.group != "meta.k8s.io") return std::nullopt;
  if (params.version == "v1") return Conversion::TableV1;
  if (params.version == "v1beta1") return Conversion::TableV1beta1;
  return std::nullopt;
}

}  // namespace

util::Result<OutputFormat> negotiateOutputFormat(std::string_view accept) {
  if (trim(accept).empty()) return OutputFormat{};
  std::string_view rest = accept;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view alternative = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    std::string type = mediaType(alternative);
    auto conversion = conversionOf(mediaParams(alternative));
    if (!conversion) continue;
    if (type == "application/json" || type == "*/*" || type == "application/*") {
      return OutputFormat{Format::Json, *conversion};
    }
    if (isYamlType(type)) return OutputFormat{Format::Yaml, *conversion};
  }
  return makeError(ErrorCode::NotAcceptable,
                   fmt::format("Accept \"{}\": this server produces application/json or "
                               "application/yaml, optionally as=Table;v=v1;g=meta.k8s.io",
                               accept));
}

util::Result<Format> negotiateOutput(std::string_view accept) {
  ASSIGN_OR_RETURN(OutputFormat output, negotiateOutputFormat(accept));
  return output.format;
}

util::Result<util::JsonDoc> decodeBody(std::string_view content_type, std::string_view body) {
  std::string type = mediaType(content_type);
  if (trim(body).empty()) {
    return makeError(ErrorCode::BadRequest, "request body is empty; expected an object");
  }
  RETURN_IF_ERROR(checkNestingDepth(body));
  if (isYamlType(type)) return decodeYaml(body);
  if (isJsonType(type)) return decodeJson(body);
  if (type.empty() || type == "text/plain" || type == "application/x-www-form-urlencoded" ||
      type == kApplyPatchType) {
    // curl -d sends form-urlencoded by default; treat it like "no type given" and detect.
    if (util::looksLikeYaml(body)) return decodeYaml(body);
    return decodeJson(body);
  }
  return makeError(ErrorCode::UnsupportedMediaType,
                   fmt::format("Content-Type \"{}\" is not supported; use application/json or "
                               "application/yaml",
                               content_type));
}

std::string render(const util::Json& value, Format format, bool pretty) {
  if (format == Format::Yaml) return util::toYaml(value);
  return pretty ? util::toPrettyJson(value) + "\n" : util::toJson(value);
}

std::string_view contentTypeOf(Format format) {
  return format == Format::Yaml ? kYamlType : kJsonType;
}

}  // namespace magnumd::server
