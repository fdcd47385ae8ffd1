// /sim/v1: fault injection and request statistics (not part of OpenStack; documented in README.md).
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "cloudsim/sim.h"

namespace magnumd::cloudsim {
namespace {

using util::Json;

Response simError(http::status status, std::string_view message) { return keystoneError(status, message); }

void addFailNext(Json& out, const char* key, const FailNext& f, util::JsonAlloc& a) {
  Json j(rapidjson::kObjectType);
  j.AddMember("count", f.count, a);
  j.AddMember("reason", util::str(f.reason, a), a);
  out.AddMember(util::str(key, a), j, a);
}

Response faultsJson(Sim& sim) {
  const Faults& f = sim.faults();
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("error_rate", f.error_rate, a);
  doc.AddMember("error_status", f.error_status, a);
  Json services(rapidjson::kArrayType);
  for (const auto& s : f.error_services) services.PushBack(util::str(s, a), a);
  doc.AddMember("error_services", services, a);
  doc.AddMember("latency_ms", f.latency_ms, a);
  doc.AddMember("latency_jitter_ms", f.latency_jitter_ms, a);
  auto remaining = std::chrono::duration<double>(f.unavailable_until - sim.clock().now()).count();
  doc.AddMember("unavailable_seconds", std::max(0.0, remaining), a);
  addFailNext(doc, "fail_stack_create", f.stack_create, a);
  addFailNext(doc, "fail_stack_update", f.stack_update, a);
  addFailNext(doc, "fail_stack_delete", f.stack_delete, a);
  Json lose(rapidjson::kObjectType);
  lose.AddMember("count", f.lose_answers.count, a);
  lose.AddMember("service", util::str(f.lose_answers.service, a), a);
  lose.AddMember("method", util::str(f.lose_answers.method, a), a);
  lose.AddMember("status", f.lose_answers.status, a);
  doc.AddMember("lose_answers", lose, a);
  doc.AddMember("nodes_outlive_servers", f.nodes_outlive_servers, a);
  for (auto [key, list] : {std::pair{"never_join", &f.never_join}, std::pair{"never_ready_images", &f.never_ready_images}}) {
    Json items(rapidjson::kArrayType);
    for (const auto& item : *list) items.PushBack(util::str(item, a), a);
    doc.AddMember(util::str(key, a), items, a);
  }
  return jsonReply(http::status::ok, doc);
}

// A list of 0 to 1,000 non-empty strings of at most 255 characters.
util::Status readNames(const Json& body, const char* key, const char* what, std::vector<std::string>& out) {
  const Json* v = util::member(body, key);
  if (v == nullptr) return {};
  auto bad = [&] {
    return util::makeError(util::ErrorCode::BadRequest,
                           fmt::format("{}: expected a list of up to 1000 {} (non-empty, at most 255 characters each)", key, what));
  };
  if (!v->IsArray() || v->Size() > 1000) return bad();
  std::vector<std::string> names;
  for (const auto& item : v->GetArray()) {
    if (!item.IsString() || item.GetStringLength() == 0 || item.GetStringLength() > 255) return bad();
    names.emplace_back(item.GetString(), item.GetStringLength());
  }
  out = std::move(names);
  return {};
}

util::Status readFailNext(const Json& body, const char* key, FailNext& out) {
  const Json* v = util::member(body, key);
  if (v == nullptr) return {};
  auto count = v->IsObject() ? util::intMember(*v, "count") : std::nullopt;
  if (!count || *count < 0 || *count > 1000000) {
    return util::makeError(util::ErrorCode::BadRequest, fmt::format("{}: expected {{\"count\": N >= 0, \"reason\": \"...\"}}", key));
  }
  out.count = static_cast<uint32_t>(*count);
  out.reason = util::stringMember(*v, "reason").value_or("");
  return {};
}

Response setFaults(Sim& sim, const Call& call) {
  auto body = parseBody(call);
  if (!body.ok()) return simError(http::status::bad_request, body.error().message);
  if (!body->IsObject()) return simError(http::status::bad_request, "body must be a JSON object");
  static const std::set<std::string, std::less<>> kKeys = {
      "error_rate", "error_status", "error_services", "latency_ms", "latency_jitter_ms",
      "unavailable_seconds", "fail_stack_create", "fail_stack_update", "fail_stack_delete",
      "lose_answers", "never_join", "never_ready_images", "nodes_outlive_servers"};
  for (const auto& m : body->GetObject()) {
    if (kKeys.count(std::string_view(m.name.GetString(), m.name.GetStringLength())) == 0) {
      return simError(http::status::bad_request, fmt::format("unknown fault \"{}\"; known: error_rate, error_status, error_services, latency_ms, latency_jitter_ms, unavailable_seconds, fail_stack_create, fail_stack_update, fail_stack_delete, lose_answers, never_join, never_ready_images, nodes_outlive_servers", m.name.GetString()));
    }
  }
  Faults next = sim.faults();
  if (const Json* v = util::member(*body, "error_rate")) {
    if (!v->IsNumber() || v->GetDouble() < 0 || v->GetDouble() > 1) return simError(http::status::bad_request, "error_rate must be a number from 0 to 1");
    next.error_rate = v->GetDouble();
  }
  if (const Json* v = util::member(*body, "error_status")) {
    if (!v->IsInt() || v->GetInt() < 400 || v->GetInt() > 599) return simError(http::status::bad_request, "error_status must be an HTTP status from 400 to 599");
    next.error_status = v->GetInt();
  }
  if (const Json* v = util::member(*body, "error_services")) {
    if (!v->IsArray()) return simError(http::status::bad_request, "error_services must be a list of identity, heat, nova");
    next.error_services.clear();
    for (const auto& s : v->GetArray()) {
      std::string name = s.IsString() ? s.GetString() : "";
      if (name != "identity" && name != "heat" && name != "nova") return simError(http::status::bad_request, fmt::format("error_services: \"{}\" is not one of identity, heat, nova", name));
      next.error_services.push_back(name);
    }
  }
  for (auto [key, target] : {std::pair{"latency_ms", &next.latency_ms}, std::pair{"latency_jitter_ms", &next.latency_jitter_ms}}) {
    if (const Json* v = util::member(*body, key)) {
      if (!v->IsUint() || v->GetUint() > 60000) return simError(http::status::bad_request, fmt::format("{} must be an integer from 0 to 60000", key));
      *target = v->GetUint();
    }
  }
  if (const Json* v = util::member(*body, "unavailable_seconds")) {
    if (!v->IsNumber() || v->GetDouble() < 0 || v->GetDouble() > 86400) return simError(http::status::bad_request, "unavailable_seconds must be a number from 0 to 86400");
    next.unavailable_until = sim.clock().now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(v->GetDouble()));
  }
  for (auto [key, target] : {std::pair{"fail_stack_create", &next.stack_create}, std::pair{"fail_stack_update", &next.stack_update},
                             std::pair{"fail_stack_delete", &next.stack_delete}}) {
    if (auto status = readFailNext(*body, key, *target); !status.ok()) return simError(http::status::bad_request, status.error().message);
  }
  if (const Json* v = util::member(*body, "lose_answers")) {
    auto count = v->IsObject() ? util::intMember(*v, "count") : std::nullopt;
    auto service = v->IsObject() ? util::stringMember(*v, "service").value_or("") : "";
    auto method = v->IsObject() ? util::stringMember(*v, "method").value_or("") : "";
    auto status = v->IsObject() ? util::intMember(*v, "status").value_or(504) : 504;
    if (!count || *count < 0 || *count > 1000000 || status < 400 || status > 599 ||
        (!service.empty() && service != "identity" && service != "heat" && service != "nova")) {
      return simError(http::status::bad_request,
                      "lose_answers: expected {\"count\": N >= 0, \"service\": \"identity|heat|nova\" "
                      "(optional), \"method\": \"POST\" (optional), \"status\": 400..599 (default 504)}");
    }
    next.lose_answers = {static_cast<uint32_t>(*count), service, method, static_cast<int>(status)};
  }
  if (const Json* v = util::member(*body, "nodes_outlive_servers")) {
    if (!v->IsBool()) return simError(http::status::bad_request, "nodes_outlive_servers must be true or false");
    next.nodes_outlive_servers = v->GetBool();
  }
  if (auto status = readNames(*body, "never_join", "server name globs", next.never_join); !status.ok()) {
    return simError(http::status::bad_request, status.error().message);
  }
  if (auto status = readNames(*body, "never_ready_images", "image names or ids", next.never_ready_images); !status.ok()) {
    return simError(http::status::bad_request, status.error().message);
  }
  sim.faults() = next;
  return faultsJson(sim);
}

Json serverSummary(Sim& sim, const Server& s, util::JsonAlloc& a) {
  Json j(rapidjson::kObjectType);
  j.AddMember("id", util::str(s.id, a), a);
  j.AddMember("name", util::str(s.name, a), a);
  j.AddMember("status", util::str(statusOf(s), a), a);
  j.AddMember("project_id", util::str(sim.strings().get(s.project), a), a);
  std::string stack;
  if (s.owner != kNone && s.owner < sim.heat().stacks().size() && sim.heat().stacks()[s.owner]) stack = sim.heat().stacks()[s.owner]->id;
  j.AddMember("stack_id", util::str(stack, a), a);
  return j;
}

Response servers(Sim& sim, Call& call) {
  const auto& seg = call.seg;
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  NovaStore& nova = sim.nova();
  if (seg.size() == 1 && call.method == "GET") {
    size_t limit = 1000;
    if (auto l = call.query.get("limit")) limit = static_cast<size_t>(std::max(0L, std::strtol(l->c_str(), nullptr, 10)));
    Json list(rapidjson::kArrayType);
    for (size_t i = 0; i < nova.slots() && list.Size() < limit; ++i) {
      const Server& s = nova.at(static_cast<uint32_t>(i));
      if (!s.purged && s.vm != VmState::Deleted) list.PushBack(serverSummary(sim, s, a), a);
    }
    doc.AddMember("servers", list, a);
    return jsonReply(http::status::ok, doc);
  }
  if (seg.size() < 2) return simError(http::status::not_found, "unknown /sim/v1 path");
  auto slot = nova.find(seg[1]);
  if (!slot || nova.at(*slot).vm == VmState::Deleted) return simError(http::status::not_found, fmt::format("server {} not found", seg[1]));
  if (seg.size() == 2 && call.method == "DELETE") {
    nova.remove(*slot);
    return emptyReply(http::status::no_content);
  }
  if (seg.size() == 3 && seg[2] == "status" && (call.method == "POST" || call.method == "PUT")) {
    auto body = parseBody(call);
    if (!body.ok()) return simError(http::status::bad_request, body.error().message);
    auto status = util::stringMember(*body, "status");
    if (!status) return simError(http::status::bad_request, "body needs \"status\": one of ERROR, SHUTOFF, ACTIVE, BUILD");
    auto set = nova.setStatus(*slot, *status, util::stringMember(*body, "reason").value_or(""));
    if (!set.ok()) return simError(statusOf(set.error().code), set.error().message);
    sim.heat().flushDirty();
    doc.AddMember("server", serverSummary(sim, nova.at(*slot), a), a);
    return jsonReply(http::status::ok, doc);
  }
  return simError(http::status::method_not_allowed, "unsupported method for this /sim/v1 path");
}

Json strings(const std::vector<std::string>& list, util::JsonAlloc& a) {
  Json out(rapidjson::kArrayType);
  for (const auto& s : list) out.PushBack(util::str(s, a), a);
  return out;
}

Json clusterJson(const KubeCluster& c, SystemTime now, util::JsonAlloc& a) {
  Json j(rapidjson::kObjectType);
  j.AddMember("stack_id", util::str(c.stack_id, a), a);
  j.AddMember("api_address", c.port == 0 ? Json() : util::str(fmt::format("https://127.0.0.1:{}", c.port), a), a);
  j.AddMember("version", util::str(apiServerVersion(c), a), a);
  j.AddMember("kubeadm_config_version", util::str(c.version, a), a);
  j.AddMember("ca_cert_hash", util::str(c.ca_hash, a), a);
  j.AddMember("cluster_info_cas", strings(c.cluster_info.cas, a), a);
  Json members(rapidjson::kArrayType);
  for (const ApiServerMember& m : c.api_servers) members.PushBack(util::str(m.name, a), a);
  j.AddMember("api_servers", members, a);
  j.AddMember("api_running", !c.api_stopped, a);
  j.AddMember("healthz_failing", c.healthz_failing, a);
  Json nodes(rapidjson::kArrayType);
  for (const auto& [name, n] : c.nodes) {
    Json node(rapidjson::kObjectType);
    node.AddMember("name", util::str(name, a), a);
    node.AddMember("server_id", util::str(n.server_id, a), a);
    node.AddMember("role", n.control_plane ? "master" : "worker", a);
    node.AddMember("ready", n.ready, a);
    node.AddMember("unschedulable", n.unschedulable, a);
    node.AddMember("version", util::str(n.version, a), a);
    node.AddMember("trusted_cas", strings(n.trust.trusted, a), a);
    node.AddMember("signing_ca", n.trust.signing.empty() ? Json() : util::str(n.trust.signing, a), a);
    node.AddMember("client_ca", util::str(n.trust.client_ca, a), a);
    nodes.PushBack(node, a);
  }
  j.AddMember("nodes", nodes, a);
  // Ids and expirations only: a token's secret never leaves the cluster's API. An expired one
  // is left out, as the token cleaner would have deleted it by now.
  Json tokens(rapidjson::kArrayType);
  for (const auto& [id, t] : c.tokens.by_id) {
    if (t.expires && *t.expires <= now) continue;
    Json token(rapidjson::kObjectType);
    token.AddMember("id", util::str(id, a), a);
    token.AddMember("secret_name", util::str("kube-system/" + tokenSecretName(id), a), a);
    token.AddMember("expiration",
                    t.expires ? util::str(util::formatRfc3339(*t.expires), a) : Json(), a);
    token.AddMember("resource_version", t.resource_version, a);
    tokens.PushBack(token, a);
  }
  j.AddMember("bootstrap_tokens", tokens, a);
  Json refusals(rapidjson::kArrayType);
  for (const JoinRefusal& r : c.join_refusals) {
    Json refusal(rapidjson::kObjectType);
    refusal.AddMember("server", util::str(r.server, a), a);
    refusal.AddMember("server_id", util::str(r.server_id, a), a);
    refusal.AddMember("time", util::str(util::formatRfc3339(r.time), a), a);
    refusal.AddMember("reason", util::str(r.reason, a), a);
    refusals.PushBack(refusal, a);
  }
  j.AddMember("join_refusals", refusals, a);
  return j;
}

Json roleSummary(const RoleSummary& r, util::JsonAlloc& a) {
  Json j(rapidjson::kObjectType);
  j.AddMember("nodes", r.now.nodes, a);
  j.AddMember("ready", r.now.ready, a);
  j.AddMember("schedulable", r.now.schedulable, a);
  j.AddMember("min_ready", r.min_ready, a);
  j.AddMember("min_schedulable", r.min_schedulable, a);
  return j;
}

// GET /sim/v1/clusters/{stack_id}/timeline[?since=RFC3339 | ?after=SEQ]
Response timeline(Sim& sim, Call& call, const std::string& stack_id) {
  const NodeTimeline* t = sim.kube().timeline(stack_id);
  if (t == nullptr) return simError(http::status::not_found, fmt::format("no simulated Kubernetes cluster ever ran for stack {}", stack_id));
  std::optional<SystemTime> since;
  std::optional<uint64_t> after;
  if (auto v = call.query.get("since")) {
    since = util::parseRfc3339(*v);
    if (!since) return simError(http::status::bad_request, fmt::format("since: \"{}\" is not an RFC 3339 time (2026-01-02T03:04:05.5Z)", *v));
  }
  if (auto v = call.query.get("after")) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || v->front() == '-') return simError(http::status::bad_request, fmt::format("after: \"{}\" is not an event number", *v));
    after = n;
  }
  if (since && after) return simError(http::status::bad_request, "give since or after, not both");
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("stack_id", util::str(stack_id, a), a);
  doc.AddMember("running", sim.kube().byStackId(stack_id) != nullptr, a);
  Json summary(rapidjson::kObjectType);
  summary.AddMember("since", since ? util::str(formatMicros(*since, true), a) : Json(), a);
  summary.AddMember("after", after ? Json(static_cast<uint64_t>(*after)) : Json(), a);
  summary.AddMember("masters", roleSummary(t->summary(true, since, after), a), a);
  summary.AddMember("workers", roleSummary(t->summary(false, since, after), a), a);
  doc.AddMember("summary", summary, a);
  doc.AddMember("last_seq", t->lastSeq(), a);
  doc.AddMember("dropped", t->dropped(), a);
  Json events(rapidjson::kArrayType);
  for (const TimelineEvent& e : t->events()) {
    if ((after && e.seq <= *after) || (since && e.time < *since)) continue;
    Json j(rapidjson::kObjectType);
    j.AddMember("seq", e.seq, a);
    j.AddMember("time", util::str(formatMicros(e.time, true), a), a);
    j.AddMember("node", util::str(e.node, a), a);
    j.AddMember("role", e.master ? "master" : "worker", a);
    j.AddMember("event", util::str(timelineEventName(e.type), a), a);
    j.AddMember("ready", e.ready, a);
    j.AddMember("version", util::str(e.version, a), a);
    j.AddMember("ready_masters", e.after.masters.ready, a);
    j.AddMember("ready_workers", e.after.workers.ready, a);
    events.PushBack(j, a);
  }
  doc.AddMember("events", events, a);
  return jsonReply(http::status::ok, doc);
}

