#include "cloudsim/sim.h"

#include <fmt/format.h>

#include <set>

#include "util/log.h"

namespace magnumd::cloudsim {

namespace {

// Path words that are part of a route, not a variable (for /sim/v1/stats route patterns).
const std::set<std::string, std::less<>> kLiterals = {
    "auth", "tokens", "catalog", "projects", "users", "application_credentials", "domains", "system",
    "stacks", "resources", "events", "outputs", "template", "environment", "files", "actions",
    "servers", "detail", "action", "metadata", "tags", "flavors", "images", "limits", "build_info",
    "os-keypairs", "os-availability-zone", "extensions", "template_versions", "validate", "file"};

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.push_back(util::percentDecode(path.substr(start, end - start), false));
    start = end + 1;
  }
  return out;
}

// "/stacks/{name}/{id}/resources": service version and project prefixes dropped, variables named.
std::string routePattern(std::string_view service, const std::vector<std::string>& seg) {
  size_t skip = 0;
  if (service == "heat") skip = seg.size() >= 2 ? 2 : seg.size();
  if (service == "nova" || service == "keystone" || service == "glance") skip = seg.empty() ? 0 : 1;
  if (service == "sim") skip = 0;
  std::string out;
  for (size_t i = skip; i < seg.size(); ++i) {
    bool stack_name = service == "heat" && i == skip + 1 && seg[skip] == "stacks";
    bool literal = !stack_name && (kLiterals.count(seg[i]) > 0 || service == "sim");
    out += "/";
    if (literal) {
      out += seg[i];
    } else if (stack_name) {
      out += "{name}";
    } else {
      out += "{id}";
    }
  }
  if (out.empty() && !seg.empty() && skip > 0) out = "/" + seg[0];  // a version document
  return out.empty() ? "/" : out;
}

std::string sanitizeHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return "localhost";
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != ':' && c != '-' && c != '[' && c != ']') {
      return "localhost";
    }
  }
  return std::string(host);
}

Response unavailable(std::string_view service, std::string_view message, int status_code) {
  auto status = static_cast<http::status>(status_code);
  if (service == "heat") return heatError(status, "HTTPServiceUnavailable", message);
  if (service == "nova") return novaError(status, message);
  return keystoneError(status, message);
}

}  // namespace

Sim::Sim(SimConfig config, const util::Clock& clock)
    : config_(config),
      clock_(clock),
      ids_(config.seed),
      fault_rng_(config.seed ^ 0x5eed5eed5eedULL),
      identity_(clock, ids_, config.token_ttl, config.max_tokens),
      nova_(config_, clock, ids_, strings_, scheduler_),
      images_(clock),
      keypairs_(clock),
      heat_(config_, clock, ids_, strings_, scheduler_, nova_, faults_),
      kube_(clock, nova_, heat_, faults_) {
  nova_.onServerChange([this](uint32_t slot) { kube_.serverChanged(slot); });
  heat_.overrideOutput("api_address", [this](uint32_t stack) { return kube_.apiAddress(stack); });
  images_.seed();
}

util::Status Sim::loadUsers(const util::Json& doc) {
  RETURN_IF_ERROR(identity_.load(doc));
  users_loaded_ = true;
  return {};
}

void Sim::advance() {
  if (!users_loaded_) {
    identity_.loadDefaults();
    users_loaded_ = true;
  }
  SystemTime now = clock_.now();
  while (auto work = scheduler_.popDue(now)) {
    switch (work->work) {
      case Work::ServerBuilt:
      case Work::ServerRebooted:
      case Work::ServerPurge:
        nova_.onScheduled(*work);
        break;
      default:
        heat_.onScheduled(*work);
        break;
    }
  }
  heat_.flushDirty();
  kube_.flush();
}

std::chrono::milliseconds Sim::latencyFor(const Request& req) {
  std::string_view target(req.target().data(), req.target().size());
  if (faults_.latency_ms == 0 && faults_.latency_jitter_ms == 0) return {};
  if (target.substr(0, 5) == "/sim/" || target.substr(0, 8) == "/healthz") return {};
  double jitter = faults_.latency_jitter_ms > 0 ? fault_rng_.uniform01() * faults_.latency_jitter_ms : 0;
  return std::chrono::milliseconds(faults_.latency_ms + static_cast<uint32_t>(jitter));
}

void Sim::count(std::string_view service, const Call& call) {
  stats_[fmt::format("{} {} {}", service, call.method, routePattern(service, call.seg))]++;
}

Response Sim::loseAnswer(const Call& call, std::string_view service, Response performed) {
  LoseAnswers& lose = faults_.lose_answers;
  std::string_view canonical = service == "keystone" ? "identity" : service == "glance" ? "nova" : service;
  if (lose.count == 0 || (!lose.service.empty() && lose.service != canonical) ||
      (!lose.method.empty() && lose.method != call.method)) {
    return performed;
  }
  --lose.count;
  return unavailable(service,
                     fmt::format("cloudsim: the request was performed (it answered {}) and its "
                                 "answer lost (injected)",
                                 performed.result_int()),
                     lose.status);
}

std::optional<Response> Sim::injectedFault(const Call& call, std::string_view service) {
  if (clock_.now() < faults_.unavailable_until) {
    return unavailable(service, "cloudsim: the API is unavailable (injected outage)", 503);
  }
  std::string_view canonical = service == "keystone" ? "identity" : service == "glance" ? "nova" : service;
  if (faults_.error_rate > 0 && faults_.appliesTo(canonical) && fault_rng_.uniform01() < faults_.error_rate) {
    return unavailable(service, fmt::format("cloudsim: injected error ({} of requests)", faults_.error_rate),
                       faults_.error_status);
  }
  (void)call;
  return std::nullopt;
}

