#include "reconcilers/garbage_collector.h"

#include <set>

#include "reconcilers/names.h"
#include "util/log.h"

namespace magnumd::reconcilers {

using controller::Result;

controller::Request garbageCollectorKey() { return {api::Kind::Cluster, "", "garbage-collector"}; }

GarbageCollector::GarbageCollector(store::Store& store, controller::Informer& clusters,
                                   CloudProjects& clouds, const util::Clock& clock,
                                   GarbageCollectorOptions options)
    : store_(store), clusters_(clusters), clouds_(clouds), clock_(clock), options_(options) {}

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
  if (!clusters_.hasSynced()) return Result::after(std::chrono::seconds(1));
  const auto now = clock_.now();
  auto next = options_.period;
  if (!discovered_ || now - *discovered_ >= options_.discover_every) {
    auto discovered = clouds_.discover();
    if (discovered.ok()) {
      discovered_ = now;
    } else {
      LOG_WARN("gc", "listing the projects magnumd may act in: {}", discovered.error().message);
    }
  }
  std::set<std::string> candidates;
  bool unsynced = false;
  for (const auto& cloud : clouds_.opened()) {
    // A project whose observer has not listed everything yet is swept once it has.
    if (!cloud.observer->synced()) {
      unsynced = true;
      continue;
    }
    sweep(cloud, now, candidates, next);
  }
  if (unsynced) next = std::min<std::chrono::milliseconds>(next, std::chrono::seconds(1));
  {
    std::lock_guard lock(mutex_);
    std::erase_if(orphan_since_, [&](const auto& kv) { return !candidates.count(kv.first); });
  }
  return Result::after(next);
}

void GarbageCollector::sweep(const ProjectCloud& cloud, util::SystemTime now,
                             std::set<std::string>& candidates, std::chrono::milliseconds& next) {
  CloudObserver& observer = *cloud.observer;
  for (const auto& uid : observer.clusterUids()) {
    auto observed = observer.cluster(uid);
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
    auto deleted = cloud.call->run(cloud.call->driver().deleteStack(stack.ref));
    if (!deleted.ok() && deleted.error().code != util::ErrorCode::NotFound) {
      LOG_WARN("gc", "deleting orphan stack {} ({}) of missing cluster {}: {}", stack.ref.name,
               stack.ref.id, uid, deleted.error().message);
      continue;
    }
    LOG_INFO("gc", "deleted orphan stack {} ({}){}: cluster {} no longer exists", stack.ref.name,
             stack.ref.id, cloud.project.empty() ? "" : " in project " + cloud.project, uid);
    drivers::Stack deleting = stack;
    deleting.status = "DELETE_IN_PROGRESS";
    observer.recordStack(uid, deleting);
    ++deleted_;
  }
}

}  // namespace magnumd::reconcilers
