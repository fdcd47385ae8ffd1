// A small, strict text template for the documents magnumd renders for nodes (cloud-config, kubeadm
// configuration, shell scripts). Logic-less, Mustache-shaped:
//
//   {{name}}            the value verbatim; it must be one line (for constants the code controls)
//   {{yaml name}}       a YAML double-quoted scalar: safe for any string anywhere a scalar goes
//   {{sh name}}         a POSIX shell single-quoted word
//   {{indent N name}}   a multi-line value, every non-empty line indented by N spaces; for the
//                       body of a YAML block scalar (`content: |`); one trailing newline dropped
//   {{#name}}…{{/name}} repeated for each entry of a list, once if a flag is true
//   {{^name}}…{{/name}} once if a flag is false or a list is empty
//
// A section tag alone on its line takes the whole line with it, so templates read like the output.
// Inside a section, names resolve in the list entry first, then outwards. A name with no value is
// an error, never an empty string. Work is bounded: template size, nesting depth, output size.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/result.h"

namespace magnumd::coe::kubernetes {

struct Values;
using ValueList = std::vector<Values>;
struct Value {
  std::variant<std::string, bool, ValueList> v;
};

struct Values {
  std::map<std::string, Value, std::less<>> entries;

  Values& set(std::string name, std::string value);
  Values& set(std::string name, const char* value) {
    return set(std::move(name), std::string(value));
  }
  Values& setFlag(std::string name, bool value);
  Values& setList(std::string name, ValueList list);
  const Value* find(std::string_view name) const;
};

inline constexpr size_t kMaxTemplateBytes = 64 * 1024;
inline constexpr size_t kMaxOutputBytes = 512 * 1024;
inline constexpr int kMaxSectionDepth = 8;

// `name` only labels errors ("cloud-config-init.yaml.tmpl:12: ...").
util::Result<std::string> renderTemplate(std::string_view name, std::string_view text,
                                         const Values& values);

// Quoting used by the filters, exposed for the code that builds values and for tests.
std::string yamlQuote(std::string_view s);
std::string shellQuote(std::string_view s);

// The files under templates/, embedded at build time; nullopt for an unknown name.
std::optional<std::string_view> embeddedTemplate(std::string_view file_name);
// Renders the embedded template `file_name`.
util::Result<std::string> renderEmbedded(std::string_view file_name, const Values& values);

}  // namespace magnumd::coe::kubernetes
