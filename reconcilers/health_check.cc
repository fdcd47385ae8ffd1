#include "reconcilers/health_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace magnumd::reconcilers {

namespace {

constexpr auto kHour = std::chrono::hours(1);
constexpr size_t kMaxHistory = 100;

void noteDeadline(HealthPlan& plan, util::SystemTime at) {
  if (!plan.next_check || at < *plan.next_check) plan.next_check = at;
}

void block(HealthPlan& plan, std::string reason, std::string message) {
  if (!plan.blocked_reason.empty()) return;  // the first reason found is the one shown
  plan.blocked_reason = std::move(reason);
  plan.blocked_message = std::move(message);
}

std::string describeLimit(const api::IntOrPercent& limit, int64_t scaled) {
  return limit.percent ? fmt::format("{}% ({} {})", limit.value, scaled,
                                     scaled == 1 ? "node" : "nodes")
                       : fmt::format("{}", limit.value);
}

// Judges one target; nullopt when it is not unhealthy (healthy or still within a timeout).
// `healthy` says whether it counts as healthy (a Ready Node, or ACTIVE when no API view).
std::optional<UnhealthyNode> judge(const HealthTarget& t, const HealthInputs& in, HealthPlan& plan,
                                   bool& healthy) {
  healthy = false;
  UnhealthyNode out{t.name, t.group, t.master, "", "", in.now};
  if (t.server_status == "ERROR" || t.server_status == "SHUTOFF") {
    out.reason = t.server_status == "ERROR" ? "ServerError" : "ServerShutoff";
    out.message = fmt::format("server is {}{}", t.server_status,
                              t.server_fault.empty() ? "" : ": " + t.server_fault);
    out.since = t.started;
    return out;
  }
  if (t.server_status != "ACTIVE") return std::nullopt;  // building, rebooting: not judged yet
  const auto* api = in.api && in.api->nodes_listed ? in.api : nullptr;
  if (api == nullptr) return std::nullopt;  // nothing known about the Node
  const auto* node = api->node(t.name);
  if (node == nullptr) {
    if (in.node_startup_timeout.count() == 0) return std::nullopt;
    const auto due = t.started + in.node_startup_timeout;
    if (in.now < due) {
      noteDeadline(plan, due);
      return std::nullopt;
    }
    out.reason = "NodeStartupTimeout";
    out.message = fmt::format("no Node {} joined within nodeStartupTimeout ({}) of its server "
                              "turning ACTIVE",
                              t.name, formatDuration(in.node_startup_timeout));
    out.since = due;
    return out;
  }
  if (node->isReady()) {
    healthy = true;
    return std::nullopt;
  }
  const auto timeout = in.options.unhealthy_timeout;
  if (timeout.count() == 0) return std::nullopt;
  // The kubelet's own transition time; a Node without one counts from now (the next look).
  const auto since = util::parseRfc3339(node->ready_since).value_or(in.now);
  if (in.now < since + timeout) {
    noteDeadline(plan, since + timeout);
    return std::nullopt;
  }
  out.reason = "NodeNotReady";
  out.message = fmt::format("Ready={} for more than unhealthyTimeout ({}){}", node->ready,
                            formatDuration(timeout),
                            node->ready_reason.empty() ? "" : ": " + node->ready_reason);
  out.since = since;
  return out;
}

}  // namespace

