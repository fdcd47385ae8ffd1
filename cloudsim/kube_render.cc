#include "cloudsim/kube_render.h"

#include <fmt/format.h>

#include <algorithm>

#include "cloudsim/support.h"
#include "util/json.h"

namespace magnumd::cloudsim {
namespace {

using util::Json;
using util::JsonAlloc;

constexpr const char* kOsImage = "Ubuntu 22.04.4 LTS";
constexpr const char* kKernel = "5.15.0-105-generic";
constexpr const char* kRuntime = "containerd://1.7.13";

std::string uuidOf(std::string_view kind, std::string_view name) {
  std::string h = stableHexId(kind, name);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20, 12));
}

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
  return uuidOf("node", cluster.stack_id + "/" + node.name + "/" + node.server_id);
}

Json stringMap(const std::map<std::string, std::string>& map, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  for (const auto& [k, v] : map) out.AddMember(util::str(k, a), util::str(v, a), a);
  return out;
}

Json metadata(const KubeCluster& cluster, const KubeNode& node, JsonAlloc& a) {
  Json m(rapidjson::kObjectType);
  m.AddMember("name", util::str(node.name, a), a);
  m.AddMember("uid", util::str(uidOf(cluster, node), a), a);
  m.AddMember("resourceVersion", util::str(std::to_string(node.resource_version), a), a);
  m.AddMember("creationTimestamp", util::str(formatSeconds(node.created), a), a);
  m.AddMember("labels", stringMap(node.labels, a), a);
  m.AddMember("annotations", stringMap(node.annotations, a), a);
  return m;
}

Json taint(const char* key, const char* effect, JsonAlloc& a) {
  Json t(rapidjson::kObjectType);
  t.AddMember("key", util::str(key, a), a);
  t.AddMember("effect", util::str(effect, a), a);
  return t;
}

// The Ready condition's status, reason and message.
struct Readiness {
  const char* status;
  const char* reason;
  std::string message;
};
Readiness readiness(const KubeNode& node) {
  if (!node.server_active)
    return {"Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."};
  if (!node.ready) {
    return {"False", "KubeletNotReady",
            node.forced_not_ready ? node.not_ready_message : node.trust_problem};
  }
  return {"True", "KubeletReady", "kubelet is posting ready status"};
}

