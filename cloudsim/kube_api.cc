#include "cloudsim/kube_api.h"

#include <fmt/format.h>

#include <algorithm>

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::Json;
using util::makeError;

constexpr std::string_view kAggregated =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

Response plain(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string accept(const Request& req) { return std::string(req[http::field::accept]); }

bool wantsAggregated(const Request& req) {
  std::string a = accept(req);
  return a.find("as=APIGroupDiscoveryList") != std::string::npos &&
         a.find("v=v2") != std::string::npos;
}

bool wantsTable(const Request& req) { return accept(req).find("as=Table") != std::string::npos; }

Response kubeError(const util::Error& e) {
  const char* reason = "BadRequest";
  switch (e.code) {
    case ErrorCode::NotFound:
      reason = "NotFound";
      break;
    case ErrorCode::Conflict:
      reason = "Conflict";
      break;
    case ErrorCode::Invalid:
      reason = "Invalid";
      break;
    case ErrorCode::UnsupportedMediaType:
      reason = "UnsupportedMediaType";
      break;
    case ErrorCode::MethodNotAllowed:
      reason = "MethodNotAllowed";
      break;
    default:
      break;
  }
  return kubeStatus(statusOf(e.code), reason, e.message);
}

Response version(const KubeCluster& cluster) {
  std::string git = apiServerVersion(cluster);
  std::string v = git.substr(1);
  std::string major = v.substr(0, v.find('.'));
  std::string rest = v.substr(std::min(v.size(), major.size() + 1));
  std::string minor = rest.substr(0, rest.find_first_not_of("0123456789"));
  return kubeJson(
      http::status::ok,
      fmt::format(
          R"({{"major":"{}","minor":"{}","gitVersion":"{}","gitCommit":"0000000000000000000000000000000000000000","gitTreeState":"clean","buildDate":"2024-08-14T19:29:04Z","goVersion":"go1.22.5","compiler":"gc","platform":"linux/amd64"}})",
          major, minor, git));
}

Response health(const KubeCluster& cluster, std::string_view check) {
  if (!cluster.healthz_failing) return plain(http::status::ok, "ok");
  return plain(http::status::internal_server_error,
               fmt::format("[-]etcd failed: reason withheld\n{} check failed\n", check.substr(1)));
}

// Aggregated discovery (v2) resources, then the legacy APIResourceList entries.
constexpr std::string_view kCoreResources =
    R"({"resource":"configmaps","responseKind":{"group":"","version":"v1","kind":"ConfigMap"},"scope":"Namespaced","singularResource":"configmap","verbs":["get","patch","update"],"shortNames":["cm"]},)"
    R"({"resource":"nodes","responseKind":{"group":"","version":"v1","kind":"Node"},"scope":"Cluster","singularResource":"node","verbs":["delete","get","list","patch","watch"],"shortNames":["no"]},)"
    R"({"resource":"pods","responseKind":{"group":"","version":"v1","kind":"Pod"},"scope":"Namespaced","singularResource":"pod","verbs":["delete","get","list"],"shortNames":["po"],"categories":["all"],"subresources":[{"subresource":"eviction","responseKind":{"group":"policy","version":"v1","kind":"Eviction"},"verbs":["create"]}]},)"
    R"({"resource":"secrets","responseKind":{"group":"","version":"v1","kind":"Secret"},"scope":"Namespaced","singularResource":"secret","verbs":["create","delete","get","list","update"]})";
constexpr std::string_view kAppsResources =
    R"({"resource":"daemonsets","responseKind":{"group":"apps","version":"v1","kind":"DaemonSet"},"scope":"Namespaced","singularResource":"daemonset","verbs":["get"],"shortNames":["ds"],"categories":["all"]})";
constexpr std::string_view kCoreResourceList =
    R"({"kind":"APIResourceList","groupVersion":"v1","resources":[)"
    R"({"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap","verbs":["get","patch","update"],"shortNames":["cm"]},)"
    R"({"name":"nodes","singularName":"node","namespaced":false,"kind":"Node","verbs":["delete","get","list","patch","watch"],"shortNames":["no"]},)"
    R"({"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["delete","get","list"],"shortNames":["po"],"categories":["all"]},)"
    R"({"name":"pods/eviction","singularName":"","namespaced":true,"group":"policy","version":"v1","kind":"Eviction","verbs":["create"]},)"
    R"({"name":"secrets","singularName":"secret","namespaced":true,"kind":"Secret","verbs":["create","delete","get","list","update"]}]})";
