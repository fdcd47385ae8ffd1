// The controllers' heartbeat, as Magnum's conductor reports one: a count of reports and the time
// of the last. The cloud observer beats once per sync period; /v1/mservices shows it (state "up"
// while the last report is recent), so an operator sees a stalled controller as Magnum shows a
// dead conductor. With several replicas on etcd, every replica reports itself to the store and
// reads the others' reports (`replicas`), so any replica lists them all, a follower included.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/time.h"

namespace magnumd::server {

// One replica's report (several replicas on etcd: store/etcd_services.h).
struct ReplicaReport {
  std::string host;  // the replica's identity
  util::SystemTime created_at, updated_at;
  uint64_t report_count = 0;
};

struct ServiceHeartbeat {
  std::string host;        // this machine's name
  std::string started_at;  // RFC 3339
  std::chrono::milliseconds report_interval{10000};
  std::atomic<bool> running{false};  // the controllers started (false: API only)
  std::atomic<uint64_t> reports{0};
  std::atomic<int64_t> last_report_ms{0};  // system clock, milliseconds since the epoch

  void beat() {
    reports.fetch_add(1, std::memory_order_relaxed);
    last_report_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count(),
                         std::memory_order_relaxed);
  }
  // Several replicas (etcd): every replica's own report, as this one last read them; replaces
  // the single row above. Set before the API serves; null: one process (SQLite).
  std::function<std::vector<ReplicaReport>()> replicas;

  // Magnum's servicegroup: up while the last report is younger than service_down_time (180 s by
  // default) — here three report intervals, at least 30 s.
  std::chrono::milliseconds downAfter() const {
    return std::max(std::chrono::milliseconds(30000), 3 * report_interval);
  }
  bool up() const {
    int64_t last = last_report_ms.load(std::memory_order_relaxed);
    if (last == 0) return false;
    return reportIsRecent(util::SystemTime(std::chrono::milliseconds(last)));
  }
  bool reportIsRecent(util::SystemTime last) const {
    return std::chrono::system_clock::now() - last <= downAfter();
  }
};

}  // namespace magnumd::server
