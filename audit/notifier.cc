#include "audit/notifier.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "audit/bounded_queue.h"
#include "util/log.h"

namespace magnumd::audit {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

// One sink's queue and delivery thread.
class AuditNotifier::Worker {
 public:
  Worker(SinkPtr sink, const NotifierOptions& options, const Metrics& metrics)
      : sink_(std::move(sink)),
        name_(sink_->name()),
        queue_(options.queue_size),
        retry_initial_(options.retry_initial),
        retry_max_(options.retry_max),
        dropped_(metrics.dropped.with({name_})),
        delivered_(metrics.delivered.with({name_})),
        queued_(metrics.queued.with({name_})),
        up_(metrics.up.with({name_})) {
    up_.set(1);
  }

  ~Worker() { join(); }

  const std::string& name() const { return name_; }
  size_t queued() const { return queue_.size(); }

  void offer(const Notification& notification) {
    if (queue_.tryPush(notification)) {
      queued_.set(static_cast<double>(queue_.size()));
    } else {
      dropped_.inc();
    }
  }

  void start() {
    thread_ = std::thread([this] { run(); });
  }

  void requestStop(Clock::time_point deadline) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      deadline_ = deadline;
    }
    wake_.notify_all();
    queue_.close();
  }

  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }
  bool pastDeadline() {
    std::lock_guard lock(mutex_);
    return stopping_ && Clock::now() >= deadline_;
  }
  // Sleeps for the backoff; false when asked to stop meanwhile.
  bool sleepFor(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, d, [this] { return stopping_; });
  }

  void dropRemaining(size_t in_hand) {
    size_t lost = in_hand + queue_.clear();
    queued_.set(0);
    if (lost == 0) return;
    dropped_.inc(static_cast<double>(lost));
    LOG_WARN("audit", "sink {}: {} notification(s) not delivered before shutdown", name_, lost);
  }

  void run() {
    std::optional<Notification> pending;
    auto backoff = retry_initial_;
    uint64_t failures = 0;
    for (;;) {
      if (!pending) {
        pending = queue_.pop();
        if (!pending) break;  // stopped and empty
        queued_.set(static_cast<double>(queue_.size()));
      }
      if (pastDeadline()) {
        dropRemaining(1);
        break;
      }
      auto sent = sink_->send(*pending);
      if (sent.ok()) {
        delivered_.inc();
        pending.reset();
        if (failures > 0) {
          LOG_INFO("audit", "sink {}: delivering again after {} failed attempt(s); {} queued",
                   name_, failures, queue_.size());
        }
        failures = 0;
        backoff = retry_initial_;
        up_.set(1);
        continue;
      }
      up_.set(0);
      if (failures++ == 0) {
        LOG_WARN("audit", "sink {}: cannot deliver ({}); retrying with backoff, buffering up to {}",
                 name_, sent.error().message, queue_.capacity());
      } else {
        LOG_DEBUG("audit", "sink {}: attempt {} failed: {}", name_, failures, sent.error().message);
      }
      if (stopping() || !sleepFor(backoff)) {
        dropRemaining(1);  // a failing sink is not waited for at shutdown
        break;
      }
      backoff = std::min(backoff * 2, retry_max_);
    }
    sink_->close();
  }

  SinkPtr sink_;
  std::string name_;
  BoundedQueue<Notification> queue_;
  std::chrono::milliseconds retry_initial_;
  std::chrono::milliseconds retry_max_;
  util::Counter& dropped_;
  util::Counter& delivered_;
  util::Gauge& queued_;
  util::Gauge& up_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  Clock::time_point deadline_{};
};

AuditNotifier::AuditNotifier(NotifierOptions options, util::MetricsRegistry& metrics)
    : options_(std::move(options)),
      metrics_{metrics.counter("magnumd_audit_dropped_total",
                               "Audit notifications dropped, by sink: its queue was full (the "
                               "sink could not deliver for longer than --audit-queue-size "
                               "notifications last) or magnumd stopped before delivering them.",
                               {"sink"}),
               metrics.counter("magnumd_audit_delivered_total",
                               "Audit notifications a sink delivered (the file written, the "
                               "broker's confirm received).",
                               {"sink"}),
               metrics.gauge("magnumd_audit_queued",
                             "Audit notifications waiting in a sink's queue.", {"sink"}),
               metrics.gauge("magnumd_audit_sink_up",
                             "1 when a sink's last delivery succeeded, 0 while it is failing.",
                             {"sink"})} {
  options_.queue_size = std::max<size_t>(options_.queue_size, 1);
}

AuditNotifier::~AuditNotifier() { stop(std::chrono::milliseconds(0)); }

void AuditNotifier::addSink(SinkPtr sink) {
  workers_.push_back(std::make_unique<Worker>(std::move(sink), options_, metrics_));
}

void AuditNotifier::start() {
  if (started_) return;
  started_ = true;
  for (auto& worker : workers_) worker->start();
}

void AuditNotifier::stop(std::chrono::milliseconds drain) {
  auto deadline = Clock::now() + drain;
  for (auto& worker : workers_) worker->requestStop(deadline);
  for (auto& worker : workers_) worker->join();
}

void AuditNotifier::emit(const AuditEvent& event) {
  if (workers_.empty()) return;
  publish(encodeNotification(event, newStamp(), options_.publisher));
}

void AuditNotifier::publish(const Notification& notification) {
  for (auto& worker : workers_) worker->offer(notification);
}

size_t AuditNotifier::queued(std::string_view sink) const {
  for (const auto& worker : workers_) {
    if (worker->name() == sink) return worker->queued();
  }
  return 0;
}

}  // namespace magnumd::audit