constexpr std::string_view kAppsResourceList =
    R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[)"
    R"({"name":"daemonsets","singularName":"daemonset","namespaced":true,"kind":"DaemonSet","verbs":["get"],"shortNames":["ds"],"categories":["all"]}]})";

Response discovery(const Request& req, std::string_view path) {
  bool core = path == "/api";
  if (wantsAggregated(req)) {
    std::string items =
        core
            ? fmt::format(
                  R"([{{"metadata":{{"creationTimestamp":null}},"versions":[{{"version":"v1","resources":[{}],"freshness":"Current"}}]}}])",
                  kCoreResources)
            : fmt::format(
                  R"([{{"metadata":{{"name":"apps","creationTimestamp":null}},"versions":[{{"version":"v1","resources":[{}],"freshness":"Current"}}]}}])",
                  kAppsResources);
    return kubeJson(
        http::status::ok,
        fmt::format(
            R"({{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","metadata":{{}},"items":{}}})",
            items),
        kAggregated);
  }
  if (core)
    return kubeJson(
        http::status::ok,
        R"({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:6443"}]})");
  return kubeJson(
      http::status::ok,
      R"({"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}]})");
}

bool dryRun(const Query& query) { return query.get("dryRun").value_or("") == "All"; }

Response nodes(const KubeCluster& cluster, const Request& req, const Query& query,
               std::string_view name, SystemTime now) {
  std::vector<const KubeNode*> selected;
  if (!name.empty()) {
    auto it = cluster.nodes.find(std::string(name));
    if (it == cluster.nodes.end()) {
      return kubeStatus(http::status::not_found, "NotFound",
                        fmt::format(R"(nodes "{}" not found)", name));
    }
    selected.push_back(&it->second);
  } else {
    // kubectl delete and get NAME -w select one node by name.
    std::string field = query.get("fieldSelector").value_or("");
    std::string only;
    if (!field.empty()) {
      constexpr std::string_view kByName = "metadata.name=";
      if (field.rfind(kByName, 0) != 0) {
        return kubeStatus(http::status::bad_request, "BadRequest",
                          fmt::format("cloudsim: fieldSelector \"{}\" is not supported on nodes "
                                      "(metadata.name=NAME is)",
                                      field));
      }
      only = field.substr(kByName.size());
    }
    for (const auto& [n, node] : cluster.nodes) {
      if (field.empty() || n == only) selected.push_back(&node);
    }
  }
  if (wantsTable(req)) return kubeJson(http::status::ok, nodeTableJson(cluster, selected, now));
  if (!name.empty()) return kubeJson(http::status::ok, nodeJson(cluster, *selected.front()));
  return kubeJson(http::status::ok, nodeListJson(cluster, selected));
}

Response patchNode(KubeClusters& clusters, KubeCluster& cluster, const Request& req,
                   const Query& query, std::string_view name) {
  auto it = cluster.nodes.find(std::string(name));
  if (it == cluster.nodes.end()) {
    return kubeStatus(http::status::not_found, "NotFound",
                      fmt::format(R"(nodes "{}" not found)", name));
  }
  std::string type(req[http::field::content_type]);
  type = type.substr(0, type.find(';'));
  if (type != "application/strategic-merge-patch+json" && type != "application/merge-patch+json") {
    return kubeStatus(http::status::unsupported_media_type, "UnsupportedMediaType",
                      fmt::format("the body of the request was in an unknown format - accepted "
                                  "media types include: application/strategic-merge-patch+json, "
                                  "application/merge-patch+json (cloudsim), not \"{}\"",
                                  type));
  }
  auto patch = util::parseJson(req.body());
  if (!patch.ok()) {
    return kubeStatus(http::status::bad_request, "BadRequest",
                      fmt::format("error decoding patch: {}", patch.error().message));
  }
  KubeNode updated = it->second;
  if (auto applied = applyNodePatch(updated, *patch); !applied.ok()) {
    return kubeError(applied.error());
  }
  if (!dryRun(query)) {
    clusters.updateNode(cluster, updated);
    return kubeJson(http::status::ok, nodeJson(cluster, cluster.nodes.at(updated.name)));
  }
  return kubeJson(http::status::ok, nodeJson(cluster, updated));
}

