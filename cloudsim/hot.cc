#include "cloudsim/hot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <set>

#include "util/yaml.h"

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::Json;
using util::JsonAlloc;
using util::makeError;

constexpr int kMaxDepth = 64;
const std::set<std::string, std::less<>> kSections = {
    "heat_template_version", "description", "parameter_groups", "parameters", "resources",
    "outputs", "conditions"};
const std::set<std::string, std::less<>> kFunctions = {
    "get_param", "get_resource", "get_attr", "list_join", "str_replace", "str_split",
    "get_file", "map_merge", "list_concat", "str_replace_strict"};

util::Error invalid(std::string message) { return makeError(ErrorCode::BadRequest, std::move(message)); }

std::string_view sv(const Json& v) { return {v.GetString(), v.GetStringLength()}; }

void collectDeps(const Json& v, std::set<std::string>& out, int depth) {
  if (depth > kMaxDepth) return;
  if (v.IsObject()) {
    if (v.MemberCount() == 1) {
      const auto& m = *v.MemberBegin();
      std::string_view key = sv(m.name);
      if (key == "get_resource" && m.value.IsString()) out.emplace(sv(m.value));
      if (key == "get_attr" && m.value.IsArray() && !m.value.Empty() && m.value[0].IsString()) {
        out.emplace(sv(m.value[0]));
      }
    }
    for (const auto& m : v.GetObject()) collectDeps(m.value, out, depth + 1);
  } else if (v.IsArray()) {
    for (const auto& item : v.GetArray()) collectDeps(item, out, depth + 1);
  }
}

util::Status checkType(std::string_view name, std::string_view type) {
  static const std::set<std::string, std::less<>> kTypes = {"string", "number", "comma_delimited_list",
                                                            "json", "boolean"};
  if (kTypes.count(type) == 0) {
    return invalid(fmt::format("Invalid type ({}) for parameter {}: valid types are string, number, "
                               "comma_delimited_list, json, boolean", type, name));
  }
  return {};
}

util::Status coerce(std::string_view name, std::string_view type, const Json& in, Json& out,
                    JsonAlloc& a) {
  auto bad = [&](std::string_view why) {
    return invalid(fmt::format("Parameter '{}' is invalid: {} is not a valid {}{}", name,
                               in.IsString() ? fmt::format("\"{}\"", sv(in)) : util::toJson(in),
                               type, why));
  };
  if (type == "string") {
    if (in.IsString()) out.CopyFrom(in, a);
    else if (in.IsNumber() || in.IsBool()) out = util::str(scalarString(in), a);
    else return bad("");
  } else if (type == "number") {
    if (in.IsNumber()) {
      out.CopyFrom(in, a);
    } else if (in.IsString()) {
      std::string s(sv(in));
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(d)) return bad("");
      if (d == std::floor(d) && std::fabs(d) < 9e15) out.SetInt64(static_cast<int64_t>(d));
      else out.SetDouble(d);
    } else {
      return bad("");
    }
  } else if (type == "comma_delimited_list") {
    out.SetArray();
    if (in.IsString()) {
      std::string_view s = sv(in);
      size_t start = 0;
      while (!s.empty() && start <= s.size()) {
        size_t end = s.find(',', start);
        if (end == std::string_view::npos) end = s.size();
        std::string_view item = s.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        out.PushBack(util::str(item, a), a);
        start = end + 1;
      }
    } else if (in.IsArray()) {
      for (const auto& item : in.GetArray()) {
        if (item.IsObject() || item.IsArray()) return bad(": list items must be scalars");
        out.PushBack(item.IsString() ? Json(item, a) : util::str(scalarString(item), a), a);
      }
    } else if (!in.IsNull()) {
      return bad("");
    }
  } else if (type == "json") {
    if (in.IsString()) {
      if (in.GetStringLength() == 0) {
        out.SetObject();
      } else {
        auto parsed = util::parseJson(sv(in));
        if (!parsed.ok()) return bad(": " + parsed.error().message);
        out.CopyFrom(*parsed, a);
      }
    } else if (in.IsObject() || in.IsArray()) {
      out.CopyFrom(in, a);
    } else {
      return bad("");
    }
  } else if (type == "boolean") {
    if (in.IsBool()) {
      out.SetBool(in.GetBool());
    } else if (in.IsNumber()) {
      out.SetBool(in.GetDouble() != 0);
    } else if (in.IsString()) {
      std::string s(sv(in));
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
      if (s == "true" || s == "yes" || s == "on" || s == "1" || s == "t" || s == "y") out.SetBool(true);
      else if (s == "false" || s == "no" || s == "off" || s == "0" || s == "f" || s == "n") out.SetBool(false);
      else return bad("");
    } else {
      return bad("");
    }
  }
  return {};
}