std::optional<Response> Sim::requireToken(Call& call, bool nova_errors) {
  std::string token = call.header("X-Auth-Token");
  const Token* t = token.empty() ? nullptr : identity_.validate(token);
  if (t == nullptr) {
    return keystoneError(http::status::unauthorized, "The request you have made requires authentication.", call.base);
  }
  if (t->project == kNone) {
    const char* msg = "A project-scoped token is required";
    return nova_errors ? novaError(http::status::forbidden, msg) : heatError(http::status::forbidden, "Forbidden", msg);
  }
  call.token = t;
  return std::nullopt;
}

Response Sim::handle(const Request& req, bool tls) {
  advance();
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  Call call{req, std::string(req.method_string()), {}, Query(q == std::string_view::npos ? "" : target.substr(q + 1)),
            fmt::format("{}://{}", tls ? "https" : "http", sanitizeHost(std::string(req[http::field::host]))),
            nullptr, ""};
  Response res = route(call, path);
  kube_.flush();  // servers deleted by this request leave their cluster now
  res.set("X-Openstack-Request-Id", fmt::format("req-{}", eventId(++requests_)));
  return res;
}

Response Sim::route(Call& call, std::string_view path) {
  struct Prefix {
    std::string_view prefix, service;
  };
  static constexpr Prefix kPrefixes[] = {
      {"/identity", "keystone"}, {"/heat-api", "heat"}, {"/compute", "nova"}, {"/image", "glance"},
      {"/sim/v1", "sim"}};
  if (path == "/healthz") return jsonText(http::status::ok, R"({"status":"ok"})");
  for (const auto& p : kPrefixes) {
    if (path.substr(0, p.prefix.size()) != p.prefix) continue;
    std::string_view rest = path.substr(p.prefix.size());
    if (!rest.empty() && rest.front() != '/') continue;
    call.seg = splitPath(rest);
    count(p.service, call);
    if (p.service == "sim") return handleSimApi(*this, call);
    if (auto fault = injectedFault(call, p.service)) return *fault;
    Response res = p.service == "keystone" ? handleIdentity(*this, call)
                   : p.service == "heat"   ? handleHeat(*this, call)
                   : p.service == "glance" ? handleGlance(*this, call)
                                           : handleNova(*this, call);
    return loseAnswer(call, p.service, std::move(res));
  }
  if (path == "/" || path.empty()) {
    return jsonText(http::status::ok, fmt::format(
        R"({{"services":{{"identity":"{0}/identity/v3","orchestration":"{0}/heat-api/v1/{{project_id}}","compute":"{0}/compute/v2.1","sim":"{0}/sim/v1"}}}})",
        call.base));
  }
  return keystoneError(http::status::not_found, fmt::format("cloudsim has no service at {}", path));
}

Response versionsDocument(std::string_view service, const Call& call) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  auto link = [&](const std::string& href) {
    util::Json links(rapidjson::kArrayType);
    util::Json l(rapidjson::kObjectType);
    l.AddMember("href", util::str(href, a), a);
    l.AddMember("rel", "self", a);
    links.PushBack(l, a);
    return links;
  };
  bool root = call.seg.empty();
  if (service == "keystone") {
    util::Json v(rapidjson::kObjectType);
    v.AddMember("id", "v3.14", a);
    v.AddMember("status", "stable", a);
    v.AddMember("updated", "2020-04-07T00:00:00Z", a);
    v.AddMember("links", link(call.base + "/identity/v3/"), a);
    util::Json media(rapidjson::kArrayType), m(rapidjson::kObjectType);
    m.AddMember("base", "application/json", a);
    m.AddMember("type", "application/vnd.openstack.identity-v3+json", a);
    media.PushBack(m, a);
    v.AddMember("media-types", media, a);
    if (!root) {
      doc.AddMember("version", v, a);
      return jsonReply(http::status::ok, doc);
    }
    util::Json values(rapidjson::kArrayType);
    values.PushBack(v, a);
    util::Json versions(rapidjson::kObjectType);
    versions.AddMember("values", values, a);
    doc.AddMember("versions", versions, a);
    return jsonReply(http::status::multiple_choices, doc);
  }
  if (service == "nova") {
    util::Json v(rapidjson::kObjectType);
    v.AddMember("id", "v2.1", a);
    v.AddMember("links", link(call.base + "/compute/v2.1/"), a);
    util::Json media(rapidjson::kArrayType), m(rapidjson::kObjectType);
    m.AddMember("base", "application/json", a);
    m.AddMember("type", "application/vnd.openstack.compute+json;version=2.1", a);
    media.PushBack(m, a);
    v.AddMember("media-types", media, a);
    v.AddMember("status", "CURRENT", a);
    v.AddMember("version", "2.96", a);
    v.AddMember("min_version", "2.1", a);
    v.AddMember("updated", "2013-07-23T11:33:21Z", a);
    if (!root) {
      doc.AddMember("version", v, a);
    } else {
      util::Json versions(rapidjson::kArrayType);
      versions.PushBack(v, a);
      doc.AddMember("versions", versions, a);
    }
    return jsonReply(http::status::ok, doc);
  }
  util::Json v(rapidjson::kObjectType);
  v.AddMember("status", "CURRENT", a);
  v.AddMember("id", "v1.0", a);
  v.AddMember("links", link(call.base + "/heat-api/v1/"), a);
  util::Json versions(rapidjson::kArrayType);
  versions.PushBack(v, a);
  doc.AddMember("versions", versions, a);
  return jsonReply(http::status::multiple_choices, doc);
}

}  // namespace magnumd::cloudsim
