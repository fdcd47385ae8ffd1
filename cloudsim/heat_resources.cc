// Heat v1 resources and events endpoints.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "cloudsim/heat_view.h"

namespace magnumd::cloudsim {

using util::Json;

namespace {

Response notFound(std::string_view what, std::string_view name) {
  return heatError(http::status::not_found, "EntityNotFound", fmt::format("The {} ({}) could not be found.", what, name));
}

int depthParam(const Query& q, int* out) {
  auto v = q.get("nested_depth");
  if (!v) return 0;
  char* end = nullptr;
  long d = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || d < 0) return -1;
  *out = static_cast<int>(std::min<long>(d, 16));
  return 0;
}

bool anyOf(const std::vector<std::string>& wanted, std::string_view value) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

void collect(HeatCall& hc, Stack& st, Body& body, int depth, int max_depth, std::string_view parent,
             const Query& q, Json& list, util::JsonAlloc& a) {
  auto types = q.all("type"), names = q.all("name"), statuses = q.all("status"), actions = q.all("action");
  auto ids = q.all("physical_resource_id");
  for (auto& id : q.all("id")) ids.push_back(id);
  for (auto& r : body.resources) {
    std::string full = statusString(r.action, r.status);
    bool status_ok = statuses.empty() || std::any_of(statuses.begin(), statuses.end(), [&](const std::string& s) {
      return s == full || s == statusName(r.status);
    });
    if (anyOf(types, hc.sim.strings().get(r.type)) && anyOf(names, r.name) && status_ok &&
        anyOf(actions, actionName(r.action)) && anyOf(ids, hc.heat().physicalId(r))) {
      list.PushBack(resourceJson(hc, st, body, r, a, parent, false), a);
    }
    if (r.nested && depth < max_depth) collect(hc, st, *r.nested, depth + 1, max_depth, r.name, q, list, a);
  }
}

Resource* findResource(HeatEngine& heat, Body& body, std::string_view name_or_id) {
  for (auto& r : body.resources) {
    if (r.name == name_or_id) return &r;
  }
  for (auto& r : body.resources) {
    if (!name_or_id.empty() && heat.physicalId(r) == name_or_id) return &r;
  }
  return nullptr;
}

// A member of a group found by its physical id anywhere below `body` (the top-level stack is
// convenient to address; Heat itself needs the group's nested stack for this).
Body* bodyOfPhysical(HeatEngine& heat, Body& body, std::string_view id) {
  for (auto& r : body.resources) {
    if (!r.nested) continue;
    if (findResource(heat, *r.nested, id) && heat.physicalId(*findResource(heat, *r.nested, id)) == id) return r.nested.get();
    if (Body* b = bodyOfPhysical(heat, *r.nested, id)) return b;
  }
  return nullptr;
}

}  // namespace

Response heatEventList(HeatCall& hc, Stack& st, std::string_view resource) {
  const Query& q = hc.call.query;
  int max_depth = 0;
  if (depthParam(q, &max_depth) < 0) return heatError(http::status::bad_request, "HTTPBadRequest", "nested_depth must be a non-negative integer");
  auto actions = q.all("resource_action"), statuses = q.all("resource_status");
  auto names = q.all("resource_name"), types = q.all("resource_type");
  if (!resource.empty()) names = {std::string(resource)};
  bool desc = q.get("sort_dir").value_or("asc") == "desc";
  std::optional<uint64_t> marker;
  if (auto m = q.get("marker")) {
    marker = eventSeq(*m);
    if (!marker) return notFound("Event", *m);
  }
  std::optional<size_t> limit;
  if (auto l = q.get("limit")) {
    char* end = nullptr;
    long long v = std::strtoll(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || v < 0) return heatError(http::status::bad_request, "HTTPBadRequest", fmt::format("Only integer is acceptable by 'limit'. Value: {}", *l));
    limit = static_cast<size_t>(v);
  }
  const Interner& s = hc.sim.strings();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json list(rapidjson::kArrayType);
  auto consider = [&](const Event& e) {
    if (limit && list.Size() >= *limit) return false;
    if (marker && (desc ? e.seq >= *marker : e.seq <= *marker)) return true;
    if (e.depth > max_depth) return true;
    if (!anyOf(names, s.get(e.resource_name)) || !anyOf(types, s.get(e.type)) ||
        !anyOf(actions, actionName(e.action)) || !anyOf(statuses, statusName(e.status))) {
      return true;
    }
    list.PushBack(eventJson(hc, st, e, a), a);
    return true;
  };
  if (desc) {
    for (auto it = st.events.rbegin(); it != st.events.rend() && consider(*it); ++it) {}
  } else {
    for (auto it = st.events.begin(); it != st.events.end() && consider(*it); ++it) {}
  }
  doc.AddMember("events", list, a);
  return jsonReply(http::status::ok, doc);
}