Json nodeValue(const KubeCluster& cluster, const KubeNode& node, JsonAlloc& a) {
  Json n(rapidjson::kObjectType);
  n.AddMember("kind", "Node", a);
  n.AddMember("apiVersion", "v1", a);
  n.AddMember("metadata", metadata(cluster, node, a), a);
  Json spec(rapidjson::kObjectType);
  spec.AddMember("providerID", util::str("openstack:///" + node.server_id, a), a);
  if (node.unschedulable) spec.AddMember("unschedulable", true, a);
  // As the node lifecycle controller taints them.
  Json taints(rapidjson::kArrayType);
  if (node.control_plane)
    taints.PushBack(taint("node-role.kubernetes.io/control-plane", "NoSchedule", a), a);
  if (node.unschedulable)
    taints.PushBack(taint("node.kubernetes.io/unschedulable", "NoSchedule", a), a);
  if (!node.server_active) {
    taints.PushBack(taint("node.kubernetes.io/unreachable", "NoSchedule", a), a);
  } else if (!node.ready) {
    taints.PushBack(taint("node.kubernetes.io/not-ready", "NoSchedule", a), a);
  }
  if (!taints.Empty()) spec.AddMember("taints", taints, a);
  n.AddMember("spec", spec, a);
  Json status(rapidjson::kObjectType);
  Json conditions(rapidjson::kArrayType), ready(rapidjson::kObjectType);
  Readiness r = readiness(node);
  ready.AddMember("type", "Ready", a);
  ready.AddMember("status", util::str(r.status, a), a);
  ready.AddMember("lastHeartbeatTime", util::str(formatSeconds(node.transition), a), a);
  ready.AddMember("lastTransitionTime", util::str(formatSeconds(node.transition), a), a);
  ready.AddMember("reason", util::str(r.reason, a), a);
  ready.AddMember("message", util::str(r.message, a), a);
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
  info.AddMember("kubeletVersion", util::str(node.version, a), a);
  info.AddMember("kubeProxyVersion", util::str(node.version, a), a);
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

// A Table: its rows' cells, and each row's object as PartialObjectMetadata.
std::string table(const KubeCluster& cluster, Json columns, Json rows, util::JsonDoc& doc,
                  bool with_columns) {
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("kind", "Table", a);
  doc.AddMember("apiVersion", "meta.k8s.io/v1", a);
  Json meta(rapidjson::kObjectType);
  meta.AddMember("resourceVersion", util::str(std::to_string(cluster.resource_version), a), a);
  doc.AddMember("metadata", meta, a);
  if (with_columns) doc.AddMember("columnDefinitions", columns, a);
  doc.AddMember("rows", rows, a);
  return util::toJson(doc);
}

Json row(const std::vector<std::string>& cells, Json metadata, JsonAlloc& a) {
  Json list(rapidjson::kArrayType);
  for (const std::string& cell : cells) list.PushBack(util::str(cell, a), a);
  Json r(rapidjson::kObjectType);
  r.AddMember("cells", list, a);
  Json object(rapidjson::kObjectType);
  object.AddMember("kind", "PartialObjectMetadata", a);
  object.AddMember("apiVersion", "meta.k8s.io/v1", a);
  object.AddMember("metadata", metadata, a);
  r.AddMember("object", object, a);
  return r;
}

std::string nodeStatusCell(const KubeNode& node) {
  std::string status = !node.server_active ? "Unknown" : node.ready ? "Ready" : "NotReady";
  return node.unschedulable ? status + ",SchedulingDisabled" : status;
}

// Pods.

const char* ownerApiVersion(PodOwner owner) { return owner == PodOwner::Node ? "v1" : "apps/v1"; }
const char* ownerKind(PodOwner owner) {
  return owner == PodOwner::DaemonSet    ? "DaemonSet"
         : owner == PodOwner::ReplicaSet ? "ReplicaSet"
                                         : "Node";
}

std::string ownerUid(const KubeCluster& cluster, const KubePod& pod) {
  if (pod.owner == PodOwner::Node) {
    auto it = cluster.nodes.find(pod.owner_name);
    if (it != cluster.nodes.end()) return uidOf(cluster, it->second);
  }
  return uuidOf(ownerKind(pod.owner), cluster.stack_id + "/" + pod.owner_name);
}

bool podReady(const KubeCluster& cluster, const KubePod& pod) {
  auto it = cluster.nodes.find(pod.node);
  return it != cluster.nodes.end() && it->second.ready && it->second.server_active;
}

Json podMetadata(const KubeCluster& cluster, const KubePod& pod, JsonAlloc& a) {
  Json m(rapidjson::kObjectType);
  m.AddMember("name", util::str(pod.name, a), a);
  if (pod.owner != PodOwner::Node)
    m.AddMember("generateName", util::str(pod.owner_name + "-", a), a);
  m.AddMember("namespace", util::str(pod.ns, a), a);
  m.AddMember("uid", util::str(pod.uid, a), a);
  m.AddMember("resourceVersion", util::str(std::to_string(pod.resource_version), a), a);
  m.AddMember("creationTimestamp", util::str(formatSeconds(pod.created), a), a);
  m.AddMember("labels", stringMap(podLabels(pod), a), a);
  if (pod.owner == PodOwner::Node) {
    std::string hash = stableHexId("config", pod.uid);
    m.AddMember("annotations",
                stringMap({{"kubernetes.io/config.hash", hash},
                           {"kubernetes.io/config.mirror", hash},
                           {"kubernetes.io/config.seen", formatSeconds(pod.created)},
                           {"kubernetes.io/config.source", "file"}},
                          a),
                a);
  }
  Json owners(rapidjson::kArrayType), owner(rapidjson::kObjectType);
  owner.AddMember("apiVersion", util::str(ownerApiVersion(pod.owner), a), a);
  owner.AddMember("kind", util::str(ownerKind(pod.owner), a), a);
  owner.AddMember("name", util::str(pod.owner_name, a), a);
  owner.AddMember("uid", util::str(ownerUid(cluster, pod), a), a);
  owner.AddMember("controller", true, a);
  if (pod.owner != PodOwner::Node) owner.AddMember("blockOwnerDeletion", true, a);
  owners.PushBack(owner, a);
  m.AddMember("ownerReferences", owners, a);
  return m;
}

Json podValue(const KubeCluster& cluster, const KubePod& pod, JsonAlloc& a) {
  bool host_network = pod.owner != PodOwner::ReplicaSet;
  bool ready = podReady(cluster, pod);
  Json p(rapidjson::kObjectType);
  p.AddMember("kind", "Pod", a);
  p.AddMember("apiVersion", "v1", a);
  p.AddMember("metadata", podMetadata(cluster, pod, a), a);
  Json spec(rapidjson::kObjectType);
  Json containers(rapidjson::kArrayType), container(rapidjson::kObjectType);
  container.AddMember("name", util::str(pod.component, a), a);
  container.AddMember("image", util::str(pod.image, a), a);
  container.AddMember("imagePullPolicy", "IfNotPresent", a);
  containers.PushBack(container, a);
  spec.AddMember("containers", containers, a);
  spec.AddMember("restartPolicy", "Always", a);
  spec.AddMember("schedulerName", "default-scheduler", a);
  if (!pod.node.empty()) spec.AddMember("nodeName", util::str(pod.node, a), a);
  if (host_network) spec.AddMember("hostNetwork", true, a);
  spec.AddMember("priorityClassName",
                 util::str(pod.owner == PodOwner::ReplicaSet ? "system-cluster-critical"
                                                             : "system-node-critical",
                           a),
                 a);
  Json tolerations(rapidjson::kArrayType), all(rapidjson::kObjectType);
  all.AddMember("operator", "Exists", a);
  if (pod.owner == PodOwner::ReplicaSet) {
    all.AddMember("key", "node-role.kubernetes.io/control-plane", a);
    all.AddMember("effect", "NoSchedule", a);
  }
  tolerations.PushBack(all, a);
  spec.AddMember("tolerations", tolerations, a);
  p.AddMember("spec", spec, a);

  Json status(rapidjson::kObjectType);
  status.AddMember("phase", util::str(podPhase(pod), a), a);
  Json conditions(rapidjson::kArrayType);
  auto condition = [&](const char* type, bool value, const char* reason = nullptr) {
    Json c(rapidjson::kObjectType);
    c.AddMember("type", util::str(type, a), a);
    c.AddMember("status", util::str(value ? "True" : "False", a), a);
    c.AddMember("lastTransitionTime", util::str(formatSeconds(pod.created), a), a);
    if (reason != nullptr) c.AddMember("reason", util::str(reason, a), a);
    conditions.PushBack(c, a);
  };
  if (pod.node.empty()) {
    condition("PodScheduled", false, "Unschedulable");
  } else {
    condition("Initialized", true);
    condition("Ready", ready);
    condition("ContainersReady", ready);
    condition("PodScheduled", true);
  }
  status.AddMember("conditions", conditions, a);
  if (!pod.node.empty()) {
    auto node = cluster.nodes.find(pod.node);
    std::string host_ip = node == cluster.nodes.end() ? "" : node->second.internal_ip;
    status.AddMember("hostIP", util::str(host_ip, a), a);
    status.AddMember("podIP", util::str(pod.ip, a), a);
    Json ips(rapidjson::kArrayType), ip(rapidjson::kObjectType);
    ip.AddMember("ip", util::str(pod.ip, a), a);
    ips.PushBack(ip, a);
    status.AddMember("podIPs", ips, a);
    status.AddMember("startTime", util::str(formatSeconds(pod.created), a), a);
    Json statuses(rapidjson::kArrayType), cs(rapidjson::kObjectType);
    cs.AddMember("name", util::str(pod.component, a), a);
    cs.AddMember("ready", ready, a);
    cs.AddMember("started", true, a);
    cs.AddMember("restartCount", 0, a);
    cs.AddMember("image", util::str(pod.image, a), a);
    cs.AddMember("imageID", "", a);
    cs.AddMember(
        "containerID",
        util::str("containerd://" + stableHexId("container", pod.uid) + stableHexId("c", pod.uid),
                  a),
        a);
    Json state(rapidjson::kObjectType), running(rapidjson::kObjectType);
    running.AddMember("startedAt", util::str(formatSeconds(pod.created), a), a);
    state.AddMember("running", running, a);
    cs.AddMember("state", state, a);
    statuses.PushBack(cs, a);
    status.AddMember("containerStatuses", statuses, a);
  }
  status.AddMember("qosClass",
                   util::str(pod.owner == PodOwner::DaemonSet ? "BestEffort" : "Burstable", a), a);
  p.AddMember("status", status, a);
  return p;
}

}  // namespace

