// An Informer keeps an in-memory, indexed copy of one kind's objects and tells event handlers
// what changed, the way client-go's reflector + indexer + shared informer do:
// - list (a consistent snapshot at a revision), then watch from that revision;
// - when the watch cannot resume (Expired: the change log was compacted) or the store ended it
//   (its history could not be read), list again and diff against the cache, synthesising the
//   adds, updates and deletes missed meanwhile; a watch that fell behind resumes;
// - handlers run on the informer's own thread, never on the store's: the store's watch callback
//   only appends to a buffer. Handlers must be quick (map to keys, enqueue) and must not block.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/object.h"
#include "controller/metrics.h"
#include "controller/types.h"
#include "store/store.h"

namespace magnumd::controller {

using ObjectPtr = std::shared_ptr<const api::Object>;

// Index values an object is filed under, e.g. NodeGroups by "namespace/cluster".
using IndexFunc = std::function<std::vector<std::string>(const api::Object&)>;

// "demo/prod": the conventional index value for a same-namespace reference.
std::string namespacedName(std::string_view namespace_, std::string_view name);

struct EventHandler {
  std::function<void(const ObjectPtr& object)> on_add;
  // A resync replays every cached object with old == new.
  std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)> on_update;
  // The last state known; after a relist it may be older than the real final state.
  std::function<void(const ObjectPtr& object)> on_delete;
};

struct InformerOptions {
  api::Kind kind = api::Kind::Cluster;
  std::string namespace_;             // empty: every namespace
  Duration resync_period{0};          // replay the cache to handlers this often; 0: never
  size_t max_buffered_events = 100000;  // a watch further behind is dropped and resumed
  Duration retry_initial = std::chrono::milliseconds(800);  // store errors: backoff with jitter
  Duration retry_max = std::chrono::seconds(30);
};

class Informer {
 public:
  Informer(store::Store& store, InformerOptions options, RuntimeMetrics* metrics = nullptr);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Indexes may be added any time (existing objects are indexed at once); handlers only before
  // start() (std::logic_error otherwise).
  void addIndex(std::string name, IndexFunc fn);
  void addEventHandler(EventHandler handler);

  void start();
  void stop();  // stops the watch and the thread; the cache stays readable
  bool hasSynced() const { return synced_.load(); }
  // Waits (real time) for the first list to be in the cache and handed to the handlers.
  bool waitForSync(Duration timeout) const;

  // Cache reads: thread-safe, no store access.
  ObjectPtr get(const api::ObjectKey& key) const;
  std::vector<ObjectPtr> list(std::string_view namespace_ = {}) const;  // ordered by key
  std::vector<ObjectPtr> byIndex(std::string_view index, std::string_view value) const;
  size_t size() const;

  api::Kind kind() const { return options_.kind; }
  int64_t lastRevision() const { return last_revision_.load(); }

  struct Stats {
    uint64_t lists = 0;          // full lists, the first included
    uint64_t expired = 0;        // watches refused as Expired
    uint64_t overflows = 0;      // watches dropped for falling behind
    uint64_t failures = 0;       // watches the store ended (callback threw, replay failed)
    uint64_t events = 0;         // watch events applied
  };
  Stats stats() const;

 private:
  struct Index {
    IndexFunc fn;
    std::unordered_map<std::string, std::set<api::ObjectKey>> values;
  };
  struct Change {
    enum class Op { Add, Update, Delete } op;
    ObjectPtr old_object;
    ObjectPtr object;
  };

  enum class WatchEnd {
    Resume,   // stop, overflow or a refused watch: resume from lastRevision()
    Expired,  // the change log no longer reaches lastRevision(): list again
    Failed,   // the store ended the watch: list again after a backoff
  };

  void run();
  bool listAndReplace(const char* reason);
  WatchEnd watchOnce(Duration& backoff);
  void apply(const std::vector<store::WatchEvent>& events);
  void putLocked(const api::ObjectKey& key, ObjectPtr object);
  void eraseLocked(const api::ObjectKey& key);
  void dispatch(const std::vector<Change>& changes);
  void resync();
  bool sleepFor(Duration d);  // false when stopping
  void countList(const char* reason);

  store::Store& store_;
  const InformerOptions options_;
  RuntimeMetrics* metrics_;
  std::vector<EventHandler> handlers_;

  mutable std::shared_mutex cache_mutex_;
  std::map<api::ObjectKey, ObjectPtr> objects_;
  std::map<std::string, Index, std::less<>> indexes_;

  // The store's watch callback hands events over here.
  std::mutex buffer_mutex_;
  std::condition_variable buffer_cv_;
  std::vector<store::WatchEvent> buffer_;
  bool overflowed_ = false;
  std::optional<util::Error> ended_;  // why the store ended the watch
  bool stopping_ = false;

  mutable std::mutex sync_mutex_;
  mutable std::condition_variable sync_cv_;
  std::atomic<bool> synced_{false};
  std::atomic<int64_t> last_revision_{0};
  std::atomic<uint64_t> lists_{0}, expired_{0}, overflows_{0}, failures_{0}, events_{0};
  std::thread thread_;
  bool started_ = false;
};

using InformerPtr = std::unique_ptr<Informer>;

}  // namespace magnumd::controller
