// /api/v1/namespaces/{ns}/secrets[/{name}]: the bootstrap-token Secrets of kube-system (GET,
// list, POST, PUT, DELETE), with the codes and Status reasons client-go acts on. The token
// cleaner runs before every request, so an expired token is gone as soon as anyone looks.
#include <fmt/format.h>

#include "cloudsim/kube_api.h"

namespace magnumd::cloudsim {
namespace {

using util::Json;

constexpr std::string_view kNamespace = "kube-system";

bool dryRun(const Query& query) { return query.get("dryRun").value_or("") == "All"; }

Response notFound(std::string_view name) {
  return kubeStatus(http::status::not_found, "NotFound",
                    fmt::format(R"(secrets "{}" not found)", name));
}

// The id of a bootstrap-token-<id> name; empty for any other name.
std::string idOf(std::string_view name) {
  if (!name.starts_with(kTokenSecretPrefix)) return "";
  return std::string(name.substr(kTokenSecretPrefix.size()));
}

Response list(const KubeCluster& cluster, std::string_view ns, const Query& query) {
  // kubeadm token list asks for type=bootstrap.kubernetes.io/token.
  std::string field = query.get("fieldSelector").value_or("");
  std::optional<std::string> only_name;
  bool none = ns != kNamespace;
  if (!field.empty()) {
    size_t eq = field.find('=');
    std::string key = field.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
    if (value.starts_with("=")) value.erase(0, 1);
    if (key == "type") {
      none = none || value != kTokenSecretType;
    } else if (key == "metadata.name") {
      only_name = value;
    } else {
      return kubeStatus(http::status::bad_request, "BadRequest",
                        fmt::format("cloudsim: fieldSelector \"{}\" is not supported on secrets "
                                    "(type=, metadata.name= are)",
                                    field));
    }
  }
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("kind", "SecretList", a);
  doc.AddMember("apiVersion", "v1", a);
  Json meta(rapidjson::kObjectType);
  meta.AddMember("resourceVersion", util::str(std::to_string(cluster.resource_version), a), a);
  doc.AddMember("metadata", meta, a);
  Json items(rapidjson::kArrayType);
  for (const auto& [id, secret] : cluster.tokens.by_id) {
    if (none || (only_name && *only_name != tokenSecretName(id))) continue;
    Json item;
    renderTokenSecret(secret, item, a);
    items.PushBack(item, a);
  }
  doc.AddMember("items", items, a);
  return kubeJson(http::status::ok, util::toJson(doc));
}

// The body of a POST or PUT as a Secret cloudsim keeps, or the error answer.
util::Result<TokenSecret> readBody(const Request& req, std::string_view url_name) {
  std::string type(req[http::field::content_type]);
  type = type.substr(0, type.find(';'));
  if (!type.empty() && type != "application/json") {
    return util::makeError(util::ErrorCode::UnsupportedMediaType,
                           fmt::format("the body of the request was in an unknown format - "
                                       "accepted media types include: application/json "
                                       "(cloudsim), not \"{}\"",
                                       type));
  }
  auto body = util::parseJson(req.body());
  if (!body.ok()) {
    return util::makeError(util::ErrorCode::BadRequest,
                           fmt::format("error decoding the body: {}", body.error().message));
  }
  return readTokenSecret(*body, url_name);
}

Response errorAnswer(const util::Error& e) {
  switch (e.code) {
    case util::ErrorCode::Invalid:
      return kubeStatus(http::status::unprocessable_entity, "Invalid", e.message);
    case util::ErrorCode::UnsupportedMediaType:
      return kubeStatus(http::status::unsupported_media_type, "UnsupportedMediaType", e.message);
    default:
      return kubeStatus(http::status::bad_request, "BadRequest", e.message);
  }
}

Response create(KubeCluster& cluster, const Request& req, const Query& query, SystemTime now) {
  auto secret = readBody(req, "");
  if (!secret.ok()) return errorAnswer(secret.error());
  const std::string name = tokenSecretName(secret->id);
  if (cluster.tokens.by_id.count(secret->id) != 0) {
    return kubeStatus(http::status::conflict, "AlreadyExists",
                      fmt::format(R"(secrets "{}" already exists)", name));
  }
  if (cluster.tokens.by_id.size() >= kMaxTokenSecrets) {
    return kubeStatus(http::status::forbidden, "Forbidden",
                      fmt::format(R"(secrets "{}" is forbidden: cloudsim keeps at most {} )"
                                  "bootstrap-token Secrets per cluster",
                                  name, kMaxTokenSecrets));
  }
  secret->created = now;
  stampTokenSecret(*secret, cluster.stack_id, cluster.resource_version + 1);
  if (dryRun(query)) return kubeJson(http::status::created, tokenSecretJson(*secret));
  ++cluster.resource_version;
  auto& stored = cluster.tokens.by_id[secret->id] = std::move(*secret);
  return kubeJson(http::status::created, tokenSecretJson(stored));
}

// PUT: replaces type and data; uid and creationTimestamp stay. Like kube-apiserver for Secrets,
// an update without metadata.resourceVersion is unconditional.
Response replace(KubeCluster& cluster, const Request& req, const Query& query,
                 std::string_view name) {
  auto it = cluster.tokens.by_id.find(idOf(name));
  if (it == cluster.tokens.by_id.end()) return notFound(name);
  auto secret = readBody(req, name);
  if (!secret.ok()) return errorAnswer(secret.error());
  auto parsed = util::parseJson(req.body());
  const Json* meta = parsed.ok() ? util::member(*parsed, "metadata") : nullptr;
  auto rv = meta != nullptr && meta->IsObject() ? util::stringMember(*meta, "resourceVersion")
                                                : std::nullopt;
  if (rv && !rv->empty() && *rv != std::to_string(it->second.resource_version)) {
    return kubeStatus(http::status::conflict, "Conflict",
                      fmt::format(R"(Operation cannot be fulfilled on secrets "{}": the object )"
                                  "has been modified; please apply your changes to the latest "
                                  "version and try again",
                                  name));
  }
  secret->uid = it->second.uid;
  secret->created = it->second.created;
  stampTokenSecret(*secret, cluster.stack_id, cluster.resource_version + 1);
  if (dryRun(query)) return kubeJson(http::status::ok, tokenSecretJson(*secret));
  ++cluster.resource_version;
  it->second = std::move(*secret);
  return kubeJson(http::status::ok, tokenSecretJson(it->second));
}

Response remove(KubeCluster& cluster, const Query& query, std::string_view name) {
  auto it = cluster.tokens.by_id.find(idOf(name));
  if (it == cluster.tokens.by_id.end()) return notFound(name);
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("kind", "Status", a);
  doc.AddMember("apiVersion", "v1", a);
  doc.AddMember("metadata", Json(rapidjson::kObjectType), a);
  doc.AddMember("status", "Success", a);
  Json details(rapidjson::kObjectType);
  details.AddMember("name", util::str(name, a), a);
  details.AddMember("kind", "secrets", a);
  details.AddMember("uid", util::str(it->second.uid, a), a);
  doc.AddMember("details", details, a);
  if (!dryRun(query)) {
    ++cluster.resource_version;
    cluster.tokens.by_id.erase(it);
  }
  return kubeJson(http::status::ok, util::toJson(doc));
}

}  // namespace

Response handleSecrets(KubeCluster& cluster, const Request& req, const Query& query,
                       std::string_view ns, std::string_view name, SystemTime now) {
  cleanExpiredTokens(cluster.tokens, now);
  http::verb method = req.method();
  bool read = method == http::verb::get || method == http::verb::head;
  if (name.empty()) {
    if (read) return list(cluster, ns, query);
    if (method != http::verb::post) {
      return kubeStatus(http::status::method_not_allowed, "MethodNotAllowed",
                        "the server does not allow this method on the requested resource");
    }
    if (ns != kNamespace) {
      return kubeStatus(http::status::bad_request, "BadRequest",
                        fmt::format("cloudsim keeps bootstrap-token Secrets in {} only, not in {}",
                                    kNamespace, ns));
    }
    return create(cluster, req, query, now);
  }
  if (ns != kNamespace) return notFound(name);
  if (read) {
    auto it = cluster.tokens.by_id.find(idOf(name));
    if (it == cluster.tokens.by_id.end()) return notFound(name);
    return kubeJson(http::status::ok, tokenSecretJson(it->second));
  }
  if (method == http::verb::put) return replace(cluster, req, query, name);
  if (method == http::verb::delete_) return remove(cluster, query, name);
  return kubeStatus(http::status::method_not_allowed, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource (cloudsim: "
                    "GET, PUT, DELETE)");
}

}  // namespace magnumd::cloudsim
