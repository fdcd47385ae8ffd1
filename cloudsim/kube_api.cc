#include "cloudsim/kube_api.h"

#include <fmt/format.h>

#include <algorithm>

namespace magnumd::cloudsim {
namespace {

using util::Json;
using util::JsonAlloc;

constexpr std::string_view kAggregated =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

Response kubeJson(http::status status, std::string body,
                  std::string_view content_type = "application/json") {
  Response res = jsonText(status, std::move(body));
  res.set(http::field::content_type, content_type);
  res.set("Cache-Control", "no-cache, private");
  return res;
}

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

std::string roles(const KubeNode& node) {
  std::vector<std::string> out;
  for (const auto& [k, v] : node.labels) {
    constexpr std::string_view kPrefix = "node-role.kubernetes.io/";
    if (k.rfind(kPrefix, 0) == 0 && k.size() > kPrefix.size())
      out.push_back(k.substr(kPrefix.size()));
    if (k == "kubernetes.io/role" && !v.empty()) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out.empty() ? "<none>" : fmt::format("{}", fmt::join(out, ","));
}

std::string uidOf(const KubeCluster& cluster, const KubeNode& node) {
  std::string h = stableHexId("node", cluster.stack_id + "/" + node.name + "/" + node.server_id);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20, 12));
}

Json metadata(const KubeCluster& cluster, const KubeNode& node, JsonAlloc& a) {
  Json m(rapidjson::kObjectType);
  m.AddMember("name", util::str(node.name, a), a);
  m.AddMember("uid", util::str(uidOf(cluster, node), a), a);
  m.AddMember("resourceVersion", util::str(std::to_string(node.resource_version), a), a);
  m.AddMember("creationTimestamp", util::str(formatSeconds(node.created), a), a);
  Json labels(rapidjson::kObjectType);
  for (const auto& [k, v] : node.labels) labels.AddMember(util::str(k, a), util::str(v, a), a);
  m.AddMember("labels", labels, a);
  Json annotations(rapidjson::kObjectType);
  annotations.AddMember("kubeadm.alpha.kubernetes.io/cri-socket",
                        "unix:///var/run/containerd/containerd.sock", a);
  annotations.AddMember("node.alpha.kubernetes.io/ttl", "0", a);
  m.AddMember("annotations", annotations, a);
  return m;
}

constexpr const char* kOsImage = "Ubuntu 22.04.4 LTS";
constexpr const char* kKernel = "5.15.0-105-generic";
constexpr const char* kRuntime = "containerd://1.7.13";

Json nodeValue(const KubeCluster& cluster, const KubeNode& node, JsonAlloc& a) {
  Json n(rapidjson::kObjectType);
  n.AddMember("kind", "Node", a);
  n.AddMember("apiVersion", "v1", a);
  n.AddMember("metadata", metadata(cluster, node, a), a);
  Json spec(rapidjson::kObjectType);
  spec.AddMember("providerID", util::str("openstack:///" + node.server_id, a), a);
  if (node.labels.count("node-role.kubernetes.io/control-plane") > 0) {
    Json taints(rapidjson::kArrayType), t(rapidjson::kObjectType);
    t.AddMember("key", "node-role.kubernetes.io/control-plane", a);
    t.AddMember("effect", "NoSchedule", a);
    taints.PushBack(t, a);
    spec.AddMember("taints", taints, a);
  }
  n.AddMember("spec", spec, a);
  Json status(rapidjson::kObjectType);
  Json conditions(rapidjson::kArrayType), ready(rapidjson::kObjectType);
  ready.AddMember("type", "Ready", a);
  ready.AddMember("status", util::str(node.ready ? "True" : "False", a), a);
  ready.AddMember("lastHeartbeatTime", util::str(formatSeconds(node.transition), a), a);
  ready.AddMember("lastTransitionTime", util::str(formatSeconds(node.transition), a), a);
  ready.AddMember("reason", util::str(node.ready ? "KubeletReady" : "KubeletNotReady", a), a);
  ready.AddMember(
      "message",
      util::str(node.ready ? "kubelet is posting ready status" : "container runtime is down", a),
      a);
  conditions.PushBack(ready, a);
  status.AddMember("conditions", conditions, a);
  Json addresses(rapidjson::kArrayType);
  for (auto [type, value] :
       {std::pair{"InternalIP", &node.internal_ip}, std::pair{"Hostname", &node.name}}) {
    Json addr(rapidjson::kObjectType);
    addr.AddMember("type", util::str(type, a), a);
    addr.AddMember("address", util::str(*value, a), a);
    addresses.PushBack(addr, a);
  }
  status.AddMember("addresses", addresses, a);
  Json info(rapidjson::kObjectType);
  info.AddMember("machineID", util::str(stableHexId("machine", node.server_id), a), a);
  info.AddMember("systemUUID", util::str(node.server_id, a), a);
  info.AddMember("kernelVersion", util::str(kKernel, a), a);
  info.AddMember("osImage", util::str(kOsImage, a), a);
  info.AddMember("containerRuntimeVersion", util::str(kRuntime, a), a);
  info.AddMember("kubeletVersion", util::str(cluster.version, a), a);
  info.AddMember("kubeProxyVersion", util::str(cluster.version, a), a);
  info.AddMember("operatingSystem", "linux", a);
  info.AddMember("architecture", "amd64", a);
  status.AddMember("nodeInfo", info, a);
  n.AddMember("status", status, a);
  return n;
}

Json column(const char* name, const char* format, const char* description, int priority,
            JsonAlloc& a) {
  Json c(rapidjson::kObjectType);
  c.AddMember("name", util::str(name, a), a);
  c.AddMember("type", "string", a);
  c.AddMember("format", util::str(format, a), a);
  c.AddMember("description", util::str(description, a), a);
  c.AddMember("priority", priority, a);
  return c;
}

// The node printer's columns (pkg/printers/internalversion/printers.go).
std::string nodeTable(const KubeCluster& cluster, const std::vector<const KubeNode*>& nodes,
                      SystemTime now, bool with_columns = true) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("kind", "Table", a);
  doc.AddMember("apiVersion", "meta.k8s.io/v1", a);
  Json meta(rapidjson::kObjectType);
  meta.AddMember("resourceVersion", util::str(std::to_string(cluster.resource_version), a), a);
  doc.AddMember("metadata", meta, a);
  Json columns(rapidjson::kArrayType);
  columns.PushBack(column("Name", "name", "Name must be unique within a namespace.", 0, a), a);
  columns.PushBack(column("Status", "", "The status of the node", 0, a), a);
  columns.PushBack(column("Roles", "", "The roles of the node", 0, a), a);
  columns.PushBack(column("Age", "",
                          "CreationTimestamp is a timestamp representing the server time when this "
                          "object was created.",
                          0, a),
                   a);
  columns.PushBack(column("Version", "", "Kubelet Version reported by the node.", 0, a), a);
  columns.PushBack(column("Internal-IP", "", "List of internal IPs in the node.", 1, a), a);
  columns.PushBack(column("External-IP", "", "List of external IPs in the node.", 1, a), a);
  columns.PushBack(
      column(
          "OS-Image", "",
          "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
          1, a),
      a);
  columns.PushBack(
      column("Kernel-Version", "",
             "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1,
             a),
      a);
  columns.PushBack(column("Container-Runtime", "",
                          "Container Runtime Version reported by the node through runtime remote "
                          "API (e.g. containerd://1.4.2).",
                          1, a),
                   a);
  if (with_columns) doc.AddMember("columnDefinitions", columns, a);
  Json rows(rapidjson::kArrayType);
  for (const KubeNode* node : nodes) {
    Json cells(rapidjson::kArrayType);
    auto age = std::chrono::duration_cast<std::chrono::seconds>(now - node->created);
    for (const std::string& cell :
         {node->name, std::string(node->ready ? "Ready" : "NotReady"), roles(*node),
          humanDuration(age), cluster.version, node->internal_ip, std::string("<none>"),
          std::string(kOsImage), std::string(kKernel), std::string(kRuntime)}) {
      cells.PushBack(util::str(cell, a), a);
    }
    Json row(rapidjson::kObjectType);
    row.AddMember("cells", cells, a);
    Json object(rapidjson::kObjectType);
    object.AddMember("kind", "PartialObjectMetadata", a);
    object.AddMember("apiVersion", "meta.k8s.io/v1", a);
    object.AddMember("metadata", metadata(cluster, *node, a), a);
    row.AddMember("object", object, a);
    rows.PushBack(row, a);
  }
  doc.AddMember("rows", rows, a);
  return util::toJson(doc);
}