Response deleteNode(KubeClusters& clusters, KubeCluster& cluster, const Query& query,
                    std::string_view name) {
  auto it = cluster.nodes.find(std::string(name));
  if (it == cluster.nodes.end()) {
    return kubeStatus(http::status::not_found, "NotFound",
                      fmt::format(R"(nodes "{}" not found)", name));
  }
  std::string body = nodeJson(cluster, it->second);
  if (!dryRun(query)) {
    if (auto deleted = clusters.deleteNode(cluster, name); !deleted.ok())
      return kubeError(deleted.error());
  }
  return kubeJson(http::status::ok, std::move(body));
}

Response listPods(const KubeCluster& cluster, const Request& req, const Query& query,
                  std::string_view ns, SystemTime now) {
  auto selected = selectPods(cluster, ns, query.get("fieldSelector").value_or(""),
                             query.get("labelSelector").value_or(""));
  if (!selected.ok()) return kubeError(selected.error());
  if (wantsTable(req)) return kubeJson(http::status::ok, podTableJson(cluster, *selected, now));
  return kubeJson(http::status::ok, podListJson(cluster, *selected));
}

const KubePod* findPod(const KubeCluster& cluster, std::string_view ns, std::string_view name) {
  auto it = cluster.pods.find(fmt::format("{}/{}", ns, name));
  return it == cluster.pods.end() ? nullptr : &it->second;
}

Response podNotFound(std::string_view name) {
  return kubeStatus(http::status::not_found, "NotFound",
                    fmt::format(R"(pods "{}" not found)", name));
}

// POST .../pods/{name}/eviction with a policy/v1 (or v1beta1) Eviction. There are no
// PodDisruptionBudgets, so an eviction of an existing pod is always allowed.
Response evict(KubeClusters& clusters, KubeCluster& cluster, const Request& req, const Query& query,
               std::string_view ns, std::string_view name) {
  auto body = util::parseJson(req.body());
  if (!body.ok() || !body->IsObject()) {
    return kubeStatus(http::status::bad_request, "BadRequest",
                      "the body must be a policy/v1 Eviction object");
  }
  std::string kind = util::stringMember(*body, "kind").value_or("Eviction");
  std::string api = util::stringMember(*body, "apiVersion").value_or("policy/v1");
  if (kind != "Eviction" || (api != "policy/v1" && api != "policy/v1beta1")) {
    return kubeStatus(http::status::bad_request, "BadRequest",
                      fmt::format("the body is a {} {}, not a policy/v1 Eviction", api, kind));
  }
  const Json* meta = util::member(*body, "metadata");
  if (meta != nullptr && meta->IsObject()) {
    auto named = util::stringMember(*meta, "name");
    if (named && *named != name) {
      return kubeStatus(http::status::bad_request, "BadRequest",
                        "name in URL does not match name in Eviction object");
    }
  }
  if (findPod(cluster, ns, name) == nullptr) return podNotFound(name);
  if (!dryRun(query)) {
    if (auto removed = clusters.deletePod(cluster, ns, name); !removed.ok())
      return kubeError(removed.error());
  }
  return kubeJson(
      http::status::created,
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":201})");
}

