#include "controller/work_queue.h"

#include <algorithm>

namespace magnumd::controller {
namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// How often the timer thread refreshes the in-progress gauges, so a stuck worker shows.
constexpr Duration kProgressPeriod = std::chrono::seconds(1);

}  // namespace

WorkQueue::WorkQueue(std::string name, RateLimiterPtr limiter, const util::Clock& clock,
                     RuntimeMetrics* metrics)
    : name_(std::move(name)), limiter_(std::move(limiter)), clock_(clock) {
  if (metrics != nullptr) {
    depth_ = &metrics->queue_depth.with({name_});
    adds_ = &metrics->queue_adds.with({name_});
    retries_ = &metrics->queue_retries.with({name_});
    latency_ = &metrics->queue_latency.with({name_});
    work_ = &metrics->work_duration.with({name_});
    unfinished_ = &metrics->unfinished_work.with({name_});
    longest_ = &metrics->longest_running.with({name_});
  }
  timer_ = std::thread([this] { timerLoop(); });
}

WorkQueue::~WorkQueue() {
  shutDown();
  if (timer_.joinable()) timer_.join();
}

void WorkQueue::add(const Request& key) {
  std::lock_guard lock(mutex_);
  addLocked(key, clock_.monotonic());
}

void WorkQueue::addLocked(const Request& key, TimePoint now) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;  // already waiting to be handed out
  if (adds_ != nullptr) adds_->inc();
  added_at_.emplace(key, now);
  // A key a worker holds goes back into the queue in done(), never to a second worker.
  if (processing_.count(key) != 0) return;
  queue_.push_back(key);
  updateGaugesLocked();
  ready_cv_.notify_one();
}

void WorkQueue::addAfter(const Request& key, Duration delay) {
  std::lock_guard lock(mutex_);
  if (shutting_down_) return;
  TimePoint now = clock_.monotonic();
  if (delay <= Duration::zero()) {
    addLocked(key, now);
    return;
  }
  TimePoint due = now + delay;
  auto [it, inserted] = waiting_.emplace(key, due);
  if (!inserted) {
    if (it->second <= due) return;  // an earlier wake-up is already planned
    it->second = due;
  }
  bool earliest = heap_.empty() || due < heap_.top().due;
  heap_.push(Delayed{due, seq_++, key});
  if (earliest) timer_cv_.notify_one();
}

void WorkQueue::addRateLimited(const Request& key) {
  if (retries_ != nullptr) retries_->inc();
  addAfter(key, limiter_->when(key));
}

void WorkQueue::forget(const Request& key) { limiter_->forget(key); }

int WorkQueue::numRequeues(const Request& key) const { return limiter_->numRequeues(key); }

std::optional<Request> WorkQueue::get() {
  std::unique_lock lock(mutex_);
  ready_cv_.wait(lock, [this] { return shutting_down_ || !queue_.empty(); });
  return takeLocked(clock_.monotonic());
}

std::optional<Request> WorkQueue::getFor(Duration timeout) {
  std::unique_lock lock(mutex_);
  ready_cv_.wait_for(lock, timeout, [this] { return shutting_down_ || !queue_.empty(); });
  return takeLocked(clock_.monotonic());
}

std::optional<Request> WorkQueue::takeLocked(TimePoint now) {
  if (shutting_down_ || queue_.empty()) return std::nullopt;
  Request key = std::move(queue_.front());
  queue_.pop_front();
  dirty_.erase(key);
  processing_[key] = now;
  if (auto it = added_at_.find(key); it != added_at_.end()) {
    if (latency_ != nullptr) latency_->observe(seconds(now - it->second));
    added_at_.erase(it);
  }
  updateGaugesLocked();
  return key;
}

void WorkQueue::done(const Request& key) {
  std::lock_guard lock(mutex_);
  auto it = processing_.find(key);
  if (it == processing_.end()) return;
  if (work_ != nullptr) work_->observe(seconds(clock_.monotonic() - it->second));
  processing_.erase(it);
  if (dirty_.count(key) != 0 && !shutting_down_) {
    queue_.push_back(key);
    ready_cv_.notify_one();
  }
  updateGaugesLocked();
  if (processing_.empty()) drained_cv_.notify_all();
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
  ready_cv_.notify_all();
  timer_cv_.notify_all();
  drained_cv_.notify_all();
}

bool WorkQueue::shutDownWithDrain(Duration timeout) {
  shutDown();
  std::unique_lock lock(mutex_);
  return drained_cv_.wait_for(lock, timeout, [this] { return processing_.empty(); });
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mutex_);
  return shutting_down_;
}

size_t WorkQueue::len() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

size_t WorkQueue::waitingLen() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

size_t WorkQueue::processingLen() const {
  std::lock_guard lock(mutex_);
  return processing_.size();
}

void WorkQueue::processDelayed() {
  std::lock_guard lock(mutex_);
  processDelayedLocked(clock_.monotonic());
}

void WorkQueue::processDelayedLocked(TimePoint now) {
  while (!heap_.empty() && heap_.top().due <= now) {
    Delayed next = heap_.top();
    heap_.pop();
    auto it = waiting_.find(next.key);
    if (it == waiting_.end() || it->second != next.due) continue;  // superseded by an earlier due
    waiting_.erase(it);
    addLocked(next.key, now);
  }
}

std::optional<Duration> WorkQueue::nextDelayedIn() const {
  std::lock_guard lock(mutex_);
  // The heap top may be a superseded entry; the map holds the live due times.
  std::optional<TimePoint> earliest;
  for (const auto& [key, due] : waiting_) {
    if (!earliest || due < *earliest) earliest = due;
  }
  if (!earliest) return std::nullopt;
  return std::max(Duration::zero(), *earliest - clock_.monotonic());
}

void WorkQueue::updateGaugesLocked() {
  if (depth_ != nullptr) depth_->set(static_cast<double>(queue_.size()));
}

void WorkQueue::updateProgressGaugesLocked(TimePoint now) {
  if (unfinished_ == nullptr) return;
  double total = 0;
  double longest = 0;
  for (const auto& [key, since] : processing_) {
    double s = seconds(now - since);
    total += s;
    longest = std::max(longest, s);
  }
  unfinished_->set(total);
  longest_->set(longest);
}

void WorkQueue::timerLoop() {
  std::unique_lock lock(mutex_);
  while (!shutting_down_) {
    TimePoint now = clock_.monotonic();
    processDelayedLocked(now);
    updateProgressGaugesLocked(now);
    // The clock may be a fake one, so the wait is recomputed from it on every wake-up.
    Duration wait = unfinished_ != nullptr ? kProgressPeriod : std::chrono::hours(1);
    if (!heap_.empty()) wait = std::min(wait, heap_.top().due - now);
    timer_cv_.wait_for(lock, std::max(wait, Duration(std::chrono::microseconds(100))));
  }
}

}  // namespace magnumd::controller