Response version(const KubeCluster& cluster) {
  std::string v = cluster.version.substr(1);
  std::string major = v.substr(0, v.find('.'));
  std::string rest = v.substr(std::min(v.size(), major.size() + 1));
  std::string minor = rest.substr(0, rest.find_first_not_of("0123456789"));
  return kubeJson(
      http::status::ok,
      fmt::format(
          R"({{"major":"{}","minor":"{}","gitVersion":"{}","gitCommit":"0000000000000000000000000000000000000000","gitTreeState":"clean","buildDate":"2024-08-14T19:29:04Z","goVersion":"go1.22.5","compiler":"gc","platform":"linux/amd64"}})",
          major, minor, cluster.version));
}

Response health(const KubeCluster& cluster, std::string_view check) {
  if (!cluster.healthz_failing) return plain(http::status::ok, "ok");
  return plain(http::status::internal_server_error,
               fmt::format("[-]etcd failed: reason withheld\n{} check failed\n", check.substr(1)));
}

constexpr std::string_view kNodeResource =
    R"({"resource":"nodes","responseKind":{"group":"","version":"v1","kind":"Node"},"scope":"Cluster","singularResource":"node","verbs":["get","list","watch"],"shortNames":["no"]})";

Response discovery(const Request& req, std::string_view path) {
  bool core = path == "/api";
  if (wantsAggregated(req)) {
    std::string items =
        core
            ? fmt::format(
                  R"([{{"metadata":{{"creationTimestamp":null}},"versions":[{{"version":"v1","resources":[{}],"freshness":"Current"}}]}}])",
                  kNodeResource)
            : "[]";
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
  return kubeJson(http::status::ok, R"({"kind":"APIGroupList","apiVersion":"v1","groups":[]})");
}

Response nodes(const KubeCluster& cluster, const Request& req, std::string_view name,
               SystemTime now) {
  std::vector<const KubeNode*> selected;
  if (!name.empty()) {
    auto it = cluster.nodes.find(std::string(name));
    if (it == cluster.nodes.end()) {
      Response res = kubeStatus(http::status::not_found, "NotFound",
                                fmt::format(R"(nodes "{}" not found)", name));
      return res;
    }
    selected.push_back(&it->second);
  } else {
    for (const auto& [n, node] : cluster.nodes) selected.push_back(&node);
  }
  if (wantsTable(req)) return kubeJson(http::status::ok, nodeTable(cluster, selected, now));
  if (!name.empty()) return kubeJson(http::status::ok, nodeJson(cluster, *selected.front()));
  std::string items;
  for (const KubeNode* node : selected)
    items += (items.empty() ? "" : ",") + nodeJson(cluster, *node);
  return kubeJson(
      http::status::ok,
      fmt::format(
          R"({{"kind":"NodeList","apiVersion":"v1","metadata":{{"resourceVersion":"{}"}},"items":[{}]}})",
          cluster.resource_version, items));
}

}  // namespace