Response pods(KubeClusters& clusters, KubeCluster& cluster, const Request& req, const Query& query,
              const std::vector<std::string_view>& seg, SystemTime now) {
  // seg: namespaces/{ns}/pods[/{name}[/eviction]]
  std::string_view ns = seg[1];
  http::verb method = req.method();
  if (seg.size() == 3 && method == http::verb::get) return listPods(cluster, req, query, ns, now);
  if (seg.size() == 5 && seg[4] == "eviction" && method == http::verb::post)
    return evict(clusters, cluster, req, query, ns, seg[3]);
  if (seg.size() != 4) {
    return kubeStatus(http::status::not_found, "NotFound",
                      "the server could not find the requested resource");
  }
  const KubePod* pod = findPod(cluster, ns, seg[3]);
  if (pod == nullptr) return podNotFound(seg[3]);
  if (method == http::verb::get || method == http::verb::head) {
    return kubeJson(http::status::ok,
                    wantsTable(req) ? podTableJson(cluster, {pod}, now) : podJson(cluster, *pod));
  }
  if (method == http::verb::delete_) {
    std::string body = podJson(cluster, *pod);
    if (!dryRun(query)) {
      if (auto removed = clusters.deletePod(cluster, ns, seg[3]); !removed.ok())
        return kubeError(removed.error());
    }
    return kubeJson(http::status::ok, std::move(body));
  }
  return kubeStatus(http::status::method_not_allowed, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource");
}

// 422 as kube-apiserver words a field error, with the cause a client can read.
Response invalidField(std::string_view kind, std::string_view name, std::string_view field,
                      std::string_view why) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  std::string message = fmt::format("Invalid value: {}", why);
  doc.AddMember("kind", "Status", a);
  doc.AddMember("apiVersion", "v1", a);
  doc.AddMember("metadata", Json(rapidjson::kObjectType), a);
  doc.AddMember("status", "Failure", a);
  doc.AddMember(
      "message",
      util::str(fmt::format(R"({} "{}" is invalid: {}: {})", kind, name, field, message), a), a);
  doc.AddMember("reason", "Invalid", a);
  Json details(rapidjson::kObjectType);
  details.AddMember("name", util::str(name, a), a);
  details.AddMember("kind", "configmaps", a);
  Json cause(rapidjson::kObjectType);
  cause.AddMember("reason", "FieldValueInvalid", a);
  cause.AddMember("message", util::str(message, a), a);
  cause.AddMember("field", util::str(field, a), a);
  Json causes(rapidjson::kArrayType);
  causes.PushBack(cause, a);
  details.AddMember("causes", causes, a);
  doc.AddMember("details", details, a);
  doc.AddMember("code", 422, a);
  return kubeJson(http::status::unprocessable_entity, util::toJson(doc));
}