// The JSON string form Heat uses when a non-string lands in a string context.
std::string asText(const Json& v) { return v.IsString() ? std::string(sv(v)) : (v.IsNumber() || v.IsBool()) ? scalarString(v) : v.IsNull() ? "" : util::toJson(v); }

util::Status evalAt(const Json& in, Json& out, JsonAlloc& a, EvalContext& ctx, int depth);

util::Status evalArgs(const Json& in, Json& out, JsonAlloc& a, EvalContext& ctx, int depth) {
  return evalAt(in, out, a, ctx, depth + 1);
}

util::Status walkPath(Json& value, const Json& args, size_t from, std::string_view fn, JsonAlloc& a) {
  for (size_t i = from; i < args.Size(); ++i) {
    const Json& key = args[static_cast<rapidjson::SizeType>(i)];
    Json next;
    if (value.IsObject() && key.IsString()) {
      auto it = value.FindMember(key);
      if (it == value.MemberEnd()) { value.SetNull(); return {}; }
      next.CopyFrom(it->value, a);
    } else if (value.IsArray() && (key.IsInt64() || key.IsString())) {
      int64_t index = key.IsInt64() ? key.GetInt64() : std::strtoll(std::string(sv(key)).c_str(), nullptr, 10);
      if (index < 0 || index >= static_cast<int64_t>(value.Size())) { value.SetNull(); return {}; }
      next.CopyFrom(value[static_cast<rapidjson::SizeType>(index)], a);
    } else if (value.IsNull()) {
      return {};
    } else {
      return invalid(fmt::format("{}: cannot index a {} with {}", fn, util::typeName(value), util::toJson(key)));
    }
    value = std::move(next);
  }
  return {};
}

