#include "drivers/openstack/heat_parse.h"

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "drivers/openstack/errors.h"
#include "util/json.h"

namespace magnumd::drivers::openstack {

using util::Json;
using util::JsonAlloc;

namespace {

std::string text(const Json& v, std::string_view key) { return util::stringMember(v, key).value_or(""); }

std::optional<util::SystemTime> timeOf(const Json& v, std::string_view key) {
  auto s = util::stringMember(v, key);
  if (!s || s->empty()) return std::nullopt;
  return util::parseRfc3339(*s);
}

// A JSON value as Heat stores parameters: strings as is, anything else as its JSON text.
std::string asText(const Json& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsNull()) return "";
  return util::toJson(v);
}

util::Result<util::JsonDoc> parse(std::string_view body, std::string_view what) {
  auto doc = util::parseJson(body);
  if (!doc.ok()) return malformedResponse(what, doc.error().message);
  if (!doc->IsObject()) return malformedResponse(what, fmt::format("expected an object, got {}", util::typeName(*doc)));
  return doc;
}

util::Result<const Json*> objectAt(const Json& root, std::string_view key, std::string_view what) {
  const Json* v = util::member(root, key);
  if (v == nullptr || !v->IsObject()) {
    return malformedResponse(what, fmt::format("\"{}\" must be an object", key));
  }
  return v;
}

util::Result<const Json*> arrayAt(const Json& root, std::string_view key, std::string_view what) {
  const Json* v = util::member(root, key);
  if (v == nullptr || !v->IsArray()) {
    return malformedResponse(what, fmt::format("\"{}\" must be an array", key));
  }
  return v;
}

std::string linkHref(const Json& object, std::string_view rel) {
  const Json* links = util::member(object, "links");
  if (links == nullptr || !links->IsArray()) return "";
  for (const auto& link : links->GetArray()) {
    if (link.IsObject() && text(link, "rel") == rel) return text(link, "href");
  }
  return "";
}

std::vector<std::string> tagsOf(const Json& v) {
  std::vector<std::string> tags;
  const Json* t = util::member(v, "tags");
  if (t == nullptr) return tags;
  if (t->IsArray()) {
    for (const auto& tag : t->GetArray()) {
      if (tag.IsString()) tags.emplace_back(tag.GetString(), tag.GetStringLength());
    }
  } else if (t->IsString()) {  // tolerate the request form "a,b"
    std::string_view s(t->GetString(), t->GetStringLength());
    while (!s.empty()) {
      auto comma = s.find(',');
      if (auto part = s.substr(0, comma); !part.empty()) tags.emplace_back(part);
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
    }
  }
  return tags;
}

Stack stackOf(const Json& v) {
  Stack s;
  s.ref = {text(v, "stack_name"), text(v, "id")};
  s.status = text(v, "stack_status");
  s.status_reason = text(v, "stack_status_reason");
  s.tags = tagsOf(v);
  s.created = timeOf(v, "creation_time");
  s.updated = timeOf(v, "updated_time");
  if (auto t = util::intMember(v, "timeout_mins")) s.timeout_mins = static_cast<int>(*t);
  if (const Json* params = util::member(v, "parameters"); params && params->IsObject()) {
    for (auto it = params->MemberBegin(); it != params->MemberEnd(); ++it) {
      s.parameters.emplace(it->name.GetString(), asText(it->value));
    }
  }
  if (const Json* outputs = util::member(v, "outputs"); outputs && outputs->IsArray()) {
    for (const auto& o : outputs->GetArray()) {
      if (!o.IsObject()) continue;
      StackOutput out{text(o, "output_key"), "null", text(o, "description"), text(o, "output_error")};
      if (const Json* value = util::member(o, "output_value")) out.value_json = util::toJson(*value);
      s.outputs.push_back(std::move(out));
    }
  }
  return s;
}

StackResource resourceOf(const Json& v) {
  StackResource r;
  r.name = text(v, "resource_name");
  if (r.name.empty()) r.name = text(v, "logical_resource_id");
  r.physical_id = text(v, "physical_resource_id");
  r.type = text(v, "resource_type");
  r.status = text(v, "resource_status");
  r.status_reason = text(v, "resource_status_reason");
  r.parent_resource = text(v, "parent_resource");
  r.updated = timeOf(v, "updated_time");
  if (auto ref = stackRefFromLink(linkHref(v, "stack"))) r.stack = *ref;
  return r;
}

StackEvent eventOf(const Json& v) {
  StackEvent e;
  e.id = text(v, "id");
  e.time = timeOf(v, "event_time");
  e.resource_name = text(v, "resource_name");
  if (e.resource_name.empty()) e.resource_name = text(v, "logical_resource_id");
  e.physical_id = text(v, "physical_resource_id");
  e.resource_type = text(v, "resource_type");
  e.status = text(v, "resource_status");
  e.status_reason = text(v, "resource_status_reason");
  return e;
}

void addStringMap(Json& target, std::string_view key, const std::map<std::string, std::string>& values,
                  JsonAlloc& a) {
  Json object(rapidjson::kObjectType);
  for (const auto& [k, v] : values) object.AddMember(util::str(k, a), util::str(v, a), a);
  target.AddMember(util::str(key, a), std::move(object), a);
}

std::string joinTags(const std::vector<std::string>& tags) { return fmt::format("{}", fmt::join(tags, ",")); }

}  // namespace

