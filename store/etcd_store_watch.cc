// EtcdStore's cache: one etcd Watch over the whole prefix, from the revision the cache holds.
// Each response is applied to the cache, published to the store's watchers, and then releases
// the acknowledgements of this store's writes up to its revision. A broken stream is reopened
// from the cache's revision; if etcd compacted that revision meanwhile, the cache lists again
// and turns the difference into events, as a Kubernetes reflector does.
//
// Compaction as kube-apiserver's compactor: every interval, compact to `retention_revisions`
// behind the cache (never past what a catching-up watcher still reads). A restarted store asks
// etcd where history starts (EtcdStore::probeCompacted). Compaction is etcd-wide: every replica
// compacts, the furthest wins, and a replica learns of another's compaction only when a
// catching-up watch finds its history gone (that watch ends; its client lists again).
#include <fmt/format.h>

#include <algorithm>
#include <shared_mutex>

#include "store/etcd_store_impl.h"
#include "util/log.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

void EtcdStore::watchLoop() {
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    const int64_t before = revision_.load();
    bool compacted = watchOnce();
    if (revision_.load() != before) backoff = std::chrono::milliseconds(100);  // it worked a while
    if (compacted) relist();
    releaseStaleAcks();
    std::unique_lock lock(write_mu_);
    if (stop_cv_.wait_for(lock, backoff, [&] { return stop_watching_; })) return;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

bool EtcdStore::watchOnce() {
  grpc::ClientContext context;
  {
    std::lock_guard lock(write_mu_);
    if (stop_watching_) return false;
    watch_context_ = &context;
  }
  // etcd refuses (or later ends) this stream while its member has no leader, instead of serving
  // a watch that silently stops delivering: the loss of quorum becomes visible (etcd_contact.h).
  context.AddMetadata("hasleader", "true");
  auto stream = client_->watchStub().Watch(&context);
  etcdserverpb::WatchRequest request;
  auto* create = request.mutable_create_request();
  create->set_key(keys_.allObjects());
  create->set_range_end(prefixEnd(keys_.allObjects()));
  const int64_t from = revision_.load() + 1;
  create->set_start_revision(from);
  create->set_prev_kv(true);
  bool compacted = false;
  bool created = false;  // etcd accepted this stream: its member had a leader
  bool closed = false;   // etcd ended the stream: Finish() has its reason, not ours
  if (stream->Write(request)) {
    etcdserverpb::WatchResponse response;
    closed = true;
    while (stream->Read(&response)) {
      if (response.compact_revision() != 0) {
        LOG_ERROR("store",
                  "{}: the cache's watch from revision {} is compacted (history starts at "
                  "{}); listing again",
                  client_->name(), from, response.compact_revision());
        // Another replica compacted: watches from before that can no longer be served.
        hub_->beginCompaction(response.compact_revision());
        compacted = true;
        closed = false;
        break;
      }
      if (response.canceled()) {
        LOG_WARN("store", "{}: the cache's watch was cancelled: {}", client_->name(),
                 response.cancel_reason());
        closed = false;
        break;
      }
      if (response.created()) {
        created = true;
        contact_->regained();
      }
      if (response.events().empty()) continue;
      std::vector<Change> changes;
      for (const auto& e : response.events()) {
        auto event = toWatchEvent(keys_, e);
        if (!event.ok()) {
          LOG_ERROR("store", "{}: skipping a change: {}", client_->name(), event.error().message);
          continue;
        }
        if (!*event) continue;
        int64_t bytes = e.type() == mvccpb::Event::DELETE ? 0 : e.kv().value().size();
        changes.push_back(Change{std::move(**event), bytes});
      }
      apply(std::move(changes), response.events(response.events_size() - 1).kv().mod_revision());
    }
  }
  if (!closed) context.TryCancel();
  grpc::Status status = stream->Finish();
  bool stopping;
  {
    std::lock_guard lock(write_mu_);
    watch_context_ = nullptr;
    stopping = stop_watching_;
  }
  if (!stopping && !compacted) {
    // A stream that worked is reopened first (a member died, the channel moves to another);
    // one etcd would not accept is a cluster without a leader, or none reachable at all.
    if (!created) contact_->lost();
    LOG_WARN("store", "{}",
             client_->error(status, "the cache's watch ended; reconnecting").message);
  }
  return compacted;
}

void EtcdStore::apply(std::vector<Change> changes, int64_t revision) {
  std::vector<WatchEvent> events;
  events.reserve(changes.size());
  {
    std::unique_lock lock(state_mu_);
    for (auto& change : changes) {
      WatchEvent& e = change.event;
      if (e.type == EventType::Deleted) {
        committed_.erase(keyOf(e.object));
      } else {
        auto stored = std::make_shared<const api::Object>(e.object);
        committed_.put(stored, change.bytes);
        e.stored = std::move(stored);
      }
      events.push_back(std::move(e));
    }
    revision_ = std::max(revision_.load(), revision);
  }
  hub_->publish(std::move(events));
  std::vector<Ack> ready;
  {
    std::lock_guard lock(write_mu_);
    auto end = acks_.upper_bound(revision);
    for (auto it = acks_.begin(); it != end; ++it) {
      Ack& ack = it->second;
      inflight_.add(ack.key.kind, ack.key.namespace_, -ack.charge.bytes, -ack.charge.objects);
      ready.push_back(std::move(ack));
    }
    acks_.erase(acks_.begin(), end);
  }
  for (auto& ack : ready) {
    try {
      ack.done(std::move(ack.object));
    } catch (const std::exception& e) {
      LOG_ERROR("store", "a write callback threw: {}", e.what());
    }
  }
  if (!ready.empty()) answered(ready.size());
}

void EtcdStore::releaseStaleAcks() {
  const auto cutoff = std::chrono::steady_clock::now() - options_.request_timeout;
  std::vector<Ack> stale;
  {
    std::lock_guard lock(write_mu_);
    for (auto it = acks_.begin(); it != acks_.end();) {
      if (it->second.committed > cutoff) {
        ++it;
        continue;
      }
      Ack& ack = it->second;
      inflight_.add(ack.key.kind, ack.key.namespace_, -ack.charge.bytes, -ack.charge.objects);
      stale.push_back(std::move(ack));
      it = acks_.erase(it);
    }
  }
  if (stale.empty()) return;
  LOG_WARN("store", "{}: acknowledging {} committed writes the cache has not seen yet (its watch "
           "is down); reads here may not show them until it is back",
           client_->name(), stale.size());
  for (auto& ack : stale) {
    try {
      ack.done(std::move(ack.object));
    } catch (const std::exception& e) {
      LOG_ERROR("store", "a write callback threw: {}", e.what());
    }
  }
  answered(stale.size());
}

void EtcdStore::relist() {
  ObjectIndex fresh;
  etcdserverpb::PutRequest fence;  // as in start(): the list's revision is a change under the prefix
  fence.set_key(keys_.fenceKey());
  auto fenced = client_->put(fence);
  auto revision = fenced.ok() ? loadInto(fresh, fenced->header().revision())
                              : util::Result<int64_t>(fenced.takeError());
  if (!revision.ok()) {
    LOG_ERROR("store", "{}: listing again failed: {}", client_->name(), revision.error().message);
    return;  // the watch loop retries, and lands here again
  }
  // The difference, as the events a watcher would have seen: deletes at the list's revision,
  // changed objects at their own.
  std::vector<Change> changes;
  {
    std::shared_lock lock(state_mu_);
    ListOptions all;
    for (size_t k = 0; k < api::kKindCount; ++k) {
      all.kind = static_cast<api::Kind>(k);
      auto before = committed_.list(all, 0);
      auto after = fresh.list(all, 0);
      if (!before.ok() || !after.ok()) continue;
      for (const auto& old : before->items) {
        if (fresh.find(keyOf(*old))) continue;
        WatchEvent e{EventType::Deleted, *old, nullptr};
        e.object.metadata.resource_version = *revision;
        changes.push_back(Change{std::move(e), 0});
      }
      for (const auto& now : after->items) {
        StoredObject had = committed_.findStored(keyOf(*now));
        if (had.object && had.object->metadata.resource_version == now->metadata.resource_version) {
          continue;
        }
        changes.push_back(
            Change{WatchEvent{had.object ? EventType::Modified : EventType::Added, *now, nullptr},
                   fresh.findStored(keyOf(*now)).bytes});
      }
    }
  }
  std::stable_sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    return a.event.object.metadata.resource_version < b.event.object.metadata.resource_version;
  });
  apply(std::move(changes), *revision);
}

void EtcdStore::compactLoop() {
  for (;;) {
    {
      std::unique_lock lock(write_mu_);
      if (stop_cv_.wait_for(lock, options_.compaction_interval, [&] { return stop_watching_; })) {
        return;
      }
    }
    compactOnce();
  }
}

void EtcdStore::compactOnce() {
  const int64_t previous = hub_->compactedRevision();
  const int64_t target = revision_.load() - options_.retention_revisions;
  if (target <= previous) return;
  const int64_t to = hub_->beginCompaction(target);
  if (to <= previous) return;
  auto compacted = client_->compact(to);
  // Expired: another replica compacted further already, which is as good.
  if (!compacted.ok() && compacted.error().code != ErrorCode::Expired) {
    hub_->abortCompaction(previous);
    LOG_WARN("store", "{}", compacted.error().message);
    return;
  }
  LOG_INFO("store", "{}: compacted history up to revision {}", client_->name(), to);
}

}  // namespace magnumd::store