util::Status callFunction(std::string_view fn, const Json& raw, Json& out, JsonAlloc& a,
                          EvalContext& ctx, int depth) {
  Json args;
  RETURN_IF_ERROR(evalArgs(raw, args, a, ctx, depth));
  if (fn == "get_param") {
    const Json& name = args.IsArray() && !args.Empty() ? args[0] : args;
    if (!name.IsString()) return invalid("get_param: the parameter name must be a string");
    auto it = ctx.params.FindMember(name);
    if (it == ctx.params.MemberEnd()) return invalid(fmt::format("The Parameter ({}) was not provided.", sv(name)));
    out.CopyFrom(it->value, a);
    return args.IsArray() ? walkPath(out, args, 1, fn, a) : util::Status{};
  }
  if (fn == "get_resource") {
    if (!args.IsString()) return invalid("get_resource: argument must be a resource name");
    return ctx.resolver.refId(sv(args), out, a);
  }
  if (fn == "get_attr") {
    if (!args.IsArray() || args.Size() < 2 || !args[0].IsString() || !args[1].IsString()) {
      return invalid("get_attr: arguments must be [resource_name, attribute, path...]");
    }
    RETURN_IF_ERROR(ctx.resolver.attribute(sv(args[0]), sv(args[1]), out, a));
    return walkPath(out, args, 2, fn, a);
  }
  if (fn == "list_join") {
    if (!args.IsArray() || args.Empty() || !args[0].IsString()) return invalid("list_join: arguments must be [delimiter, list, ...]");
    std::string joined;
    bool first = true;
    for (rapidjson::SizeType i = 1; i < args.Size(); ++i) {
      if (args[i].IsNull()) continue;
      if (!args[i].IsArray()) return invalid(fmt::format("list_join: argument {} must be a list, got {}", i, util::typeName(args[i])));
      for (const auto& item : args[i].GetArray()) {
        if (!first) joined += sv(args[0]);
        joined += asText(item);
        first = false;
      }
    }
    out = util::str(joined, a);
    return {};
  }
  if (fn == "str_replace" || fn == "str_replace_strict") {
    const Json* tmpl = util::member(args, "template");
    const Json* params = util::member(args, "params");
    if (tmpl == nullptr || !tmpl->IsString() || params == nullptr || !params->IsObject()) {
      return invalid(fmt::format("{}: arguments must be {{template: string, params: map}}", fn));
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& m : params->GetObject()) pairs.emplace_back(std::string(sv(m.name)), asText(m.value));
    // Longer keys first, as Heat does, so "$var_long" wins over "$var".
    std::sort(pairs.begin(), pairs.end(), [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
    std::string text(sv(*tmpl));
    for (const auto& [key, value] : pairs) {
      if (key.empty()) continue;
      bool found = false;
      for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + value.size())) {
        text.replace(pos, key.size(), value);
        found = true;
      }
      if (!found && fn == "str_replace_strict") return invalid(fmt::format("str_replace_strict: \"{}\" not found in template", key));
    }
    out = util::str(text, a);
    return {};
  }
  if (fn == "str_split") {
    if (!args.IsArray() || args.Size() < 2 || !args[0].IsString() || !args[1].IsString()) return invalid("str_split: arguments must be [delimiter, string, index?]");
    std::string_view s = sv(args[1]), d = sv(args[0]);
    Json list(rapidjson::kArrayType);
    for (size_t start = 0;;) {
      size_t end = d.empty() ? std::string_view::npos : s.find(d, start);
      list.PushBack(util::str(s.substr(start, end == std::string_view::npos ? s.npos : end - start), a), a);
      if (end == std::string_view::npos) break;
      start = end + d.size();
    }
    if (args.Size() > 2) {
      if (!args[2].IsInt64() || args[2].GetInt64() < 0 || args[2].GetInt64() >= static_cast<int64_t>(list.Size())) return invalid("str_split: index out of range");
      out.CopyFrom(list[static_cast<rapidjson::SizeType>(args[2].GetInt64())], a);
    } else {
      out = std::move(list);
    }
    return {};
  }
  if (fn == "get_file") {
    if (!args.IsString()) return invalid("get_file: argument must be a file name");
    auto it = ctx.files ? ctx.files->find(sv(args)) : Files::const_iterator{};
    if (ctx.files == nullptr || it == ctx.files->end()) return invalid(fmt::format("get_file: no file \"{}\" in the request's files", sv(args)));
    out = util::str(it->second, a);
    return {};
  }
  if (fn == "map_merge" || fn == "list_concat") {
    if (!args.IsArray()) return invalid(fmt::format("{}: argument must be a list", fn));
    bool maps = fn == "map_merge";
    out = maps ? Json(rapidjson::kObjectType) : Json(rapidjson::kArrayType);
    for (auto& item : args.GetArray()) {
      if (item.IsNull()) continue;
      if (maps ? !item.IsObject() : !item.IsArray()) return invalid(fmt::format("{}: every item must be a {}", fn, maps ? "map" : "list"));
      if (maps) {
        for (auto& m : item.GetObject()) {
          auto it = out.FindMember(m.name);
          if (it != out.MemberEnd()) it->value.CopyFrom(m.value, a);
          else out.AddMember(Json(m.name, a), Json(m.value, a), a);
        }
      } else {
        for (auto& v : item.GetArray()) out.PushBack(Json(v, a), a);
      }
    }
    return {};
  }
  return invalid(fmt::format("function {} is not supported by cloudsim", fn));
}

util::Status evalAt(const Json& in, Json& out, JsonAlloc& a, EvalContext& ctx, int depth) {
  if (depth > kMaxDepth) return invalid(fmt::format("template nested deeper than {} levels", kMaxDepth));
  if (in.IsObject()) {
    if (in.MemberCount() == 1 && kFunctions.count(sv(in.MemberBegin()->name)) > 0) {
      return callFunction(sv(in.MemberBegin()->name), in.MemberBegin()->value, out, a, ctx, depth);
    }
    out.SetObject();
    for (const auto& m : in.GetObject()) {
      Json v;
      RETURN_IF_ERROR(evalAt(m.value, v, a, ctx, depth + 1));
      out.AddMember(Json(m.name, a), v, a);
    }
  } else if (in.IsArray()) {
    out.SetArray();
    for (const auto& item : in.GetArray()) {
      Json v;
      RETURN_IF_ERROR(evalAt(item, v, a, ctx, depth + 1));
      out.PushBack(v, a);
    }
  } else {
    out.CopyFrom(in, a);
  }
  return {};
}

}  // namespace

