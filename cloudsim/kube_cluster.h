// Simulated Kubernetes clusters, one per Heat stack whose first control-plane server booted with
// a kubeadm InitConfiguration (alone, or beside a JoinConfiguration as member 0 while the stack
// has no cluster yet; such a master joins once the cluster runs): the cluster CA taken from that
// user_data, a serving certificate signed by it, and the Nodes that joined. A server joins when its
// JoinConfiguration's token is one of the cluster's bootstrap tokens and one of its caCertHashes
// pins the cluster CA (a control-plane joiner must also carry that CA); anything else never
// appears, which is how a broken bootstrap shows. Work is O(1) per server event; nothing polls.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cloudsim/heat_engine.h"
#include "cloudsim/kube_bootstrap.h"
#include "cloudsim/nova_store.h"
#include "util/result.h"

namespace magnumd::cloudsim {

struct KubeNode {
  std::string name;
  uint32_t server = kNone;
  std::string server_id;
  std::string internal_ip;
  std::map<std::string, std::string> labels;
  bool ready = true;  // the server is ACTIVE and no fault says otherwise
  bool forced_not_ready = false;
  SystemTime created;
  SystemTime transition;  // of the Ready condition
  uint64_t resource_version = 0;
};

// What a watcher of /api/v1/nodes is told, rendered per watcher (a Node, or a Table row for
// `kubectl get nodes -w`).
struct NodeEvent {
  uint64_t resource_version;
  std::string type;  // ADDED, MODIFIED, DELETED
  KubeNode node;     // as it was then
};

struct KubeCluster {
  uint32_t stack = kNone;
  std::string stack_id;
  std::string version;  // kubernetesVersion, "v1.30.4"
  std::string ca_cert_pem;
  std::string ca_hash;  // sha256:...
  std::vector<std::string> tokens;
  std::string serving_cert_pem;
  std::string serving_key_pem;   // never logged
  uint16_t port = 0;             // 0 until a listener is bound
  bool api_stopped = false;      // fault: the API server is down
  bool healthz_failing = false;  // fault: /healthz, /readyz, /livez answer 500
  SystemTime created;
  std::map<std::string, KubeNode> nodes;
  std::unordered_map<uint32_t, std::string> node_of_server;
  uint64_t resource_version = 1;
  std::deque<NodeEvent> events;  // the last few hundred, for watches
  uint64_t watch_epoch = 0;      // bumps on every node change; watchers wake on it
};

// Where listeners come from: the embedding binds a TLS port for each running cluster (tests may
// leave it unset: clusters then have port 0).
class KubeListenerHost {
 public:
  virtual ~KubeListenerHost() = default;
  // Starts serving `cluster` (its serving certificate, its CA for client certificates). Returns
  // the bound port.
  virtual util::Result<uint16_t> startListener(const KubeCluster& cluster) = 0;
  virtual void stopListener(const KubeCluster& cluster) = 0;
  // The cluster's nodes changed: wake its watchers.
  virtual void nodesChanged(const KubeCluster& cluster) = 0;
};

class KubeClusters {
 public:
  KubeClusters(const util::Clock& clock, NovaStore& nova, HeatEngine& heat);

  void setListenerHost(KubeListenerHost* host) { host_ = host; }
  // Queued by NovaStore's change hook; flush() handles them (after Nova and Heat settled).
  void serverChanged(uint32_t slot) { dirty_.insert(slot); }
  void flush();

  KubeCluster* byStack(uint32_t stack_slot);
  KubeCluster* byStackId(std::string_view stack_id);
  // https://127.0.0.1:PORT, or nullopt when the stack has no running cluster API.
  std::optional<std::string> apiAddress(uint32_t stack_slot) const;
  const std::map<uint32_t, std::unique_ptr<KubeCluster>>& all() const { return clusters_; }

  // Faults (/sim/v1/clusters/...).
  util::Status setNodeReady(KubeCluster& cluster, std::string_view node, bool ready);
  util::Status setApiRunning(KubeCluster& cluster, bool running);

  static constexpr size_t kMaxEvents = 512;

 private:
  void handle(uint32_t slot);
  void startCluster(uint32_t stack, uint32_t slot, const NodeBootstrap& boot);
  void join(KubeCluster& cluster, uint32_t slot, const NodeBootstrap& boot);
  void addNode(KubeCluster& cluster, uint32_t slot, const NodeBootstrap& boot, bool control_plane);
  void removeNode(KubeCluster& cluster, uint32_t slot);
  void stopCluster(uint32_t stack);
  void record(KubeCluster& cluster, std::string_view type, KubeNode& node);
  void bind(KubeCluster& cluster);
  void refreshReady(KubeCluster& cluster, KubeNode& node);

  const util::Clock& clock_;
  NovaStore& nova_;
  HeatEngine& heat_;
  KubeListenerHost* host_ = nullptr;
  std::set<uint32_t> dirty_;
  std::map<uint32_t, std::unique_ptr<KubeCluster>> clusters_;  // by stack slot
  // Servers that came up ACTIVE with a join configuration before their cluster existed.
  std::unordered_map<uint32_t, std::vector<uint32_t>> waiting_;
  std::set<uint32_t> seen_;  // servers whose user_data was read (each is read once)
};

// Renders one Node as the kube-apiserver does (kubelet's usual status fields).
std::string nodeJson(const KubeCluster& cluster, const KubeNode& node);

}  // namespace magnumd::cloudsim
