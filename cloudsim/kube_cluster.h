// Simulated Kubernetes clusters, one per Heat stack whose first control-plane server booted with
// a kubeadm InitConfiguration (alone, or beside a JoinConfiguration as member 0 while the stack
// has no cluster yet; such a master joins once the cluster runs): the kube-public/cluster-info
// ConfigMap kubeadm creates from that user_data's CA, and the Nodes that joined. A server joins
// when its JoinConfiguration's token is one of the cluster's bootstrap tokens and one of its
// caCertHashes pins a CA of cluster-info (a control-plane joiner's ca.crt must also hold one of
// them); anything else never appears, which is how a broken bootstrap shows.
// Trust is modelled per node, as during a CA rotation (kube_trust.cc): which CAs a node trusts,
// which CA a master signs with, which CA signed a kubelet's client certificate. A node is Ready
// only while every running master can talk to it both ways, and the API's listener serves each
// connection as one of the running masters in turn (kube_tls.h). Work is O(1) per server event and
// O(nodes) when the masters change; nothing polls. Each cluster also keeps its Node timeline
// (kube_timeline.h) and the few pods a kubeadm cluster runs (kube_pods.h), so cordon, drain and
// node deletion behave as kubectl expects.
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

#include "cloudsim/faults.h"
#include "cloudsim/heat_engine.h"
#include "cloudsim/kube_bootstrap.h"
#include "cloudsim/kube_pods.h"
#include "cloudsim/kube_timeline.h"
#include "cloudsim/kube_tokens.h"
#include "cloudsim/nova_store.h"
#include "util/result.h"

namespace magnumd::pki {
struct LeafSpec;
}

