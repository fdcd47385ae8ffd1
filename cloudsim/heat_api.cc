// Heat v1 over HTTP: stack create/list/find/show/update/delete, resources, events, outputs,
// mark-unhealthy. Errors use Heat's fault body.
#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>

#include "cloudsim/heat_view.h"
#include "util/yaml.h"

namespace magnumd::cloudsim {
namespace {

using util::Json;

const std::set<std::string, std::less<>> kSubresources = {
    "resources", "events", "outputs", "template", "environment", "files", "actions", "abandon", "snapshots"};

Response notFound(std::string_view what, std::string_view name) {
  return heatError(http::status::not_found, "EntityNotFound", fmt::format("The {} ({}) could not be found.", what, name));
}
Response badRequest(std::string_view message, std::string_view type = "HTTPBadRequest") {
  return heatError(http::status::bad_request, type, message);
}
Response fromError(const util::Error& e) {
  const char* type = "StackValidationFailed";
  switch (e.code) {
    case util::ErrorCode::NotFound: type = "EntityNotFound"; break;
    case util::ErrorCode::Conflict:
    case util::ErrorCode::AlreadyExists: type = "StackExists"; break;
    case util::ErrorCode::Forbidden: type = "Forbidden"; break;
    default: break;
  }
  return heatError(statusOf(e.code), type, e.message);
}

std::string pathTail(const std::vector<std::string>& seg, size_t from) {
  std::string out;
  for (size_t i = from; i < seg.size(); ++i) out += "/" + util::percentEncodeQueryValue(seg[i]);
  return out;
}

Response redirect(HeatCall& hc, std::string_view name, std::string_view id, const std::string& tail) {
  std::string location = stackHref(hc, name, id) + tail;
  std::string raw = hc.call.query.raw();
  if (!raw.empty()) location += "?" + raw;
  Response res = jsonText(http::status::found, fmt::format(
      R"({{"code":"302 Found","message":"The resource was found at <a href=\"{0}\">{0}</a>;\nyou should be redirected automatically.\n\n","title":"Found"}})",
      location));
  res.set(http::field::location, location);
  return res;
}

// ---- create / update input ------------------------------------------------------------------------

util::Status readCommon(const Json& body, StackInput& in, bool creating) {
  auto fail = [](std::string m) { return util::makeError(util::ErrorCode::BadRequest, std::move(m)); };
  if (const Json* t = util::member(body, "template"); t && !t->IsNull()) {
    ASSIGN_OR_RETURN(in.tmpl, parseTemplate(*t));
  } else if (util::member(body, "template_url")) {
    return fail("template_url is not supported by cloudsim: send the template inline");
  }
  in.params.SetObject();
  in.env_defaults.SetObject();
  in.environment.SetObject();
  if (const Json* env = util::member(body, "environment"); env && !env->IsNull()) {
    if (env->IsString()) {
      ASSIGN_OR_RETURN(auto docs, util::parseYamlDocuments(std::string_view(env->GetString(), env->GetStringLength())));
      if (!docs.empty()) in.environment.CopyFrom(docs.front(), in.environment.GetAllocator());
    } else if (env->IsObject()) {
      in.environment.CopyFrom(*env, in.environment.GetAllocator());
    } else {
      return fail("environment must be a map or YAML text");
    }
    if (!in.environment.IsObject()) return fail("environment must be a map");
    if (const Json* p = util::member(in.environment, "parameters"); p && p->IsObject()) in.params.CopyFrom(*p, in.params.GetAllocator());
    if (const Json* d = util::member(in.environment, "parameter_defaults"); d && d->IsObject()) in.env_defaults.CopyFrom(*d, in.env_defaults.GetAllocator());
  }
  if (const Json* p = util::member(body, "parameters"); p && !p->IsNull()) {
    if (!p->IsObject()) return fail(fmt::format("parameters must be a map, got {}", util::typeName(*p)));
    for (const auto& m : p->GetObject()) {
      in.params.RemoveMember(m.name);
      in.params.AddMember(Json(m.name, in.params.GetAllocator()), Json(m.value, in.params.GetAllocator()), in.params.GetAllocator());
    }
  }
  if (const Json* files = util::member(body, "files"); files && !files->IsNull()) {
    if (!files->IsObject()) return fail("files must be a map of name to contents");
    for (const auto& m : files->GetObject()) {
      if (!m.value.IsString()) return fail(fmt::format("files: contents of {} must be a string", m.name.GetString()));
      in.files[m.name.GetString()] = std::string(m.value.GetString(), m.value.GetStringLength());
    }
  }
  if (const Json* tags = util::member(body, "tags"); tags && !tags->IsNull()) {
    std::vector<std::string> list;
    if (tags->IsString()) {
      list = splitComma(std::string_view(tags->GetString(), tags->GetStringLength()));
    } else if (tags->IsArray()) {
      for (const auto& t : tags->GetArray()) if (t.IsString()) list.emplace_back(t.GetString());
    } else {
      return fail("tags must be a comma-separated string");
    }
    for (const auto& t : list) {
      if (t.size() > 80) return fail(fmt::format("Tag \"{}\" is longer than 80 characters", t));
    }
    in.tags = std::move(list);
  }
  if (const Json* t = util::member(body, "timeout_mins"); t && !t->IsNull()) {
    int64_t v = t->IsInt64() ? t->GetInt64() : t->IsString() ? std::strtoll(t->GetString(), nullptr, 10) : -1;
    if (v < 0 || v > 100000) return fail("timeout_mins must be a non-negative integer");
    if (v > 0) in.timeout_mins = static_cast<int>(v);
  }
  if (auto d = util::boolMember(body, "disable_rollback")) in.disable_rollback = *d;
  if (creating && util::member(body, "converge")) return fail("converge flag is only supported in stack update");
  return {};
}

