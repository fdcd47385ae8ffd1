// A client of one cluster's own Kubernetes API, as magnumd needs it to tell whether a cluster
// works: is the API server reachable (GET /version), ready (GET /readyz, /healthz on servers
// without it), and which Nodes joined and are Ready (GET /api/v1/nodes). Mutual TLS with the
// cluster's CA and magnumd's client certificate (drivers/http TlsContext). Every request has a
// short deadline and a response size limit, and is not retried: the caller probes again next
// period. The answer is a value (ApiObservation) saying what was seen or why nothing was.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/http/http_client.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::drivers::kube {

// Node labels magnumd reads.
inline constexpr std::string_view kRoleLabelPrefix = "node-role.kubernetes.io/";
inline constexpr std::string_view kNodeGroupLabel = "magnum.openstack.org/nodegroup";

struct NodeInfo {
  std::string name;
  // The Ready condition: "True", "False" or "Unknown" ("Unknown" too when the node has none).
  std::string ready = "Unknown";
  std::string ready_reason;        // KubeletReady, KubeletNotReady, NodeStatusUnknown, ...
  std::string ready_message;       // the kubelet's own words, bounded
  std::vector<std::string> roles;  // from node-role.kubernetes.io/<role> labels, sorted
  std::string kubelet_version;     // status.nodeInfo.kubeletVersion
  std::string nodegroup;           // the magnum.openstack.org/nodegroup label
  std::string ready_since;         // the Ready condition's lastTransitionTime (RFC 3339)
  bool unschedulable = false;      // spec.unschedulable (cordoned)

  bool isReady() const { return ready == "True"; }
  bool operator==(const NodeInfo&) const = default;
};

// Why the API gave no usable answer.
enum class ApiFailure {
  None,
  Connect,      // refused, unreachable, name not resolved
  Tls,          // server certificate not trusted or not for this address; client cert refused
  Timeout,      // no answer within the deadline
  HttpStatus,   // an answer, but not 200 (401 and 403 included)
  TooLarge,     // an answer over the size limit
  Malformed,    // 200 with a body that is not what the API documents
  Credentials,  // magnumd could not make its own client certificate (set by callers)
};
std::string_view apiFailureName(ApiFailure failure);  // "Connect", "Tls", ...

struct ApiObservation {
  bool reachable = false;                 // /version answered 200 over verified TLS
  ApiFailure failure = ApiFailure::None;  // why not reachable, or why nodes are not known
  std::string error;                      // for operators; never key material
  std::string git_version;                // /version gitVersion ("v1.32.4")
  bool ready = false;                     // /readyz (or /healthz) answered 200 "ok"
  std::string readiness_error;            // what /readyz said otherwise, bounded
  bool nodes_listed = false;              // /api/v1/nodes answered: `nodes` is the truth
  std::vector<NodeInfo> nodes;            // sorted by name

  const NodeInfo* node(std::string_view name) const;
  bool operator==(const ApiObservation&) const = default;
};

struct KubeClientOptions {
  uint64_t max_small_response_bytes = 64 * 1024;            // /version, /readyz
  uint64_t max_nodes_response_bytes = 32ull * 1024 * 1024;  // one page of nodes
  int64_t nodes_page_size = 500;                            // ?limit= (kube-apiserver pages)
  int max_node_pages = 20;                                  // 10,000 nodes at the default size
  size_t max_message_bytes = 256;  // node messages and readiness errors kept in observations
  int64_t max_drain_pods = 500;    // pods looked at and evicted per drain step
};

// What one drain step through the cluster's API left to do (kubectl drain's rules: pods of
// DaemonSets, mirror pods and finished pods stay; the others are evicted, PodDisruptionBudgets
// respected).
struct DrainProgress {
  bool node_found = true;  // false: no such Node (nothing to drain)
  int64_t pods_left = 0;   // pods still to leave the node (terminating ones included)
  int64_t evictions_refused = 0;  // 429: a PodDisruptionBudget does not allow it yet
};

