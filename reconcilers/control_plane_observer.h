// Each Kubernetes cluster seen through its own API, the way Cluster API's ClusterCache reaches
// workload clusters: one observer for every cluster, probing each tracked cluster's API once per
// interval (GET /version, /readyz, /api/v1/nodes; drivers/kube) with at most `max_concurrent`
// probes in flight, caching the last observation per cluster uid, and naming a cluster (so its
// reconciler runs) only when what it saw changed.
//
// The Cluster reconciler decides what is tracked: every pass of a Kubernetes cluster with an API
// address calls track() (cheap when nothing changed), and untrack() once it is deleted or has
// no API any more.
//
// magnumd's identity towards a cluster is a client certificate (CN magnumd, O system:masters)
// that track() issues from the cluster's CA on the caller's thread (a reconcile worker, never an
// I/O thread). It lives in memory only (inside the TLS context) and is reused until a third of
// its validity is left; the observer then names the cluster once so that its next pass
// (track()) issues a fresh one. It never touches disk, logs or status.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "drivers/cloud_driver.h"
#include "drivers/http/http_client.h"
#include "drivers/kube/kube_client.h"
#include "pki/ca.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::reconcilers {

struct ControlPlaneTarget {
  std::string api_url;  // "https://192.0.2.7:6443"
  std::string name;     // "demo/prod", for logs
  pki::CertificateAuthority
      ca;  // the cluster CA; its key signs magnumd's identity, and is not kept
};

// What the Cluster reconciler sees of the observer; tests fake it.
class ControlPlaneSource {
 public:
  virtual ~ControlPlaneSource() = default;
  // Probe this cluster's API from now on (a changed address or CA starts afresh). An error means
  // magnumd could not make its client certificate (an expired CA, say); nothing is probed then.
  virtual util::Status track(const std::string& uid, const ControlPlaneTarget& target) = 0;
  virtual void untrack(const std::string& uid) = 0;
  // The last observation of a tracked cluster; nullopt until its first probe since track().
  virtual std::optional<drivers::kube::ApiObservation> observation(
      const std::string& uid) const = 0;
  // Through a tracked cluster's API with magnumd's identity (Unavailable when it is not tracked):
  // one step of draining a node, and deleting its Node object.
  virtual drivers::Task<drivers::kube::DrainProgress> drainStep(std::string uid,
                                                                std::string node) = 0;
  virtual drivers::StatusTask deleteNode(std::string uid, std::string node) = 0;
  // Makes kube-public/cluster-info name `ca_bundle_pem` (a CA rotation's step).
  virtual drivers::StatusTask setClusterInfoCa(std::string uid, std::string ca_bundle_pem) = 0;
  // Keeps the join token valid until `expires` (drivers/kube refreshBootstrapToken).
  virtual drivers::StatusTask refreshBootstrapToken(std::string uid, std::string token,
                                                    util::SystemTime expires) = 0;
};

struct ControlPlaneStats {
  uint64_t tracked = 0;
  uint64_t probes = 0;       // completed probes
  uint64_t changes = 0;      // probes whose observation differed from the last one
  uint64_t unreachable = 0;  // tracked clusters whose last probe found no API
  uint64_t debounced = 0;    // failed probes not reported (below failure_threshold)
  uint64_t in_flight = 0;
  uint64_t peak_in_flight = 0;
  uint64_t identities_issued = 0;
};

struct ControlPlaneObserverOptions {
  std::chrono::milliseconds interval{10000};  // between two probes of one cluster
  double jitter = 0.1;                        // each next probe is interval × (1 ± jitter)
  size_t max_concurrent = 32;                 // probes in flight at once, over all clusters
  std::chrono::milliseconds tick{100};        // how often run() looks for due probes
  // Consecutive failed probes before an API that answered counts as unreachable: one lost
  // probe does not flap the cluster's health. After a failure the next probe comes sooner
  // (interval / 4).
  int failure_threshold = 2;
  std::chrono::seconds identity_validity{std::chrono::hours(24)};
  // Called on the probe's coroutine after each probe (metrics); may be empty.
  std::function<void(const drivers::kube::ApiObservation&,
                     std::chrono::steady_clock::duration took)>
      on_probe;
};

class ControlPlaneObserver final : public ControlPlaneSource {
 public:
  // `on_change(uid)` runs on a probe's coroutine when a cluster's observation changed, and once
  // when its identity is due for renewal.
  using ChangeCallback = std::function<void(const std::string& cluster_uid)>;

  ControlPlaneObserver(drivers::kube::ApiProber& prober, const util::Clock& clock,
                       ControlPlaneObserverOptions options, ChangeCallback on_change);
  ~ControlPlaneObserver() override;

  // Probes due clusters until stop(), then waits for the probes in flight.
  boost::asio::awaitable<void> run();
  void stop() { stopping_ = true; }

  // Probes every tracked cluster now (bounded by max_concurrent) and returns when all are done.
  boost::asio::awaitable<void> probeAll();

  util::Status track(const std::string& uid, const ControlPlaneTarget& target) override;
  void untrack(const std::string& uid) override;
  std::optional<drivers::kube::ApiObservation> observation(const std::string& uid) const override;
  drivers::Task<drivers::kube::DrainProgress> drainStep(std::string uid,
                                                        std::string node) override;
  drivers::StatusTask deleteNode(std::string uid, std::string node) override;
  drivers::StatusTask setClusterInfoCa(std::string uid, std::string ca_bundle_pem) override;
  drivers::StatusTask refreshBootstrapToken(std::string uid, std::string token,
                                            util::SystemTime expires) override;
  ControlPlaneStats stats() const;

 private:
  struct Entry {
    std::string api_url;
    std::string name;
    std::string ca_cert_pem;
    drivers::http::TlsContextPtr tls;  // the cluster CA + magnumd's certificate and key
    util::SystemTime identity_renew_at{};
    bool renewal_requested = false;
    std::optional<drivers::kube::ApiObservation> last;
    std::chrono::steady_clock::time_point next_probe{};
    bool probing = false;
    int failures = 0;  // consecutive failed probes not yet reported
    uint64_t epoch = 0;  // bumps on every retarget, so a stale probe's answer is dropped
  };
  struct Due {
    std::string uid;
    std::string name;
    std::string api_url;
    drivers::http::TlsContextPtr tls;
    uint64_t epoch;
  };

  // In-flight slots: reserve up to `wanted` (fewer when max_concurrent is reached).
  size_t reserveSlots(size_t wanted);
  void releaseSlots(size_t count);
  uint64_t inFlight() const;
  // Claims up to `limit` due entries (all tracked ones when `all`), marking them probing.
  std::vector<Due> claim(bool all, size_t limit);
  std::optional<Due> lookup(const std::string& uid) const;
  boost::asio::awaitable<void> probe(Due due);
  void record(const Due& due, drivers::kube::ApiObservation observed);
  std::chrono::steady_clock::time_point nextProbeAfter(std::chrono::steady_clock::time_point now);

  drivers::kube::ApiProber& prober_;
  const util::Clock& clock_;
  ControlPlaneObserverOptions options_;
  ChangeCallback on_change_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;  // by cluster uid
  ControlPlaneStats stats_;
  uint64_t next_epoch_ = 1;
  std::mt19937_64 rng_;
};

}  // namespace magnumd::reconcilers