std::string nodeJson(const KubeCluster& cluster, const KubeNode& node) {
  util::JsonDoc doc;
  Json v = nodeValue(cluster, node, doc.GetAllocator());
  return util::toJson(v);
}

std::string nodeListJson(const KubeCluster& cluster, const std::vector<const KubeNode*>& nodes) {
  std::string items;
  for (const KubeNode* node : nodes) items += (items.empty() ? "" : ",") + nodeJson(cluster, *node);
  return fmt::format(
      R"({{"kind":"NodeList","apiVersion":"v1","metadata":{{"resourceVersion":"{}"}},"items":[{}]}})",
      cluster.resource_version, items);
}

std::string nodeTableJson(const KubeCluster& cluster, const std::vector<const KubeNode*>& nodes,
                          SystemTime now, bool with_columns) {
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
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
  Json rows(rapidjson::kArrayType);
  for (const KubeNode* node : nodes) {
    auto age = std::chrono::duration_cast<std::chrono::seconds>(now - node->created);
    rows.PushBack(row({node->name, nodeStatusCell(*node), roles(*node), humanDuration(age),
                       node->version, node->internal_ip, "<none>", kOsImage, kKernel, kRuntime},
                      metadata(cluster, *node, a), a),
                  a);
  }
  return table(cluster, std::move(columns), std::move(rows), doc, with_columns);
}