Response createStack(HeatCall& hc) {
  auto body = parseBody(hc.call);
  if (!body.ok()) return badRequest(body.error().message);
  StackInput in;
  auto name = util::stringMember(*body, "stack_name");
  static const std::regex kName("^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$");
  if (!name) return badRequest("The stack_name parameter is required");
  if (!std::regex_match(*name, kName)) {
    return badRequest(fmt::format("Invalid stack name {} must contain only alphanumeric or \"_-.\" characters, must start with alpha and must be 255 characters or less.", *name), "StackValidationFailed");
  }
  in.name = *name;
  if (auto status = readCommon(*body, in, true); !status.ok()) return fromError(status.error());
  if (!in.tmpl) return badRequest("No template specified");
  const Token& t = *hc.call.token;
  Identity& id = hc.sim.identity();
  in.project = hc.project;
  in.user = hc.sim.strings().intern(id.user(t.user).id);
  in.owner = hc.sim.strings().intern(id.user(t.user).name);
  auto slot = hc.heat().create(std::move(in));
  if (!slot.ok()) return fromError(slot.error());
  Stack& st = hc.heat().at(*slot);
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json stack(rapidjson::kObjectType);
  stack.AddMember("id", util::str(st.id, a), a);
  Json links(rapidjson::kArrayType), self(rapidjson::kObjectType);
  self.AddMember("href", util::str(stackHref(hc, st.name, st.id), a), a);
  self.AddMember("rel", "self", a);
  links.PushBack(self, a);
  stack.AddMember("links", links, a);
  doc.AddMember("stack", stack, a);
  Response res = jsonReply(http::status::created, doc);
  res.set(http::field::location, stackHref(hc, st.name, st.id));
  return res;
}

Response updateStack(HeatCall& hc, uint32_t slot, bool patch) {
  auto body = parseBody(hc.call);
  if (!body.ok()) return badRequest(body.error().message);
  StackInput in;
  if (auto status = readCommon(*body, in, false); !status.ok()) return fromError(status.error());
  in.existing = patch || util::boolMember(*body, "existing").value_or(false);
  if (!in.existing && !in.tmpl) return badRequest("No template specified");
  if (const Json* clear = util::member(*body, "clear_parameters"); clear && clear->IsArray()) {
    for (const auto& c : clear->GetArray()) if (c.IsString()) in.clear_parameters.emplace_back(c.GetString());
  }
  auto status = hc.heat().update(slot, std::move(in));
  if (!status.ok()) return fromError(status.error());
  return accepted();
}

