// The embedded, durable Store: SQLite in WAL mode with synchronous=FULL, the current state of
// every object held in memory for reads, writes grouped into one transaction per commit.
#pragma once

#include <cstdint>
#include <string>

#include "store/store.h"

namespace magnumd::store {

struct SqliteOptions {
  std::string path;                      // the database file, created when absent
  int64_t change_log_retention = 100000; // revisions kept for watch resumption
  size_t max_batch = 1024;               // writes per transaction at most
  size_t max_pending = 100000;           // queued writes beyond this are rejected (Unavailable)
};

// Opens (creating or migrating) the database and loads the current state. Errors name the file.
util::Result<StorePtr> openSqliteStore(const SqliteOptions& options);

}  // namespace magnumd::store
