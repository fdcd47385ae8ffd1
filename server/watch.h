// Watch streams: NDJSON {"type","object"} events after a revision, in revision order. A watch
// that asked for a Table (kubectl get -w) gets each object as a one-row meta.k8s.io Table, the
// first with the column definitions and the rest without, as kube-apiserver sends them.
//
// Each stream owns a store watch whose callback (on a store thread) filters events into a
// bounded, mutex-protected queue and wakes the stream's coroutine on the connection's strand
// with a posted timer cancel; the callback never blocks. A stream that falls more than
// `buffer_events` behind is closed with an ERROR event (410 Expired: relist and watch again),
// so a slow client never slows writers or other watchers. A stream whose store watch the store
// ended (see store::WatchEndCallback) is closed the same way, so the client relists at once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <map>
#include <optional>

#include "net/http_server.h"
#include "server/selectors.h"
#include "server/server_metrics.h"
#include "server/table.h"
#include "store/store.h"

namespace magnumd::server {

struct WatchOptions {
  std::chrono::milliseconds bookmark_interval{30000};
  size_t buffer_events = 4096;            // queued events per stream before it is closed
  size_t buffer_bytes = 16 * 1024 * 1024; // queued object bytes per stream (approximate)
  std::chrono::seconds max_timeout{1800}; // upper bound (and default) of timeoutSeconds
  size_t max_streams = 10000;             // beyond this, new watches get 429
  size_t max_streams_per_user = 100;      // open streams of one user (Identity::user); more: 429
};

struct WatchRequest {
  api::Kind kind = api::Kind::Cluster;
  std::string namespace_;                  // empty: every namespace
  ObjectFilter filter;
  std::optional<int64_t> resource_version; // nullopt/0: synthetic ADDED for existing objects first
  std::chrono::seconds timeout{0};         // 0: options.max_timeout
  std::string user;                        // who opens it, for max_streams_per_user
  // Set: objects as one-row Tables (options.now is ignored: each event's ages are as of its
  // sending). Unset: the objects themselves.
  std::optional<TableOptions> table;
  // BOOKMARK events (periodic, and after the initial state). A Table watch gets them only when
  // it asks (allowWatchBookmarks=true): kubectl prints every event it receives.
  bool bookmarks = true;
};

class WatchStream;
class EncodedEvents;

class WatchHub {
 public:
  WatchHub(store::Store& store, ServerMetrics& metrics, WatchOptions options);
  ~WatchHub();

  // The streaming reply for one watch (TooManyRequests when at max_streams, or when the user
  // has max_streams_per_user open). A stream's slot is freed when the stream ends.
  util::Result<net::StreamingResponse> open(WatchRequest request);

  // Ends every open stream promptly (server shutdown); new streams end immediately.
  void shutdown();
  size_t openStreams() const;
  const WatchOptions& options() const { return options_; }

 private:
  friend class WatchStream;
  void add(const std::shared_ptr<WatchStream>& stream);
  void erase(WatchStream* stream, const std::string& user);

  store::Store& store_;
  ServerMetrics& metrics_;
  WatchOptions options_;
  mutable std::mutex mutex_;
  std::map<WatchStream*, std::weak_ptr<WatchStream>> streams_;
  std::map<std::string, size_t> per_user_;  // open (or opening) streams by user; no zeros
  std::atomic<size_t> reserved_{0};
  std::atomic<bool> stopping_{false};
  std::unique_ptr<EncodedEvents> encoded_;
};

}  // namespace magnumd::server