// ---- list -------------------------------------------------------------------------------------------

bool statusMatches(const Stack& st, const std::vector<std::string>& wanted) {
  if (wanted.empty()) return true;
  std::string full = statusString(st.action, st.status);
  for (const auto& w : wanted) {
    if (w == full || w == statusName(st.status) || w == actionName(st.action)) return true;
  }
  return false;
}

bool tagsMatch(const Stack& st, const std::vector<std::string>& tags, bool any) {
  for (const auto& t : tags) {
    bool has = std::find(st.tags.begin(), st.tags.end(), t) != st.tags.end();
    if (any && has) return true;
    if (!any && !has) return false;
  }
  return !any;
}

std::vector<std::string> commaValues(const Query& q, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& v : q.all(key)) for (auto& x : splitComma(v)) out.push_back(x);
  return out;
}

Response listStacks(HeatCall& hc) {
  const Query& q = hc.call.query;
  static const std::set<std::string, std::less<>> kKnown = {
      "id", "status", "name", "action", "tenant", "username", "owner_id", "limit", "marker", "sort_keys",
      "sort_dir", "show_deleted", "show_nested", "show_hidden", "with_count", "tags", "tags_any",
      "not_tags", "not_tags_any", "global_tenant"};
  for (const auto& [k, v] : q.items()) {
    if (kKnown.count(k) == 0) return badRequest(fmt::format("Invalid filter parameters [{}]", k));
  }
  auto names = q.all("name"), ids = q.all("id"), actions = q.all("action");
  std::vector<std::string> statuses;
  for (auto& s : q.all("status")) for (auto& x : splitComma(s)) statuses.push_back(x);
  auto tags = commaValues(q, "tags"), tags_any = commaValues(q, "tags_any");
  auto not_tags = commaValues(q, "not_tags"), not_tags_any = commaValues(q, "not_tags_any");
  bool show_deleted = q.get("show_deleted").value_or("false") == "true" || q.get("show_deleted") == "True";
  std::string sort_key = q.get("sort_keys").value_or("creation_time");
  std::string sort_dir = q.get("sort_dir").value_or("desc");
  static const std::set<std::string> kSortKeys = {"stack_name", "stack_status", "creation_time", "updated_time", "created_at", "updated_at"};
  if (kSortKeys.count(sort_key) == 0) return badRequest(fmt::format("Invalid sort key {}: valid keys are stack_name, stack_status, creation_time, updated_time", sort_key));
  if (sort_dir != "asc" && sort_dir != "desc") return badRequest(fmt::format("Invalid sort direction {}: use asc or desc", sort_dir));
  std::optional<int64_t> limit;
  if (auto l = q.get("limit")) {
    char* end = nullptr;
    long long v = std::strtoll(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || v < 0) return badRequest(fmt::format("Only integer is acceptable by 'limit'. Value: {}", *l));
    limit = v;
  }
  const auto& stacks = hc.heat().stacks();
  std::vector<Stack*> matched;
  for (size_t i = 0; i < stacks.size(); ++i) {
    Stack* st = stacks[i].get();
    if (st == nullptr || st->project != hc.project) continue;
    if (!show_deleted && st->action == Action::Delete && st->status == Status::Complete) continue;
    if (!names.empty() && std::find(names.begin(), names.end(), st->name) == names.end()) continue;
    if (!ids.empty() && std::find(ids.begin(), ids.end(), st->id) == ids.end()) continue;
    if (!actions.empty() && std::find(actions.begin(), actions.end(), actionName(st->action)) == actions.end()) continue;
    if (!statusMatches(*st, statuses)) continue;
    if (!tags.empty() && !tagsMatch(*st, tags, false)) continue;
    if (!tags_any.empty() && !tagsMatch(*st, tags_any, true)) continue;
    if (!not_tags.empty() && tagsMatch(*st, not_tags, false)) continue;
    if (!not_tags_any.empty() && tagsMatch(*st, not_tags_any, true)) continue;
    matched.push_back(st);
  }
  bool desc = sort_dir == "desc";
  if (sort_key == "creation_time" || sort_key == "created_at") {
    if (desc) std::reverse(matched.begin(), matched.end());  // already in creation order
  } else {
    auto key = [&](const Stack* s) -> std::string {
      if (sort_key == "stack_name") return s->name;
      if (sort_key == "stack_status") return statusString(s->action, s->status);
      return formatMicros(s->updated == SystemTime{} ? s->created : s->updated, true);
    };
    std::stable_sort(matched.begin(), matched.end(), [&](const Stack* x, const Stack* y) {
      std::string kx = key(x), ky = key(y);
      if (kx != ky) return desc ? kx > ky : kx < ky;
      return desc ? x->seq > y->seq : x->seq < y->seq;
    });
  }
  size_t start = 0;
  if (auto marker = q.get("marker")) {
    auto it = std::find_if(matched.begin(), matched.end(), [&](const Stack* s) { return s->id == *marker; });
    if (it == matched.end()) return notFound("Stack", *marker);
    start = static_cast<size_t>(it - matched.begin()) + 1;
  }
  size_t end = limit ? std::min(matched.size(), start + static_cast<size_t>(*limit)) : matched.size();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json list(rapidjson::kArrayType);
  list.Reserve(static_cast<rapidjson::SizeType>(end > start ? end - start : 0), a);
  for (size_t i = start; i < end; ++i) list.PushBack(stackJson(hc, *matched[i], a, false, false), a);
  doc.AddMember("stacks", list, a);
  if (limit && *limit > 0 && end - start == static_cast<size_t>(*limit)) {
    std::string href = hc.root + "/stacks?";
    for (const auto& [k, v] : q.items()) {
      if (k != "marker") href += util::percentEncodeQueryValue(k) + "=" + util::percentEncodeQueryValue(v) + "&";
    }
    href += "marker=" + matched[end - 1]->id;
    Json links(rapidjson::kArrayType), next(rapidjson::kObjectType);
    next.AddMember("href", util::str(href, a), a);
    next.AddMember("rel", "next", a);
    links.PushBack(next, a);
    doc.AddMember("links", links, a);
  }
  if (q.get("with_count").value_or("false") == "true") doc.AddMember("count", static_cast<uint64_t>(matched.size()), a);
  return jsonReply(http::status::ok, doc);
}

}  // namespace

