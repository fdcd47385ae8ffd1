// The composition root: the only place that knows every concrete type. It opens the store,
// builds authentication, the API and the HTTP listener, runs optional components between them,
// and shuts everything down in reverse order.
//
// Start order:  store -> components (in registration order) -> API + listener (ready)
// Stop order:   /readyz fails -> listener stops accepting -> watches end -> requests drain
//               (deadline) -> components stop (reverse order) -> I/O threads join -> store closes
//
// Reconcilers, the controller manager and the embedded cloudsim plug in as Components.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "cmd/config.h"
#include "cmd/dev_mode.h"
#include "controller/event_recorder.h"
#include "net/http_server.h"
#include "pki/kek.h"
#include "secrets/cluster_secrets.h"
#include "server/api_server.h"
#include "server/auth.h"
#include "server/keystone_auth.h"
#include "store/etcd_contact.h"
#include "store/etcd_services.h"
#include "store/leader_election.h"
#include "store/store.h"
#include "util/file.h"
#include "util/metrics.h"

namespace magnumd::cmd {

// What a component may use; all of it outlives every component.
struct Services {
  const DaemonConfig& config;
  store::Store& store;
  boost::asio::io_context& io;  // shared I/O threads; never block them
  util::MetricsRegistry& metrics;
  secrets::ClusterSecretStore& secrets;  // every cluster's CAs and join token
  server::ServiceHeartbeat& heartbeat;   // the controllers beat it; Magnum's /v1/mservices
  // Set by the component that talks to the cloud, for --keystone-auth: validates API users'
  // Keystone tokens with magnumd's own service token.
  std::shared_ptr<server::KeystoneValidator> keystone;
  // Told of every write the API accepts (the audit's pending events); add before the API starts.
  std::vector<server::WriteObserver>& api_write_observers;
  // Set by the component that opens the cloud: what the API's admission looks up there (images,
  // flavors, key pairs), in each namespace's project. Stays null without a cloud, and then
  // nothing is checked.
  drivers::NamespaceLookups* cloud_lookups = nullptr;
};

// What the elected leader's components act with (Component::lead).
struct Leadership {
  // The store, with every write fenced by this term: a deposed leader's writes fail.
  store::Store& store;
  // Checked right before every cloud action: false once the term may have ended.
  std::function<bool()> leading;
  int64_t term = 0;  // the fencing token, for logs
};

class Component {
 public:
  virtual ~Component() = default;
  virtual std::string_view name() const = 0;
  // Called once the store is open, before the API accepts requests; on every replica. Errors
  // abort start-up.
  virtual util::Status start(Services& services) = 0;
  // Called when this replica is elected to run the controllers (with SQLite, the only replica,
  // right after start-up), on another thread than start(), at most once: a replica that loses
  // the leadership exits. An error makes the replica exit (and give the leadership up).
  virtual util::Status lead(Services& /*services*/, const Leadership& /*leadership*/) {
    return {};
  }
  // Stop promptly: called after the API drained, before the store closes; joins own threads.
  virtual void stop() = 0;
};

class Daemon {
 public:
  explicit Daemon(DaemonConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Registered before start(); started in order after the store opens.
  void addComponent(std::unique_ptr<Component> component);

  // Opens everything and starts listening. Errors are the clear, operator-facing kind:
  // "cannot listen on 127.0.0.1:9511: Address already in use".
  util::Status start();
  // Blocks until SIGTERM/SIGINT (or requestStop()), then shuts down gracefully.
  void runUntilStopped();
  void requestStop();
  uint16_t port() const;
  // What main returns: 0, or kExitLostLeadership after a lost term, or 1 when leading failed.
  int exitCode() const { return exit_code_.load(); }
  static constexpr int kExitLostLeadership = 75;  // EX_TEMPFAIL: the supervisor restarts it

 private:
  util::Status prepareDataDir();
  // --dev: the CA and serving certificate in the data dir become --tls-cert/--tls-key.
  util::Status prepareDevTls();
  // --dev, once the listener has its port: DATA_DIR/kubeconfig and the start-up hints.
  util::Status writeDevClientConfig(uint16_t port);
  util::Status openStore();
  util::Status openSecrets();
  util::Result<std::shared_ptr<server::TokenAuthenticator>> loadAuthenticator();
  util::Status startApi(std::shared_ptr<const server::Authenticator> authenticator,
                        std::shared_ptr<server::KeystoneValidator> keystone,
                        drivers::NamespaceLookups* cloud_lookups);
  // Once the listener has its port: this replica's identity and its elector (SoleLeader for
  // SQLite); startElection() campaigns once the API serves.
  util::Status createElector(uint16_t port);
  void startElection();
  void onElected(const store::LeaderTerm& term);
  void onDeposed();
  server::ReplicaRole role() const;
  void waitForSignal();
  void onSignal(const boost::system::error_code& ec, int number);
  void shutdown();

  DaemonConfig config_;
  util::MetricsRegistry metrics_;
  // SQLite: DATA_DIR/magnumd.lock, held for the process's life (one process per data dir).
  std::unique_ptr<util::FileLock> data_dir_lock_;
  store::StorePtr store_;  // declared early: closed last
  // etcd: whether the store follows an etcd leader, for the API's stale-read warnings.
  std::shared_ptr<store::EtcdLeaderContact> etcd_contact_;
  // etcd: this replica's service report and every replica's, for Magnum's /v1/mservices.
  std::unique_ptr<store::EtcdServiceReports> service_reports_;
  util::RealClock clock_;
  server::ServiceHeartbeat heartbeat_;
  std::optional<pki::KeyEncryptionKey> kek_;
  std::optional<DevToken> dev_token_;
  std::string dev_ca_path_;  // --dev with its own CA; empty otherwise
  std::string dev_ca_pem_;
  std::unique_ptr<secrets::ClusterSecretStore> secrets_;
  std::vector<std::unique_ptr<Component>> components_;
  size_t started_components_ = 0;
  std::unique_ptr<Services> services_;
  store::LeaderElectorPtr elector_;
  store::StorePtr leader_store_;  // store_ fenced by the term this replica leads
  std::atomic<bool> elected_{false};
  std::atomic<int> exit_code_{0};
  // Events the API records (CertificateIssued on a Cluster), from its own writer thread.
  std::unique_ptr<controller::StoreEventRecorder> api_events_;
  std::shared_ptr<server::KeystoneValidator> keystone_validator_;
  std::vector<server::WriteObserver> api_write_observers_;
  std::unique_ptr<server::ApiServer> api_;
  // An io_context whose services can be shut down (every pending handler and suspended coroutine
  // destroyed) before the components whose sockets and timers belong to it are destroyed, and
  // only then the context itself: the order Asio needs for objects that outlive their handlers.
  class IoContext : public boost::asio::io_context {
   public:
    void shutdownServices() { shutdown(); }
  };
  std::unique_ptr<IoContext> io_;
  // The other I/O threads' contexts, one thread each (io_ is the first I/O thread's).
  std::vector<std::unique_ptr<IoContext>> session_ios_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      session_work_;
  std::unique_ptr<net::HttpServer> http_;
  std::vector<std::thread> threads_;
  std::unique_ptr<boost::asio::signal_set> signal_set_;

  std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stop_ = false;
  std::atomic<int> signals_{0};
};

}  // namespace magnumd::cmd