std::string podJson(const KubeCluster& cluster, const KubePod& pod) {
  util::JsonDoc doc;
  Json v = podValue(cluster, pod, doc.GetAllocator());
  return util::toJson(v);
}

std::string podListJson(const KubeCluster& cluster, const std::vector<const KubePod*>& pods) {
  std::string items;
  for (const KubePod* pod : pods) items += (items.empty() ? "" : ",") + podJson(cluster, *pod);
  return fmt::format(
      R"({{"kind":"PodList","apiVersion":"v1","metadata":{{"resourceVersion":"{}"}},"items":[{}]}})",
      cluster.resource_version, items);
}

std::string podTableJson(const KubeCluster& cluster, const std::vector<const KubePod*>& pods,
                         SystemTime now) {
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  Json columns(rapidjson::kArrayType);
  columns.PushBack(column("Name", "name", "Name must be unique within a namespace.", 0, a), a);
  columns.PushBack(column("Ready", "", "The aggregate readiness state of this pod.", 0, a), a);
  columns.PushBack(column("Status", "", "The aggregate status of the containers.", 0, a), a);
  columns.PushBack(column("Restarts", "", "The number of times the containers restarted.", 0, a),
                   a);
  columns.PushBack(column("Age", "",
                          "CreationTimestamp is a timestamp representing the server time when this "
                          "object was created.",
                          0, a),
                   a);
  columns.PushBack(column("IP", "", "IP address allocated to the pod.", 1, a), a);
  columns.PushBack(column("Node", "", "Name of the node the pod is assigned to.", 1, a), a);
  columns.PushBack(
      column("Nominated Node", "", "Name of the node nominated by the scheduler.", 1, a), a);
  columns.PushBack(column("Readiness Gates", "", "The readiness gates of the pod.", 1, a), a);
  Json rows(rapidjson::kArrayType);
  for (const KubePod* pod : pods) {
    auto age = std::chrono::duration_cast<std::chrono::seconds>(now - pod->created);
    rows.PushBack(
        row({pod->name, podReady(cluster, *pod) ? "1/1" : "0/1", std::string(podPhase(*pod)), "0",
             humanDuration(age), pod->ip.empty() ? "<none>" : pod->ip,
             pod->node.empty() ? "<none>" : pod->node, "<none>", "<none>"},
            podMetadata(cluster, *pod, a), a),
        a);
  }
  return table(cluster, std::move(columns), std::move(rows), doc, true);
}

