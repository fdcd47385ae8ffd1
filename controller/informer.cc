#include "controller/informer.h"

#include <algorithm>
#include <random>
#include <stdexcept>

#include "util/log.h"

namespace magnumd::controller {
namespace {

const char* kLog = "informer";

const char* eventTypeName(store::EventType t) {
  switch (t) {
    case store::EventType::Added: return "added";
    case store::EventType::Modified: return "modified";
    case store::EventType::Deleted: return "deleted";
  }
  return "unknown";
}

// Doubling with full-range jitter ([d/2, d]), client-go's reflector backoff shape.
Duration jittered(Duration d) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.5, 1.0);
  return Duration(static_cast<Duration::rep>(static_cast<double>(d.count()) * unit(rng)));
}

}  // namespace

std::string namespacedName(std::string_view namespace_, std::string_view name) {
  std::string out;
  out.reserve(namespace_.size() + 1 + name.size());
  out.append(namespace_).append("/").append(name);
  return out;
}

Informer::Informer(store::Store& store, InformerOptions options, RuntimeMetrics* metrics)
    : store_(store), options_(std::move(options)), metrics_(metrics) {}

Informer::~Informer() { stop(); }

void Informer::addIndex(std::string name, IndexFunc fn) {
  std::unique_lock lock(cache_mutex_);
  Index index{std::move(fn), {}};
  for (const auto& [key, object] : objects_) {
    for (auto& value : index.fn(*object)) index.values[value].insert(key);
  }
  indexes_[std::move(name)] = std::move(index);
}

void Informer::addEventHandler(EventHandler handler) {
  // Handlers are read by the informer thread without a lock: adding one later would race.
  if (started_) throw std::logic_error("Informer::addEventHandler after start()");
  handlers_.push_back(std::move(handler));
}

