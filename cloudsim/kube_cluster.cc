#include "cloudsim/kube_cluster.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "pki/ca.h"
#include "pki/certificate.h"
#include "pki/leaf.h"
#include "util/log.h"

namespace magnumd::cloudsim {
namespace {

using util::ErrorCode;
using util::makeError;

bool isIpAddress(std::string_view s) {
  if (s.find(':') != std::string_view::npos) return true;  // IPv6
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
}

// "host:port", "[v6]:port" or "host" -> host
std::string hostOf(std::string_view endpoint) {
  if (!endpoint.empty() && endpoint.front() == '[') {
    size_t close = endpoint.find(']');
    return std::string(
        endpoint.substr(1, close == std::string_view::npos ? endpoint.size() - 1 : close - 1));
  }
  size_t colon = endpoint.rfind(':');
  if (colon != std::string_view::npos && endpoint.find(':') == colon)
    return std::string(endpoint.substr(0, colon));
  return std::string(endpoint);
}

// First address of a service subnet ("10.96.0.0/12" -> "10.96.0.1"), as kubeadm puts in the SANs.
std::string firstServiceIp(std::string_view subnet) {
  std::string net(subnet.substr(0, subnet.find('/')));
  size_t dot = net.rfind('.');
  if (dot == std::string::npos || !isIpAddress(net) || net.find(':') != std::string::npos)
    return "";
  return net.substr(0, dot) + ".1";
}

pki::LeafSpec servingSpec(const NodeBootstrap& boot) {
  pki::LeafSpec spec;
  spec.common_name = "kube-apiserver";
  spec.usage = pki::ExtendedKeyUsage::ServerAuth;
  spec.dns_names = {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local", "localhost"};
  spec.ip_addresses = {"127.0.0.1"};
  auto add = [&](const std::string& name) {
    if (name.empty()) return;
    auto& list = isIpAddress(name) ? spec.ip_addresses : spec.dns_names;
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  };
  add(boot.node_name);
  add(hostOf(boot.init->control_plane_endpoint));
  add(boot.init->advertise_address);
  add(firstServiceIp(boot.init->service_subnet.empty() ? "10.96.0.0/12"
                                                       : boot.init->service_subnet));
  for (const auto& san : boot.init->cert_sans) add(san);
  return spec;
}

// Where joining nodes reach the API: controlPlaneEndpoint, else the advertise address.
std::string joinEndpoint(const KubeadmInit& init) {
  if (!init.control_plane_endpoint.empty()) return init.control_plane_endpoint;
  if (!init.advertise_address.empty()) {
    return init.advertise_address.find(':') != std::string::npos
               ? fmt::format("[{}]:6443", init.advertise_address)
               : fmt::format("{}:6443", init.advertise_address);
  }
  return "127.0.0.1:6443";
}

std::string withV(std::string_view version) {
  return version.empty() || version.front() == 'v' ? std::string(version)
                                                   : fmt::format("v{}", version);
}

constexpr std::string_view kCniNotReady =
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:Network plugin returns error: cni plugin not initialized";

TimelineCounts countNodes(const KubeCluster& cluster) {
  TimelineCounts out;
  for (const auto& [name, node] : cluster.nodes) {
    RoleCounts& c = node.control_plane ? out.masters : out.workers;
    ++c.nodes;
    if (node.ready) ++c.ready;
    if (node.ready && !node.unschedulable) ++c.schedulable;
  }
  return out;
}

}  // namespace

bool versionLess(std::string_view a, std::string_view b) {
  auto parse = [](std::string_view v) -> std::optional<std::array<int, 3>> {
    if (!v.empty() && v.front() == 'v') v.remove_prefix(1);
    std::array<int, 3> out{};
    for (int i = 0; i < 3; ++i) {
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out[i]);
      if (ec != std::errc()) return std::nullopt;
      v.remove_prefix(static_cast<size_t>(p - v.data()));
      if (i < 2) {
        if (v.empty() || v.front() != '.') return std::nullopt;
        v.remove_prefix(1);
      }
    }
    return out;
  };
  auto pa = parse(a), pb = parse(b);
  if (pa && pb && *pa != *pb) return *pa < *pb;
  return a < b;
}

std::string apiServerVersion(const KubeCluster& cluster) {
  const std::string* oldest = nullptr;
  for (const auto& [name, node] : cluster.nodes) {
    // A master whose server is not running serves nothing.
    if (node.control_plane && node.server_active &&
        (oldest == nullptr || versionLess(node.version, *oldest)))
      oldest = &node.version;
  }
  return oldest != nullptr ? *oldest : cluster.version;
}

KubeClusters::KubeClusters(const util::Clock& clock, NovaStore& nova, HeatEngine& heat,
                           const Faults& faults)
    : clock_(clock), nova_(nova), heat_(heat), faults_(faults) {}

void KubeClusters::flush() {
  while (!dirty_.empty()) {
    uint32_t slot = *dirty_.begin();
    dirty_.erase(dirty_.begin());
    handle(slot);
  }
}

KubeCluster* KubeClusters::byStack(uint32_t stack_slot) {
  auto it = clusters_.find(stack_slot);
  return it == clusters_.end() ? nullptr : it->second.get();
}

KubeCluster* KubeClusters::byStackId(std::string_view stack_id) {
  auto slot = heat_.findById(stack_id);
  return slot ? byStack(*slot) : nullptr;
}

const NodeTimeline* KubeClusters::timeline(std::string_view stack_id) const {
  for (const auto& [slot, cluster] : clusters_) {
    if (cluster->stack_id == stack_id) return &cluster->timeline;
  }
  for (const auto& [id, timeline] : retired_) {
    if (id == stack_id) return &timeline;
  }
  return nullptr;
}

bool KubeClusters::neverJoins(const Server& s) const {
  return std::any_of(faults_.never_join.begin(), faults_.never_join.end(),
                     [&](const std::string& glob) { return globMatch(glob, s.name); });
}

bool KubeClusters::imageNeverReady(const Server& s) const {
  const std::string& image = nova_.imageOf(s);
  return std::any_of(faults_.never_ready_images.begin(), faults_.never_ready_images.end(),
                     [&](const std::string& bad) {
                       return !image.empty() && (bad == image || bad == imageId(image));
                     });
}

std::optional<std::string> KubeClusters::apiAddress(uint32_t stack_slot) const {
  auto it = clusters_.find(stack_slot);
  if (it == clusters_.end() || it->second->port == 0) return std::nullopt;
  return fmt::format("https://127.0.0.1:{}", it->second->port);
}

void KubeClusters::handle(uint32_t slot) {
  const Server& s = nova_.at(slot);
  if (s.owner == kNone) return;
  uint32_t stack = s.owner;
  KubeCluster* cluster = byStack(stack);
  if (s.vm == VmState::Deleted || s.purged) {
    seen_.erase(slot);
    if (auto w = waiting_.find(stack); w != waiting_.end()) {
      std::erase(w->second, slot);
      if (w->second.empty()) waiting_.erase(w);
    }
    if (cluster != nullptr) removeNode(*cluster, slot);
    return;
  }
  if (cluster != nullptr) {
    if (auto n = cluster->node_of_server.find(slot); n != cluster->node_of_server.end()) {
      refreshReady(*cluster, cluster->nodes.at(n->second));
      return;
    }
    if (auto d = cluster->deregistered.find(slot); d != cluster->deregistered.end()) {
      // A kubelet whose Node was deleted registers again when it restarts.
      if (s.vm != VmState::Active) {
        d->second.restarted = true;
      } else if (d->second.restarted) {
        reregister(*cluster, slot);
      }
      return;
    }
  }
  // Servers without user_data (most of a benchmark's) cost nothing here.
  if (s.vm != VmState::Active || s.user_data.empty() || !seen_.insert(slot).second) return;
  auto boot = parseNodeBootstrap(s.user_data, {s.name, s.id});
  if (!boot.ok()) {
    LOG_INFO("cloudsim", "server {} ({}) runs no Kubernetes node: {}", s.name, s.id,
             boot.error().message);
    return;
  }
  if (neverJoins(s)) {
    LOG_INFO("cloudsim", "server {} ({}) matches the never_join fault: it never becomes a node",
             s.name, s.id);
    return;
  }
  if (boot->init && boot->join) {
    // A master of a group: its script inits only as member 0 while the API does not answer.
    if (cluster != nullptr) {
      join(*cluster, slot, *boot);
    } else if (boot->member_index == 0) {
      startCluster(stack, slot, *boot);
    } else {
      waiting_[stack].push_back(slot);
    }
  } else if (boot->init) {
    if (cluster != nullptr) {
      LOG_WARN("cloudsim",
               "server {} ({}) carries a second kubeadm init configuration for stack {}; "
               "it does not join",
               s.name, s.id, cluster->stack_id);
      return;
    }
    startCluster(stack, slot, *boot);
  } else if (cluster == nullptr) {
    waiting_[stack].push_back(slot);
  } else {
    join(*cluster, slot, *boot);
  }
}

void KubeClusters::startCluster(uint32_t stack, uint32_t slot, const NodeBootstrap& boot) {
  const Server& s = nova_.at(slot);
  auto cluster = std::make_unique<KubeCluster>();
  cluster->stack = stack;
  cluster->stack_id = heat_.at(stack).id;
  cluster->serving_spec = std::make_shared<const pki::LeafSpec>(servingSpec(boot));
  auto trust = controlPlaneTrust(*cluster, boot);
  if (!trust.ok()) {
    LOG_WARN("cloudsim", "server {} ({}): no cluster starts: {}", s.name, s.id,
             trust.error().message);
    return;
  }
  cluster->version = withV(boot.init->kubernetes_version);
  cluster->ca_hash = trust->signing;
  cluster->created = clock_.now();
  // kubeadm init writes each configured token as its Secret, valid for its ttl from now.
  for (const KubeadmToken& token : boot.init->bootstrap_tokens) {
    if (cluster->tokens.by_id.size() >= kMaxTokenSecrets) break;
    TokenSecret secret = initTokenSecret(token, clock_.now());
    stampTokenSecret(secret, cluster->stack_id, ++cluster->resource_version);
    cluster->tokens.by_id[secret.id] = std::move(secret);
  }
  // kubeadm init uploads cluster-info: the endpoint nodes join through and the cluster CA.
  ClusterInfo& info = cluster->cluster_info;
  info.data["kubeconfig"] =
      clusterInfoKubeconfig(joinEndpoint(*boot.init), cluster->ca_pems.at(trust->signing));
  info.cas = {trust->signing};
  info.resource_version = ++cluster->resource_version;
  info.created = clock_.now();
  // A cluster started again on its stack continues its timeline.
  for (auto it = retired_.begin(); it != retired_.end(); ++it) {
    if (it->first == cluster->stack_id) {
      cluster->timeline = std::move(it->second);
      retired_.erase(it);
      break;
    }
  }
  KubeCluster& c = *cluster;
  clusters_[stack] = std::move(cluster);
  addClusterPods(c, clock_.now());
  addNode(c, slot, boot, true, std::move(*trust));  // the load balancer's first member
  bind(c);
  LOG_INFO("cloudsim", "stack {}: Kubernetes {} API on port {} (CA {})", c.stack_id, c.version,
           c.port, c.ca_hash);
  auto w = waiting_.find(stack);
  if (w == waiting_.end()) return;
  std::vector<uint32_t> joiners = std::move(w->second);
  waiting_.erase(w);
  for (uint32_t joiner : joiners) {
    const Server& js = nova_.at(joiner);
    if (js.vm != VmState::Active) continue;
    auto jb = parseNodeBootstrap(js.user_data, {js.name, js.id});
    if (jb.ok()) join(c, joiner, *jb);
  }
}

void KubeClusters::join(KubeCluster& cluster, uint32_t slot, const NodeBootstrap& boot) {
  const Server& s = nova_.at(slot);
  const KubeadmJoin& j = *boot.join;
  const std::vector<std::string>& known = cluster.cluster_info.cas;
  auto inClusterInfo = [&](const std::string& hash) {
    return std::find(known.begin(), known.end(), hash) != known.end();
  };
  // First a Secret that holds the token and has not expired now (the token is a secret: the
  // reason says what is wrong, never what it is).
  std::string refused = joinTokenProblem(cluster.tokens, j.token, clock_.now());
  NodeTrust trust;
  if (!refused.empty()) {
    // kubeadm join stops at token discovery.
  } else if (std::none_of(j.ca_cert_hashes.begin(), j.ca_cert_hashes.end(), inClusterInfo)) {
    // kubeadm's pubKeyPins.CheckAny over cluster-info's CA certificates.
    refused =
        fmt::format("no discovery.bootstrapToken.caCertHashes entry pins a CA of cluster-info ({})",
                    fmt::join(known, ", "));
  } else if (j.control_plane) {
    auto bundle = readCaBundle(boot.ca_cert_pem);
    if (!bundle.ok()) {
      refused = fmt::format("control-plane joiner: /etc/kubernetes/pki/ca.crt: {}",
                            bundle.error().message);
    } else if (std::none_of(bundle->begin(), bundle->end(),
                            [&](const CaCert& ca) { return inClusterInfo(ca.hash); })) {
      refused =
          "control-plane joiner carries another /etc/kubernetes/pki/ca.crt: none of its "
          "certificates is a CA of cluster-info";
    } else if (auto t = controlPlaneTrust(cluster, boot); !t.ok()) {
      refused = fmt::format("control-plane joiner: {}", t.error().message);
    } else {
      trust = std::move(*t);
    }
  } else {
    trust = workerTrust(cluster);
  }
  if (!refused.empty()) {
    LOG_WARN("cloudsim", "server {} ({}) does not join stack {}: {}", s.name, s.id,
             cluster.stack_id, refused);
    cluster.join_refusals.push_back({s.name, s.id, clock_.now(), std::move(refused)});
    while (cluster.join_refusals.size() > kMaxJoinRefusals) cluster.join_refusals.pop_front();
    return;
  }
  addNode(cluster, slot, boot, j.control_plane, std::move(trust));
}

void KubeClusters::addNode(KubeCluster& cluster, uint32_t slot, const NodeBootstrap& boot,
                           bool control_plane, NodeTrust trust, std::string_view version) {
  const Server& s = nova_.at(slot);
  std::string name = boot.node_name.empty() ? s.name : boot.node_name;
  auto [it, fresh] = cluster.nodes.try_emplace(name);
  KubeNode& node = it->second;
  if (!fresh && node.server != slot) {
    // A replacement registers the same name: the old kubelet's state and pods are gone.
    cluster.node_of_server.erase(node.server);
    removeNodePods(cluster, name, clock_.now());
    node.forced_not_ready = false;
    node.unschedulable = false;
    node.orphaned = false;
  }
  // The kubelet runs what this server was bootstrapped with; kubeadm-config follows the control
  // plane's ClusterConfiguration.
  if (!version.empty()) {
    node.version = version;
  } else if (boot.init) {
    node.version = withV(boot.init->kubernetes_version);
    if (control_plane) cluster.version = node.version;
  } else if (!boot.kubernetes_version.empty()) {
    node.version = withV(boot.kubernetes_version);
  } else {
    node.version = cluster.version;
  }
  node.name = name;
  node.server = slot;
  node.server_id = s.id;
  node.internal_ip = nova_.address(s, 0);
  node.labels = boot.labels;
  node.labels["kubernetes.io/hostname"] = name;
  node.labels["kubernetes.io/os"] = "linux";
  node.labels["kubernetes.io/arch"] = "amd64";
  node.labels["beta.kubernetes.io/os"] = "linux";
  node.labels["beta.kubernetes.io/arch"] = "amd64";
  if (control_plane) node.labels["node-role.kubernetes.io/control-plane"] = "";
  node.control_plane = control_plane;
  node.annotations = {
      {"kubeadm.alpha.kubernetes.io/cri-socket", "unix:///var/run/containerd/containerd.sock"},
      {"node.alpha.kubernetes.io/ttl", "0"},
      {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}};
  if (fresh) node.created = clock_.now();
  node.transition = clock_.now();
  if (imageNeverReady(s)) {
    node.forced_not_ready = true;
    node.not_ready_message = kCniNotReady;
  }
  node.server_active = s.vm == VmState::Active;
  node.trust = std::move(trust);
  node.joined = ++cluster.join_seq;
  node.trust_problem = trustProblem(node, runningMasters(cluster));
  node.ready = node.server_active && !node.forced_not_ready && node.trust_problem.empty();
  cluster.node_of_server[slot] = name;
  cluster.deregistered.erase(slot);
  record(cluster, fresh ? "ADDED" : "MODIFIED", node);
  chronicle(cluster, node, TimelineEventType::Joined);
  addNodePods(cluster, node, clock_.now());
  if (control_plane) refreshTrust(cluster);
}

void KubeClusters::reregister(KubeCluster& cluster, uint32_t slot) {
  const Server& s = nova_.at(slot);
  auto boot = parseNodeBootstrap(s.user_data, {s.name, s.id});
  if (!boot.ok()) return;  // it joined with this user_data before
  bool control_plane = boot->init.has_value() || (boot->join && boot->join->control_plane);
  // The version the kubelet already runs, not what kubeadm-config says now, and the kubeconfig
  // and certificates it keeps on disk.
  const KubeCluster::Deregistered& was = cluster.deregistered.at(slot);
  std::string version = was.version;
  NodeTrust trust = was.trust;
  LOG_INFO("cloudsim", "server {} ({}) restarted: its kubelet registers its Node again", s.name,
           s.id);
  addNode(cluster, slot, *boot, control_plane, std::move(trust), version);
}

void KubeClusters::refreshReady(KubeCluster& cluster, KubeNode& node) {
  bool active = nova_.at(node.server).vm == VmState::Active;
  bool active_changed = active != node.server_active;
  node.server_active = active;
  updateReady(cluster, node, active_changed);
  // A master that stops or starts leaves or joins the load balancer.
  if (active_changed && node.control_plane) refreshTrust(cluster);
}

void KubeClusters::updateReady(KubeCluster& cluster, KubeNode& node, bool active_changed) {
  bool ready = node.server_active && !node.forced_not_ready && node.trust_problem.empty();
  bool ready_changed = ready != node.ready;
  if (!ready_changed && !active_changed) return;
  node.ready = ready;
  node.transition = clock_.now();
  record(cluster, "MODIFIED", node);
  if (ready_changed) {
    chronicle(cluster, node, ready ? TimelineEventType::Ready : TimelineEventType::NotReady);
  }
  if (ready) schedulePendingPods(cluster);
}

void KubeClusters::removeNode(KubeCluster& cluster, uint32_t slot) {
  if (cluster.deregistered.erase(slot) > 0) {
    stopIfNoKubelet(cluster);
    return;
  }
  auto it = cluster.node_of_server.find(slot);
  if (it == cluster.node_of_server.end()) return;
  auto node = cluster.nodes.find(it->second);
  if (node != cluster.nodes.end() && node->second.orphaned) return;  // deleted before
  if (node != cluster.nodes.end() && node->second.server == slot && faults_.nodes_outlive_servers) {
    // Nothing deletes the Node: it turns Unknown and stays until deleted through the API.
    KubeNode& orphan = node->second;
    orphan.orphaned = true;
    bool was_ready = orphan.ready;
    orphan.ready = orphan.server_active = false;
    orphan.transition = clock_.now();
    record(cluster, "MODIFIED", orphan);
    if (was_ready) chronicle(cluster, orphan, TimelineEventType::NotReady);
    if (orphan.control_plane) refreshTrust(cluster);
    stopIfNoKubelet(cluster);
    return;
  }
  cluster.node_of_server.erase(it);
  if (node == cluster.nodes.end() || node->second.server != slot) return;
  KubeNode gone = std::move(node->second);
  cluster.nodes.erase(node);
  record(cluster, "DELETED", gone);
  chronicle(cluster, gone, TimelineEventType::Deleted);
  removeNodePods(cluster, gone.name, clock_.now());
  if (gone.control_plane) refreshTrust(cluster);
  stopIfNoKubelet(cluster);
}

void KubeClusters::stopIfNoKubelet(KubeCluster& cluster) {
  if (!cluster.deregistered.empty()) return;
  for (const auto& [name, node] : cluster.nodes) {
    if (!node.orphaned) return;
  }
  stopCluster(cluster.stack);  // every server is gone, the API server's with them
}

void KubeClusters::updateNode(KubeCluster& cluster, const KubeNode& updated) {
  KubeNode& node = cluster.nodes.at(updated.name);
  bool cordon_changed = node.unschedulable != updated.unschedulable;
  node.labels = updated.labels;
  node.annotations = updated.annotations;
  node.unschedulable = updated.unschedulable;
  record(cluster, "MODIFIED", node);
  if (!cordon_changed) return;
  chronicle(cluster, node,
            node.unschedulable ? TimelineEventType::Cordoned : TimelineEventType::Uncordoned);
  if (!node.unschedulable) schedulePendingPods(cluster);
}

util::Status KubeClusters::deleteNode(KubeCluster& cluster, std::string_view name) {
  auto it = cluster.nodes.find(std::string(name));
  if (it == cluster.nodes.end()) {
    return makeError(ErrorCode::NotFound, fmt::format(R"(nodes "{}" not found)", name));
  }
  KubeNode gone = std::move(it->second);
  cluster.nodes.erase(it);
  cluster.node_of_server.erase(gone.server);
  // Its kubelet keeps running and registers again after a restart (a server not ACTIVE now
  // restarts when it comes back).
  if (!gone.orphaned) {
    cluster.deregistered[gone.server] = {nova_.at(gone.server).vm != VmState::Active, gone.version,
                                         gone.trust};
  }
  record(cluster, "DELETED", gone);
  chronicle(cluster, gone, TimelineEventType::Deleted);
  removeNodePods(cluster, gone.name, clock_.now());
  // Its kube-apiserver leaves the load balancer with the Node (cloudsim knows masters by Node).
  if (gone.control_plane) refreshTrust(cluster);
  return {};
}

void KubeClusters::updateClusterInfo(KubeCluster& cluster, std::map<std::string, std::string> data,
                                     std::vector<std::string> cas) {
  ClusterInfo& info = cluster.cluster_info;
  if (info.data == data) return;  // an update that changes nothing keeps its resourceVersion
  info.data = std::move(data);
  info.cas = std::move(cas);
  info.resource_version = ++cluster.resource_version;
}

util::Status KubeClusters::deletePod(KubeCluster& cluster, std::string_view ns,
                                     std::string_view name) {
  return removePod(cluster, ns, name, clock_.now());
}

void KubeClusters::chronicle(KubeCluster& cluster, const KubeNode& node, TimelineEventType type) {
  cluster.timeline.record(clock_.now(), node.name, type, node.control_plane, node.ready,
                          node.version, countNodes(cluster));
}

void KubeClusters::stopCluster(uint32_t stack) {
  auto it = clusters_.find(stack);
  if (it == clusters_.end()) return;
  LOG_INFO("cloudsim", "stack {}: last node gone, Kubernetes API stopped", it->second->stack_id);
  if (host_ != nullptr && it->second->port != 0 && !it->second->api_stopped)
    host_->stopListener(*it->second);
  retired_.emplace_back(it->second->stack_id, std::move(it->second->timeline));
  while (retired_.size() > kMaxRetiredTimelines) retired_.pop_front();
  clusters_.erase(it);
}

void KubeClusters::bind(KubeCluster& cluster) {
  if (host_ == nullptr) return;
  auto port = host_->startListener(cluster);
  if (!port.ok()) {
    LOG_WARN("cloudsim", "stack {}: no port for the Kubernetes API: {}", cluster.stack_id,
             port.error().message);
    return;
  }
  cluster.port = *port;
}

void KubeClusters::record(KubeCluster& cluster, std::string_view type, KubeNode& node) {
  node.resource_version = ++cluster.resource_version;
  cluster.events.push_back({node.resource_version, std::string(type), node});
  while (cluster.events.size() > kMaxEvents) {
    cluster.dropped_through = cluster.events.front().resource_version;
    cluster.events.pop_front();
  }
  cluster.watch_epoch++;
  if (host_ != nullptr) host_->nodesChanged(cluster);
}

util::Status KubeClusters::setNodeReady(KubeCluster& cluster, std::string_view name, bool ready) {
  auto it = cluster.nodes.find(std::string(name));
  if (it == cluster.nodes.end()) {
    return makeError(ErrorCode::NotFound,
                     fmt::format("node {} is not in stack {}'s cluster", name, cluster.stack_id));
  }
  it->second.forced_not_ready = !ready;
  it->second.not_ready_message = "container runtime is down";
  refreshReady(cluster, it->second);
  return {};
}

util::Status KubeClusters::setApiRunning(KubeCluster& cluster, bool running) {
  if (running == !cluster.api_stopped) return {};
  cluster.api_stopped = !running;
  if (host_ == nullptr) return {};
  if (!running) {
    host_->stopListener(cluster);
    return {};
  }
  // Back on the same port, as a restarted kube-apiserver would be.
  auto port = host_->startListener(cluster);
  if (!port.ok()) return port.takeError();
  cluster.port = *port;
  return {};
}

}  // namespace magnumd::cloudsim
