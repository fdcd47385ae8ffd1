// Whether a replica's etcd store is in contact with an etcd leader, for the API to say when its
// reads may be stale. The store's cache watch asks etcd to end it when the member it talks to has
// no leader (gRPC metadata `hasleader: true`, clientv3.WithRequireLeader, as kube-apiserver's
// watches do); so while the cluster has lost its quorum etcd refuses the cache's watch and reads
// answer from a cache that no longer follows etcd. The store reports that here; the daemon hands
// staleSince() to the API server (a Warning header on reads). Failed writes are not a signal:
// etcd ends the watch within three election timeouts, before a write times out, and writes also
// fail for reasons that leave the cache current (a full database, a deposed leader's fence).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "util/time.h"

namespace magnumd::store {

class EtcdLeaderContact {
 public:
  // etcd would not accept the cache's watch: no member answers, or the one that does has no
  // leader. The earliest loss is kept until contact returns.
  void lost(util::SystemTime when = std::chrono::system_clock::now()) {
    const int64_t ms = toMillis(when);
    int64_t expected = 0;
    lost_ms_.compare_exchange_strong(expected, ms ? ms : 1);
  }
  // etcd accepted the cache's watch (so its member has a leader).
  void regained() { lost_ms_.store(0); }
  // When contact was lost; nullopt while in contact.
  std::optional<util::SystemTime> staleSince() const {
    const int64_t ms = lost_ms_.load();
    if (ms == 0) return std::nullopt;
    return util::SystemTime(std::chrono::milliseconds(ms));
  }

 private:
  static int64_t toMillis(util::SystemTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  std::atomic<int64_t> lost_ms_{0};  // 0: in contact
};

}  // namespace magnumd::store
