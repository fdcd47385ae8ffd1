// Leader election among magnumd replicas on one store, as client-go's leaderelection on etcd's
// election primitives (go.etcd.io/etcd/client/v3/concurrency): every replica serves the API, the
// elected one runs the controllers.
//
// Fencing has two halves. The leader's store writes go through Store::fenced(term.fence), whose
// transaction compares the leader key's creation revision, so a deposed leader's write fails at
// etcd. Its cloud actions, which no transaction covers, check leading() right before acting:
// leading() turns false renew_deadline after the last renewal was sent, while etcd keeps the
// lease (and the key) until lease_duration after it, so a replica that still passes the check has
// lease_duration - renew_deadline of leadership left (client-go's argument).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "store/store.h"
#include "util/result.h"

namespace magnumd::util {
class MetricsRegistry;
}

namespace magnumd::store {

// client-go's defaults for "core clients": 15 s / 10 s / 2 s.
struct ElectionTiming {
  std::chrono::milliseconds lease_duration{15000};  // the lease's TTL at etcd (whole seconds)
  std::chrono::milliseconds renew_deadline{
      10000};                                    // the leader stops acting after failing this long
  std::chrono::milliseconds retry_period{2000};  // between renewals, and between campaigns
};

// client-go's rule: lease_duration > renew_deadline > 1.2 x retry_period, and etcd's TTLs are
// whole seconds. Errors name the --leader-* flags.
util::Status validateElectionTiming(const ElectionTiming& timing);

// One term of leadership.
struct LeaderTerm {
  std::string identity;  // this replica
  int64_t token = 0;     // the leader key's creation revision: larger for every later term
  WriteFence fence;      // for Store::fenced
};

struct ElectionCallbacks {
  // On the elector's thread, when this replica was elected. It leads until on_stopped_leading.
  std::function<void(const LeaderTerm&)> on_started_leading;
  // On the elector's thread, when the term ended (renewal failed for renew_deadline, the lease
  // expired, or the leader key is gone); leading() is already false. Not called by stop().
  // The elector does not campaign again, as client-go's default (whose callback exits): the
  // replica stops its controllers, resign()s and exits, and its supervisor restarts it as a
  // follower. A fresh process cannot carry state of the lost term into the next.
  std::function<void()> on_stopped_leading;
};

class LeaderElector {
 public:
  virtual ~LeaderElector() = default;
  // Campaigns (and, once elected, renews) on a thread of its own until stop().
  virtual void start(ElectionCallbacks callbacks) = 0;
  // Stops campaigning and renewing; leading() is false from now on. The lease is kept until
  // resign(), so the daemon can stop its controllers before another replica takes over.
  virtual void stop() = 0;
  // Gives the leadership up at once (revokes the lease), so the next leader need not wait for
  // it to expire. After stop().
  virtual void resign() = 0;
  // Whether this replica leads and may still act: cloud actions check it right before acting.
  // Cheap, from any thread.
  virtual bool leading() const = 0;
  // The leader as this replica last saw it ("host:port"); empty when unknown.
  virtual std::string leader() const = 0;
  virtual const std::string& identity() const = 0;
};
using LeaderElectorPtr = std::unique_ptr<LeaderElector>;

// The only replica (SQLite, one process per data dir): leads from start() until stop(). Sets
// the `magnumd_leader` gauge of `metrics` (may be null) as every elector does.
LeaderElectorPtr makeSoleLeader(std::string identity, util::MetricsRegistry* metrics);

}  // namespace magnumd::store
