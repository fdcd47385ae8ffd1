#include "cloudsim/heat_view.h"

#include <fmt/format.h>

namespace magnumd::cloudsim {

using util::Json;
using util::JsonAlloc;

namespace {

Json linkList(JsonAlloc& a, std::initializer_list<std::pair<std::string, const char*>> items) {
  Json list(rapidjson::kArrayType);
  for (const auto& [href, rel] : items) {
    Json l(rapidjson::kObjectType);
    l.AddMember("href", util::str(href, a), a);
    l.AddMember("rel", util::str(rel, a), a);
    list.PushBack(l, a);
  }
  return list;
}

Json timeOrNull(SystemTime t, JsonAlloc& a) {
  return t == SystemTime{} ? Json() : util::str(formatSeconds(t), a);
}

}  // namespace

std::string stackHref(const HeatCall& hc, std::string_view name, std::string_view id) {
  return fmt::format("{}/stacks/{}/{}", hc.root, name, id);
}

Response accepted() {
  return jsonText(http::status::accepted,
                  R"({"code":"202 Accepted","message":"The request is accepted for processing.","title":"Accepted"})");
}

Json stackJson(HeatCall& hc, Stack& st, JsonAlloc& a, bool show, bool resolve_outputs) {
  const Interner& s = hc.sim.strings();
  Json j(rapidjson::kObjectType);
  std::string description = st.body.tmpl ? st.body.tmpl->description : "";
  j.AddMember("creation_time", timeOrNull(st.created, a), a);
  j.AddMember("deletion_time", timeOrNull(st.deleted, a), a);
  j.AddMember("description", util::str(description, a), a);
  j.AddMember("id", util::str(st.id, a), a);
  j.AddMember("links", linkList(a, {{stackHref(hc, st.name, st.id), "self"}}), a);
  j.AddMember("parent", Json(), a);
  j.AddMember("stack_name", util::str(st.name, a), a);
  j.AddMember("stack_owner", util::str(s.get(st.owner), a), a);
  j.AddMember("stack_status", util::str(statusString(st.action, st.status), a), a);
  j.AddMember("stack_status_reason", util::str(st.reason, a), a);
  j.AddMember("stack_user_project_id", util::str(s.get(st.project), a), a);
  if (st.tags.empty()) {
    j.AddMember("tags", Json(), a);
  } else {
    Json tags(rapidjson::kArrayType);
    for (const auto& t : st.tags) tags.PushBack(util::str(t, a), a);
    j.AddMember("tags", tags, a);
  }
  j.AddMember("updated_time", timeOrNull(st.updated, a), a);
  if (!show) return j;
  j.AddMember("capabilities", Json(rapidjson::kArrayType), a);
  j.AddMember("disable_rollback", st.disable_rollback, a);
  j.AddMember("notification_topics", Json(rapidjson::kArrayType), a);
  bool deleted = st.action == Action::Delete && st.status == Status::Complete;
  if (resolve_outputs && !deleted) {
    Json outputs;
    hc.heat().outputs(st, outputs, a, true);
    j.AddMember("outputs", outputs, a);
  }
  Json params(rapidjson::kObjectType);
  if (st.body.params.IsObject()) {
    const Json* declared = st.body.tmpl ? st.body.tmpl->parameters : nullptr;
    for (const auto& m : st.body.params.GetObject()) {
      // Heat never shows a `hidden: true` parameter's value back.
      const Json* decl = declared && declared->IsObject()
                             ? util::member(*declared, std::string_view(m.name.GetString(),
                                                                        m.name.GetStringLength()))
                             : nullptr;
      bool hidden = decl != nullptr && util::boolMember(*decl, "hidden").value_or(false);
      params.AddMember(Json(m.name, a), util::str(hidden ? "******" : parameterString(m.value), a),
                       a);
    }
  }
  j.AddMember("parameters", params, a);
  j.AddMember("template_description", util::str(description, a), a);
  j.AddMember("timeout_mins", st.timeout_mins ? Json(*st.timeout_mins) : Json(), a);
  return j;
}

Json resourceJson(HeatCall& hc, Stack& st, Body& body, const Resource& r, JsonAlloc& a,
                  std::string_view parent, bool attributes) {
  const Interner& s = hc.sim.strings();
  std::string body_href = stackHref(hc, body.name, body.id);
  Json j(rapidjson::kObjectType);
  j.AddMember("resource_name", util::str(r.name, a), a);
  j.AddMember("logical_resource_id", util::str(r.name, a), a);
  j.AddMember("physical_resource_id", util::str(hc.heat().physicalId(r), a), a);
  j.AddMember("resource_type", util::str(s.get(r.type), a), a);
  j.AddMember("resource_status", util::str(statusString(r.action, r.status), a), a);
  j.AddMember("resource_status_reason", util::str(s.get(r.reason), a), a);
  j.AddMember("creation_time", timeOrNull(r.created, a), a);
  j.AddMember("updated_time", timeOrNull(r.updated == SystemTime{} ? r.created : r.updated, a), a);
  j.AddMember("required_by", Json(rapidjson::kArrayType), a);
  j.AddMember("description", "", a);
  Json links = linkList(a, {{body_href + "/resources/" + r.name, "self"}, {body_href, "stack"}});
  if (r.nested) {
    Json l(rapidjson::kObjectType);
    l.AddMember("href", util::str(stackHref(hc, r.nested->name, r.nested->id), a), a);
    l.AddMember("rel", "nested", a);
    links.PushBack(l, a);
  }
  j.AddMember("links", links, a);
  if (!parent.empty()) j.AddMember("parent_resource", util::str(parent, a), a);
  if (attributes) {
    Json attrs;
    hc.heat().attributes(st, body, r, attrs, a);
    j.AddMember("attributes", attrs, a);
  }
  return j;
}

Json eventJson(HeatCall& hc, Stack& st, const Event& e, JsonAlloc& a) {
  const Interner& s = hc.sim.strings();
  std::string href = stackHref(hc, st.name, st.id);
  const std::string& name = s.get(e.resource_name);
  std::string id = eventId(e.seq);
  std::string physical;
  if (e.server != kNone) {
    const Server& srv = hc.sim.nova().at(e.server);
    physical = srv.purged ? "" : srv.id;
  } else {
    physical = s.get(e.physical);
  }
  Json j(rapidjson::kObjectType);
  j.AddMember("id", util::str(id, a), a);
  j.AddMember("event_time", util::str(formatSeconds(e.time), a), a);
  j.AddMember("resource_name", util::str(name, a), a);
  j.AddMember("logical_resource_id", util::str(name, a), a);
  j.AddMember("physical_resource_id", util::str(physical, a), a);
  j.AddMember("resource_status", util::str(statusString(e.action, e.status), a), a);
  j.AddMember("resource_status_reason", util::str(s.get(e.reason), a), a);
  j.AddMember("resource_type", util::str(s.get(e.type), a), a);
  j.AddMember("links", linkList(a, {{href + "/resources/" + name + "/events/" + id, "self"},
                                    {href + "/resources/" + name, "resource"},
                                    {href, "stack"}}), a);
  if (e.parent != 0) j.AddMember("parent_resource", util::str(s.get(e.parent), a), a);
  return j;
}

}  // namespace magnumd::cloudsim
