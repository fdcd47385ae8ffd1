// The embedded, durable Store: SQLite in WAL mode with synchronous=FULL, the current state of
// every object held in memory for reads, writes grouped into one transaction per commit.
//
// Threads: one committer owns the SQLite write connection (group commit, then acknowledgements);
// one dispatcher delivers watch events (and reads old change-log rows for resuming watches).
// Callers never touch SQLite. A lock file (`<path>.lock`) keeps a second process off the database.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "store/store.h"
#include "util/time.h"

namespace magnumd::store {

// Reported after every transaction attempt, for metrics (commit latency, batch sizes).
struct CommitInfo {
  size_t writes = 0;   // writes in the transaction
  double seconds = 0;  // BEGIN to COMMIT returned, fsync included
  bool ok = true;
};

struct SqliteOptions {
  std::string path;                          // the database file, created when absent
  int64_t change_log_retention = 100000;     // revisions kept for watch resumption
  size_t max_batch = 1024;                   // writes per transaction at most
  size_t max_pending = 100000;               // queued writes beyond this are rejected (Unavailable)
  size_t watch_cache_events = 4096;          // newest change-log events kept in memory for watches
  int64_t quota_bytes = 0;                   // bytes of stored objects (JSON); 0: none
  int64_t max_objects_per_namespace = 0;     // objects of one kind per namespace; 0: none
  // A hard cap on the database file (SQLite max_page_count), change log and free pages
  // included; 0: none. Reaching it fails a whole commit, so quota_bytes is the limit to use.
  int64_t max_database_bytes = 0;
  std::shared_ptr<const util::Clock> clock;  // creation/deletion timestamps; null: real clock
  // Runs on the committer thread after each transaction (once its writes are readable, before
  // their callbacks); must be quick and must not throw.
  std::function<void(const CommitInfo&)> on_commit;
  // Runs on the watch dispatcher thread each time the store ends a watch by itself, with the
  // reason ("callback_threw" | "replay_failed"), for metrics; must be quick and must not throw.
  std::function<void(std::string_view reason)> on_watch_failed;
};

// Opens (creating or migrating) the database and loads the current state. Errors name the file.
util::Result<StorePtr> openSqliteStore(const SqliteOptions& options);

}  // namespace magnumd::store
