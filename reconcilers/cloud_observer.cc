#include "reconcilers/cloud_observer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "drivers/coe/coe_driver.h"
#include "util/log.h"

namespace magnumd::reconcilers {

namespace asio = boost::asio;
using drivers::Server;
using drivers::Stack;

namespace {

bool sameServer(const Server& a, const Server& b) {
  auto addrs = [](const Server& s) {
    std::vector<std::string> out;
    for (const auto& addr : s.addresses) out.push_back(addr.network + "/" + addr.addr);
    return out;
  };
  return a.id == b.id && a.name == b.name && a.status == b.status && a.task_state == b.task_state &&
         a.updated == b.updated && addrs(a) == addrs(b) &&
         (a.fault ? a.fault->message : "") == (b.fault ? b.fault->message : "");
}

bool sameStack(const Stack& a, const Stack& b) {
  return a.ref == b.ref && a.status == b.status && a.status_reason == b.status_reason &&
         a.updated == b.updated;
}

std::optional<std::string> ownerOf(const Server& server) {
  auto it = server.metadata.find(std::string(coe::kMetaClusterUid));
  if (it == server.metadata.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

void upsertServer(ObservedCluster& cluster, const Server& server, bool& changed) {
  auto it = std::find_if(cluster.servers.begin(), cluster.servers.end(),
                         [&](const Server& s) { return s.id == server.id; });
  if (server.status == "DELETED") {
    if (it != cluster.servers.end()) {
      cluster.servers.erase(it);
      changed = true;
    }
    return;
  }
  if (it == cluster.servers.end()) {
    cluster.servers.push_back(server);
    std::sort(cluster.servers.begin(), cluster.servers.end(),
              [](const Server& a, const Server& b) { return a.name < b.name; });
    changed = true;
  } else if (!sameServer(*it, server)) {
    *it = server;
    changed = true;
  }
}

}  // namespace

std::optional<std::string> clusterUidOfStack(const Stack& stack) {
  const std::string prefix = coe::clusterTag("");
  for (const auto& tag : stack.tags) {
    if (tag.rfind(prefix, 0) == 0 && tag.size() > prefix.size()) return tag.substr(prefix.size());
  }
  return std::nullopt;
}

CloudObserver::CloudObserver(drivers::CloudDriver& cloud, ObserverOptions options,
                             ChangeCallback on_change)
    : cloud_(cloud), options_(options), on_change_(std::move(on_change)) {}

asio::awaitable<void> CloudObserver::run() {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  while (!stopping_) {
    const auto started = std::chrono::steady_clock::now();
    auto status = co_await syncOnce(/*full=*/!synced_);
    if (!status.ok()) {
      LOG_WARN("observer", "sync failed (will retry next period): {}", status.error().message);
    }
    if (options_.on_period) options_.on_period(stats(), status.ok(), std::chrono::steady_clock::now() - started);
    // Sleep in short slices so stop() takes effect promptly.
    const auto wake = std::chrono::steady_clock::now() + options_.sync_interval;
    while (!stopping_ && std::chrono::steady_clock::now() < wake) {
      timer.expires_at(std::min(wake, std::chrono::steady_clock::now() + std::chrono::milliseconds(200)));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

asio::awaitable<util::Status> CloudObserver::syncOnce(bool full) {
  std::set<std::string> changed;
  auto stacks = co_await syncStacks(full, changed);
  auto servers = co_await syncServers(full || !servers_since_, changed);
  if (!full) co_await checkStacksOfLostServers(changed);
  util::Status swept;
  if (full) {
    std::lock_guard lock(mutex_);
    sweep_ = Sweep{};  // a full list supersedes a pass under way
  } else if (stacks.ok() && servers.ok()) {
    for (int i = 0; i < options_.sweep_pages_per_period && swept.ok(); ++i) swept = co_await sweepStep(changed);
  }
  {
    std::lock_guard lock(mutex_);
    stats_.periods++;
    if (full) stats_.full_resyncs++;
    if (!stacks.ok() || !servers.ok() || !swept.ok()) stats_.errors++;
    for (const auto& uid : changed) {
      auto it = clusters_.find(uid);
      if (it == clusters_.end()) continue;
      it->second.version++;
      if (!it->second.stack && it->second.servers.empty()) clusters_.erase(it);
    }
    stats_.stacks = 0;
    stats_.servers = 0;
    for (const auto& [uid, c] : clusters_) {
      stats_.stacks += c.stack ? 1 : 0;
      stats_.servers += c.servers.size();
    }
  }
  if (full && stacks.ok() && servers.ok()) synced_ = true;
  for (const auto& uid : changed) on_change_(uid);
  if (!stacks.ok()) co_return stacks;
  if (!servers.ok()) co_return servers;
  co_return swept;
}

asio::awaitable<util::Status> CloudObserver::syncStacks(bool full, std::set<std::string>& changed) {
  drivers::StackFilter filter;
  filter.tags = {std::string(coe::kStackTag)};
  if (!full) filter.statuses = {"IN_PROGRESS", "FAILED"};
  auto listed = co_await cloud_.listStacks(filter);
  if (!listed.ok()) co_return listed.takeError();

  std::map<std::string, Stack> seen;
  for (auto& stack : *listed) {
    auto uid = clusterUidOfStack(stack);
    if (uid) seen.emplace(*uid, std::move(stack));
  }

  std::vector<std::pair<std::string, drivers::StackRef>> settle;  // left the in-flight set
  {
    std::lock_guard lock(mutex_);
    for (auto& [uid, stack] : seen) {
      const bool failed = stack.failed();
      mergeStack(uid, std::move(stack), changed);
      if (failed && !full) watched_.erase(uid);  // FAILED: nothing more until someone acts
    }
    if (full) {
      // Whatever is not listed is gone.
      for (auto& [uid, cluster] : clusters_) {
        if (cluster.stack && !seen.count(uid)) {
          cluster.stack.reset();
          watched_.erase(uid);
          changed.insert(uid);
        }
      }
      // Completed stacks listed in full: fetch outputs only for those that just settled, or
      // whose outputs this process has not read yet (it started after they completed).
      for (auto& [uid, stack] : seen) {
        if (!stack.complete()) continue;
        const auto& cached = clusters_[uid].stack;
        if (watched_.count(uid) || (cached && cached->outputs.empty())) {
          settle.emplace_back(uid, stack.ref);
        }
      }
    } else {
      for (const auto& [uid, ref] : watched_) {
        if (!seen.count(uid)) settle.emplace_back(uid, ref);
      }
    }
    for (const auto& uid : refresh_) {
      auto it = clusters_.find(uid);
      if (it != clusters_.end() && it->second.stack && it->second.stack->complete() &&
          !watched_.count(uid)) {
        settle.emplace_back(uid, it->second.stack->ref);
      }
    }
    refresh_.clear();
  }

  for (const auto& [uid, ref] : settle) {
    auto got = co_await cloud_.getStack(ref, /*resolve_outputs=*/true);
    std::lock_guard lock(mutex_);
    if (!got.ok() && got.error().code != util::ErrorCode::NotFound) {
      LOG_WARN("observer", "stack {} of cluster {}: {}", ref.name, uid, got.error().message);
      continue;  // stays watched; next period tries again
    }
    auto& cluster = clusters_[uid];
    if (!got.ok() || got->status == "DELETE_COMPLETE") {
      if (cluster.stack && cluster.stack->ref == ref) cluster.stack.reset();
      watched_.erase(uid);
      changed.insert(uid);
      continue;
    }
    if (!got->inProgress()) watched_.erase(uid);
    if (got->tags.empty() && cluster.stack) got->tags = cluster.stack->tags;
    // A read that brought no outputs (the cloud could not resolve them this time) does not
    // erase the ones this stack already gave.
    if (got->outputs.empty() && cluster.stack && cluster.stack->ref == got->ref) {
      got->outputs = cluster.stack->outputs;
    }
    cluster.stack = std::move(*got);
    sweep_.unseen.erase(uid);
    changed.insert(uid);
  }
  co_return util::Status{};
}

void CloudObserver::mergeStack(const std::string& uid, Stack stack, std::set<std::string>& changed) {
  auto& cluster = clusters_[uid];
  if (!cluster.stack || !sameStack(*cluster.stack, stack)) {
    if (cluster.stack && cluster.stack->ref == stack.ref) {
      stack.outputs = cluster.stack->outputs;  // keep outputs until the next completion
      stack.parameters = cluster.stack->parameters;
    }
    if (stack.inProgress()) watched_[uid] = stack.ref;
    cluster.stack = std::move(stack);
    changed.insert(uid);
  } else if (stack.inProgress()) {
    watched_[uid] = stack.ref;
  }
  if (sweep_.phase == Sweep::Phase::Stacks) sweep_.unseen.erase(uid);
}

asio::awaitable<util::Status> CloudObserver::syncServers(bool full, std::set<std::string>& changed) {
  drivers::ServerQuery query;
  if (!full) query.changes_since = servers_since_;
  auto listed = co_await cloud_.listServers(query);
  if (!listed.ok()) co_return listed.takeError();

  std::lock_guard lock(mutex_);
  std::optional<util::SystemTime> newest = servers_since_;
  std::set<std::string> live;  // full only
  for (const auto& server : *listed) {
    if (server.updated && (!newest || *server.updated > *newest)) newest = server.updated;
    if (mergeServer(server, changed) && server.status != "DELETED") live.insert(server.id);
  }
  if (full) {
    // A full list shows every live server: any other cached server is gone.
    for (auto& [uid, cluster] : clusters_) {
      auto before = cluster.servers.size();
      std::erase_if(cluster.servers, [&](const Server& s) { return !live.count(s.id); });
      if (cluster.servers.size() != before) changed.insert(uid);
    }
    std::erase_if(server_owner_, [&](const auto& kv) { return !live.count(kv.first); });
  }
  // The cloud's own timestamps, never ours: a skewed local clock would skip changes. Nova's
  // changes-since is inclusive, so the newest server is listed again next time (harmless).
  servers_since_ = newest;
  co_return util::Status{};
}

// A server of a settled stack was deleted. Either someone deleted it behind magnumd's back, or the
// whole stack went (`openstack stack delete` can finish within one period, so the in-flight list
// never shows it). One GET of that cluster's stack tells which, now rather than at the end of
// the sweep's pass.
asio::awaitable<void> CloudObserver::checkStacksOfLostServers(std::set<std::string>& changed) {
  std::set<std::string> check;
  {
    std::lock_guard lock(mutex_);
    for (const auto& uid : lost_server_owners_) {
      auto it = clusters_.find(uid);
      if (it != clusters_.end() && it->second.stack && !watched_.count(uid)) check.insert(uid);
    }
    lost_server_owners_.clear();
  }
  if (!check.empty()) co_await confirmMissingStacks(std::move(check), changed);
}

bool CloudObserver::mergeServer(const Server& server, std::set<std::string>& changed) {
  if (sweep_.phase == Sweep::Phase::Servers) sweep_.unseen.erase(server.id);
  auto owner = ownerOf(server);
  if (!owner) {
    auto known = server_owner_.find(server.id);
    if (known == server_owner_.end()) return false;  // not a magnumd server
    owner = known->second;
  }
  if (server.status == "DELETED") {
    if (server_owner_.erase(server.id) > 0) lost_server_owners_.insert(*owner);
  } else {
    server_owner_[server.id] = *owner;
  }
  bool server_changed = false;
  upsertServer(clusters_[*owner], server, server_changed);
  if (server_changed) changed.insert(*owner);
  return true;
}

std::optional<ObservedCluster> CloudObserver::cluster(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  auto it = clusters_.find(uid);
  if (it == clusters_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> CloudObserver::clusterUids() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [uid, c] : clusters_) out.push_back(uid);
  return out;
}

ObserverStats CloudObserver::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CloudObserver::expectChange(const std::string& uid, const drivers::StackRef& stack) {
  std::lock_guard lock(mutex_);
  watched_[uid] = stack;
}

void CloudObserver::recordStack(const std::string& uid, const drivers::Stack& stack) {
  std::lock_guard lock(mutex_);
  auto& cluster = clusters_[uid];
  cluster.stack = stack;
  cluster.version++;
  if (stack.inProgress()) watched_[uid] = stack.ref;
  if (sweep_.phase == Sweep::Phase::Stacks) sweep_.unseen.erase(uid);
}

void CloudObserver::refreshOutputs(const std::string& uid) {
  // At most one reread per cluster per interval: clusters waiting for their API must not become
  // a stream of stack GETs.
  constexpr auto kInterval = std::chrono::seconds(15);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto [it, fresh] = last_refresh_.try_emplace(uid, now);
  if (!fresh && now - it->second < kInterval) return;
  it->second = now;
  refresh_.insert(uid);
}

void CloudObserver::forgetStack(const std::string& uid) {
  std::lock_guard lock(mutex_);
  auto it = clusters_.find(uid);
  if (it != clusters_.end()) {
    it->second.stack.reset();
    it->second.version++;
  }
  watched_.erase(uid);
  last_refresh_.erase(uid);
  refresh_.erase(uid);
  if (sweep_.phase == Sweep::Phase::Stacks) sweep_.unseen.erase(uid);
}

}  // namespace magnumd::reconcilers
