#include "controller/event_recorder.h"

#include <algorithm>

#include "api/event.h"
#include "util/log.h"

namespace magnumd::controller {
namespace {

const char* kLog = "events";
constexpr size_t kMaxReason = 128;
constexpr size_t kMaxMessage = 1024;

std::string truncated(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::string out(text.substr(0, limit - 3));
  // Never cut a UTF-8 sequence in half: drop continuation bytes at the cut.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80) != 0) out.pop_back();
  return out + "...";
}

double perSecond(Duration refill) {
  double s = std::chrono::duration<double>(refill).count();
  return s > 0 ? 1.0 / s : 1e9;
}

}  // namespace

const char* toString(EventType type) { return type == EventType::Normal ? "Normal" : "Warning"; }

struct StoreEventRecorder::Pending {
  std::string dedupe_key;
  std::string object_key;  // rate-limit bucket: one per involved object
  api::ObjectKey involved;
  std::string uid;
  EventType type = EventType::Normal;
  std::string reason;
  std::string message;
  int64_t count = 1;
  util::SystemTime first;
  util::SystemTime last;
};

StoreEventRecorder::StoreEventRecorder(store::Store& store, EventRecorderOptions options,
                                       const util::Clock& clock, RuntimeMetrics* metrics)
    : store_(store),
      options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      global_bucket_{static_cast<double>(std::max(1, options_.burst)), clock.monotonic()},
      next_gc_(clock.monotonic()) {
  thread_ = std::thread([this] { run(); });
}

StoreEventRecorder::~StoreEventRecorder() { stop(std::chrono::seconds(5)); }

void StoreEventRecorder::record(const api::Object& involved, EventType type,
                                std::string_view reason, std::string_view message) {
  Pending p;
  p.involved = api::keyOf(involved);
  p.uid = involved.metadata.uid;
  p.type = type;
  p.reason = truncated(reason, kMaxReason);
  p.message = truncated(message, kMaxMessage);
  p.object_key = fmt::format("{}\x1f{}\x1f{}\x1f{}", api::kindInfo(p.involved.kind).name,
                             p.involved.namespace_, p.involved.name, p.uid);
  p.dedupe_key =
      fmt::format("{}\x1f{}\x1f{}\x1f{}", p.object_key, toString(type), p.reason, p.message);
  p.first = p.last = clock_.now();

  std::lock_guard lock(mutex_);
  ++stats_.recorded;
  if (metrics_ != nullptr) metrics_->events_recorded.with({toString(type)}).inc();
  if (stopping_) return;
  if (auto it = pending_index_.find(p.dedupe_key); it != pending_index_.end()) {
    ++it->second->count;
    it->second->last = p.last;
    ++stats_.merged;
    return;
  }
  if (pending_.size() >= options_.max_pending) {
    ++stats_.dropped;
    if (metrics_ != nullptr) metrics_->events_dropped.with({"queue_full"}).inc();
    return;
  }
  std::string key = p.dedupe_key;
  pending_.push_back(std::move(p));
  pending_index_.emplace(std::move(key), std::prev(pending_.end()));
  cv_.notify_one();
}

bool StoreEventRecorder::flush(Duration timeout) {
  std::unique_lock lock(mutex_);
  if (!thread_.joinable()) return pending_.empty();
  const uint64_t epoch = idle_epoch_;
  cv_.notify_one();
  idle_cv_.wait_for(lock, timeout, [&] { return idle_epoch_ > epoch || stopping_; });
  return pending_.empty();
}

void StoreEventRecorder::stop(Duration timeout) {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    draining_ = true;
  }
  if (!flush(timeout)) {
    LOG_WARN(kLog, "{} events not written at shutdown", stats().pending);
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cv_.notify_one();
  }
  thread_.join();
}

StoreEventRecorder::Stats StoreEventRecorder::stats() const {
  std::lock_guard lock(mutex_);
  Stats s = stats_;
  s.pending = pending_.size();
  return s;
}