namespace magnumd::cloudsim {

// What a node trusts and signs with. CAs are named by kubeadm's pin of their certificate
// ("sha256:" + hex SHA-256 of its public key), as caCertHashes are.
struct NodeTrust {
  // The CAs whose certificates it accepts: every certificate of its ca.crt bundle (control plane),
  // or cluster-info's CAs at the moment it joined (a worker: kubeadm join writes them into the
  // kubelet's kubeconfig).
  std::vector<std::string> trusted;
  // Control plane: the first certificate of its ca.crt, whose key is its ca.key. Empty on workers.
  std::string signing;
  // The CA that signed its kubelet's client certificate: a worker's is the signing CA of the
  // oldest running master when it joined (the controller-manager leader signs kubelet CSRs); a
  // master's is its own signing CA (a simplification: kubeadm's kubelet bootstraps through the
  // leader too).
  std::string client_ca;
  bool operator==(const NodeTrust&) const = default;
};

struct KubeNode {
  std::string name;
  uint32_t server = kNone;
  std::string server_id;
  std::string internal_ip;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string version;  // kubeletVersion: what this server was bootstrapped with
  bool control_plane = false;
  bool unschedulable = false;  // spec.unschedulable (kubectl cordon)
  bool server_active = true;   // false: the kubelet cannot post status (Ready=Unknown)
  bool orphaned = false;       // its server was deleted; the Node stays until deleted by the API
  bool ready = true;  // the server is ACTIVE, no fault says otherwise and trust_problem is empty
  bool forced_not_ready = false;
  std::string not_ready_message;  // the kubelet's words while forced NotReady
  NodeTrust trust;
  // Why a running master and this node cannot talk (the kubelet's words), empty when every one
  // can: then NotReady.
  std::string trust_problem;
  uint64_t joined = 0;  // join order in its cluster: the oldest master leads the controllers
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

// A member of the load balancer in front of the API: a running master.
struct ApiServerMember {
  std::string name;  // its node
  NodeTrust trust;
  bool operator==(const ApiServerMember&) const = default;
};

// kube-public/cluster-info, which kubeadm's token discovery reads: data.kubeconfig's cluster CA
// data says which CAs a joining node pins and then trusts.
struct ClusterInfo {
  std::map<std::string, std::string> data;  // "kubeconfig", as written by kubeadm or a PATCH
  std::vector<std::string> cas;             // the pins of data.kubeconfig's CA certificates
  uint64_t resource_version = 0;
  SystemTime created;
};

// A server whose kubeadm join failed (it never becomes a Node), with kubeadm's reason.
struct JoinRefusal {
  std::string server;
  std::string server_id;
  SystemTime time;
  std::string reason;  // never contains a token's secret
};

struct KubeCluster {
  uint32_t stack = kNone;
  std::string stack_id;
  // The kubeadm-config ConfigMap's kubernetesVersion ("v1.30.4"): the ClusterConfiguration of the
  // control-plane node that last initialised or joined with one. A node whose user_data names no
  // version of its own runs this one when it joins.
  std::string version;
  std::string ca_hash;  // the first CA of the init node's ca.crt (sha256:...)
  // kube-system/bootstrap-token-* Secrets: made by kubeadm init, rewritten through the API,
  // removed by the token cleaner once expired. A join needs a valid one (kube_tokens.h).
  TokenSecrets tokens;
  std::deque<JoinRefusal> join_refusals;  // the last kMaxJoinRefusals, oldest first
  ClusterInfo cluster_info;
  // Every CA certificate (PEM) seen in a master's ca.crt, by pin: the masters' trust stores are
  // made of them.
  std::map<std::string, std::string> ca_pems;
  // A serving certificate per signing CA (by pin), made once from a master's ca.key. SANs as the
  // init node's configuration says (serving_spec).
  struct Serving {
    std::string cert_pem;
    std::string key_pem;  // never logged
  };
  std::map<std::string, Serving> serving;
  std::shared_ptr<const pki::LeafSpec> serving_spec;
  // The running masters, oldest first, as the listener's load balancer serves them; while none
  // runs, the last ones (the API keeps answering, as it did before masters were modelled).
  std::vector<ApiServerMember> api_servers;
  uint64_t join_seq = 0;
  uint16_t port = 0;             // 0 until a listener is bound
  bool api_stopped = false;      // fault: the API server is down
  bool healthz_failing = false;  // fault: /healthz, /readyz, /livez answer 500
  SystemTime created;
  std::map<std::string, KubeNode> nodes;
  std::unordered_map<uint32_t, std::string> node_of_server;
  // Servers whose Node was deleted through the API: their kubelet registers again once the server
  // restarted (seen not ACTIVE, then ACTIVE), with the version it runs.
  struct Deregistered {
    bool restarted = false;
    std::string version;
    NodeTrust trust;  // its kubeconfig and certificates stay on disk
  };
  std::unordered_map<uint32_t, Deregistered> deregistered;
  std::map<std::string, KubePod> pods;  // by "namespace/name"
  uint64_t pod_seq = 0;                 // names, uids and addresses of new pods
  uint64_t resource_version = 1;        // one counter for nodes and pods, as etcd's revision
  std::deque<NodeEvent> events;         // the last few hundred, for watches
  uint64_t dropped_through = 0;         // resourceVersion of the newest event no longer kept
  uint64_t watch_epoch = 0;             // bumps on every node change; watchers wake on it
  NodeTimeline timeline;
};

// The version kube-apiserver's /version reports: the oldest among the control-plane nodes whose
// server runs (kubeadm-config's version when there is none). Behind a load balancer any master
// answers; the oldest says what every request can rely on, and turns new only once every master
// is.
std::string apiServerVersion(const KubeCluster& cluster);
// Orders "v1.30.4" < "v1.30.10" < "v1.31.0"; text that is not a version sorts by its characters.
bool versionLess(std::string_view a, std::string_view b);

// Where listeners come from: the embedding binds a TLS port for each running cluster (tests may
// leave it unset: clusters then have port 0).
class KubeListenerHost {
 public:
  virtual ~KubeListenerHost() = default;
  // Starts serving `cluster` as its api_servers (each connection one of them in turn: its serving
  // certificate, its trusted CAs for client certificates). Returns the bound port.
  virtual util::Result<uint16_t> startListener(const KubeCluster& cluster) = 0;
  virtual void stopListener(const KubeCluster& cluster) = 0;
  // The cluster's api_servers changed: new connections meet the new masters.
  virtual void apiServersChanged(const KubeCluster& cluster) = 0;
  // The cluster's nodes changed: wake its watchers.
  virtual void nodesChanged(const KubeCluster& cluster) = 0;
};

class KubeClusters {
 public:
  KubeClusters(const util::Clock& clock, NovaStore& nova, HeatEngine& heat, const Faults& faults);

  void setListenerHost(KubeListenerHost* host) { host_ = host; }
  // Queued by NovaStore's change hook; flush() handles them (after Nova and Heat settled).
  void serverChanged(uint32_t slot) { dirty_.insert(slot); }
  void flush();

  KubeCluster* byStack(uint32_t stack_slot);
  KubeCluster* byStackId(std::string_view stack_id);
  // https://127.0.0.1:PORT, or nullopt when the stack has no running cluster API.
  std::optional<std::string> apiAddress(uint32_t stack_slot) const;
  const std::map<uint32_t, std::unique_ptr<KubeCluster>>& all() const { return clusters_; }
  // The timeline of the stack's cluster, also after its last node left and its API stopped.
  const NodeTimeline* timeline(std::string_view stack_id) const;

  // Faults (/sim/v1/clusters/...).
  util::Status setNodeReady(KubeCluster& cluster, std::string_view node, bool ready);
  util::Status setApiRunning(KubeCluster& cluster, bool running);