// /sim/v1/clusters[/{stack_id}[/nodes/{name} | /timeline]]: the simulated kube-apiservers, their
// faults and their node timelines.
Response clusters(Sim& sim, Call& call) {
  const auto& seg = call.seg;
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  if (seg.size() == 1 && call.method == "GET") {
    Json list(rapidjson::kArrayType);
    for (const auto& [slot, c] : sim.kube().all())
      list.PushBack(clusterJson(*c, sim.clock().now(), a), a);
    doc.AddMember("clusters", list, a);
    return jsonReply(http::status::ok, doc);
  }
  if (seg.size() == 3 && seg[2] == "timeline") {
    if (call.method != "GET") return simError(http::status::method_not_allowed, "the timeline is read with GET");
    return timeline(sim, call, seg[1]);
  }
  KubeCluster* c = seg.size() >= 2 ? sim.kube().byStackId(seg[1]) : nullptr;
  if (c == nullptr) return simError(http::status::not_found, fmt::format("no simulated Kubernetes cluster for stack {}", seg.size() >= 2 ? seg[1] : ""));
  bool write = call.method == "POST" || call.method == "PUT" || call.method == "PATCH";
  if (!write && call.method != "GET") return simError(http::status::method_not_allowed, "unsupported method for this /sim/v1 path");
  util::JsonDoc body;
  if (write) {
    auto parsed = parseBody(call);
    if (!parsed.ok() || !parsed->IsObject()) return simError(http::status::bad_request, "body must be a JSON object");
    body = std::move(*parsed);
  }
  if (seg.size() == 2) {
    if (write) {
      for (const auto& m : body.GetObject()) {
        std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if ((key != "api_running" && key != "healthz_failing") || !m.value.IsBool()) {
          return simError(http::status::bad_request, fmt::format("\"{}\": expected api_running or healthz_failing, true or false", key));
        }
      }
      if (auto healthz = util::boolMember(body, "healthz_failing")) c->healthz_failing = *healthz;
      if (auto running = util::boolMember(body, "api_running")) {
        auto status = sim.kube().setApiRunning(*c, *running);
        if (!status.ok()) return simError(http::status::conflict, status.error().message);
      }
    }
    doc.AddMember("cluster", clusterJson(*c, sim.clock().now(), a), a);
    return jsonReply(http::status::ok, doc);
  }
  if (seg.size() == 4 && seg[2] == "nodes" && write) {
    auto ready = util::boolMember(body, "ready");
    if (!ready || body.MemberCount() != 1) return simError(http::status::bad_request, "body must be {\"ready\": true|false}");
    auto status = sim.kube().setNodeReady(*c, seg[3], *ready);
    if (!status.ok()) return simError(statusOf(status.error().code), status.error().message);
    doc.AddMember("cluster", clusterJson(*c, sim.clock().now(), a), a);
    return jsonReply(http::status::ok, doc);
  }
  return simError(http::status::not_found, "unknown /sim/v1/clusters path; see cloudsim/README.md");
}

}  // namespace

