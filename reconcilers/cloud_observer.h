// One observer per cloud project: each sync period it asks the cloud what changed — magnumd's
// stacks that are in flight or failed, and the servers changed since the last look — keeps a
// cache, and names the clusters whose observed state changed. Reconcilers read the cache.
//
// Cloud calls per period in steady state: one stack list (only IN_PROGRESS/FAILED stacks, so it
// is empty when nothing happens), one `changes-since` server list (empty likewise), and one page
// of a background sweep — three, whatever the number of clusters. A stack leaving the in-flight
// set is fetched once, with outputs, which is when Magnum's users need them.
//
// A deleted server of a settled stack costs one GET of its cluster's stack, so a stack deleted
// out of band is noticed within a period even when Heat finished before any period saw it.
//
// The sweep repairs anything the incremental lists missed (a stack purged without a trace, a
// lost response): it walks every magnumd stack, then every server, one page per period, and at the
// end of a pass confirms with a direct GET each cached stack or server the pass did not see
// before dropping it. A pass over N stacks and M servers takes about (N + M) / page periods.
// The first period (and syncOnce(true)) lists everything at once instead.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "drivers/cloud_driver.h"

namespace magnumd::reconcilers {

struct ObservedCluster {
  std::optional<drivers::Stack> stack;   // latest known state; outputs when it last completed
  std::vector<drivers::Server> servers;  // live servers carrying the cluster's uid, by name
  uint64_t version = 0;                  // bumps on every observed change
};

struct ObserverStats;

struct ObserverOptions {
  std::chrono::milliseconds sync_interval{10000};
  int sweep_pages_per_period = 1;  // background sweep pages fetched each period (0: none)
  int sweep_page_size = 0;         // items per sweep page; 0: the driver's page size
  // Called on the observer's coroutine after every period (metrics); may be empty.
  std::function<void(const ObserverStats&, bool ok, std::chrono::steady_clock::duration took)> on_period;
};

struct ObserverStats {
  uint64_t periods = 0;
  uint64_t full_resyncs = 0;  // periods that listed everything at once
  uint64_t sweeps = 0;        // completed background sweep passes (stacks, then servers)
  uint64_t errors = 0;
  uint64_t stacks = 0;   // magnumd stacks known
  uint64_t servers = 0;  // magnumd servers known
};

class CloudObserver {
 public:
  // `on_change(uid)` runs on the observer's coroutine for every cluster uid whose stack or
  // servers changed (including stacks whose cluster no longer exists: orphans).
  using ChangeCallback = std::function<void(const std::string& cluster_uid)>;

  CloudObserver(drivers::CloudDriver& cloud, ObserverOptions options, ChangeCallback on_change);

  // Runs periods until stop(); a failed period is logged and retried next period.
  boost::asio::awaitable<void> run();
  void stop() { stopping_ = true; }

  // One period (tests call it directly). `full` lists everything at once instead of sweeping.
  boost::asio::awaitable<util::Status> syncOnce(bool full);

  // Thread-safe snapshots for reconcilers.
  std::optional<ObservedCluster> cluster(const std::string& uid) const;
  std::vector<std::string> clusterUids() const;  // every uid with a stack or servers
  bool synced() const { return synced_.load(); }
  ObserverStats stats() const;

  // A reconciler that just started an operation (create, patch, delete) records the stack it
  // expects to change, so the next period watches it even before Heat lists it as in flight.
  void expectChange(const std::string& uid, const drivers::StackRef& stack);
  // A reconciler saw the stack (e.g. after creating it): cache it now.
  void recordStack(const std::string& uid, const drivers::Stack& stack);
  void forgetStack(const std::string& uid);
  // Reads the complete stack's outputs again next period (a cluster waiting for its API, whose
  // address output may have been read before the API existed). Cheap to call on every pass.
  void refreshOutputs(const std::string& uid);

 private:
  boost::asio::awaitable<util::Status> syncStacks(bool full, std::set<std::string>& changed);
  boost::asio::awaitable<util::Status> syncServers(bool full, std::set<std::string>& changed);
  boost::asio::awaitable<void> checkStacksOfLostServers(std::set<std::string>& changed);
  boost::asio::awaitable<util::Status> sweepStep(std::set<std::string>& changed);
  boost::asio::awaitable<util::Status> sweepStacksPage(std::set<std::string>& changed);
  boost::asio::awaitable<util::Status> sweepServersPage(std::set<std::string>& changed);
  boost::asio::awaitable<void> confirmMissingStacks(std::set<std::string> uids, std::set<std::string>& changed);
  boost::asio::awaitable<void> confirmMissingServers(std::set<std::string> ids, std::set<std::string>& changed);
  // Merges a listed stack into the cache (mutex_ held).
  void mergeStack(const std::string& uid, drivers::Stack stack, std::set<std::string>& changed);
  // Merges a listed server into the cache; false when it is not a magnumd server (mutex_ held).
  bool mergeServer(const drivers::Server& server, std::set<std::string>& changed);
  void beginSweepPass();  // mutex_ held
  drivers::PageRequest nextSweepPage() const;
  // A failed page request; a vanished marker also restarts the pass.
  util::Error sweepPageFailed(const drivers::PageRequest& page, util::Error error);

  drivers::CloudDriver& cloud_;
  ObserverOptions options_;
  ChangeCallback on_change_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> synced_{false};

  mutable std::mutex mutex_;
  std::map<std::string, ObservedCluster> clusters_;  // by cluster uid
  std::map<std::string, drivers::StackRef> watched_;  // in flight: uid -> stack
  std::set<std::string> refresh_;                      // complete stacks whose outputs to reread
  std::map<std::string, std::chrono::steady_clock::time_point> last_refresh_;
  std::map<std::string, std::string> server_owner_;   // server id -> cluster uid
  std::optional<util::SystemTime> servers_since_;
  std::set<std::string> lost_server_owners_;  // clusters whose known server was just deleted
  ObserverStats stats_;

  // The background sweep: which listing it walks, where it is, and what the pass has not seen.
  struct Sweep {
    enum class Phase { Stacks, Servers } phase = Phase::Stacks;
    bool active = false;
    std::string marker;
    std::set<std::string> unseen;  // Stacks: cluster uids with a cached stack; Servers: server ids
  };
  Sweep sweep_;
};

// The cluster uid a magnumd stack belongs to, from its "magnumd-cluster=<uid>" tag.
std::optional<std::string> clusterUidOfStack(const drivers::Stack& stack);

}  // namespace magnumd::reconcilers