void Informer::start() {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  {
    std::lock_guard lock(buffer_mutex_);
    stopping_ = true;
  }
  buffer_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Informer::waitForSync(Duration timeout) const {
  std::unique_lock lock(sync_mutex_);
  return sync_cv_.wait_for(lock, timeout, [this] { return synced_.load(); });
}

ObjectPtr Informer::get(const api::ObjectKey& key) const {
  std::shared_lock lock(cache_mutex_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Informer::list(std::string_view namespace_) const {
  std::shared_lock lock(cache_mutex_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) {
    if (namespace_.empty() || key.namespace_ == namespace_) out.push_back(object);
  }
  return out;
}

std::vector<ObjectPtr> Informer::byIndex(std::string_view index, std::string_view value) const {
  std::shared_lock lock(cache_mutex_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  auto keys = idx->second.values.find(std::string(value));
  if (keys == idx->second.values.end()) return out;
  for (const auto& key : keys->second) {
    if (auto it = objects_.find(key); it != objects_.end()) out.push_back(it->second);
  }
  return out;
}

size_t Informer::size() const {
  std::shared_lock lock(cache_mutex_);
  return objects_.size();
}

Informer::Stats Informer::stats() const {
  return Stats{lists_.load(), expired_.load(), overflows_.load(), failures_.load(), events_.load()};
}

bool Informer::sleepFor(Duration d) {
  std::unique_lock lock(buffer_mutex_);
  return !buffer_cv_.wait_for(lock, d, [this] { return stopping_; });
}

void Informer::run() {
  Duration backoff = options_.retry_initial;
  bool need_list = true;
  const char* reason = "initial";
  int consecutive_expired = 0;
  while (true) {
    {
      std::lock_guard lock(buffer_mutex_);
      if (stopping_) return;
    }
    if (need_list) {
      if (!listAndReplace(reason)) {
        reason = "error";
        if (!sleepFor(jittered(backoff))) return;
        backoff = std::min(backoff * 2, options_.retry_max);
        continue;
      }
      need_list = false;
    }
    switch (watchOnce(backoff)) {
      case WatchEnd::Resume:
        consecutive_expired = 0;
        break;
      case WatchEnd::Expired:
        need_list = true;
        reason = "expired";
        // Expiring again right after a fresh list means the change log turns over faster than
        // list + watch take: back off instead of spinning on full lists.
        if (++consecutive_expired > 1) {
          if (!sleepFor(jittered(backoff))) return;
          backoff = std::min(backoff * 2, options_.retry_max);
        }
        break;
      case WatchEnd::Failed:
        // A fresh list gives a current revision, which the store serves without its change log.
        need_list = true;
        reason = "watch_failed";
        if (!sleepFor(jittered(backoff))) return;
        backoff = std::min(backoff * 2, options_.retry_max);
        break;
    }
  }
}

bool Informer::listAndReplace(const char* reason) {
  auto listed = store_.list(store::ListOptions{options_.kind, options_.namespace_, nullptr, 0, {}});
  if (!listed.ok()) {
    LOG_WARN(kLog, "{}: list failed ({}), retrying", api::kindInfo(options_.kind).name,
             listed.error().message);
    return false;
  }
  countList(reason);
  std::map<api::ObjectKey, ObjectPtr> fresh;
  for (auto& item : listed->items) {
    api::ObjectKey key = api::keyOf(item);
    fresh.emplace(std::move(key), std::make_shared<const api::Object>(std::move(item)));
  }
  std::vector<Change> changes;
  {
    std::unique_lock lock(cache_mutex_);
    for (auto& [key, object] : fresh) {
      auto it = objects_.find(key);
      if (it == objects_.end()) {
        changes.push_back({Change::Op::Add, nullptr, object});
      } else if (it->second->metadata.resource_version != object->metadata.resource_version ||
                 it->second->metadata.uid != object->metadata.uid) {
        changes.push_back({Change::Op::Update, it->second, object});
      } else {
        continue;  // unchanged: keep the cached pointer, tell nobody
      }
      putLocked(key, object);
    }
    std::vector<api::ObjectKey> gone;
    for (const auto& [key, object] : objects_) {
      if (fresh.count(key) == 0) gone.push_back(key);
    }
    for (const auto& key : gone) {
      changes.push_back({Change::Op::Delete, nullptr, objects_.at(key)});
      eraseLocked(key);
    }
    if (metrics_ != nullptr) {
      metrics_->informer_objects.with({std::string(api::kindInfo(options_.kind).name)})
          .set(static_cast<double>(objects_.size()));
    }
  }
  last_revision_ = listed->revision;
  dispatch(changes);
  if (!synced_.exchange(true)) {
    std::lock_guard lock(sync_mutex_);
    sync_cv_.notify_all();
  }
  LOG_DEBUG(kLog, "{}: listed {} objects at revision {} ({}, {} changes)",
            api::kindInfo(options_.kind).name, fresh.size(), listed->revision, reason,
            changes.size());
  return true;
}

void Informer::countList(const char* reason) {
  ++lists_;
  if (metrics_ != nullptr) {
    metrics_->informer_relists.with({std::string(api::kindInfo(options_.kind).name), reason}).inc();
  }
}

Informer::WatchEnd Informer::watchOnce(Duration& backoff) {
  {
    std::lock_guard lock(buffer_mutex_);
    buffer_.clear();
    overflowed_ = false;
    ended_.reset();
  }
  auto handle = store_.watch(
      store::WatchOptions{options_.kind, options_.namespace_, last_revision_.load()},
      [this](std::span<const store::WatchEvent> events) {
        {
          std::lock_guard lock(buffer_mutex_);
          if (overflowed_) return;  // the gap is closed by resuming, so later events are moot
          // A batch into an empty buffer is always taken, so resuming always makes progress.
          if (!buffer_.empty() &&
              buffer_.size() + events.size() > options_.max_buffered_events) {
            overflowed_ = true;
          } else {
            buffer_.insert(buffer_.end(), events.begin(), events.end());
          }
        }
        buffer_cv_.notify_one();
      },
      [this](const util::Error& why) {
        {
          std::lock_guard lock(buffer_mutex_);
          ended_ = why;
        }
        buffer_cv_.notify_one();
      });
  if (!handle.ok()) {
    if (handle.error().code == util::ErrorCode::Expired) {
      ++expired_;
      LOG_INFO(kLog, "{}: watch from revision {} expired, listing again",
               api::kindInfo(options_.kind).name, last_revision_.load());
      return WatchEnd::Expired;
    }
    LOG_WARN(kLog, "{}: watch failed ({}), retrying", api::kindInfo(options_.kind).name,
             handle.error().message);
    sleepFor(jittered(backoff));
    backoff = std::min(backoff * 2, options_.retry_max);
    return WatchEnd::Resume;
  }
  TimePoint next_resync = std::chrono::steady_clock::now() + options_.resync_period;
  std::vector<store::WatchEvent> batch;
  while (true) {
    bool overflowed = false;
    std::optional<util::Error> ended;
    {
      std::unique_lock lock(buffer_mutex_);
      auto ready = [this] { return stopping_ || overflowed_ || ended_ || !buffer_.empty(); };
      if (options_.resync_period > Duration::zero()) {
        buffer_cv_.wait_until(lock, next_resync, ready);
      } else {
        buffer_cv_.wait(lock, ready);
      }
      if (stopping_) return WatchEnd::Resume;
      batch.swap(buffer_);
      overflowed = overflowed_;
      ended = std::move(ended_);
      ended_.reset();
    }
    // A watch that delivers is healthy: later failures start the backoff afresh.
    if (!batch.empty()) backoff = options_.retry_initial;
    apply(batch);
    batch.clear();
    if (ended) {
      ++failures_;
      LOG_WARN(kLog, "{}: the store ended the watch ({}); listing again",
               api::kindInfo(options_.kind).name, ended->message);
      return WatchEnd::Failed;
    }
    if (overflowed) {
      ++overflows_;
      LOG_WARN(kLog, "{}: fell more than {} events behind; resuming the watch from revision {}",
               api::kindInfo(options_.kind).name, options_.max_buffered_events,
               last_revision_.load());
      return WatchEnd::Resume;  // `handle` goes out of scope first: no callback runs after this
    }
    if (options_.resync_period > Duration::zero() &&
        std::chrono::steady_clock::now() >= next_resync) {
      resync();
      next_resync = std::chrono::steady_clock::now() + options_.resync_period;
    }
  }
}

void Informer::apply(const std::vector<store::WatchEvent>& events) {
  std::vector<Change> changes;
  changes.reserve(events.size());
  {
    std::unique_lock lock(cache_mutex_);
    for (const auto& event : events) {
      const int64_t revision = event.object.metadata.resource_version;
      if (revision <= last_revision_.load()) continue;  // already in the cache from a list
      last_revision_ = revision;
      ++events_;
      if (metrics_ != nullptr) {
        metrics_->informer_events
            .with({std::string(api::kindInfo(options_.kind).name), eventTypeName(event.type)})
            .inc();
      }
      api::ObjectKey key = api::keyOf(event.object);
      auto it = objects_.find(key);
      ObjectPtr old_object = it == objects_.end() ? nullptr : it->second;
      // Share the store's immutable object when the event carries it (live commits do).
      ObjectPtr object = event.stored ? event.stored : std::make_shared<const api::Object>(event.object);
      if (event.type == store::EventType::Deleted) {
        if (old_object != nullptr) eraseLocked(key);
        changes.push_back({Change::Op::Delete, nullptr, object});
      } else {
        putLocked(key, object);
        changes.push_back(old_object == nullptr ? Change{Change::Op::Add, nullptr, object}
                                                : Change{Change::Op::Update, old_object, object});
      }
    }
    if (metrics_ != nullptr) {
      metrics_->informer_objects.with({std::string(api::kindInfo(options_.kind).name)})
          .set(static_cast<double>(objects_.size()));
    }
  }
  dispatch(changes);
}

void Informer::putLocked(const api::ObjectKey& key, ObjectPtr object) {
  auto it = objects_.find(key);
  for (auto& [name, index] : indexes_) {
    if (it != objects_.end()) {
      for (const auto& value : index.fn(*it->second)) {
        auto v = index.values.find(value);
        if (v == index.values.end()) continue;
        v->second.erase(key);
        if (v->second.empty()) index.values.erase(v);
      }
    }
    for (auto& value : index.fn(*object)) index.values[std::move(value)].insert(key);
  }
  objects_[key] = std::move(object);
}

void Informer::eraseLocked(const api::ObjectKey& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  for (auto& [name, index] : indexes_) {
    for (const auto& value : index.fn(*it->second)) {
      auto v = index.values.find(value);
      if (v == index.values.end()) continue;
      v->second.erase(key);
      if (v->second.empty()) index.values.erase(v);
    }
  }
  objects_.erase(it);
}

void Informer::dispatch(const std::vector<Change>& changes) {
  for (const auto& change : changes) {
    for (const auto& h : handlers_) {
      switch (change.op) {
        case Change::Op::Add:
          if (h.on_add) h.on_add(change.object);
          break;
        case Change::Op::Update:
          if (h.on_update) h.on_update(change.old_object, change.object);
          break;
        case Change::Op::Delete:
          if (h.on_delete) h.on_delete(change.object);
          break;
      }
    }
  }
}

void Informer::resync() {
  for (const auto& object : list()) {
    for (const auto& h : handlers_) {
      if (h.on_update) h.on_update(object, object);
    }
  }
}

}  // namespace magnumd::controller