// Looks at one cluster's API; KubeClient is the real one, tests script their own.
class ApiProber {
 public:
  virtual ~ApiProber() = default;
  // `api_url` is "https://host:port" (a path prefix is kept); `tls` holds the cluster CA and
  // magnumd's client certificate.
  virtual boost::asio::awaitable<ApiObservation> observe(std::string api_url,
                                                         http::TlsContextPtr tls) = 0;
  // Cordons the node (spec.unschedulable) and evicts what kubectl drain would; call again until
  // no pods are left or the caller's drain timeout ends. Probers that cannot drain say so.
  virtual boost::asio::awaitable<util::Result<DrainProgress>> drainStep(std::string api_url,
                                                                      http::TlsContextPtr tls,
                                                                      std::string node);
  // Deletes the Node object (NotFound counts as done).
  virtual boost::asio::awaitable<util::Status> deleteNode(std::string api_url,
                                                          http::TlsContextPtr tls,
                                                          std::string node);
  // Makes kube-public/cluster-info (what `kubeadm join` trusts, after checking its caCertHashes
  // pin) name `ca_bundle_pem` as the cluster's CA, as kubeadm's manual CA rotation does.
  virtual boost::asio::awaitable<util::Status> setClusterInfoCa(std::string api_url,
                                                                http::TlsContextPtr tls,
                                                                std::string ca_bundle_pem);
  // Makes the bootstrap token `token` ("abcdef.0123456789abcdef") valid until `expires`: its
  // Secret kube-system/bootstrap-token-<id> is written again (or made anew once kube-controller-
  // manager's token cleaner removed it after it expired), as Cluster API's kubeadm bootstrap
  // provider refreshes the token nodes still join with.
  virtual boost::asio::awaitable<util::Status> refreshBootstrapToken(std::string api_url,
                                                                     http::TlsContextPtr tls,
                                                                     std::string token,
                                                                     util::SystemTime expires);
};

// The Secret kube-system/bootstrap-token-<id> for `token`, as kubeadm writes it.
std::string bootstrapTokenSecretJson(std::string_view token, util::SystemTime expires);

// cluster-info's kubeconfig with every cluster's certificate-authority-data replaced by
// `ca_bundle_pem` (base64, as kubeconfigs carry it). An error names what the text lacks.
util::Result<std::string> replaceKubeconfigCa(std::string_view kubeconfig_yaml,
                                              std::string_view ca_bundle_pem);

class KubeClient final : public ApiProber {
 public:
  // `http` carries the deadlines (connect_timeout, request_timeout) and retry policy; a client
  // for cluster APIs should have short deadlines and max_attempts 1.
  KubeClient(http::HttpClient& http, KubeClientOptions options = {});

  // GET /version, then /readyz and /api/v1/nodes on the same keep-alive connection.
  boost::asio::awaitable<ApiObservation> observe(std::string api_url,
                                                 http::TlsContextPtr tls) override;
  // PATCH the node's spec.unschedulable, list its pods (one page of `max_drain_pods`), POST an
  // Eviction for each pod kubectl drain would evict.
  boost::asio::awaitable<util::Result<DrainProgress>> drainStep(std::string api_url,
                                                              http::TlsContextPtr tls,
                                                              std::string node) override;
  boost::asio::awaitable<util::Status> deleteNode(std::string api_url, http::TlsContextPtr tls,
                                                  std::string node) override;
  // GET the ConfigMap, then a merge patch of data.kubeconfig only (the bootstrap signer's
  // jws-kubeconfig-* keys stay; it signs the new content itself).
  boost::asio::awaitable<util::Status> setClusterInfoCa(std::string api_url,
                                                        http::TlsContextPtr tls,
                                                        std::string ca_bundle_pem) override;
  // PUT the Secret; 404 (gone): POST it.
  boost::asio::awaitable<util::Status> refreshBootstrapToken(std::string api_url,
                                                             http::TlsContextPtr tls,
                                                             std::string token,
                                                             util::SystemTime expires) override;

 private:
  struct Answer;
  boost::asio::awaitable<Answer> get(std::string url, http::TlsContextPtr tls, uint64_t limit);
  boost::asio::awaitable<Answer> call(std::string method, std::string url, std::string body,
                                      std::string content_type, http::TlsContextPtr tls,
                                      uint64_t limit);
  boost::asio::awaitable<void> readiness(std::string base, http::TlsContextPtr tls,
                                         ApiObservation* out);
  boost::asio::awaitable<void> listNodes(std::string base, http::TlsContextPtr tls,
                                         ApiObservation* out);

  http::HttpClient& http_;
  KubeClientOptions options_;
};

// Parsers, pure, for tests and for the client.
// The gitVersion of a /version body; an error names what is missing.
util::Result<std::string> parseVersion(std::string_view body);
// One page of a NodeList: its nodes and the `continue` token ("" on the last page).
struct NodePage {
  std::vector<NodeInfo> nodes;
  std::string continue_token;
};
util::Result<NodePage> parseNodeList(std::string_view body, size_t max_message_bytes = 256);
// The pods of a PodList a drain must evict ("namespace/name"), and how many of those are already
// terminating (deletionTimestamp set: counted, not evicted again).
struct DrainablePods {
  std::vector<std::pair<std::string, std::string>> to_evict;  // namespace, name
  int64_t terminating = 0;
};
util::Result<DrainablePods> parseDrainablePods(std::string_view body);
// "nodes \"x\" is forbidden: ..." from a Status body, else the body's first bytes.
std::string describeHttpError(int status, std::string_view body, size_t max_bytes = 256);

}  // namespace magnumd::drivers::kube
