// Magnum v1's certificates, stats and mservices: a cluster's CA and CSR signing through the
// same credential handlers as /apis, CA rotation as a bump of spec.caGeneration, counts per
// project, and the controllers' heartbeat shown as Magnum shows its conductor.
#include <fmt/format.h>

#include <set>

#include "server/magnum_api.h"
#include "server/magnum_call.h"
#include "server/magnum_views.h"
#include "util/time.h"

namespace magnumd::server::magnum {
namespace {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::Json;
using util::makeError;

constexpr Microversion kCaRotation{1, 5};
constexpr Microversion kCredentialRotation{1, 12};

void addLinks(Call::Doc& doc, const Call& call, const std::string& uuid) {
  auto& a = doc.GetAllocator();
  Json links(rapidjson::kArrayType);
  for (auto [rel, prefix] : {std::pair{"self", "/v1/"}, std::pair{"bookmark", "/"}}) {
    Json link(rapidjson::kObjectType);
    link.AddMember(
        "href", util::str(fmt::format("{}{}certificates/{}", call.base_url, prefix, uuid), a), a);
    link.AddMember("rel", util::str(rel, a), a);
    links.PushBack(link, a);
  }
  doc.AddMember("links", links, a);
}

}  // namespace

asio::awaitable<net::Response> MagnumApi::certificates(Call& call, std::string_view cluster_ident) {
  const http::verb method = call.request.method();
  std::string ident(cluster_ident);
  util::JsonDoc body;
  if (method == http::verb::post) {
    if (!cluster_ident.empty()) co_return call.methodNotAllowed();
    auto parsed = util::parseJson(call.request.body());
    if (!parsed.ok() || !parsed->IsObject()) {
      co_return errorResponse(
          makeError(ErrorCode::BadRequest, "the request body must be {\"cluster_uuid\", \"csr\"}"),
          &call.version);
    }
    body = std::move(parsed).value();
    ident = util::stringMember(body, "cluster_uuid").value_or("");
    if (ident.empty()) {
      co_return errorResponse(
          makeError(ErrorCode::BadRequest, "Mandatory field missing: cluster_uuid"), &call.version);
    }
  } else if (cluster_ident.empty()) {
    co_return call.methodNotAllowed();
  }
  auto cluster = find(call, api::Kind::Cluster, ident);
  if (!cluster.ok()) {
    // Magnum answers a CSR for an unknown cluster with 400 (its 404 is rewritten).
    if (method == http::verb::post) {
      co_return errorResponse(makeError(ErrorCode::BadRequest, cluster.error().message),
                              &call.version);
    }
    co_return errorResponse(cluster.error(), &call.version);
  }
  ResourcePath path{api::Kind::Cluster, cluster->metadata.namespace_, cluster->metadata.name};
  std::string_view rule = method == http::verb::patch  ? "certificate:rotate_ca"
                          : method == http::verb::post ? "certificate:create"
                                                       : "certificate:get";
  if (auto ok = call.enforce(rule, &*cluster); !ok.ok()) {
    co_return errorResponse(ok.error(), &call.version);
  }

  if (method == http::verb::patch) {  // CA rotation: one generation up
    if (call.version < kCaRotation) co_return call.notAvailable(kCaRotation);
    auto spec = util::parseJson(cluster->spec);
    int64_t generation = spec.ok() ? util::intMember(*spec, "caGeneration").value_or(0) : 0;
    auto rotated = co_await write(
        call, Verb::Patch, path,
        fmt::format(R"({{"metadata":{{"resourceVersion":"{}"}},"spec":{{"caGeneration":{}}}}})",
                    cluster->metadata.resource_version, generation + 1),
        "application/merge-patch+json");
    if (!rotated.ok()) co_return errorResponse(rotated.error(), &call.version);
    net::Response res = call.json(http::status::accepted, [&] {
      util::JsonDoc doc;
      doc.SetObject();
      doc.AddMember("uuid", util::str(cluster->metadata.uid, doc.GetAllocator()),
                    doc.GetAllocator());
      return doc;
    }());
    co_return res;
  }

  net::Response answer;
  if (method == http::verb::get) {
    path.subresource = Subresource::Ca;
    QueryParams query;
    // Magnum's ca_cert_type: "kubernetes" (default), "etcd", "front-proxy".
    if (std::string_view type = call.query("ca_cert_type"); !type.empty())
      query["type"] = std::string(type);
    answer = co_await forward(call, Verb::Get, path, std::move(query), {}, {});
  } else if (method == http::verb::post) {
    path.subresource = Subresource::Certificates;
    util::JsonDoc csr;
    csr.SetObject();
    if (const Json* text = util::member(body, "csr")) {
      csr.AddMember("csr", Json(*text, csr.GetAllocator()), csr.GetAllocator());
    }
    answer = co_await forward(call, Verb::Create, path, {}, util::toJson(csr), "application/json");
  } else {
    co_return call.methodNotAllowed();
  }
  if (answer.result_int() >= 300) co_return errorResponse(errorOf(answer), &call.version);
  auto issued = util::parseJson(answer.body());
  if (!issued.ok())
    co_return errorResponse(makeError(ErrorCode::Internal, "unreadable certificate"),
                            &call.version);
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("cluster_uuid", util::str(cluster->metadata.uid, a), a);
  doc.AddMember("pem", util::str(util::stringMember(*issued, "pem").value_or(""), a), a);
  addLinks(doc, call, cluster->metadata.uid);
  if (method == http::verb::post) {
    doc.AddMember("csr", util::str(util::stringMember(body, "csr").value_or(""), a), a);
    co_return call.json(http::status::created, doc);
  }
  co_return call.json(http::status::ok, doc);
}

// Magnum's credential rotation (1.12) renews the OpenStack credential a cluster's own components
// (its cloud provider, CSI, autoscaler) hold; only the Cluster API driver implements it, and
// Magnum's Heat driver, which magnumd's clusters are built like, answers 400 NotSupported. A
// magnumd cluster holds no OpenStack credential: its nodes carry only their join token, which
// magnumd renews in the cluster by itself (refreshJoinToken), and its CAs, which
// `openstack coe ca rotate` rotates. So the call is checked as Magnum checks it (microversion,
// policy, cluster, state) and then refused as the Heat driver refuses it.
net::Response MagnumApi::rotateCredentials(Call& call, std::string_view cluster_ident) {
  if (call.version < kCredentialRotation) return call.notAvailable(kCredentialRotation);
  if (auto ok = call.enforce("credential:rotate"); !ok.ok())
    return errorResponse(ok.error(), &call.version);
  auto cluster = find(call, api::Kind::Cluster, cluster_ident);
  if (!cluster.ok()) return errorResponse(cluster.error(), &call.version);
  // magnum/conductor/handlers/credential_conductor.py's ALLOWED_CLUSTER_STATES.
  static const std::set<std::string_view> kAllowed = {
      "CREATE_COMPLETE", "UPDATE_COMPLETE",  "UPDATE_IN_PROGRESS", "UPDATE_FAILED",
      "RESUME_COMPLETE", "RESTORE_COMPLETE", "ROLLBACK_COMPLETE",  "SNAPSHOT_COMPLETE",
      "CHECK_COMPLETE",  "ADOPT_COMPLETE"};
  auto status = util::parseJson(cluster->status);
  std::string phase = status.ok() ? util::stringMember(*status, "phase").value_or("") : "";
  if (!kAllowed.count(phase)) {
    return errorResponse(
        makeError(ErrorCode::BadRequest,
                  fmt::format("Rotating the credential of cluster {} when its status is \"{}\" is "
                              "not supported.",
                              magnumName(*cluster), phase.empty() ? "CREATE_IN_PROGRESS" : phase)),
        &call.version);
  }
  return errorResponse(
      makeError(ErrorCode::BadRequest,
                "Credential rotation is not supported by driver. A magnumd cluster holds no "
                "OpenStack credential; its join token is renewed by magnumd and its CAs rotate "
                "with `openstack coe ca rotate`."),
      &call.version);
}

net::Response MagnumApi::stats(Call& call) {
  if (auto ok = call.enforce("stats:get_all"); !ok.ok())
    return errorResponse(ok.error(), &call.version);
  std::string project(call.query("project_id"));
  std::string_view type = call.query("type");
  if (!type.empty() && type != "cluster") {
    return errorResponse(makeError(ErrorCode::BadRequest,
                                   fmt::format("Invalid input for field/attribute type. Value: "
                                               "'{}'. Value should be one of: cluster",
                                               type)),
                         &call.version);
  }
  if (project.empty()) project = call.project();
  if (!call.project().empty() && project != call.project()) {
    return errorResponse(makeError(ErrorCode::Forbidden,
                                   fmt::format("Policy doesn't allow stats:get_all to be performed "
                                               "for project {}.",
                                               project)),
                         &call.version);
  }
  if (auto allowed = call.authorize(Verb::List, api::Kind::Cluster, "", project); !allowed.ok()) {
    return errorResponse(allowed.error(), &call.version);
  }
  store::ListOptions options;
  options.kind = api::Kind::Cluster;
  options.namespace_ = project;
  auto listed = store_.list(options);
  if (!listed.ok()) return errorResponse(listed.error(), &call.version);
  int64_t nodes = 0;
  for (const auto& cluster : listed->items) {
    // Magnum's stats: node_count + master_count of every cluster.
    auto spec = util::parseJson(cluster.spec);
    auto status = util::parseJson(cluster.status);
    if (!spec.ok()) continue;
    std::optional<int64_t> workers =
        status.ok() ? util::intMember(*status, "nodeCount") : std::nullopt;
    nodes += workers.value_or(util::intMember(*spec, "nodeCount").value_or(0)) +
             util::intMember(*spec, "masterCount").value_or(0);
  }
  util::JsonDoc doc;
  doc.SetObject();
  doc.AddMember("clusters", static_cast<int64_t>(listed->items.size()), doc.GetAllocator());
  doc.AddMember("nodes", nodes, doc.GetAllocator());
  return call.json(http::status::ok, doc);
}

namespace {

Json serviceRow(int id, const std::string& host, bool up, uint64_t reports,
                const std::string& created_at, const std::string& updated_at, util::JsonAlloc& a) {
  Json service(rapidjson::kObjectType);
  service.AddMember("id", id, a);
  service.AddMember("host", util::str(host, a), a);
  service.AddMember("binary", "magnum-conductor", a);
  service.AddMember("state", Json(rapidjson::StringRef(up ? "up" : "down")), a);
  service.AddMember("report_count", Json(reports), a);
  service.AddMember("disabled", false, a);
  service.AddMember("disabled_reason", Json(), a);
  service.AddMember("created_at", util::str(magnumTime(created_at), a), a);
  service.AddMember("updated_at",
                    updated_at.empty() ? Json() : util::str(magnumTime(updated_at), a), a);
  return service;
}

}  // namespace

net::Response MagnumApi::mservices(Call& call) {
  if (auto ok = call.enforce("magnum-service:get_all"); !ok.ok()) {
    return errorResponse(ok.error(), &call.version);
  }
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json services(rapidjson::kArrayType);
  if (heartbeat_ && heartbeat_->replicas) {
    // One row per replica, as Magnum lists one per conductor host, in the order of their hosts.
    int id = 0;
    for (const auto& replica : heartbeat_->replicas()) {
      services.PushBack(
          serviceRow(++id, replica.host, heartbeat_->reportIsRecent(replica.updated_at),
                     replica.report_count, util::formatRfc3339(replica.created_at),
                     util::formatRfc3339(replica.updated_at), a),
          a);
    }
  } else if (heartbeat_ && heartbeat_->running.load()) {
    int64_t last = heartbeat_->last_report_ms.load();
    std::string updated =
        last ? util::formatRfc3339(util::SystemTime(std::chrono::milliseconds(last))) : "";
    services.PushBack(serviceRow(1, heartbeat_->host, heartbeat_->up(), heartbeat_->reports.load(),
                                 heartbeat_->started_at, updated, a),
                      a);
  }
  doc.AddMember("mservices", services, a);
  return call.json(http::status::ok, doc);
}

}  // namespace magnumd::server::magnum