std::string scalarString(const Json& v) {
  if (v.IsString()) return std::string(sv(v));
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsNumber()) return fmt::format("{}", v.GetDouble());
  if (v.IsNull()) return "";
  return util::toJson(v);
}

const Json* Template::resource(std::string_view name) const { return util::member(*resources, name); }

std::vector<std::string> Template::dependencies(std::string_view name) const {
  const Json* r = resource(name);
  std::set<std::string> deps;
  if (r == nullptr) return {};
  collectDeps(*r, deps, 0);
  if (const Json* d = util::member(*r, "depends_on")) {
    if (d->IsString()) deps.emplace(sv(*d));
    if (d->IsArray()) for (const auto& x : d->GetArray()) if (x.IsString()) deps.emplace(sv(x));
  }
  deps.erase(std::string(name));
  return {deps.begin(), deps.end()};
}

util::Result<TemplatePtr> parseTemplateText(std::string_view text) {
  if (text.size() > 512 * 1024) return invalid("Template size exceeds the maximum allowed size (524288 bytes)");
  util::JsonDoc doc;
  if (util::looksLikeYaml(text)) {
    ASSIGN_OR_RETURN(auto docs, util::parseYamlDocuments(text));
    if (docs.size() != 1) return invalid("template: expected exactly one YAML document");
    doc = std::move(docs.front());
  } else {
    ASSIGN_OR_RETURN(doc, util::parseJson(text));
  }
  return parseTemplate(doc);
}

util::Result<TemplatePtr> parseTemplate(const Json& value) {
  if (value.IsString()) return parseTemplateText(sv(value));
  if (!value.IsObject()) return invalid(fmt::format("template must be a map or text, got {}", util::typeName(value)));
  auto t = std::make_shared<Template>();
  t->doc.CopyFrom(value, t->doc.GetAllocator());
  if (util::member(t->doc, "heat_template_version") == nullptr) {
    if (util::member(t->doc, "HeatTemplateFormatVersion") || util::member(t->doc, "AWSTemplateFormatVersion")) {
      return invalid("cloudsim supports HOT templates only (heat_template_version)");
    }
    return invalid("Template format version not found.");
  }
  for (const auto& m : t->doc.GetObject()) {
    if (kSections.count(sv(m.name)) == 0) return invalid(fmt::format("The template section is invalid: {}", sv(m.name)));
  }
  t->description = util::stringMember(t->doc, "description").value_or("");
  t->parameters = util::member(t->doc, "parameters");
  t->outputs = util::member(t->doc, "outputs");
  t->resources = util::member(t->doc, "resources");
  if (t->parameters && !t->parameters->IsObject() && !t->parameters->IsNull()) return invalid("parameters must be a map");
  if (t->outputs && !t->outputs->IsObject() && !t->outputs->IsNull()) return invalid("outputs must be a map");
  static const Json kEmpty(rapidjson::kObjectType);
  if (t->resources == nullptr || t->resources->IsNull()) t->resources = &kEmpty;
  if (!t->resources->IsObject()) return invalid("resources must be a map");
  for (const auto& m : t->resources->GetObject()) {
    std::string name(sv(m.name));
    if (!m.value.IsObject()) return invalid(fmt::format("Resource {}: definition must be a map", name));
    auto type = util::stringMember(m.value, "type");
    if (!type || type->empty()) return invalid(fmt::format("Resource {}: \"type\" must be a non-empty string", name));
    const Json* props = util::member(m.value, "properties");
    if (props && !props->IsObject() && !props->IsNull()) return invalid(fmt::format("Resource {}: properties must be a map", name));
    t->resource_names.push_back(name);
  }
  if (t->parameters && t->parameters->IsObject()) {
    for (const auto& m : t->parameters->GetObject()) {
      auto type = m.value.IsObject() ? util::stringMember(m.value, "type") : std::nullopt;
      if (!type) return invalid(fmt::format("Parameter {}: missing \"type\"", sv(m.name)));
      RETURN_IF_ERROR(checkType(sv(m.name), *type));
    }
  }
  // Dependencies must name real resources and form no cycle.
  for (const auto& name : t->resource_names) {
    for (const auto& dep : t->dependencies(name)) {
      if (t->resource(dep) == nullptr) return invalid(fmt::format("Resource {}: depends on unknown resource {}", name, dep));
    }
  }
  std::map<std::string, int> state;  // 1 visiting, 2 done
  std::function<util::Status(const std::string&)> visit = [&](const std::string& n) -> util::Status {
    if (state[n] == 2) return {};
    if (state[n] == 1) return invalid(fmt::format("Circular Dependency Found: {}", n));
    state[n] = 1;
    for (const auto& d : t->dependencies(n)) RETURN_IF_ERROR(visit(d));
    state[n] = 2;
    return {};
  };
  for (const auto& name : t->resource_names) RETURN_IF_ERROR(visit(name));
  return TemplatePtr(std::move(t));
}

