#include "store/watch_hub.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <optional>
#include <string>

#include "util/log.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

namespace {

constexpr int kReplayChunk = 1024;

int64_t revisionOf(const WatchEvent& e) { return e.object.metadata.resource_version; }

bool matches(const WatchOptions& options, const WatchEvent& e) {
  return e.object.kind == options.kind &&
         (options.namespace_.empty() || e.object.metadata.namespace_ == options.namespace_);
}

// The events of a revision-ordered list newer than `cursor`.
std::span<const WatchEvent> after(const std::vector<WatchEvent>& events, int64_t cursor) {
  auto first = std::partition_point(events.begin(), events.end(),
                                    [&](const WatchEvent& e) { return revisionOf(e) <= cursor; });
  return {first, events.end()};
}

}  // namespace

struct WatchHub::Watcher {
  WatchOptions options;
  WatchCallback callback;
  WatchEndCallback on_end;
  std::atomic<int64_t> cursor;  // newest revision delivered or skipped
  std::atomic<bool> stopped{false};
  std::mutex delivery_mu;  // held while either callback runs

  Watcher(WatchOptions o, WatchCallback cb, WatchEndCallback end)
      : options(std::move(o)),
        callback(std::move(cb)),
        on_end(std::move(end)),
        cursor(options.after_revision) {}

  // What the callback threw, or nullopt when it returned (or the watch is stopped).
  std::optional<std::string> deliver(std::span<const WatchEvent> events) {
    if (events.empty()) return std::nullopt;
    std::lock_guard lock(delivery_mu);
    if (stopped.load()) return std::nullopt;
    try {
      callback(events);
      return std::nullopt;
    } catch (const std::exception& e) {
      return std::string(e.what());
    } catch (...) {
      return std::string("an exception that is not a std::exception");
    }
  }

  // False when the watch had already stopped (its handle is gone: nobody is left to tell).
  bool end(const util::Error& why) {
    std::lock_guard lock(delivery_mu);
    if (stopped.exchange(true)) return false;
    try {
      on_end(why);
    } catch (const std::exception& e) {
      LOG_ERROR("store", "a watch end callback threw: {}", e.what());
    } catch (...) {
      LOG_ERROR("store", "a watch end callback threw");
    }
    return true;
  }
};

struct WatchHub::Shared {
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<WatchEvent>> batches;  // published, not yet dispatched
  std::vector<WatcherPtr> joining;              // registered, not yet seen by the dispatcher
  std::vector<WatcherPtr> catching;             // replaying history
  int64_t compacted = 0;
  size_t watchers = 0;
  bool wake = false;
  bool stopping = false;
  std::thread::id dispatcher_id;
};

namespace {

class HubWatchHandle final : public WatchHandle {
 public:
  HubWatchHandle(std::shared_ptr<WatchHub::Watcher> watcher, std::weak_ptr<WatchHub::Shared> shared,
                 std::thread::id dispatcher)
      : watcher_(std::move(watcher)), shared_(std::move(shared)), dispatcher_(dispatcher) {}

  ~HubWatchHandle() override;

 private:
  std::shared_ptr<WatchHub::Watcher> watcher_;
  std::weak_ptr<WatchHub::Shared> shared_;
  std::thread::id dispatcher_;
};

}  // namespace

HubWatchHandle::~HubWatchHandle() {
  watcher_->stopped = true;
  // Wait out a callback in flight, unless this is that callback dropping its own watch (the
  // dispatcher is single-threaded, so then no other callback can be running).
  if (std::this_thread::get_id() != dispatcher_) std::lock_guard wait(watcher_->delivery_mu);
  if (auto shared = shared_.lock()) {
    std::lock_guard lock(shared->mu);
    --shared->watchers;
    shared->wake = true;  // let the dispatcher drop the callback (and what it captures) now
    shared->cv.notify_one();
  }
}

WatchHub::WatchHub(ReaderFactory reader, size_t cache_events, int64_t revision,
                   int64_t compacted_revision, FailureHook on_failed)
    : WatchHub(
          [reader = std::move(reader)]() -> util::Result<std::unique_ptr<ChangeReader>> {
            auto db = reader();
            if (!db.ok()) return db.takeError();
            return std::unique_ptr<ChangeReader>(std::move(db).value());
          },
          cache_events, revision, compacted_revision, std::move(on_failed)) {}