Response heatResourceRoutes(HeatCall& hc, Stack& st, Body& body, uint32_t slot, size_t at) {
  const auto& seg = hc.call.seg;
  const std::string& method = hc.call.method;
  HeatEngine& heat = hc.heat();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  if (seg.size() == at) {
    if (method != "GET") return heatError(http::status::method_not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.");
    static const std::set<std::string, std::less<>> kKnown = {"type", "status", "name", "action", "id", "physical_resource_id", "nested_depth", "with_detail"};
    for (const auto& [k, v] : hc.call.query.items()) {
      if (kKnown.count(k) == 0) return heatError(http::status::bad_request, "HTTPBadRequest", fmt::format("Invalid filter parameters [{}]", k));
    }
    int max_depth = 0;
    if (depthParam(hc.call.query, &max_depth) < 0) return heatError(http::status::bad_request, "HTTPBadRequest", "nested_depth must be a non-negative integer");
    Json list(rapidjson::kArrayType);
    collect(hc, st, body, 0, max_depth, "", hc.call.query, list, a);
    doc.AddMember("resources", list, a);
    return jsonReply(http::status::ok, doc);
  }
  const std::string& name = seg[at];
  Body* owner = &body;
  Resource* r = findResource(heat, body, name);
  if (r == nullptr && (owner = bodyOfPhysical(heat, body, name)) != nullptr) r = findResource(heat, *owner, name);
  if (r == nullptr) return notFound("Resource", name);
  if (seg.size() == at + 1) {
    if (method == "GET") {
      doc.AddMember("resource", resourceJson(hc, st, *owner, *r, a, owner == &st.body ? "" : "", true), a);
      return jsonReply(http::status::ok, doc);
    }
    if (method == "PATCH") {
      auto body_json = parseBody(hc.call);
      if (!body_json.ok()) return heatError(http::status::bad_request, "HTTPBadRequest", body_json.error().message);
      if (!body_json->IsObject()) return heatError(http::status::bad_request, "HTTPBadRequest", "body must be a JSON object");
      for (const auto& m : body_json->GetObject()) {
        std::string key(m.name.GetString());
        if (key != "mark_unhealthy" && key != "resource_status_reason") {
          return heatError(http::status::bad_request, "HTTPBadRequest", fmt::format("Invalid keys in resource mark unhealthy {}", key));
        }
      }
      auto flag = util::boolMember(*body_json, "mark_unhealthy");
      if (!flag) return heatError(http::status::bad_request, "HTTPBadRequest", "Missing mandatory (mark_unhealthy) key from mark unhealthy request");
      auto reason = util::stringMember(*body_json, "resource_status_reason").value_or("");
      auto status = heat.markUnhealthy(slot, *owner, r->name, *flag, reason);
      if (!status.ok()) return heatError(statusOf(status.error().code), "EntityNotFound", status.error().message);
      return emptyReply(http::status::ok);
    }
    return heatError(http::status::method_not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.");
  }
  if (seg[at + 1] == "events" && method == "GET") {
    if (seg.size() == at + 2) return heatEventList(hc, st, r->name);
    auto seq = eventSeq(seg[at + 2]);
    for (const auto& e : st.events) {
      if (seq && e.seq == *seq) {
        doc.AddMember("event", eventJson(hc, st, e, a), a);
        return jsonReply(http::status::ok, doc);
      }
    }
    return notFound("Event", seg[at + 2]);
  }
  return notFound("resource", seg[at + 1]);
}

}  // namespace magnumd::cloudsim