Response heatStackRoutes(HeatCall& hc, uint32_t slot, Body& body, size_t at);

Response handleHeat(Sim& sim, Call& call) {
  const auto& seg = call.seg;
  if (seg.empty() || (seg.size() == 1 && seg[0] == "v1")) return versionsDocument("heat", call);
  if (seg[0] != "v1") return notFound("resource", seg[0]);
  if (auto denied = sim.requireToken(call, false)) return *denied;
  const std::string& project_id = seg[1];
  const std::string& token_project = sim.identity().project(call.token->project).id;
  if (project_id != token_project && !sim.identity().isAdmin(*call.token)) {
    return heatError(http::status::forbidden, "Forbidden", fmt::format("Tenant mismatch: the token is scoped to {}, the URL names {}", token_project, project_id));
  }
  HeatCall hc{sim, call, sim.strings().intern(project_id), fmt::format("{}/heat-api/v1/{}", call.base, project_id)};
  if (seg.size() == 3 && seg[2] == "build_info" && call.method == "GET") {
    return jsonText(http::status::ok, R"({"api":{"revision":"cloudsim"},"engine":{"revision":"cloudsim"}})");
  }
  if (seg.size() < 3 || seg[2] != "stacks") return notFound("resource", pathTail(seg, 2));
  if (seg.size() == 3) {
    if (call.method == "GET") return listStacks(hc);
    if (call.method == "POST") return createStack(hc);
    return heatError(http::status::method_not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.");
  }
  const std::string& first = seg[3];
  HeatEngine& heat = sim.heat();
  // /stacks/{name_or_id}[/{subresource}...]: Heat's lookup answers with a redirect.
  bool canonical = seg.size() >= 5 && kSubresources.count(seg[4]) == 0;
  if (!canonical) {
    std::optional<uint32_t> slot = heat.findById(first);
    if (slot && heat.at(*slot).project != hc.project) slot.reset();
    if (!slot) slot = heat.findByName(hc.project, first);
    if (slot) return redirect(hc, heat.at(*slot).name, heat.at(*slot).id, pathTail(seg, 4));
    uint32_t nested_slot = 0;
    if (Body* b = heat.findNested(hc.project, first, &nested_slot)) return redirect(hc, b->name, b->id, pathTail(seg, 4));
    return notFound("Stack", first);
  }
  const std::string& id = seg[4];
  auto slot = heat.findById(id);
  if (slot && heat.at(*slot).project == hc.project && heat.at(*slot).name == first) {
    return heatStackRoutes(hc, *slot, heat.at(*slot).body, 5);
  }
  uint32_t nested_slot = 0;
  if (Body* b = heat.findNested(hc.project, id, &nested_slot); b && b->name == first) {
    return heatStackRoutes(hc, nested_slot, *b, 5);
  }
  return notFound("Stack", first);
}

Response heatResourceRoutes(HeatCall& hc, Stack& st, Body& body, uint32_t slot, size_t at);
Response heatEventList(HeatCall& hc, Stack& st, std::string_view resource);

Response heatStackRoutes(HeatCall& hc, uint32_t slot, Body& body, size_t at) {
  const auto& seg = hc.call.seg;
  const std::string& method = hc.call.method;
  Stack& st = hc.heat().at(slot);
  bool nested = &body != &st.body;
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  if (seg.size() == at) {
    if (method == "GET") {
      bool resolve = hc.call.query.get("resolve_outputs").value_or("true") != "false";
      Json stack = stackJson(hc, st, a, true, resolve && !nested);
      if (nested) {
        stack["id"] = util::str(body.id, a);
        stack["stack_name"] = util::str(body.name, a);
        stack["parent"] = util::str(st.id, a);
        stack["links"][0u]["href"] = util::str(stackHref(hc, body.name, body.id), a);
      }
      doc.AddMember("stack", stack, a);
      return jsonReply(http::status::ok, doc);
    }
    if (nested) return badRequest("cloudsim: nested stacks change through their parent stack", "NotSupported");
    if (method == "PATCH" || method == "PUT") return updateStack(hc, slot, method == "PATCH");
    if (method == "DELETE") {
      auto status = hc.heat().remove(slot);
      if (!status.ok()) return fromError(status.error());
      return emptyReply(http::status::no_content);
    }
    return heatError(http::status::method_not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.");
  }
  const std::string& sub = seg[at];
  if (sub == "resources") return heatResourceRoutes(hc, st, body, slot, at + 1);
  if (method != "GET") {
    if (sub == "actions") return badRequest("cloudsim does not support stack actions (check, suspend, resume, cancel_update)", "NotSupported");
    return heatError(http::status::method_not_allowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.");
  }
  if (sub == "events" && seg.size() == at + 1) return heatEventList(hc, st, "");
  if (sub == "outputs") {
    Json outputs;
    hc.heat().outputs(st, outputs, a, seg.size() == at + 2);
    if (seg.size() == at + 1) {
      doc.AddMember("outputs", outputs, a);
      return jsonReply(http::status::ok, doc);
    }
    for (auto& o : outputs.GetArray()) {
      if (o["output_key"] == seg[at + 1].c_str()) {
        Json out(o, a);
        doc.AddMember("output", out, a);
        return jsonReply(http::status::ok, doc);
      }
    }
    return notFound("Output", seg[at + 1]);
  }
  if (sub == "template" && body.tmpl) return jsonReply(http::status::ok, body.tmpl->doc);
  if (sub == "environment") {
    util::JsonDoc env;
    env.CopyFrom(st.environment, env.GetAllocator());
    if (!env.IsObject()) env.SetObject();
    return jsonReply(http::status::ok, env);
  }
  if (sub == "files") {
    for (const auto& [k, v] : st.files) doc.AddMember(util::str(k, a), util::str(v, a), a);
    return jsonReply(http::status::ok, doc);
  }
  return notFound("resource", sub);
}

}  // namespace magnumd::cloudsim