WatchHub::WatchHub(ChangeReaderFactory reader, size_t cache_events, int64_t revision,
                   int64_t compacted_revision, FailureHook on_failed)
    : shared_(std::make_shared<Shared>()),
      reader_factory_(std::move(reader)),
      on_failed_(std::move(on_failed)),
      cache_events_(std::max<size_t>(cache_events, 1)),
      dispatched_(revision) {
  shared_->compacted = compacted_revision;
  dispatcher_ = std::thread([this] { run(); });
  std::lock_guard lock(shared_->mu);
  shared_->dispatcher_id = dispatcher_.get_id();
}

WatchHub::~WatchHub() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopping = true;
  }
  shared_->cv.notify_one();
  dispatcher_.join();
}

void WatchHub::publish(std::vector<WatchEvent> events) {
  if (events.empty()) return;
  {
    std::lock_guard lock(shared_->mu);
    shared_->batches.push_back(std::move(events));
  }
  shared_->cv.notify_one();
}

util::Result<WatchHandlePtr> WatchHub::watch(const WatchOptions& options, WatchCallback callback,
                                             WatchEndCallback on_end, int64_t current_revision) {
  if (!callback || !on_end) {
    return makeError(ErrorCode::BadRequest,
                     "watch: an event callback and an end callback are required");
  }
  if (options.after_revision < 0) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("resourceVersion: {} is negative", options.after_revision));
  }
  auto watcher = std::make_shared<Watcher>(options, std::move(callback), std::move(on_end));
  std::lock_guard lock(shared_->mu);
  if (options.after_revision < shared_->compacted) {
    return makeError(ErrorCode::Expired, fmt::format("too old resource version: {} ({})",
                                                     options.after_revision, shared_->compacted));
  }
  if (options.after_revision > current_revision) {
    return makeError(ErrorCode::Timeout, fmt::format("Too large resource version: {}, current: {}",
                                                     options.after_revision, current_revision));
  }
  shared_->joining.push_back(watcher);
  ++shared_->watchers;
  shared_->cv.notify_one();
  return WatchHandlePtr(new HubWatchHandle(watcher, shared_, shared_->dispatcher_id));
}

int64_t WatchHub::beginCompaction(int64_t target) {
  std::lock_guard lock(shared_->mu);
  for (const auto* list : {&shared_->joining, &shared_->catching}) {
    for (const auto& w : *list) {
      if (!w->stopped) target = std::min(target, w->cursor.load());
    }
  }
  shared_->compacted = std::max(shared_->compacted, target);
  return shared_->compacted;
}

void WatchHub::abortCompaction(int64_t previous) {
  std::lock_guard lock(shared_->mu);
  shared_->compacted = std::min(shared_->compacted, previous);
}

int64_t WatchHub::compactedRevision() const {
  std::lock_guard lock(shared_->mu);
  return shared_->compacted;
}

size_t WatchHub::watcherCount() const {
  std::lock_guard lock(shared_->mu);
  return shared_->watchers;
}

void WatchHub::run() {
  Shared& s = *shared_;
  for (;;) {
    std::deque<std::vector<WatchEvent>> batches;
    std::vector<WatcherPtr> catching;
    {
      std::unique_lock lock(s.mu);
      s.cv.wait(lock, [&] {
        return s.stopping || s.wake || !s.batches.empty() || !s.joining.empty() ||
               !s.catching.empty();
      });
      if (s.stopping && s.batches.empty()) return;
      s.wake = false;
      batches.swap(s.batches);
      for (auto& w : s.joining) s.catching.push_back(std::move(w));
      s.joining.clear();
      catching = s.catching;
    }
    for (const auto& batch : batches) fanOut(batch);
    std::vector<WatcherPtr> done;
    for (const auto& w : catching) {
      if (w->stopped || catchUp(*w)) done.push_back(w);
    }
    std::erase_if(live_, [](const WatcherPtr& w) { return w->stopped.load(); });
    for (const auto& w : done) {
      if (!w->stopped) live_.push_back(w);
    }
    if (!done.empty()) {
      std::lock_guard lock(s.mu);
      std::erase_if(s.catching, [&](const WatcherPtr& w) {
        return std::find(done.begin(), done.end(), w) != done.end();
      });
    }
  }
}

