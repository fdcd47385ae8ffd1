// The store's resource limits: a quota on the bytes of stored objects and a limit on the objects
// of one kind in one namespace, and the usage they are checked against. Pure bookkeeping: the
// store updates a Usage as writes are admitted and committed, and asks admit() before a write
// takes a revision, so the check and the write are one step under the store's write lock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "api/object.h"
#include "util/result.h"

namespace magnumd::store {

struct QuotaLimits {
  int64_t quota_bytes = 0;                // bytes of stored objects (their JSON); 0: none
  int64_t max_objects_per_namespace = 0;  // objects of one kind in one namespace; 0: none
};

// What the stored objects weigh: the size of each object's stored JSON, summed, and how many
// objects of each kind each namespace holds.
class Usage {
 public:
  void add(api::Kind kind, const std::string& namespace_, int64_t bytes, int64_t objects);
  int64_t bytes() const { return bytes_; }
  int64_t objects() const { return objects_; }
  int64_t objectsIn(api::Kind kind, const std::string& namespace_) const;

 private:
  int64_t bytes_ = 0;
  int64_t objects_ = 0;
  std::map<std::pair<api::Kind, std::string>, int64_t> per_namespace_;  // no zero entries
};

// What one planned write changes in the usage.
struct WriteCharge {
  int64_t bytes = 0;    // new size minus old size (negative when the write shrinks or deletes)
  int64_t objects = 0;  // +1 create, -1 delete, 0 otherwise
  // Creates and spec/metadata updates are checked; status writes and deletes (including the
  // deletion mark) never are, so a full store can always be emptied and controllers can finish
  // the deletes they own.
  bool checked = true;
};

// Whether the write on `key` fits the limits. Only growth is refused: a create over the
// namespace limit is Forbidden ("exceeded quota", as Kubernetes' ResourceQuota); a write that
// would take the stored bytes over the quota is Unavailable ("store full"). Both messages name the
// limit, the current usage and the magnumd flag that raises it.
util::Status admit(const QuotaLimits& limits, const Usage& usage, const api::ObjectKey& key,
                   const WriteCharge& charge);

}  // namespace magnumd::store