std::string daemonSetJson(const KubeCluster& cluster, std::string_view ns, std::string_view name) {
  if (ns != "kube-system" || name != "kube-proxy") return "";
  int scheduled = 0, ready = 0;
  for (const auto& [key, pod] : cluster.pods) {
    if (pod.owner != PodOwner::DaemonSet) continue;
    ++scheduled;
    if (podReady(cluster, pod)) ++ready;
  }
  return fmt::format(
      R"({{"kind":"DaemonSet","apiVersion":"apps/v1","metadata":{{"name":"kube-proxy","namespace":"kube-system","uid":"{}","resourceVersion":"{}","generation":1,"creationTimestamp":"{}","labels":{{"k8s-app":"kube-proxy"}}}},"spec":{{"selector":{{"matchLabels":{{"k8s-app":"kube-proxy"}}}},"template":{{"metadata":{{"labels":{{"k8s-app":"kube-proxy"}}}},"spec":{{"containers":[{{"name":"kube-proxy","image":"registry.k8s.io/kube-proxy:{}"}}],"hostNetwork":true,"priorityClassName":"system-node-critical","tolerations":[{{"operator":"Exists"}}]}}}},"updateStrategy":{{"type":"RollingUpdate","rollingUpdate":{{"maxUnavailable":1,"maxSurge":0}}}},"revisionHistoryLimit":10}},"status":{{"currentNumberScheduled":{},"numberMisscheduled":0,"desiredNumberScheduled":{},"numberReady":{},"observedGeneration":1,"updatedNumberScheduled":{},"numberAvailable":{}}}}})",
      uuidOf("DaemonSet", cluster.stack_id + "/kube-proxy"), cluster.resource_version,
      formatSeconds(cluster.created), apiServerVersion(cluster), scheduled, scheduled, ready,
      scheduled, ready);
}

std::string watchEventLine(const KubeCluster& cluster, std::string_view type, const KubeNode& node,
                           bool table, bool with_columns, SystemTime now) {
  std::string object =
      table ? nodeTableJson(cluster, {&node}, now, with_columns) : nodeJson(cluster, node);
  return fmt::format(R"({{"type":"{}","object":{}}})", type, object) + "\n";
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

std::string clusterInfoJson(const KubeCluster& cluster, const ClusterInfo& info) {
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("kind", "ConfigMap", a);
  doc.AddMember("apiVersion", "v1", a);
  Json m(rapidjson::kObjectType);
  m.AddMember("name", "cluster-info", a);
  m.AddMember("namespace", "kube-public", a);
  m.AddMember("uid",
              util::str(uuidOf("configmap", cluster.stack_id + "/kube-public/cluster-info"), a), a);
  m.AddMember("resourceVersion", util::str(std::to_string(info.resource_version), a), a);
  m.AddMember("creationTimestamp", util::str(formatSeconds(info.created), a), a);
  doc.AddMember("metadata", m, a);
  doc.AddMember("data", stringMap(info.data, a), a);
  return util::toJson(doc);
}

}  // namespace magnumd::cloudsim
