#include "cli/explain.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

#include "api/schema.h"
#include "cli/kinds.h"

namespace magnumd::cli {

namespace {

using util::Json;

// The schemas as /openapi/v3/apis/container-infra/v1 carries them, built once.
const Json& schemas() {
  static const util::JsonDoc kSchemas = [] {
    util::JsonDoc doc(rapidjson::kObjectType);
    api::schema::addDefinitions(doc, doc.GetAllocator(), api::schema::Dialect::V3);
    return doc;
  }();
  return kSchemas;
}

std::string text(const Json& schema, const char* member) {
  const Json* v = util::member(schema, member);
  return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : "";
}

// The schema a "$ref" names, or the schema itself.
const Json& resolve(const Json& schema) {
  std::string ref = text(schema, "$ref");
  constexpr std::string_view kPrefix = "#/components/schemas/";
  if (ref.rfind(kPrefix, 0) == 0) {
    if (const Json* target = util::member(schemas(), ref.substr(kPrefix.size()))) return *target;
  }
  return schema;
}

const Json* objectMember(const Json& schema, const char* name) {
  const Json* v = util::member(schema, name);
  return v != nullptr && v->IsObject() ? v : nullptr;
}

const Json* onlyAllOf(const Json& schema) {
  const Json* all = util::member(schema, "allOf");
  return all != nullptr && all->IsArray() && all->Size() == 1 ? &(*all)[0] : nullptr;
}

// kubectl explain's names for types: string, integer, []Object, map[string]string, ObjectMeta.
std::string typeName(const Json& schema) {
  if (const Json* items = objectMember(schema, "items")) return "[]" + typeName(*items);
  if (const Json* values = objectMember(schema, "additionalProperties")) {
    return "map[string]" + typeName(*values);
  }
  if (const Json* one = onlyAllOf(schema); one != nullptr && !schema.HasMember("properties")) {
    return typeName(*one);
  }
  std::string ref = text(schema, "$ref");
  if (!ref.empty()) {
    std::string type = text(resolve(schema), "type");
    if (!type.empty() && type != "object") return type;
    return ref.substr(ref.rfind('.') + 1);
  }
  std::string type = text(schema, "type");
  return type.empty() || type == "object" ? "Object" : type;
}

// Greedy word wrap at `width`, each line indented by `indent` spaces.
std::string wrap(std::string_view text, size_t width, size_t indent) {
  std::string out;
  const std::string pad(indent, ' ');
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string_view paragraph =
        text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    std::string line;
    size_t pos = 0;
    while (pos < paragraph.size()) {
      size_t next = paragraph.find(' ', pos);
      std::string_view word =
          paragraph.substr(pos, next == std::string_view::npos ? paragraph.npos : next - pos);
      pos = next == std::string_view::npos ? paragraph.size() : next + 1;
      if (word.empty()) continue;
      if (!line.empty() && line.size() + 1 + word.size() > width) {
        out += pad + line + "\n";
        line.clear();
      }
      line += line.empty() ? std::string(word) : " " + std::string(word);
    }
    if (!line.empty()) out += pad + line + "\n";
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

// A schema's description, then those of what it refers to (kubectl's "description" template).
std::string description(const Json& schema) {
  const Json& resolved = resolve(schema);
  std::string out = text(resolved, "description");
  auto add = [&](const Json& other) {
    std::string more = description(other);
    if (more.empty()) return;
    out += out.empty() ? more : "\n" + more;
  };
  if (const Json* all = util::member(resolved, "allOf"); all != nullptr && all->IsArray()) {
    for (const auto& one : all->GetArray()) add(one);
  }
  if (const Json* items = objectMember(resolved, "items")) add(*items);
  if (const Json* values = objectMember(resolved, "additionalProperties")) add(*values);
  return out;
}

std::vector<std::string> enumOf(const Json& schema) {
  std::vector<std::string> out;
  const Json* values = util::member(schema, "enum");
  if (values == nullptr || !values->IsArray()) return out;
  for (const auto& v : values->GetArray()) {
    std::string s = v.IsString() ? v.GetString() : util::toJson(v);
    out.push_back(s.empty() ? "\"\"" : s);
  }
  return out;
}

// One field of an object, and the schema that lists it (and says whether it is required).
struct Field {
  const Json* schema;
  const Json* holder;
};

// The fields of a schema, following references, allOf, list items and map values; sorted by
// name as kubectl lists them.
std::map<std::string, Field> fieldsOf(const Json& schema) {
  std::map<std::string, Field> out;
  const Json& resolved = resolve(schema);
  if (const Json* props = objectMember(resolved, "properties")) {
    for (const auto& m : props->GetObject())
      out.emplace(m.name.GetString(), Field{&m.value, &resolved});
  }
  if (const Json* all = util::member(resolved, "allOf"); all != nullptr && all->IsArray()) {
    for (const auto& one : all->GetArray()) out.merge(fieldsOf(one));
  }
  if (const Json* items = objectMember(resolved, "items")) out.merge(fieldsOf(*items));
  if (const Json* values = objectMember(resolved, "additionalProperties")) {
    out.merge(fieldsOf(*values));
  }
  return out;
}

bool required(const Json& holder, const std::string& name) {
  const Json* list = util::member(holder, "required");
  if (list == nullptr || !list->IsArray()) return false;
  return std::any_of(list->GetArray().begin(), list->GetArray().end(),
                     [&](const Json& v) { return v.IsString() && name == v.GetString(); });
}

// kubectl's FIELDS list: name, type, -required-, the first enum values, the description.
void fieldList(const Json& schema, int level, bool recursive, int depth, std::string& out) {
  if (depth > 16) return;  // the schemas are trees; this only guards a malformed one
  const std::string indent(static_cast<size_t>(level) * 2, ' ');
  for (const auto& [name, field] : fieldsOf(schema)) {
    out += fmt::format("{}{}\t<{}>{}", indent, name, typeName(*field.schema),
                       required(*field.holder, name) ? " -required-" : "");
    auto values = enumOf(*field.schema);
    if (!values.empty() && !recursive) {
      std::vector<std::string> shown(values.begin(),
                                     values.begin() + std::min<size_t>(values.size(), 4));
      out += fmt::format("\n{}enum: {}{}", indent, fmt::join(shown, ", "),
                         values.size() > shown.size() ? ", ...." : "");
    }
    out += "\n";
    if (recursive) {
      fieldList(*field.schema, level + 1, true, depth + 1, out);
      continue;
    }
    std::string about = text(*field.schema, "description");
    out += wrap(about.empty() ? "<no description>" : about, 78 - indent.size(), indent.size() + 2);
    out += "\n";
  }
}

// Follows `path` from `schema` as kubectl does: a property of the schema, else of its list
// items or map values, else of what allOf refers to.
const Json* follow(const Json& schema, std::string_view name) {
  const Json& resolved = resolve(schema);
  if (const Json* props = objectMember(resolved, "properties")) {
    if (const Json* field = util::member(*props, name)) return field;
  }
  if (const Json* items = objectMember(resolved, "items")) return follow(*items, name);
  if (const Json* values = objectMember(resolved, "additionalProperties")) {
    return follow(*values, name);
  }
  if (const Json* all = util::member(resolved, "allOf"); all != nullptr && all->IsArray()) {
    for (const auto& one : all->GetArray()) {
      if (const Json* field = follow(one, name)) return field;
    }
  }
  return nullptr;
}

std::vector<std::string> split(std::string_view target) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = target.find('.', start);
    out.emplace_back(
        target.substr(start, dot == std::string_view::npos ? target.npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

// Text in a markdown table cell: no column breaks, no HTML tags.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '<') {
      out += "&lt;";
    } else {
      out += c;
    }
  }
  return out;
}

// Rows of the markdown reference: every field under `schema`, depth first in declaration order.
void referenceRows(const Json& schema, const std::string& path, std::string& out) {
  const Json* props = objectMember(resolve(schema), "properties");
  if (props == nullptr) return;
  for (const auto& m : props->GetObject()) {
    const Json& field = m.value;
    std::string name = path + m.name.GetString();
    std::string type = typeName(field);
    if (std::string format = text(field, "format"); !format.empty() && format != "int64") {
      type += fmt::format(" ({})", format);
    }
    auto values = enumOf(field);
    if (!values.empty()) {
      std::vector<std::string> quoted;
      for (const auto& v : values) quoted.push_back(fmt::format("`{}`", v));
      type += fmt::format(": {}", fmt::join(quoted, ", "));
    }
    out += fmt::format("| `{}` | {} | {} |\n", name, type, cell(text(field, "description")));
    // Lists of records and records nest; a spec's labels are listed once, in their own table.
    bool labels = m.name == "labels" && objectMember(field, "properties") != nullptr;
    if (labels) continue;
    if (const Json* items = objectMember(field, "items")) {
      referenceRows(*items, name + "[].", out);
    } else {
      referenceRows(field, name + ".", out);
    }
  }
}

}  // namespace

util::Result<std::string> explain(std::string_view target, bool recursive) {
  std::vector<std::string> path = split(target);
  ASSIGN_OR_RETURN(api::Kind kind, resolveKind(path.front()));
  path.erase(path.begin());
  if (!path.empty() && path.front() == api::kApiGroup) path.erase(path.begin());
  const api::KindInfo& info = api::kindInfo(kind);
  const Json* schema = util::member(schemas(), api::schema::definitionName(kind));
  if (schema == nullptr) {
    return util::makeError(util::ErrorCode::NotFound,
                           fmt::format("no schema for kind {}", info.name));
  }
  std::string out =
      fmt::format("GROUP:      {}\nKIND:       {}\nVERSION:    v1\n\n", api::kApiGroup, info.name);
  std::string walked(info.singular);
  for (const auto& name : path) {
    const Json* field = name.empty() ? nullptr : follow(*schema, name);
    if (field == nullptr) {
      return util::makeError(util::ErrorCode::NotFound,
                             fmt::format("field \"{}\" does not exist in {}", name, walked));
    }
    walked += "." + name;
    schema = field;
  }
  if (!path.empty()) {
    out += fmt::format("FIELD: {} <{}>\n", path.back(), typeName(*schema));
    auto values = enumOf(*schema);
    if (!values.empty()) {
      out += "ENUM:\n";
      for (const auto& v : values) out += "    " + v + "\n";
    }
    out += "\n";
  }
  std::string about = description(*schema);
  out += "DESCRIPTION:\n" + wrap(about.empty() ? "<empty>" : about, 76, 4);
  std::string fields;
  fieldList(*schema, 1, recursive, 0, fields);
  if (!fields.empty()) out += "\nFIELDS:\n" + fields;
  return out;
}

std::string fieldReference() {
  std::string out = std::string(kReferenceBegin) + "\n\n";
  for (const auto& info : api::allKinds()) {
    const Json& schema = schemas()[api::schema::definitionName(info.kind).c_str()];
    out += fmt::format("### {}\n\n{}\n\n", info.name, text(schema, "description"));
    out += "| field | type | description |\n|---|---|---|\n";
    const Json& props = schema["properties"];
    for (const char* part : {"spec", "status"}) {
      out += fmt::format("| `{}` | {} | {} |\n", part, typeName(props[part]),
                         cell(text(props[part], "description")));
      referenceRows(props[part], std::string(part) + ".", out);
    }
    out += "\n";
  }
  out += "### Labels\n\n";
  out +=
      "The label keys magnumd knows, in `spec.labels` of a ClusterTemplate, Cluster or "
      "NodeGroup. Other keys pass through to the driver unchecked.\n\n";
  out += "| label | values | description |\n|---|---|---|\n";
  const Json& labels = schemas()[api::schema::definitionName(api::Kind::ClusterTemplate).c_str()]
                                ["properties"]["spec"]["properties"]["labels"]["properties"];
  for (const auto& m : labels.GetObject()) {
    auto values = enumOf(m.value);
    std::vector<std::string> quoted;
    for (const auto& v : values) quoted.push_back(fmt::format("`{}`", v));
    out += fmt::format("| `{}` | {} | {} |\n", m.name.GetString(),
                       quoted.empty() ? "string" : fmt::format("{}", fmt::join(quoted, ", ")),
                       cell(text(m.value, "description")));
  }
  out += "\n" + std::string(kReferenceEnd) + "\n";
  return out;
}

}  // namespace magnumd::cli