util::Status checkUserParameters(const Template& tmpl, const Json& user) {
  if (!user.IsObject()) return {};
  for (const auto& m : user.GetObject()) {
    if (tmpl.parameters == nullptr || !tmpl.parameters->IsObject() || util::member(*tmpl.parameters, sv(m.name)) == nullptr) {
      return invalid(fmt::format("The Parameter ({}) was not defined in template.", sv(m.name)));
    }
  }
  return {};
}

util::Result<util::JsonDoc> resolveParameters(const Template& tmpl, const Json& user,
                                              const Json* defaults, const Json& pseudo) {
  util::JsonDoc out;
  out.SetObject();
  auto& a = out.GetAllocator();
  if (tmpl.parameters && tmpl.parameters->IsObject()) {
    for (const auto& m : tmpl.parameters->GetObject()) {
      std::string_view name = sv(m.name);
      std::string type = util::stringMember(m.value, "type").value_or("string");
      const Json* given = user.IsObject() ? util::member(user, name) : nullptr;
      if (given == nullptr && defaults && defaults->IsObject()) given = util::member(*defaults, name);
      if (given == nullptr) given = util::member(m.value, "default");
      if (given == nullptr) return invalid(fmt::format("The Parameter ({}) was not provided.", name));
      Json value;
      RETURN_IF_ERROR(coerce(name, type, *given, value, a));
      if (const Json* allowed = util::member(m.value, "constraints"); allowed && allowed->IsArray()) {
        for (const auto& c : allowed->GetArray()) {
          const Json* values = util::member(c, "allowed_values");
          if (values == nullptr || !values->IsArray()) continue;
          bool ok = std::any_of(values->Begin(), values->End(), [&](const Json& v) { return scalarString(v) == scalarString(value); });
          if (!ok) return invalid(fmt::format("Parameter '{}' is invalid: \"{}\" is not an allowed value", name, scalarString(value)));
        }
      }
      out.AddMember(Json(m.name, a), value, a);
    }
  }
  if (pseudo.IsObject()) {
    for (const auto& m : pseudo.GetObject()) out.AddMember(Json(m.name, a), Json(m.value, a), a);
  }
  return out;
}

std::string parameterString(const Json& value) {
  if (value.IsArray()) {
    std::string s;
    for (const auto& item : value.GetArray()) {
      if (!s.empty()) s += ',';
      s += scalarString(item);
    }
    return s;
  }
  if (value.IsBool()) return value.GetBool() ? "True" : "False";
  return scalarString(value);
}

util::Status evaluate(const Json& in, Json& out, JsonAlloc& a, EvalContext& ctx) {
  return evalAt(in, out, a, ctx, 0);
}

void replaceInStrings(Json& value, std::string_view from, std::string_view to, JsonAlloc& a) {
  if (value.IsString()) {
    std::string s(sv(value));
    bool changed = false;
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
      s.replace(pos, from.size(), to);
      changed = true;
    }
    if (changed) value = util::str(s, a);
  } else if (value.IsObject()) {
    for (auto& m : value.GetObject()) replaceInStrings(m.value, from, to, a);
  } else if (value.IsArray()) {
    for (auto& item : value.GetArray()) replaceInStrings(item, from, to, a);
  }
}

}  // namespace magnumd::cloudsim