std::string stackCreateBody(const StackCreate& r) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("stack_name", util::str(r.name, a), a);
  doc.AddMember("template", util::str(r.template_text, a), a);
  if (!r.files.empty()) addStringMap(doc, "files", r.files, a);
  addStringMap(doc, "parameters", r.parameters, a);
  if (r.timeout_mins) doc.AddMember("timeout_mins", *r.timeout_mins, a);
  doc.AddMember("disable_rollback", r.disable_rollback, a);
  // Heat wants a comma-separated string here, not a JSON array.
  if (!r.tags.empty()) doc.AddMember("tags", util::str(joinTags(r.tags), a), a);
  return util::toJson(doc);
}

std::string stackPatchBody(const StackPatch& p) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  if (p.template_text) doc.AddMember("template", util::str(*p.template_text, a), a);
  if (!p.files.empty()) addStringMap(doc, "files", p.files, a);
  if (!p.parameters.empty()) addStringMap(doc, "parameters", p.parameters, a);
  if (!p.clear_parameters.empty()) {
    Json clear(rapidjson::kArrayType);
    for (const auto& name : p.clear_parameters) clear.PushBack(util::str(name, a), a);
    doc.AddMember("clear_parameters", std::move(clear), a);
  }
  if (p.tags) doc.AddMember("tags", util::str(joinTags(*p.tags), a), a);
  if (p.timeout_mins) doc.AddMember("timeout_mins", *p.timeout_mins, a);
  return util::toJson(doc);
}

std::string markUnhealthyBody(bool unhealthy, std::string_view reason) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("mark_unhealthy", unhealthy, a);
  doc.AddMember("resource_status_reason", util::str(reason, a), a);
  return util::toJson(doc);
}

util::Result<StackRef> parseStackCreateResponse(std::string_view body) {
  constexpr std::string_view what = "heat stack create";
  ASSIGN_OR_RETURN(auto doc, parse(body, what));
  ASSIGN_OR_RETURN(const Json* stack, objectAt(doc, "stack", what));
  StackRef ref;
  ref.id = text(*stack, "id");
  if (ref.id.empty()) return malformedResponse(what, "stack has no \"id\"");
  if (auto link = stackRefFromLink(linkHref(*stack, "self"))) ref.name = link->name;
  return ref;
}

util::Result<Stack> parseStackShowResponse(std::string_view body) {
  constexpr std::string_view what = "heat stack show";
  ASSIGN_OR_RETURN(auto doc, parse(body, what));
  ASSIGN_OR_RETURN(const Json* stack, objectAt(doc, "stack", what));
  Stack s = stackOf(*stack);
  if (s.ref.id.empty()) return malformedResponse(what, "stack has no \"id\"");
  return s;
}