bool StoreEventRecorder::takeToken(Bucket& bucket, double rate, double burst, TimePoint now) {
  if (now > bucket.last) {
    bucket.tokens =
        std::min(burst, bucket.tokens + std::chrono::duration<double>(now - bucket.last).count() * rate);
    bucket.last = now;
  }
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

// Picks the oldest queued event whose object and the global bucket both have a token. When none
// can go, returns how long until one might.
std::optional<Duration> StoreEventRecorder::nextEligibleLocked(TimePoint now,
                                                               std::list<Pending>::iterator& out) {
  out = pending_.end();
  if (pending_.empty()) return std::nullopt;
  if (draining_) {
    out = pending_.begin();
    return std::nullopt;
  }
  const double object_rate = perSecond(options_.per_object_refill);
  const double global_burst = std::max(1, options_.burst);
  auto seconds = [](double s) {
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
  };
  // Refill the global bucket without spending from it.
  if (now > global_bucket_.last) {
    global_bucket_.tokens =
        std::min(global_burst, global_bucket_.tokens +
                                   std::chrono::duration<double>(now - global_bucket_.last).count() *
                                       options_.qps);
    global_bucket_.last = now;
  }
  if (global_bucket_.tokens < 1.0) {
    return seconds((1.0 - global_bucket_.tokens) / std::max(options_.qps, 1e-9));
  }
  std::optional<Duration> soonest;
  const double object_burst = std::max(1, options_.per_object_burst);
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    auto [b, fresh] = object_buckets_.try_emplace(it->object_key, Bucket{object_burst, now});
    if (takeToken(b->second, object_rate, object_burst, now)) {
      global_bucket_.tokens -= 1.0;
      out = it;
      return std::nullopt;
    }
    Duration wait = seconds((1.0 - b->second.tokens) / object_rate);
    if (!soonest || wait < *soonest) soonest = wait;
  }
  return soonest;
}

void StoreEventRecorder::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const TimePoint now = clock_.monotonic();
    if (options_.ttl > Duration::zero() && now >= next_gc_ && !draining_) {
      next_gc_ = now + options_.gc_period;
      lock.unlock();
      collectGarbage();
      lock.lock();
      continue;
    }
    std::list<Pending>::iterator it;
    std::optional<Duration> wait = nextEligibleLocked(now, it);
    if (it != pending_.end()) {
      Pending p = std::move(*it);
      pending_index_.erase(p.dedupe_key);
      pending_.erase(it);
      lock.unlock();
      write(std::move(p));
      lock.lock();
      continue;
    }
    // Forget buckets that have refilled completely: they hold nothing a new bucket would not.
    if (object_buckets_.size() > options_.max_tracked) {
      const double rate = perSecond(options_.per_object_refill);
      std::erase_if(object_buckets_, [&](const auto& entry) {
        double elapsed = std::chrono::duration<double>(now - entry.second.last).count();
        return entry.second.tokens + elapsed * rate >= options_.per_object_burst;
      });
    }
    ++idle_epoch_;
    idle_cv_.notify_all();
    Duration sleep = wait.value_or(std::chrono::hours(1));
    if (options_.ttl > Duration::zero()) sleep = std::min(sleep, next_gc_ - now);
    cv_.wait_for(lock, std::max(sleep, Duration(std::chrono::milliseconds(1))));
  }
  ++idle_epoch_;
  idle_cv_.notify_all();
}

void StoreEventRecorder::write(Pending pending) {
  if (bump(pending.dedupe_key, pending)) return;
  create(pending.dedupe_key, pending);
}