// PATCH (merge patch: `data` keys set, null deletes) or PUT (the whole ConfigMap) of
// kube-public/cluster-info. data.kubeconfig must stay a kubeconfig whose cluster CA data parses:
// it says which CAs joining nodes pin and trust.
Response writeClusterInfo(KubeClusters& clusters, KubeCluster& cluster, const Request& req,
                          const Query& query) {
  auto invalid = [](std::string_view field, std::string_view why) {
    return invalidField("ConfigMap", "cluster-info", field, why);
  };
  bool put = req.method() == http::verb::put;
  std::string type(req[http::field::content_type]);
  type = type.substr(0, type.find(';'));
  bool json_body = type.empty() || type == "application/json";
  bool patch_body =
      type == "application/merge-patch+json" || type == "application/strategic-merge-patch+json";
  if (put ? !json_body : !patch_body) {
    return kubeStatus(http::status::unsupported_media_type, "UnsupportedMediaType",
                      fmt::format("the body of the request was in an unknown format - accepted "
                                  "media types include: {} (cloudsim), not \"{}\"",
                                  put ? "application/json"
                                      : "application/merge-patch+json, "
                                        "application/strategic-merge-patch+json",
                                  type));
  }
  auto body = util::parseJson(req.body());
  if (!body.ok() || !body->IsObject()) {
    return kubeStatus(http::status::bad_request, "BadRequest",
                      fmt::format("error decoding the body: {}",
                                  body.ok() ? "not a JSON object" : body.error().message));
  }
  ClusterInfo updated = cluster.cluster_info;
  if (put) updated.data.clear();
  for (const auto& m : body->GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key == "apiVersion" || key == "kind") {
      std::string_view want = key == "kind" ? "ConfigMap" : "v1";
      if (!m.value.IsString() || m.value.GetString() != want)
        return invalid(key, fmt::format("must be {}", want));
    } else if (key == "metadata") {
      if (!m.value.IsObject()) return invalid("metadata", "expected an object");
      for (const auto& f : m.value.GetObject()) {
        std::string_view name(f.name.GetString(), f.name.GetStringLength());
        std::string field = fmt::format("metadata.{}", name);
        std::string value = f.value.IsString() ? f.value.GetString() : "";
        if (name == "name" && value != "cluster-info") {
          return invalid(field, "the name cannot be changed");
        } else if (name == "namespace" && value != "kube-public") {
          return invalid(field, "the namespace cannot be changed");
        } else if (name == "resourceVersion" &&
                   value != std::to_string(cluster.cluster_info.resource_version)) {
          return kubeStatus(http::status::conflict, "Conflict",
                            "Operation cannot be fulfilled on configmaps \"cluster-info\": the "
                            "object has been modified; please apply your changes to the latest "
                            "version and try again");
        }
        // uid, creationTimestamp, labels, annotations, managedFields: what a client read back;
        // cloudsim keeps none of them.
      }
    } else if (key == "data") {
      if (m.value.IsNull()) {
        updated.data.clear();
        continue;
      }
      if (!m.value.IsObject()) return invalid("data", "expected a map of strings");
      for (const auto& d : m.value.GetObject()) {
        std::string name(d.name.GetString(), d.name.GetStringLength());
        if (d.value.IsNull() && !put) {
          updated.data.erase(name);
        } else if (d.value.IsString()) {
          updated.data[name] = std::string(d.value.GetString(), d.value.GetStringLength());
        } else {
          return invalid(fmt::format("data.{}", name), "expected a string");
        }
      }
    } else {
      return invalid(key, "cloudsim keeps cluster-info's data only");
    }
  }
  auto kubeconfig = updated.data.find("kubeconfig");
  if (kubeconfig == updated.data.end()) {
    return invalid("data.kubeconfig", "Required value: kubeadm's token discovery reads it");
  }
  auto cas = clusterInfoCas(kubeconfig->second);
  if (!cas.ok()) return invalid("data.kubeconfig", cas.error().message);
  if (updated.data == cluster.cluster_info.data) {
    return kubeJson(http::status::ok, clusterInfoJson(cluster, cluster.cluster_info));
  }
  std::vector<std::string> hashes;
  for (const CaCert& ca : *cas) hashes.push_back(ca.hash);
  if (dryRun(query)) {
    updated.resource_version = cluster.resource_version + 1;
    return kubeJson(http::status::ok, clusterInfoJson(cluster, updated));
  }
  clusters.updateClusterInfo(cluster, std::move(updated.data), std::move(hashes));
  return kubeJson(http::status::ok, clusterInfoJson(cluster, cluster.cluster_info));
}