util::Result<Page<Stack>> parseStackListResponse(std::string_view body) {
  constexpr std::string_view what = "heat stack list";
  ASSIGN_OR_RETURN(auto doc, parse(body, what));
  ASSIGN_OR_RETURN(const Json* stacks, arrayAt(doc, "stacks", what));
  Page<Stack> page;
  for (const auto& item : stacks->GetArray()) {
    if (!item.IsObject()) return malformedResponse(what, "a stack is not an object");
    page.items.push_back(stackOf(item));
  }
  page.next_marker = markerFromLink(linkHref(doc, "next"));
  return page;
}

util::Result<std::vector<StackResource>> parseResourceListResponse(std::string_view body) {
  constexpr std::string_view what = "heat resource list";
  ASSIGN_OR_RETURN(auto doc, parse(body, what));
  ASSIGN_OR_RETURN(const Json* resources, arrayAt(doc, "resources", what));
  std::vector<StackResource> out;
  for (const auto& item : resources->GetArray()) {
    if (!item.IsObject()) return malformedResponse(what, "a resource is not an object");
    out.push_back(resourceOf(item));
  }
  return out;
}

util::Result<StackResource> parseResourceShowResponse(std::string_view body) {
  constexpr std::string_view what = "heat resource show";
  ASSIGN_OR_RETURN(auto doc, parse(body, what));
  ASSIGN_OR_RETURN(const Json* resource, objectAt(doc, "resource", what));
  return resourceOf(*resource);
}

util::Result<Page<StackEvent>> parseEventListResponse(std::string_view body) {
  constexpr std::string_view what = "heat event list";
  ASSIGN_OR_RETURN(auto doc, parse(body, what));
  ASSIGN_OR_RETURN(const Json* events, arrayAt(doc, "events", what));
  Page<StackEvent> page;
  for (const auto& item : events->GetArray()) {
    if (!item.IsObject()) return malformedResponse(what, "an event is not an object");
    page.items.push_back(eventOf(item));
  }
  page.next_marker = markerFromLink(linkHref(doc, "next"));
  return page;
}

util::Result<StackEvent> parseEventShowResponse(std::string_view body) {
  constexpr std::string_view what = "heat event show";
  ASSIGN_OR_RETURN(auto doc, parse(body, what));
  ASSIGN_OR_RETURN(const Json* event, objectAt(doc, "event", what));
  return eventOf(*event);
}

util::Result<StackOutput> parseOutputShowResponse(std::string_view body) {
  constexpr std::string_view what = "heat output show";
  ASSIGN_OR_RETURN(auto doc, parse(body, what));
  ASSIGN_OR_RETURN(const Json* o, objectAt(doc, "output", what));
  StackOutput out{text(*o, "output_key"), "null", text(*o, "description"), text(*o, "output_error")};
  if (const Json* value = util::member(*o, "output_value")) out.value_json = util::toJson(*value);
  return out;
}

std::optional<StackRef> stackRefFromLink(std::string_view href) {
  auto parsed = boost::urls::parse_uri_reference(href);
  if (!parsed || href.empty()) return std::nullopt;
  std::vector<std::string> segments;
  for (auto seg : parsed->segments()) segments.push_back(seg);
  for (size_t i = 0; i + 2 < segments.size(); ++i) {
    if (segments[i] == "stacks" && !segments[i + 1].empty() && !segments[i + 2].empty()) {
      return StackRef{segments[i + 1], segments[i + 2]};
    }
  }
  return std::nullopt;
}

std::string markerFromLink(std::string_view href) {
  if (href.empty()) return "";
  auto parsed = boost::urls::parse_uri_reference(href);
  if (!parsed) return "";
  for (auto param : parsed->params()) {
    if (param.key == "marker" && param.has_value) return param.value;
  }
  return "";
}

}  // namespace magnumd::drivers::openstack