bool StoreEventRecorder::bump(const std::string& dedupe_key, const Pending& pending) {
  auto found = tracked_.find(dedupe_key);
  if (found == tracked_.end()) return false;
  api::Object event = found->second.first;
  auto spec = api::decodeEventSpec(event.spec);
  if (!spec.ok()) return false;
  spec->count += pending.count;
  spec->last_timestamp = util::formatRfc3339(pending.last);
  event.spec = api::encodeEventSpec(*spec);
  auto written = store::updateSync(store_, event, event.metadata.resource_version);
  if (!written.ok()) {
    // Deleted (TTL) or changed by someone else: start a fresh event instead.
    tracked_lru_.erase(found->second.second);
    tracked_.erase(found);
    return false;
  }
  track(dedupe_key, std::move(written).value());
  {
    std::lock_guard lock(mutex_);
    ++stats_.updated;
  }
  if (metrics_ != nullptr) metrics_->events_written.with({"update"}).inc();
  return true;
}

void StoreEventRecorder::create(const std::string& dedupe_key, const Pending& p) {
  api::Object event;
  event.kind = api::Kind::Event;
  const std::string uuid = util::newUuid();
  std::string suffix;
  for (char c : uuid) {
    if (c != '-' && suffix.size() < 16) suffix += c;
  }
  event.metadata.name = fmt::format("{}.{}", p.involved.name, suffix);
  event.metadata.namespace_ = p.involved.namespace_.empty() ? "default" : p.involved.namespace_;
  event.metadata.labels[std::string(kInvolvedKindLabel)] =
      std::string(api::kindInfo(p.involved.kind).name);
  event.metadata.labels[std::string(kInvolvedNameLabel)] = p.involved.name;

  api::EventSpec spec;
  spec.involved_object = api::ObjectReference{std::string(api::kindInfo(p.involved.kind).name),
                                              p.involved.namespace_, p.involved.name, p.uid};
  spec.type = toString(p.type);
  spec.reason = p.reason;
  spec.message = p.message;
  spec.count = p.count;
  spec.first_timestamp = util::formatRfc3339(p.first);
  spec.last_timestamp = util::formatRfc3339(p.last);
  spec.source = options_.component;
  event.spec = api::encodeEventSpec(spec);

  auto written = store::createSync(store_, std::move(event));
  if (!written.ok()) {
    LOG_WARN(kLog, "event {} for {} not written: {}", p.reason, describe(p.involved),
             written.error().message);
    std::lock_guard lock(mutex_);
    ++stats_.dropped;
    if (metrics_ != nullptr) metrics_->events_dropped.with({"store_error"}).inc();
    return;
  }
  track(dedupe_key, std::move(written).value());
  {
    std::lock_guard lock(mutex_);
    ++stats_.created;
  }
  if (metrics_ != nullptr) metrics_->events_written.with({"create"}).inc();
}

void StoreEventRecorder::track(const std::string& dedupe_key, api::Object written) {
  if (auto it = tracked_.find(dedupe_key); it != tracked_.end()) {
    tracked_lru_.splice(tracked_lru_.end(), tracked_lru_, it->second.second);
    it->second.first = std::move(written);
    return;
  }
  tracked_lru_.push_back(dedupe_key);
  tracked_.emplace(dedupe_key, std::make_pair(std::move(written), std::prev(tracked_lru_.end())));
  while (tracked_.size() > std::max<size_t>(1, options_.max_tracked)) {
    tracked_.erase(tracked_lru_.front());
    tracked_lru_.pop_front();
  }
}

void StoreEventRecorder::collectGarbage() {
  auto listed = store_.list(store::ListOptions{api::Kind::Event, {}, nullptr, 0, {}});
  if (!listed.ok()) return;
  const util::SystemTime cutoff =
      clock_.now() - std::chrono::duration_cast<util::SystemTime::duration>(options_.ttl);
  size_t removed = 0;
  for (const auto& event : listed->items) {
    auto spec = api::decodeEventSpec(event.spec);
    if (!spec.ok() || spec->source != options_.component) continue;  // not ours
    auto last = util::parseRfc3339(spec->last_timestamp);
    if (!last || *last >= cutoff) continue;
    if (store::removeSync(store_, api::keyOf(event), event.metadata.resource_version).ok()) {
      ++removed;
    }
  }
  if (removed > 0) LOG_INFO(kLog, "deleted {} events older than the TTL", removed);
}

}  // namespace magnumd::controller