Response handleSimApi(Sim& sim, Call& call) {
  const auto& seg = call.seg;
  if (seg.empty()) return simError(http::status::not_found, "see cloudsim/README.md for the /sim/v1 API");
  if (seg[0] == "stats" && seg.size() == 1) {
    if (call.method == "DELETE") {
      sim.stats().clear();
      return emptyReply(http::status::no_content);
    }
    util::JsonDoc doc;
    doc.SetObject();
    auto& a = doc.GetAllocator();
    Json requests(rapidjson::kObjectType);
    uint64_t total = 0;
    for (const auto& [k, v] : sim.stats()) {
      if (k.rfind("sim ", 0) == 0) continue;
      Json key = util::str(k, a);
      requests.AddMember(key, v, a);
      total += v;
    }
    doc.AddMember("requests", requests, a);
    doc.AddMember("total", total, a);
    doc.AddMember("stacks", static_cast<uint64_t>(sim.heat().liveStacks()), a);
    doc.AddMember("servers", static_cast<uint64_t>(sim.nova().liveCount()), a);
    doc.AddMember("tokens", static_cast<uint64_t>(sim.identity().tokenCount()), a);
    return jsonReply(http::status::ok, doc);
  }
  if (seg[0] == "faults" && seg.size() == 1) {
    if (call.method == "GET") return faultsJson(sim);
    if (call.method == "DELETE") {
      sim.faults() = Faults{};
      return faultsJson(sim);
    }
    if (call.method == "POST" || call.method == "PUT" || call.method == "PATCH") return setFaults(sim, call);
  }
  if (seg[0] == "servers") return servers(sim, call);
  if (seg[0] == "clusters") return clusters(sim, call);
  if (seg[0] == "stacks" && seg.size() == 2 && call.method == "DELETE") {
    auto slot = sim.heat().findById(seg[1]);
    if (!slot) return simError(http::status::not_found, fmt::format("stack {} not found", seg[1]));
    auto status = sim.heat().remove(*slot);
    if (!status.ok()) return simError(statusOf(status.error().code), status.error().message);
    return emptyReply(http::status::no_content);
  }
  return simError(http::status::not_found, "unknown /sim/v1 path; see cloudsim/README.md");
}

}  // namespace magnumd::cloudsim
