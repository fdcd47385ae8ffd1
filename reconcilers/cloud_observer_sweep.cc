// The observer's background sweep: one page of every magnumd stack, then of every server, per
// period; what a finished pass did not see is confirmed gone with a direct GET before the cache
// drops it. See cloud_observer.h for why.
#include "reconcilers/cloud_observer.h"

#include <boost/asio/use_awaitable.hpp>

#include "drivers/coe/coe_driver.h"
#include "util/log.h"

namespace magnumd::reconcilers {

namespace asio = boost::asio;
using drivers::Server;

void CloudObserver::beginSweepPass() {
  sweep_.active = true;
  sweep_.marker.clear();
  sweep_.unseen.clear();
  if (sweep_.phase == Sweep::Phase::Stacks) {
    for (const auto& [uid, cluster] : clusters_) {
      if (cluster.stack) sweep_.unseen.insert(uid);
    }
  } else {
    for (const auto& [id, owner] : server_owner_) sweep_.unseen.insert(id);
  }
}

asio::awaitable<util::Status> CloudObserver::sweepStep(std::set<std::string>& changed) {
  bool stacks = false;
  {
    std::lock_guard lock(mutex_);
    if (!sweep_.active) beginSweepPass();
    stacks = sweep_.phase == Sweep::Phase::Stacks;
  }
  if (stacks) co_return co_await sweepStacksPage(changed);
  co_return co_await sweepServersPage(changed);
}

namespace {

// A page request whose marker vanished (deleted since the last page) cannot continue: the pass
// starts again rather than guessing where the marker was.
bool markerLost(const util::Error& error) {
  return error.code == util::ErrorCode::BadRequest || error.code == util::ErrorCode::NotFound;
}

}  // namespace

drivers::PageRequest CloudObserver::nextSweepPage() const {
  std::lock_guard lock(mutex_);
  return drivers::PageRequest{sweep_.marker, options_.sweep_page_size};
}

util::Error CloudObserver::sweepPageFailed(const drivers::PageRequest& page, util::Error error) {
  if (!page.marker.empty() && markerLost(error)) {
    std::lock_guard lock(mutex_);
    sweep_.active = false;  // the next period starts the pass again
  }
  return error;
}

asio::awaitable<util::Status> CloudObserver::sweepStacksPage(std::set<std::string>& changed) {
  drivers::StackFilter filter;
  filter.tags = {std::string(coe::kStackTag)};
  drivers::PageRequest page = nextSweepPage();
  auto listed = co_await cloud_.listStacksPage(std::move(filter), page);
  if (!listed.ok()) co_return sweepPageFailed(page, listed.takeError());
  std::set<std::string> missing;
  {
    std::lock_guard lock(mutex_);
    for (auto& stack : listed->items) {
      if (auto uid = clusterUidOfStack(stack)) mergeStack(*uid, std::move(stack), changed);
    }
    sweep_.marker = listed->next_marker;
    if (!sweep_.marker.empty()) co_return util::Status{};
    for (const auto& uid : sweep_.unseen) {
      auto it = clusters_.find(uid);
      if (it != clusters_.end() && it->second.stack && !watched_.count(uid)) missing.insert(uid);
    }
    sweep_ = Sweep{};
    sweep_.phase = Sweep::Phase::Servers;
  }
  co_await confirmMissingStacks(std::move(missing), changed);
  co_return util::Status{};
}

asio::awaitable<util::Status> CloudObserver::sweepServersPage(std::set<std::string>& changed) {
  drivers::PageRequest page = nextSweepPage();
  drivers::ServerQuery everything;  // a named local: GCC 12 and temporaries in coroutines
  auto listed = co_await cloud_.listServersPage(std::move(everything), page);
  if (!listed.ok()) co_return sweepPageFailed(page, listed.takeError());
  std::set<std::string> missing;
  {
    std::lock_guard lock(mutex_);
    for (const auto& server : listed->items) mergeServer(server, changed);
    sweep_.marker = listed->next_marker;
    if (!sweep_.marker.empty()) co_return util::Status{};
    for (const auto& id : sweep_.unseen) {
      if (server_owner_.count(id)) missing.insert(id);
    }
    sweep_ = Sweep{};  // the next pass walks the stacks again
    stats_.sweeps++;
  }
  co_await confirmMissingServers(std::move(missing), changed);
  co_return util::Status{};
}

// A stack the pass did not list (or one whose servers vanished) is looked up directly before the
// cache drops it: the listing's order could have moved it past the cursor, and a wrong "gone"
// would recreate a live stack.
asio::awaitable<void> CloudObserver::confirmMissingStacks(std::set<std::string> uids,
                                                          std::set<std::string>& changed) {
  for (const auto& uid : uids) {
    std::optional<drivers::StackRef> ref;
    {
      std::lock_guard lock(mutex_);
      auto it = clusters_.find(uid);
      if (it != clusters_.end() && it->second.stack) ref = it->second.stack->ref;
    }
    if (!ref) continue;
    auto got = co_await cloud_.getStack(*ref, /*resolve_outputs=*/false);
    if (!got.ok() && got.error().code != util::ErrorCode::NotFound) continue;  // next pass
    std::lock_guard lock(mutex_);
    auto it = clusters_.find(uid);
    if (it == clusters_.end() || !it->second.stack || !(it->second.stack->ref == *ref)) continue;
    if (!got.ok() || got->status == "DELETE_COMPLETE") {
      LOG_INFO("observer", "stack {} of cluster {} is gone: deleted outside magnumd", ref->name, uid);
      it->second.stack.reset();
      watched_.erase(uid);
      changed.insert(uid);
    } else {
      if (got->tags.empty()) got->tags = it->second.stack->tags;
      mergeStack(uid, std::move(*got), changed);
    }
  }
}

asio::awaitable<void> CloudObserver::confirmMissingServers(std::set<std::string> ids,
                                                           std::set<std::string>& changed) {
  for (const auto& id : ids) {
    auto got = co_await cloud_.getServer(id);
    if (!got.ok() && got.error().code != util::ErrorCode::NotFound) continue;  // next pass
    std::lock_guard lock(mutex_);
    auto owner = server_owner_.find(id);
    if (owner == server_owner_.end()) continue;
    if (got.ok()) {
      mergeServer(*got, changed);
      continue;
    }
    const std::string uid = owner->second;
    server_owner_.erase(owner);
    auto it = clusters_.find(uid);
    if (it == clusters_.end()) continue;
    if (std::erase_if(it->second.servers, [&](const Server& s) { return s.id == id; }) > 0) {
      LOG_INFO("observer", "server {} of cluster {} is gone (found by the sweep)", id, uid);
      changed.insert(uid);
    }
  }
}

}  // namespace magnumd::reconcilers