void WatchHub::fanOut(const std::vector<WatchEvent>& batch) {
  // One copy of each event per kind (and per watched namespace), shared by all its watchers.
  constexpr size_t kKinds = api::kKindCount;
  std::array<bool, kKinds> watched{};
  for (const auto& w : live_) watched.at(static_cast<size_t>(w->options.kind)) = true;
  std::array<std::vector<WatchEvent>, kKinds> by_kind;
  for (const auto& e : batch) {
    size_t kind = static_cast<size_t>(e.object.kind);
    if (watched.at(kind)) by_kind.at(kind).push_back(e);
  }
  std::map<std::pair<api::Kind, std::string>, std::vector<WatchEvent>> by_namespace;
  int64_t last = revisionOf(batch.back());
  for (const auto& w : live_) {
    if (w->stopped) continue;
    const WatchOptions& o = w->options;
    const std::vector<WatchEvent>* events = &by_kind.at(static_cast<size_t>(o.kind));
    if (!o.namespace_.empty() && !events->empty()) {
      auto [it, inserted] = by_namespace.try_emplace({o.kind, o.namespace_});
      if (inserted) {
        for (const auto& e : *events) {
          if (e.object.metadata.namespace_ == o.namespace_) it->second.push_back(e);
        }
      }
      events = &it->second;
    }
    deliver(*w, after(*events, w->cursor));
    if (w->cursor < last) w->cursor = last;
  }
  // The tail serves catch-up only: it keeps the event text, not the store's object (which would
  // keep superseded versions alive).
  for (const auto& e : batch) tail_.push_back(WatchEvent{e.type, e.object, nullptr});
  while (tail_.size() > cache_events_) tail_.pop_front();
  dispatched_ = last;
}

bool WatchHub::catchUp(Watcher& w) {
  int64_t cursor = w.cursor;
  if (cursor >= dispatched_) return true;
  if (!tail_.empty() && revisionOf(tail_.front()) <= cursor + 1) {
    std::vector<WatchEvent> events;
    for (const auto& e : tail_) {
      if (revisionOf(e) > cursor && matches(w.options, e)) events.push_back(e);
    }
    deliver(w, events);
    w.cursor = dispatched_;
    return true;
  }
  auto replayFailed = [&](const util::Error& error) {
    fail(w, "replay_failed",
         makeError(ErrorCode::Unavailable,
                   fmt::format("watch of {} ended: reading the change log after revision {} "
                               "failed: {}",
                               api::kindInfo(w.options.kind).name, cursor, error.message)));
    return true;
  };
  if (!reader_) {
    auto reader = reader_factory_();
    if (!reader.ok()) return replayFailed(reader.error());
    reader_ = std::move(reader).value();
  }
  auto events =
      reader_->readChanges(cursor, dispatched_, w.options.kind, w.options.namespace_, kReplayChunk);
  if (!events.ok()) return replayFailed(events.error());
  deliver(w, *events);
  // A short chunk means nothing else of this kind up to dispatched_; otherwise continue later
  // (other watchers get their turn in between).
  w.cursor =
      static_cast<int>(events->size()) < kReplayChunk ? dispatched_ : revisionOf(events->back());
  return w.cursor >= dispatched_;
}

void WatchHub::deliver(Watcher& w, std::span<const WatchEvent> events) {
  auto thrown = w.deliver(events);
  if (!thrown) return;
  fail(w, "callback_threw",
       makeError(ErrorCode::Internal, fmt::format("watch of {} ended: its callback threw: {}",
                                                  api::kindInfo(w.options.kind).name, *thrown)));
}

void WatchHub::fail(Watcher& w, const char* reason, util::Error why) {
  LOG_ERROR("store", "{}", why.message);
  if (!w.end(why)) return;
  if (on_failed_) on_failed_(reason);
}

}  // namespace magnumd::store