// /api/v1/namespaces/{ns}/configmaps/{name}: kube-public/cluster-info only.
Response configMaps(KubeClusters& clusters, KubeCluster& cluster, const Request& req,
                    const Query& query, std::string_view ns, std::string_view name) {
  if (ns != "kube-public" || name != "cluster-info") {
    return kubeStatus(http::status::not_found, "NotFound",
                      fmt::format(R"(configmaps "{}" not found (cloudsim serves )"
                                  "kube-public/cluster-info only)",
                                  name));
  }
  http::verb method = req.method();
  if (method == http::verb::get || method == http::verb::head)
    return kubeJson(http::status::ok, clusterInfoJson(cluster, cluster.cluster_info));
  if (method == http::verb::patch || method == http::verb::put)
    return writeClusterInfo(clusters, cluster, req, query);
  return kubeStatus(http::status::method_not_allowed, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource");
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

util::Status stringMapPatch(std::map<std::string, std::string>& target, const Json& patch,
                            std::string_view field) {
  if (patch.IsNull()) {
    target.clear();
    return {};
  }
  if (!patch.IsObject()) {
    return makeError(ErrorCode::Invalid, fmt::format("{}: expected a map of strings", field));
  }
  for (const auto& m : patch.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    if (key.starts_with("$")) continue;
    if (m.value.IsNull()) {
      target.erase(key);
    } else if (m.value.IsString()) {
      target[key] = std::string(m.value.GetString(), m.value.GetStringLength());
    } else {
      return makeError(ErrorCode::Invalid,
                       fmt::format("{}.{}: expected a string or null", field, key));
    }
  }
  return {};
}

}  // namespace

Response kubeJson(http::status status, std::string body, std::string_view content_type) {
  Response res = jsonText(status, std::move(body));
  res.set(http::field::content_type, content_type);
  res.set("Cache-Control", "no-cache, private");
  return res;
}

Response kubeStatus(http::status status, std::string_view reason, std::string_view message) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("kind", "Status", a);
  doc.AddMember("apiVersion", "v1", a);
  doc.AddMember("metadata", Json(rapidjson::kObjectType), a);
  doc.AddMember("status", "Failure", a);
  doc.AddMember("message", util::str(message, a), a);
  doc.AddMember("reason", util::str(reason, a), a);
  doc.AddMember("code", static_cast<int>(status), a);
  return kubeJson(status, util::toJson(doc));
}

util::Status applyNodePatch(KubeNode& node, const util::Json& patch) {
  auto invalid = [&](std::string_view field, std::string_view why) {
    return makeError(ErrorCode::Invalid,
                     fmt::format(R"(Node "{}" is invalid: {}: {})", node.name, field, why));
  };
  if (!patch.IsObject()) return invalid("<patch>", "a node patch is a JSON object");
  for (const auto& m : patch.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key == "apiVersion" || key == "kind" || key == "status" || key.starts_with("$")) continue;
    if ((key != "metadata" && key != "spec") || !m.value.IsObject()) {
      return invalid(key,
                     "cloudsim patches metadata.labels, metadata.annotations and "
                     "spec.unschedulable only");
    }
    for (const auto& f : m.value.GetObject()) {
      std::string_view name(f.name.GetString(), f.name.GetStringLength());
      std::string field = fmt::format("{}.{}", key, name);
      if (name.starts_with("$")) continue;
      if (field == "metadata.labels" || field == "metadata.annotations") {
        auto& target = name == "labels" ? node.labels : node.annotations;
        if (auto s = stringMapPatch(target, f.value, field); !s.ok())
          return invalid(field, s.error().message);
      } else if (field == "metadata.resourceVersion") {
        std::string want = f.value.IsString() ? f.value.GetString() : "";
        if (want != std::to_string(node.resource_version)) {
          return makeError(ErrorCode::Conflict,
                           fmt::format(R"(Operation cannot be fulfilled on nodes "{}": the object )"
                                       "has been modified; please apply your changes to the "
                                       "latest version and try again",
                                       node.name));
        }
      } else if (field == "metadata.name") {
        if (!f.value.IsString() || f.value.GetString() != node.name)
          return invalid(field, "the name cannot be changed");
      } else if (field == "spec.unschedulable") {
        if (!f.value.IsBool() && !f.value.IsNull()) return invalid(field, "expected true or false");
        node.unschedulable = f.value.IsBool() && f.value.GetBool();
      } else {
        return invalid(field,
                       "cloudsim patches metadata.labels, metadata.annotations and "
                       "spec.unschedulable only");
      }
    }
  }
  return {};
}

