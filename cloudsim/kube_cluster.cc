#include "cloudsim/kube_cluster.h"

#include <fmt/format.h>

#include <algorithm>

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

}  // namespace

KubeClusters::KubeClusters(const util::Clock& clock, NovaStore& nova, HeatEngine& heat)
    : clock_(clock), nova_(nova), heat_(heat) {}

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
  }
  // Servers without user_data (most of a benchmark's) cost nothing here.
  if (s.vm != VmState::Active || s.user_data.empty() || !seen_.insert(slot).second) return;
  auto boot = parseNodeBootstrap(s.user_data, {s.name, s.id});
  if (!boot.ok()) {
    LOG_INFO("cloudsim", "server {} ({}) runs no Kubernetes node: {}", s.name, s.id,
             boot.error().message);
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
  auto ca = pki::loadCertificateAuthority({boot.ca_cert_pem, boot.ca_key_pem});
  if (!ca.ok()) {
    LOG_WARN("cloudsim",
             "server {} ({}): no cluster starts: /etc/kubernetes/pki/ca.crt and ca.key: {}", s.name,
             s.id, ca.error().message);
    return;
  }
  auto serving = pki::issueLeaf({boot.ca_cert_pem, boot.ca_key_pem}, servingSpec(boot));
  if (!serving.ok()) {
    LOG_WARN("cloudsim", "server {} ({}): cannot sign the apiserver certificate: {}", s.name, s.id,
             serving.error().message);
    return;
  }
  auto cluster = std::make_unique<KubeCluster>();
  cluster->stack = stack;
  cluster->stack_id = heat_.at(stack).id;
  const std::string& v = boot.init->kubernetes_version;
  cluster->version = v.front() == 'v' ? v : "v" + v;
  cluster->ca_cert_pem = boot.ca_cert_pem;
  cluster->ca_hash = pki::caCertHash(*ca->cert);
  cluster->tokens = boot.init->bootstrap_tokens;
  cluster->serving_cert_pem = std::move(serving->cert_pem);
  cluster->serving_key_pem = std::move(serving->key_pem);
  cluster->created = clock_.now();
  KubeCluster& c = *cluster;
  clusters_[stack] = std::move(cluster);
  bind(c);
  LOG_INFO("cloudsim", "stack {}: Kubernetes {} API on port {} (CA {})", c.stack_id, c.version,
           c.port, c.ca_hash);
  addNode(c, slot, boot, true);
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
  std::string refused;
  // The token is a secret: say that it is wrong, never what it is.
  if (std::find(cluster.tokens.begin(), cluster.tokens.end(), j.token) == cluster.tokens.end()) {
    refused = "discovery.bootstrapToken.token is not one of the cluster's bootstrap tokens";
  } else if (std::find(j.ca_cert_hashes.begin(), j.ca_cert_hashes.end(), cluster.ca_hash) ==
             j.ca_cert_hashes.end()) {
    refused = fmt::format("no discovery.bootstrapToken.caCertHashes entry pins the cluster CA {}",
                          cluster.ca_hash);
  } else if (j.control_plane) {
    auto hash = pki::caCertHash(boot.ca_cert_pem);
    if (!hash.ok() || *hash != cluster.ca_hash)
      refused = "control-plane joiner carries another /etc/kubernetes/pki/ca.crt";
  }
  if (!refused.empty()) {
    LOG_WARN("cloudsim", "server {} ({}) does not join stack {}: {}", s.name, s.id,
             cluster.stack_id, refused);
    return;
  }
  addNode(cluster, slot, boot, j.control_plane);
}

void KubeClusters::addNode(KubeCluster& cluster, uint32_t slot, const NodeBootstrap& boot,
                           bool control_plane) {
  const Server& s = nova_.at(slot);
  std::string name = boot.node_name.empty() ? s.name : boot.node_name;
  auto [it, fresh] = cluster.nodes.try_emplace(name);
  KubeNode& node = it->second;
  if (!fresh) cluster.node_of_server.erase(node.server);  // a replacement registers the same name
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
  if (fresh) node.created = clock_.now();
  node.transition = clock_.now();
  node.ready = !node.forced_not_ready;
  cluster.node_of_server[slot] = name;
  record(cluster, fresh ? "ADDED" : "MODIFIED", node);
}

void KubeClusters::refreshReady(KubeCluster& cluster, KubeNode& node) {
  bool ready = nova_.at(node.server).vm == VmState::Active && !node.forced_not_ready;
  if (ready == node.ready) return;
  node.ready = ready;
  node.transition = clock_.now();
  record(cluster, "MODIFIED", node);
}

void KubeClusters::removeNode(KubeCluster& cluster, uint32_t slot) {
  auto it = cluster.node_of_server.find(slot);
  if (it == cluster.node_of_server.end()) return;
  auto node = cluster.nodes.find(it->second);
  cluster.node_of_server.erase(it);
  if (node == cluster.nodes.end() || node->second.server != slot) return;
  record(cluster, "DELETED", node->second);
  cluster.nodes.erase(node);
  if (cluster.nodes.empty()) stopCluster(cluster.stack);
}

void KubeClusters::stopCluster(uint32_t stack) {
  auto it = clusters_.find(stack);
  if (it == clusters_.end()) return;
  LOG_INFO("cloudsim", "stack {}: last node gone, Kubernetes API stopped", it->second->stack_id);
  if (host_ != nullptr && it->second->port != 0 && !it->second->api_stopped)
    host_->stopListener(*it->second);
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
  while (cluster.events.size() > kMaxEvents) cluster.events.pop_front();
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
