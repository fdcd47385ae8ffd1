// The Store on an etcd v3 cluster, as kube-apiserver's etcd3 storage: objects under a prefix
// (`<prefix>/<kind>/<namespace>/<name>`), resourceVersion = etcd's mod_revision, create / update /
// delete as transactions comparing the key's mod_revision, watches from a revision (compacted:
// Expired), periodic compaction keeping a window of revisions.
//
// Reads are served from memory: one etcd Watch over the whole prefix per store instance keeps a
// cache of every object, and every store watcher is fanned out from it (a WatchHub), so many
// watchers cost etcd one watch. The cache lags etcd by the watch's latency: another replica's
// write becomes visible here a moment after it was acknowledged there. This store's own writes
// are acknowledged only once the cache has applied them, so a client that wrote through this
// store reads its write (read-your-writes per replica, not across replicas).
//
// Paged lists (limit or continue token) go to etcd: the first page ranges at the cache's revision
// and every later page at the same one, so the pages are one consistent snapshot (Expired once
// compacted), and a watch from the list's revision starts without waiting for the cache.
// Pages are in etcd's key order, which orders namespaces as strings with '/' appended (it differs
// from (namespace, name) order only between namespaces where one is a prefix of the other).
//
// Limits are checked by this replica against its cache plus its own writes in flight: replicas
// do not coordinate, so together they can exceed the quota by what they write at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/etcd_contact.h"
#include "store/store.h"
#include "util/time.h"

namespace magnumd::store {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", ...
  std::string prefix = "/magnumd";
  std::string ca_file, cert_file, key_file;  // TLS (PEM); an https endpoint needs ca_file
  std::chrono::milliseconds request_timeout{10000};
  // Revisions of history kept for watches to resume from, compacted every compaction_interval.
  int64_t retention_revisions = 100000;
  std::chrono::milliseconds compaction_interval{std::chrono::minutes(5)};
  // Below etcd's default request limit (1.5 MiB) with room for the transaction around it.
  int64_t max_object_bytes = 1024 * 1024;
  size_t writer_threads = 8;    // etcd transactions in flight at once
  size_t max_pending = 100000;  // queued writes beyond this are rejected (Unavailable)
  size_t watch_cache_events = 4096;
  int64_t quota_bytes = 0;
  int64_t max_objects_per_namespace = 0;
  std::shared_ptr<const util::Clock> clock;  // creation/deletion timestamps; null: real clock
  std::function<void(std::string_view reason)> on_watch_failed;
  // Told when the store loses and regains contact with an etcd leader (etcd_contact.h); null:
  // the store keeps it to itself.
  std::shared_ptr<EtcdLeaderContact> leader_contact;
};

// Connects, loads every object under the prefix at one revision and starts the watch that keeps
// the cache. An unreachable cluster is Unavailable naming the endpoints.
util::Result<StorePtr> openEtcdStore(const EtcdOptions& options);

}  // namespace magnumd::store
