// Watch fan-out. One dispatcher thread delivers every event to every watcher, so each watcher's
// events are naturally ordered; a new watcher first catches up (from the in-memory tail of recent
// events, or from the SQLite change log) and only then joins the live fan-out, at exactly the
// revision it caught up to: no gap, no duplicate, whatever the writers are doing meanwhile.
//
// The change log rows a catching-up watcher still needs are pinned: compaction never trims past
// the lowest such cursor, so a watch that passed the Expired check always gets its history.
//
// A watch whose callback throws, or whose history cannot be read, is ended: its end callback
// says why, and the failure hook counts it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "store/change_reader.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace magnumd::store {

class WatchHub {
 public:
  // Opens the dispatcher's own read connection, on the dispatcher thread, when first needed.
  using ReaderFactory = std::function<util::Result<std::unique_ptr<SqliteDb>>()>;
  // The same for any history (etcd's): the hub only needs readChanges.
  using ChangeReaderFactory = std::function<util::Result<std::unique_ptr<ChangeReader>>()>;
  // Told the reason ("callback_threw" | "replay_failed") of each watch the hub ends; may be empty.
  using FailureHook = std::function<void(std::string_view reason)>;

  // `revision`: everything up to it is committed and will never be published.
  WatchHub(ReaderFactory reader, size_t cache_events, int64_t revision, int64_t compacted_revision,
           FailureHook on_failed = {});
  WatchHub(ChangeReaderFactory reader, size_t cache_events, int64_t revision,
           int64_t compacted_revision, FailureHook on_failed = {});
  // Delivers what was published, then stops. Live handles may outlive the hub.
  ~WatchHub();

  // The committer hands over each committed batch, in revision order.
  void publish(std::vector<WatchEvent> events);

  // `current_revision` is the store's committed revision (the newest a watch may start after).
  util::Result<WatchHandlePtr> watch(const WatchOptions& options, WatchCallback callback,
                                     WatchEndCallback on_end, int64_t current_revision);

  // Compaction in two steps around the commit that trims the change log. begin() raises the
  // compacted revision to at most `target` (less while watchers still need older rows) before
  // the rows go, so no new watch can start from them; abort() restores it if the commit failed.
  // Returns the new compacted revision.
  int64_t beginCompaction(int64_t target);
  void abortCompaction(int64_t previous);
  int64_t compactedRevision() const;
  size_t watcherCount() const;

  struct Watcher;
  struct Shared;

 private:
  using WatcherPtr = std::shared_ptr<Watcher>;
  void run();
  void fanOut(const std::vector<WatchEvent>& batch);
  // One bounded step of catching `w` up to `dispatched_`; true once it can go live.
  bool catchUp(Watcher& w);
  // Hands `events` to `w`; ends the watch when its callback throws.
  void deliver(Watcher& w, std::span<const WatchEvent> events);
  void fail(Watcher& w, const char* reason, util::Error why);

  std::shared_ptr<Shared> shared_;
  ChangeReaderFactory reader_factory_;
  FailureHook on_failed_;
  const size_t cache_events_;

  // Owned by the dispatcher thread.
  std::unique_ptr<ChangeReader> reader_;
  std::deque<WatchEvent> tail_;  // the newest events, contiguous revisions ending at dispatched_
  int64_t dispatched_ = 0;       // every event up to here has reached every live watcher
  std::vector<WatcherPtr> live_;

  std::thread dispatcher_;
};

}  // namespace magnumd::store