std::string nodeJson(const KubeCluster& cluster, const KubeNode& node) {
  util::JsonDoc doc;
  Json v = nodeValue(cluster, node, doc.GetAllocator());
  return util::toJson(v);
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

std::string humanDuration(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return fmt::format("{}s", s);
  int64_t m = s / 60, h = s / 3600;
  if (m < 10) return s % 60 == 0 ? fmt::format("{}m", m) : fmt::format("{}m{}s", m, s % 60);
  if (m < 180) return fmt::format("{}m", m);
  if (h < 8) return m % 60 == 0 ? fmt::format("{}h", h) : fmt::format("{}h{}m", h, m % 60);
  if (h < 48) return fmt::format("{}h", h);
  if (h < 24 * 8)
    return h % 24 == 0 ? fmt::format("{}d", h / 24) : fmt::format("{}d{}h", h / 24, h % 24);
  if (h < 24 * 365 * 2) return fmt::format("{}d", h / 24);
  int64_t y = h / 24 / 365, dy = (h / 24) % 365;
  if (h < 24 * 365 * 8) return dy == 0 ? fmt::format("{}y", y) : fmt::format("{}y{}d", y, dy);
  return fmt::format("{}y", y);
}

std::string watchEventLine(const KubeCluster& cluster, std::string_view type, const KubeNode& node,
                           bool table, bool with_columns, SystemTime now) {
  std::string object =
      table ? nodeTable(cluster, {&node}, now, with_columns) : nodeJson(cluster, node);
  return fmt::format(R"({{"type":"{}","object":{}}})", type, object) + "\n";
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

Response handleKubeApi(const KubeCluster& cluster, const Request& req, bool authenticated,
                       SystemTime now) {
  std::string_view target(req.target().data(), req.target().size());
  std::string path(target.substr(0, target.find('?')));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  bool anonymous_ok =
      path == "/healthz" || path == "/readyz" || path == "/livez" || path == "/version";
  if (!authenticated && !anonymous_ok)
    return kubeStatus(http::status::unauthorized, "Unauthorized", "Unauthorized");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return kubeStatus(http::status::method_not_allowed, "MethodNotAllowed",
                      "the server does not allow this method on the requested resource");
  }
  if (path == "/healthz" || path == "/readyz" || path == "/livez") return health(cluster, path);
  if (path == "/version") return version(cluster);
  if (path == "/api" || path == "/apis") return discovery(req, path);
  if (path == "/api/v1") {
    return kubeJson(
        http::status::ok,
        fmt::format(
            R"({{"kind":"APIResourceList","groupVersion":"v1","resources":[{{"name":"nodes","singularName":"node","namespaced":false,"kind":"Node","verbs":["get","list","watch"],"shortNames":["no"]}}]}})"));
  }
  if (path == "/api/v1/nodes") return nodes(cluster, req, "", now);
  constexpr std::string_view kNodePrefix = "/api/v1/nodes/";
  if (path.rfind(kNodePrefix, 0) == 0 && path.find('/', kNodePrefix.size()) == std::string::npos) {
    return nodes(cluster, req, std::string_view(path).substr(kNodePrefix.size()), now);
  }
  return kubeStatus(http::status::not_found, "NotFound",
                    "the server could not find the requested resource");
}

}  // namespace magnumd::cloudsim