  // Writes through the cluster's API (kube_api.cc validated them).
  // Stores `updated` (a patched copy of the node called `updated.name`): labels, annotations and
  // spec.unschedulable.
  void updateNode(KubeCluster& cluster, const KubeNode& updated);
  // The Node object goes; its pods with it. The server's kubelet registers again when it restarts.
  util::Status deleteNode(KubeCluster& cluster, std::string_view name);
  // Replaces cluster-info's data (data.kubeconfig present and valid: kube_api.cc checked it with
  // clusterInfoCas) and its CA list.
  void updateClusterInfo(KubeCluster& cluster, std::map<std::string, std::string> data,
                         std::vector<std::string> cas);
  // Evicts or deletes a pod; its controller (DaemonSet, ReplicaSet, the kubelet for a static pod)
  // makes a new one.
  util::Status deletePod(KubeCluster& cluster, std::string_view ns, std::string_view name);

  static constexpr size_t kMaxEvents = 512;
  static constexpr size_t kMaxJoinRefusals = 32;
  static constexpr size_t kMaxRetiredTimelines = 1024;

 private:
  void handle(uint32_t slot);
  void startCluster(uint32_t stack, uint32_t slot, const NodeBootstrap& boot);
  void join(KubeCluster& cluster, uint32_t slot, const NodeBootstrap& boot);
  // `version`: what the kubelet runs when it is known already (a restarted kubelet).
  void addNode(KubeCluster& cluster, uint32_t slot, const NodeBootstrap& boot, bool control_plane,
               NodeTrust trust, std::string_view version = {});
  void removeNode(KubeCluster& cluster, uint32_t slot);
  void stopIfNoKubelet(KubeCluster& cluster);
  void reregister(KubeCluster& cluster, uint32_t slot);
  void stopCluster(uint32_t stack);
  void record(KubeCluster& cluster, std::string_view type, KubeNode& node);
  void chronicle(KubeCluster& cluster, const KubeNode& node, TimelineEventType type);
  void bind(KubeCluster& cluster);
  // The node's server may have changed state.
  void refreshReady(KubeCluster& cluster, KubeNode& node);
  // Recomputes node.ready from what is known and records the change; `active_changed`: its
  // server's state changed (the condition turns Unknown or back) even if Ready stays.
  void updateReady(KubeCluster& cluster, KubeNode& node, bool active_changed);
  // kube_trust.cc.
  // A master's trust from its ca.crt bundle and ca.key; registers its CAs and makes the serving
  // certificate of its signing CA if the cluster has none yet. An error says why it cannot run.
  util::Result<NodeTrust> controlPlaneTrust(KubeCluster& cluster, const NodeBootstrap& boot);
  NodeTrust workerTrust(const KubeCluster& cluster) const;
  // The masters may have changed (joined, left, started, stopped): recomputes the load balancer's
  // members and every node's trust problem.
  void refreshTrust(KubeCluster& cluster);
  bool neverJoins(const Server& s) const;
  bool imageNeverReady(const Server& s) const;

  const util::Clock& clock_;
  NovaStore& nova_;
  HeatEngine& heat_;
  const Faults& faults_;
  KubeListenerHost* host_ = nullptr;
  std::set<uint32_t> dirty_;
  std::map<uint32_t, std::unique_ptr<KubeCluster>> clusters_;  // by stack slot
  // Servers that came up ACTIVE with a join configuration before their cluster existed.
  std::unordered_map<uint32_t, std::vector<uint32_t>> waiting_;
  std::set<uint32_t> seen_;  // servers whose user_data was read (each is read once)
  // Timelines of stopped clusters by stack id, oldest first, so a test can still read them (and
  // a cluster started again on the stack continues its own).
  std::deque<std::pair<std::string, NodeTimeline>> retired_;
};

// The control-plane nodes whose server runs, oldest first (by join order).
std::vector<const KubeNode*> runningMasters(const KubeCluster& cluster);
// Why `node` and the masters cannot all talk both ways, in the kubelet's words; empty when they
// can: every master's signing CA is one `node` trusts, and every master trusts `node`'s client CA.
std::string trustProblem(const KubeNode& node, const std::vector<const KubeNode*>& masters);

// A CA certificate of a PEM bundle with its kubeadm pin.
struct CaCert {
  std::string hash;
  std::string pem;
};
// The certificates of a ca.crt or certificate-authority-data bundle, in order. At most
// kMaxBundleCas.
util::Result<std::vector<CaCert>> readCaBundle(std::string_view pem);
inline constexpr size_t kMaxBundleCas = 16;
// The CA certificates in a cluster-info kubeconfig (clusters[0].cluster.certificate-authority-data,
// base64 of a PEM bundle). Errors are Invalid and name the field inside the kubeconfig.
util::Result<std::vector<CaCert>> clusterInfoCas(std::string_view kubeconfig);
// The kubeconfig kubeadm init writes into cluster-info: https://`server` (host:port) and `ca_pem`.
std::string clusterInfoKubeconfig(std::string_view server, std::string_view ca_pem);

// Renders one Node as the kube-apiserver does (kubelet's usual status fields).
std::string nodeJson(const KubeCluster& cluster, const KubeNode& node);

}  // namespace magnumd::cloudsim