std::optional<NodeWatch> nodeWatchOf(const Request& req) {
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  if (req.method() != http::verb::get || target.substr(0, q) != "/api/v1/nodes" ||
      q == std::string_view::npos) {
    return std::nullopt;
  }
  Query query(target.substr(q + 1));
  std::string watch = query.get("watch").value_or("");
  if (watch != "1" && watch != "true") return std::nullopt;
  NodeWatch w;
  w.table = wantsTable(req);
  std::string rv = query.get("resourceVersion").value_or("");
  if (!rv.empty() && rv != "0") {
    w.after = std::strtoull(rv.c_str(), nullptr, 10);
    w.initial_list = false;
  }
  if (auto t = query.get("timeoutSeconds")) {
    long seconds = std::strtol(t->c_str(), nullptr, 10);
    if (seconds > 0) w.timeout = std::chrono::seconds(std::min<long>(seconds, 1800));
  }
  return w;
}

Response handleKubeApi(KubeClusters& clusters, KubeCluster& cluster, const Request& req,
                       bool authenticated, SystemTime now) {
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  std::string path(target.substr(0, q));
  Query query(q == std::string_view::npos ? "" : target.substr(q + 1));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  bool anonymous_ok =
      path == "/healthz" || path == "/readyz" || path == "/livez" || path == "/version";
  if (!authenticated && !anonymous_ok)
    return kubeStatus(http::status::unauthorized, "Unauthorized", "Unauthorized");
  http::verb method = req.method();
  bool read = method == http::verb::get || method == http::verb::head;
  auto not_allowed = [] {
    return kubeStatus(http::status::method_not_allowed, "MethodNotAllowed",
                      "the server does not allow this method on the requested resource");
  };
  std::vector<std::string_view> seg = segments(path);
  // /api/v1/nodes/{name}: GET, PATCH (cordon), DELETE.
  if (seg.size() == 4 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "nodes") {
    if (read) return nodes(cluster, req, query, seg[3], now);
    if (method == http::verb::patch) return patchNode(clusters, cluster, req, query, seg[3]);
    if (method == http::verb::delete_) return deleteNode(clusters, cluster, query, seg[3]);
    return not_allowed();
  }
  // /api/v1/namespaces/{ns}/configmaps/{name}
  if (seg.size() == 6 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "namespaces" &&
      seg[4] == "configmaps") {
    return configMaps(clusters, cluster, req, query, seg[3], seg[5]);
  }
  // /api/v1/namespaces/{ns}/secrets[/{name}]
  if ((seg.size() == 5 || seg.size() == 6) && seg[0] == "api" && seg[1] == "v1" &&
      seg[2] == "namespaces" && seg[4] == "secrets") {
    return handleSecrets(cluster, req, query, seg[3], seg.size() == 6 ? seg[5] : "", now);
  }
  // /api/v1/namespaces/{ns}/pods[/{name}[/eviction]]
  if (seg.size() >= 5 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "namespaces" &&
      seg[4] == "pods") {
    return pods(clusters, cluster, req, query, {seg.begin() + 2, seg.end()}, now);
  }
  if (!read) return not_allowed();
  if (path == "/healthz" || path == "/readyz" || path == "/livez") return health(cluster, path);
  if (path == "/version") return version(cluster);
  if (path == "/api" || path == "/apis") return discovery(req, path);
  if (path == "/api/v1") return kubeJson(http::status::ok, std::string(kCoreResourceList));
  if (path == "/apis/apps/v1") return kubeJson(http::status::ok, std::string(kAppsResourceList));
  if (path == "/api/v1/nodes") return nodes(cluster, req, query, "", now);
  if (path == "/api/v1/pods") return listPods(cluster, req, query, "", now);
  // /apis/apps/v1/namespaces/{ns}/daemonsets/{name}
  if (seg.size() == 7 && seg[0] == "apis" && seg[1] == "apps" && seg[2] == "v1" &&
      seg[3] == "namespaces" && seg[5] == "daemonsets") {
    std::string ds = daemonSetJson(cluster, seg[4], seg[6]);
    if (ds.empty()) {
      return kubeStatus(http::status::not_found, "NotFound",
                        fmt::format(R"(daemonsets.apps "{}" not found)", seg[6]));
    }
    return kubeJson(http::status::ok, std::move(ds));
  }
  return kubeStatus(http::status::not_found, "NotFound",
                    "the server could not find the requested resource");
}

}  // namespace magnumd::cloudsim