std::string formatDuration(std::chrono::milliseconds d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s != 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s != 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

std::vector<api::RemediationRecord> recentRemediations(std::vector<api::RemediationRecord> history,
                                                       const api::HealthCheckOptions& options,
                                                       util::SystemTime now) {
  const auto keep = std::max<std::chrono::milliseconds>(options.min_healthy_period, kHour);
  std::erase_if(history, [&](const api::RemediationRecord& r) {
    auto at = util::parseRfc3339(r.time);
    return !at || *at + keep <= now;
  });
  if (history.size() > kMaxHistory) history.erase(history.begin(), history.end() - kMaxHistory);
  return history;
}

HealthPlan planHealth(const HealthInputs& in) {
  HealthPlan plan;
  std::map<std::string, int64_t> group_size, group_unhealthy;
  int64_t masters = 0, healthy_masters = 0;
  for (const auto& t : in.targets) {
    plan.expected++;
    group_size[t.group]++;
    if (t.master) masters++;
    bool healthy = false;
    auto bad = judge(t, in, plan, healthy);
    if (healthy) {
      plan.healthy++;
      if (t.master) healthy_masters++;
    }
    if (bad) {
      group_unhealthy[t.group]++;
      plan.unhealthy.push_back(std::move(*bad));
    }
  }
  if (plan.unhealthy.empty()) return plan;

  // Short-circuit: groups with more unhealthy nodes than maxUnhealthy are left alone.
  std::set<std::string> stopped;
  for (const auto& [group, unhealthy] : group_unhealthy) {
    const int64_t allowed = in.options.max_unhealthy.scaled(group_size[group]);
    if (unhealthy <= allowed) continue;
    stopped.insert(group);
    block(plan, "TooManyUnhealthy",
          fmt::format("{}: {} of {} nodes are unhealthy, more than maxUnhealthy {}; remediation "
                      "stopped in this node group until fewer are (a partition or a cloud "
                      "outage must not replace a whole group)",
                      group, unhealthy, group_size[group],
                      describeLimit(in.options.max_unhealthy, allowed)));
  }

  // Limits from what was replaced recently.
  const auto recent = recentRemediations(in.history, in.options, in.now);
  int64_t last_hour = 0;
  std::optional<util::SystemTime> oldest_in_hour;
  std::map<std::string, util::SystemTime> last_replaced;
  for (const auto& r : recent) {
    auto at = *util::parseRfc3339(r.time);
    if (at + kHour > in.now) {
      last_hour++;
      if (!oldest_in_hour || at < *oldest_in_hour) oldest_in_hour = at;
    }
    auto& last = last_replaced[r.node];
    last = std::max(last, at);
  }
  int64_t budget = std::max<int64_t>(0, in.options.max_remediations_per_hour - last_hour);

  std::vector<const UnhealthyNode*> candidates;
  for (const auto& u : plan.unhealthy) {
    if (stopped.count(u.group)) continue;
    auto it = last_replaced.find(u.name);
    if (it != last_replaced.end() && it->second + in.options.min_healthy_period > in.now) {
      block(plan, "MinHealthyPeriod",
            fmt::format("{} was replaced at {}, less than minHealthyPeriod ({}) ago, and is "
                        "unhealthy again ({}); it is left for an operator to look at",
                        u.name, util::formatRfc3339(it->second),
                        formatDuration(in.options.min_healthy_period), u.reason));
      noteDeadline(plan, it->second + in.options.min_healthy_period);
      continue;
    }
    candidates.push_back(&u);
  }
  // Masters first, one at a time, each only while the others keep etcd's quorum.
  for (const auto* u : candidates) {
    if (!u->master) continue;
    const int64_t quorum = masters / 2 + 1;
    if (healthy_masters < quorum) {
      block(plan, "EtcdQuorum",
            masters == 1
                ? fmt::format("{} is the only master: replacing it would lose etcd's data; "
                              "repair it by hand (or run 3 masters)",
                              u->name)
                : fmt::format("{}: only {} of {} masters are healthy, and etcd needs {}; "
                              "replacing a master now would lose quorum",
                              u->name, healthy_masters, masters, quorum));
      continue;
    }
    if (budget == 0) {
      block(plan, "RateLimited",
            fmt::format("{} nodes were replaced in the last hour, as many as "
                        "maxRemediationsPerHour allows; {} waits",
                        last_hour, u->name));
      if (oldest_in_hour) noteDeadline(plan, *oldest_in_hour + kHour);
      return plan;
    }
    plan.remediate.push_back(*u);
    return plan;  // a master round replaces nothing else
  }
  for (const auto* u : candidates) {
    if (u->master) continue;
    if (budget == 0) {
      block(plan, "RateLimited",
            fmt::format("{} nodes were replaced in the last hour, as many as "
                        "maxRemediationsPerHour allows; {} waits",
                        last_hour, u->name));
      if (oldest_in_hour) noteDeadline(plan, *oldest_in_hour + kHour);
      break;
    }
    plan.remediate.push_back(*u);
    budget--;
  }
  return plan;
}

}  // namespace magnumd::reconcilers
