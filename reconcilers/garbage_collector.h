// Deletes magnumd-tagged stacks whose Cluster no longer exists (a crash after the Cluster was
// removed, a store restored from backup, a stack made by a Cluster deleted by hand), after a
// grace period so a Cluster created a moment ago is never mistaken for a missing one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "controller/informer.h"
#include "controller/types.h"
#include "reconcilers/cloud_call.h"
#include "reconcilers/project_clouds.h"
#include "store/store.h"
#include "util/time.h"

namespace magnumd::reconcilers {

struct GarbageCollectorOptions {
  std::chrono::milliseconds grace{std::chrono::minutes(5)};
  std::chrono::milliseconds period{std::chrono::seconds(30)};  // sweep at least this often
  // How often the projects magnumd may act in are listed, to observe those no namespace named.
  std::chrono::milliseconds discover_every{std::chrono::minutes(5)};
};

// The one key the collector's queue holds.
controller::Request garbageCollectorKey();

class GarbageCollector final : public controller::Reconciler {
 public:
  GarbageCollector(store::Store& store, controller::Informer& clusters, CloudProjects& clouds,
                   const util::Clock& clock, GarbageCollectorOptions options);

  // Sweeps every uid each project's observer knows; the request is ignored.
  controller::Result reconcile(const controller::Request& request) override;

  uint64_t deleted() const { return deleted_; }

 private:
  bool clusterExists(const std::string& uid) const;

  store::Store& store_;
  controller::Informer& clusters_;
  // One project's orphans; lowers `next` to when the earliest of them falls due.
  void sweep(const ProjectCloud& cloud, util::SystemTime now, std::set<std::string>& candidates,
             std::chrono::milliseconds& next);

  CloudProjects& clouds_;
  const util::Clock& clock_;
  GarbageCollectorOptions options_;
  std::mutex mutex_;
  std::map<std::string, util::SystemTime> orphan_since_;
  std::optional<util::SystemTime> discovered_;  // the last project listing that succeeded  // uid
                                                // -> first seen without a Cluster
  uint64_t deleted_ = 0;
};

}  // namespace magnumd::reconcilers
