// Where a watch that fell behind the in-memory tail reads its history from: the SQLite change
// log, or etcd's MVCC history. Owned and used by one thread (the watch dispatcher).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/object.h"
#include "store/store.h"
#include "util/result.h"

namespace magnumd::store {

class ChangeReader {
 public:
  virtual ~ChangeReader() = default;
  // Events with after < revision <= upto of one kind (and namespace unless empty), in revision
  // order, at most `limit`.
  virtual util::Result<std::vector<WatchEvent>> readChanges(int64_t after, int64_t upto,
                                                            api::Kind kind,
                                                            const std::string& namespace_,
                                                            int limit) = 0;
};

}  // namespace magnumd::store
