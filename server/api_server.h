// The magnumd REST API as one request -> reply function over a Store:
//   /apis/container-infra/v1/...   resources (see resources.h) and watch streams (watch.h)
//   .../clusters/{name}/{ca,certificates,kubeconfig}   a cluster's credentials (credentials.h)
//   /healthz /livez /readyz /version   no token needed
//   /metrics, /apis discovery          any valid token
//   /openapi/v2, /openapi/v3[/...]     any valid token (openapi.h)
// Authentication (bearer tokens, or Keystone tokens in X-Auth-Token: keystone_auth.h) and
// authorization (roles, namespaces) happen here, before a resource handler runs. Testable without
// sockets: call handle() on an io_context.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/http_server.h"
#include "secrets/cluster_secrets.h"
#include "server/auth.h"
#include "server/credentials.h"
#include "server/keystone_auth.h"
#include "server/magnum_api.h"
#include "server/resources.h"
#include "server/server_metrics.h"
#include "server/watch.h"
#include "store/store.h"
#include "util/metrics.h"
#include "util/time.h"

namespace magnumd::server {

// Which replica answers and which one leads the controllers (store/leader_election.h).
struct ReplicaRole {
  std::string replica;  // "host:port", the leader key's value when this one leads
  std::string leader;   // empty when unknown (no leader elected yet, or etcd unreachable)
  bool leading = false;
};

struct ApiServerOptions {
  WatchOptions watch;
  // Every cluster's CA and keys, for the credentials endpoints; null: they answer 503.
  secrets::ClusterSecretStore* secrets = nullptr;
  // Told of every client certificate issued (e.g. to record an Event on the Cluster).
  CredentialObserver on_credential_issued;
  // Per-project limits without a Quota object (--max-clusters-per-project, ...).
  QuotaDefaults quotas;
  // Told of every accepted write through either API (e.g. to audit a cluster's operations).
  WriteObserver on_write;
  // The controllers' heartbeat for Magnum's /v1/mservices; null: API only.
  const ServiceHeartbeat* heartbeat = nullptr;
  // Validates X-Auth-Token headers with Keystone; null: only bearer tokens are accepted.
  std::shared_ptr<KeystoneAuthenticator> keystone;
  // The cloud's images, flavors and key pairs as each namespace's project sees them, checked on
  // writes (cloud_admission.h); null: API only, nothing is checked against a cloud.
  drivers::NamespaceLookups* cloud = nullptr;
  CloudAdmissionOptions cloud_admission;
  // This replica's role, shown by /readyz (body and X-Magnumd-Role) and /version; null: no
  // election (a test's server).
  std::function<ReplicaRole()> role;
  // Magnum's policy for the /v1 API (--policy-file); null: Magnum's defaults.
  std::shared_ptr<const magnum::Policy> magnum_policy;
  // Since when the store's reads may be stale (its etcd cluster lost its quorum: the cache no
  // longer follows it), nullopt while they are current; reads of both APIs then carry a
  // `Warning: 299` header saying so (what kubectl prints). Null: reads are always current.
  std::function<std::optional<util::SystemTime>()> stale_since;
};

class ApiServer {
 public:
  ApiServer(store::Store& store, std::shared_ptr<const Authenticator> authenticator,
            util::MetricsRegistry& metrics, ApiServerOptions options = {});
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  boost::asio::awaitable<net::Reply> handle(net::Request request, net::PeerInfo peer);
  // handle() bound to this object, for net::HttpServer.
  net::Handler handler();
  // Status JSON for errors the transport produces (413, 431, 400); for net::HttpServer.
  static net::Response transportError(net::http::status status, std::string message);

  // /readyz answers 503 while not ready (before start-up completes and during shutdown).
  void setReady(bool ready) { ready_ = ready; }
  bool ready() const { return ready_; }
  // Ends open watch streams promptly; new watches end at once.
  void shutdown() { watches_.shutdown(); }
  // After the I/O threads stopped, before their io_context is destroyed (CredentialHandlers).
  void finishOffloadedWork() { credentials_.finishOffloadedWork(); }
  size_t openWatches() const { return watches_.openStreams(); }

 private:
  // Who sends the request: a bearer token, else an X-Auth-Token of the token file or, with
  // --keystone-auth, one Keystone vouches for.
  boost::asio::awaitable<util::Result<Identity>> identify(const net::Request& request);
  boost::asio::awaitable<net::Reply> dispatch(const net::Request& request, bool tls,
                                              std::string& verb_label, std::string& resource_label);
  // Sets the Warning header on a read of the store's objects while the reads may be stale.
  void warnIfStale(const net::Request& request, net::Reply& reply) const;
  net::Response systemEndpoint(const net::Request& request, std::string_view path) const;
  net::Response metricsEndpoint();
  net::Reply openWatch(const RequestContext& ctx);
  void record(const std::string& verb, const std::string& resource, unsigned code,
              double seconds, bool streaming);

  store::Store& store_;
  std::shared_ptr<const Authenticator> authenticator_;
  std::shared_ptr<KeystoneAuthenticator> keystone_;
  util::MetricsRegistry& registry_;
  ServerMetrics metrics_;
  util::Family<util::Gauge>& rss_;
  util::Family<util::Gauge>& revision_;
  util::Family<util::Gauge>& store_bytes_;
  util::Family<util::Gauge>& store_quota_;
  util::Family<util::Gauge>& store_objects_;
  util::RealClock clock_;
  std::unique_ptr<CloudAdmission> cloud_admission_;  // before resources_, which points at it
  ResourceHandlers resources_;
  CredentialHandlers credentials_;
  magnum::MagnumApi magnum_;
  WatchHub watches_;
  std::function<ReplicaRole()> role_;
  std::function<std::optional<util::SystemTime>()> stale_since_;
  std::atomic<bool> ready_{false};
};

}  // namespace magnumd::server
