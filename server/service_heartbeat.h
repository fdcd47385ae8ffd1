// The controllers' heartbeat, as Magnum's conductor reports one: a count of reports and the time
// of the last. The cloud observer beats once per sync period; /v1/mservices shows it (state "up"
// while the last report is recent), so an operator sees a stalled controller as Magnum shows a
// dead conductor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace magnumd::server {

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
  // Magnum's servicegroup: up while the last report is younger than service_down_time (180 s by
  // default) — here three report intervals, at least 30 s.
  bool up() const {
    int64_t last = last_report_ms.load(std::memory_order_relaxed);
    if (last == 0) return false;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return now - last <= std::max<int64_t>(30000, 3 * report_interval.count());
  }
};

}  // namespace magnumd::server
