// The Store: durable, revisioned objects with optimistic concurrency and watch.
//
// Semantics (kube-apiserver's, on one logical revision counter):
// - Every successful write bumps the store revision; the new value becomes the written object's
//   metadata.resource_version (and, for deletes, the revision of the DELETED event).
// - A write is acknowledged (its callback runs with success) only after it is durable.
// - Reads never see unacknowledged writes.
// - Watches deliver every change after a revision, in revision order, exactly once.
//
// The interface hides the backend (SQLite today, etcd later): no SQL, no file paths.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "api/object.h"
#include "util/result.h"

namespace magnumd::store {

struct ListOptions {
  api::Kind kind = api::Kind::Cluster;
  std::string namespace_;  // empty: every namespace
  // Objects whose labels match; nullptr means all. Evaluated by the store while paging.
  std::function<bool(const api::Object&)> filter;
  int64_t limit = 0;              // 0: no limit
  std::string continue_token;     // from a previous ListResult
};

struct ListResult {
  std::vector<api::Object> items;   // ordered by (namespace, name)
  int64_t revision = 0;             // the store revision this list is consistent with
  std::string continue_token;       // empty when there is nothing more
  int64_t remaining = 0;            // items left after this page (approximate is fine)
};

enum class EventType { Added, Modified, Deleted };

struct WatchEvent {
  EventType type = EventType::Added;
  api::Object object;  // for Deleted, the last state with resource_version = the delete revision
  // For a live commit (not a replay), Added and Modified: the store's own immutable copy of
  // `object`, so a cache can keep it instead of another copy.
  std::shared_ptr<const api::Object> stored;
};

// Called on a store thread, in revision order, with one or more events; must not block.
// A callback that cannot keep up must drop its watch itself (the store never waits for it).
using WatchCallback = std::function<void(std::span<const WatchEvent>)>;

// Called at most once, on a store thread, when the store ends a watch by itself: the callback
// threw (Internal), or the history the watch needed could not be read (Unavailable). No event
// follows it; the handle is still to be destroyed. The watcher has not necessarily seen every
// event up to its last revision, so it lists again and watches from the list's revision.
using WatchEndCallback = std::function<void(const util::Error& why)>;

struct WatchOptions {
  api::Kind kind = api::Kind::Cluster;
  std::string namespace_;     // empty: every namespace
  int64_t after_revision = 0; // deliver changes with revision > this; older than retained: Expired
};

// Destroying the handle stops delivery; after the destructor returns neither callback is called.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};
using WatchHandlePtr = std::unique_ptr<WatchHandle>;

using ObjectCallback = std::function<void(util::Result<api::Object>)>;

// What the stored objects weigh against the store's limits (durable state only).
struct StoreUsage {
  int64_t bytes = 0;                      // the stored JSON of every object, summed
  int64_t objects = 0;                    // every kind, every namespace
  int64_t quota_bytes = 0;                // 0: no quota
  int64_t max_objects_per_namespace = 0;  // objects of one kind in one namespace; 0: no limit
};

// What the elected leader's writes are fenced with (store/leader_election.h): a write commits
// only while the backend's key `key` still has creation revision `revision`, that is while the
// leadership that created the key lasts. The backend checks it in the write's own transaction,
// so a deposed leader's write fails even when it was sent before the leader noticed.
struct WriteFence {
  std::string key;  // the backend's own key (etcd: "<prefix>/leader")
  int64_t revision = 0;
};

class Store;
using StorePtr = std::unique_ptr<Store>;

class Store {
 public:
  virtual ~Store() = default;

  // Reads: served from memory, fast, safe on I/O threads.
  virtual util::Result<api::Object> get(const api::ObjectKey& key) const = 0;
  // The same object without a copy: a store that keeps immutable objects hands out its own.
  virtual util::Result<std::shared_ptr<const api::Object>> getShared(
      const api::ObjectKey& key) const {
    auto object = get(key);
    if (!object.ok()) return object.takeError();
    return std::make_shared<const api::Object>(std::move(object).value());
  }
  virtual util::Result<ListResult> list(const ListOptions& options) const = 0;
  virtual int64_t currentRevision() const = 0;

  // Writes: asynchronous; `done` runs on a store thread once the write is durable or rejected.
  //
  // create: AlreadyExists if the key exists. The store assigns uid, creationTimestamp,
  //   generation 1, resourceVersion.
  // update: replaces metadata (labels, annotations, finalizers, managedFields) and spec. Conflict
  //   when expected_resource_version (if non-zero) differs from the stored one; NotFound if absent.
  //   Status is kept from the stored object. generation bumps only when spec changes. When the
  //   object is being deleted and the update leaves no finalizers, the object is removed (a
  //   Deleted event). An update that changes nothing is not written and returns the stored object.
  // updateStatus: replaces only status; same precondition rules; generation unchanged.
  // remove: NotFound if absent; with finalizers sets deletionTimestamp (Modified event) and
  //   returns the object; without, removes it (Deleted event) and returns its last state.
  //   expected_resource_version as for update.
  // Limits (StoreUsage): a create beyond the objects of its kind allowed in one namespace is
  //   Forbidden; a create or update that would take the stored bytes over the quota is
  //   Unavailable ("store full"). Writes that do not grow the store, status writes and removes
  //   are never refused by a limit, so a full store can be emptied.
  virtual void create(api::Object object, ObjectCallback done) = 0;
  virtual void update(api::Object object, int64_t expected_resource_version,
                      ObjectCallback done) = 0;
  virtual void updateStatus(api::Object object, int64_t expected_resource_version,
                            ObjectCallback done) = 0;
  virtual void remove(api::ObjectKey key, int64_t expected_resource_version,
                      ObjectCallback done) = 0;

  // Expired when after_revision is older than the change log keeps. Both callbacks are required:
  // a watch the store ends must never go unnoticed.
  virtual util::Result<WatchHandlePtr> watch(const WatchOptions& options, WatchCallback callback,
                                             WatchEndCallback on_end) = 0;

  // Oldest revision a watch can resume after.
  virtual int64_t compactedRevision() const = 0;

  // Blocks until every write submitted before the call has been committed or refused and its
  // callback has returned. Shutdown calls it before the executors that callbacks post to go away
  // (a callback posting to a destroyed io_context is a use after free). Never on an I/O thread.
  virtual void flush() = 0;

  virtual StoreUsage usage() const = 0;

  // This store for the leader's controllers: the same reads, and writes that also check `fence`
  // (a write whose fence no longer holds fails with Unavailable, "no longer the leader"). A
  // single-process backend (SQLite) has no other replica to be fenced from and writes as the
  // store does. The view must not outlive this store.
  virtual StorePtr fenced(WriteFence fence);
};

// Blocking conveniences for controllers, tools and tests (never call on an I/O thread).
util::Result<api::Object> createSync(Store& store, api::Object object);
util::Result<api::Object> updateSync(Store& store, api::Object object, int64_t expected_rv);
util::Result<api::Object> updateStatusSync(Store& store, api::Object object, int64_t expected_rv);
util::Result<api::Object> removeSync(Store& store, api::ObjectKey key, int64_t expected_rv);

}  // namespace magnumd::store
