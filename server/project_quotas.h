// Per-project quotas on clusters and on the servers they want (issue 12 §3; Magnum's quotas and
// max_clusters_per_project), enforced where the API admits a write, for both /apis and /v1.
//
// A write that grows a project's usage (a Cluster create, a larger nodeCount, a NodeGroup) takes
// a Reservation first, under one mutex: usage is counted from the store (clusters; masters +
// default workers per cluster + every other node group), except that an object with a write in
// flight counts as the larger of its stored and its pending states. So concurrent creates cannot
// pass a limit together, and a create that committed before its reservation was released is
// counted once. (One process: replicas on a shared store would need the count in the store's own
// transaction; see docs/api.md.)
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "api/object.h"
#include "store/store.h"
#include "util/result.h"

namespace magnumd::server {

struct QuotaDefaults {
  int64_t max_clusters_per_project = 0;  // 0: no limit
  int64_t max_nodes_per_project = 0;     // 0: no limit
};

struct ProjectUsage {
  int64_t clusters = 0;
  int64_t nodes = 0;
};

class ProjectQuotas {
 public:
  class Reservation {
   public:
    Reservation() = default;
    Reservation(ProjectQuotas* owner, api::ObjectKey key, uint64_t id)
        : owner_(owner), key_(std::move(key)), id_(id) {}
    Reservation(Reservation&& other) noexcept { *this = std::move(other); }
    Reservation& operator=(Reservation&& other) noexcept;
    ~Reservation() { release(); }
    void release();

   private:
    ProjectQuotas* owner_ = nullptr;
    api::ObjectKey key_{};
    uint64_t id_ = 0;
  };

  ProjectQuotas(store::Store& store, QuotaDefaults defaults) : store_(store), defaults_(defaults) {}

  // Reserves what writing `next` over `current` (null: a create) adds to its project; Forbidden
  // naming the quota, the request, the usage and the limit when that would pass a limit.
  util::Result<Reservation> reserve(const api::Object* current, const api::Object& next);

  // A project's usage: the store's, with writes in flight counted (mu_ held by the caller).
  ProjectUsage usage(const std::string& namespace_) const;
  // The limits in force for a project: its Quota objects, else the defaults; 0 when none
  // (a Quota of 0 is reported as -1: nothing allowed).
  ProjectUsage limits(const std::string& namespace_) const;

 private:
  void release(const api::ObjectKey& key, uint64_t id);

  store::Store& store_;
  QuotaDefaults defaults_;
  std::mutex mu_;
  uint64_t next_id_ = 0;
  // Writes in flight, by object: what each would make the object count (clusters, nodes).
  std::map<api::ObjectKey, std::map<uint64_t, ProjectUsage>> pending_;
};

}  // namespace magnumd::server
