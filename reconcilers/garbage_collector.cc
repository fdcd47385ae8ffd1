#include "reconcilers/garbage_collector.h"

#include <set>

#include "reconcilers/names.h"
#include "util/log.h"

namespace magnumd::reconcilers {

using controller::Result;

controller::Request garbageCollectorKey() { return {api::Kind::Cluster, "", "garbage-collector"}; }

GarbageCollector::GarbageCollector(store::Store& store, controller::Informer& clusters, CloudCall& cloud,
                                   CloudObserver& observer, const util::Clock& clock,
                                   GarbageCollectorOptions options)
    : store_(store), clusters_(clusters), cloud_(cloud), observer_(observer), clock_(clock),
      options_(options) {}

bool GarbageCollector::clusterExists(const std::string& uid) const {
  if (!clusters_.byIndex(kByUid, uid).empty()) return true;
  // The informer may lag; the store is the truth (a full scan, but only for orphan candidates).
  store::ListOptions options;
  options.kind = api::Kind::Cluster;
  options.filter = [&](const api::Object& o) { return o.metadata.uid == uid; };
  auto listed = store_.list(options);
  return !listed.ok() || !listed->items.empty();  // on a store error, assume it exists
}

Result GarbageCollector::reconcile(const controller::Request&) {
  if (!observer_.synced() || !clusters_.hasSynced()) return Result::after(std::chrono::seconds(1));
  const auto now = clock_.now();
  auto next = options_.period;
  std::set<std::string> candidates;
  for (const auto& uid : observer_.clusterUids()) {
    auto observed = observer_.cluster(uid);
    if (!observed || !observed->stack) continue;
    const auto& stack = *observed->stack;
    if (stack.action() == "DELETE" && stack.inProgress()) continue;
    if (!clusters_.byIndex(kByUid, uid).empty()) continue;
    candidates.insert(uid);
    util::SystemTime since;
    {
      std::lock_guard lock(mutex_);
      since = orphan_since_.emplace(uid, now).first->second;
    }
    auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - since);
    if (age < options_.grace) {
      next = std::min(next, options_.grace - age);
      continue;
    }
    if (clusterExists(uid)) {
      candidates.erase(uid);
      continue;
    }
    auto deleted = cloud_.run(cloud_.driver().deleteStack(stack.ref));
    if (!deleted.ok() && deleted.error().code != util::ErrorCode::NotFound) {
      LOG_WARN("gc", "deleting orphan stack {} ({}) of missing cluster {}: {}", stack.ref.name,
               stack.ref.id, uid, deleted.error().message);
      continue;
    }
    LOG_INFO("gc", "deleted orphan stack {} ({}): cluster {} no longer exists", stack.ref.name,
             stack.ref.id, uid);
    drivers::Stack deleting = stack;
    deleting.status = "DELETE_IN_PROGRESS";
    observer_.recordStack(uid, deleting);
    ++deleted_;
  }
  {
    std::lock_guard lock(mutex_);
    std::erase_if(orphan_since_, [&](const auto& kv) { return !candidates.count(kv.first); });
  }
  return Result::after(next);
}

}  // namespace magnumd::reconcilers
