// The audit notifier: encodes each event once and hands it to every sink through the sink's own
// bounded queue and thread. emit() never blocks; a sink that cannot deliver (a broker outage, a
// full disk) keeps retrying its oldest notification with a backoff while newer ones wait in its
// queue, and when the queue is full further ones are dropped and counted in
// magnumd_audit_dropped_total{sink}. Delivery is at least once per sink: a notification leaves
// the queue only when the sink says it was delivered.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <vector>

#include "audit/cadf.h"
#include "util/metrics.h"
#include "util/result.h"

namespace magnumd::audit {

class Sink {
 public:
  virtual ~Sink() = default;
  // The metric label: "file", "amqp".
  virtual std::string_view name() const = 0;
  // Delivers one notification or says why not (it is offered again after a backoff). Runs on
  // the sink's own thread; may block, for a bounded time (a connect, a broker's confirm).
  virtual util::Status send(const Notification& notification) = 0;
  // Releases connections and files; called on the sink's thread as it ends.
  virtual void close() {}
};
using SinkPtr = std::unique_ptr<Sink>;

struct NotifierOptions {
  size_t queue_size = 10000;  // notifications each sink buffers
  Publisher publisher;
  std::chrono::milliseconds retry_initial{250};
  std::chrono::milliseconds retry_max{10000};
};

class AuditNotifier {
 public:
  AuditNotifier(NotifierOptions options, util::MetricsRegistry& metrics);
  ~AuditNotifier();
  AuditNotifier(const AuditNotifier&) = delete;
  AuditNotifier& operator=(const AuditNotifier&) = delete;

  void addSink(SinkPtr sink);  // before start()
  void start();
  // Stops taking notifications, delivers what is queued for at most `drain` (not waiting on a
  // sink that is failing), then ends every sink's thread. What is left counts as dropped.
  void stop(std::chrono::milliseconds drain);

  // Encodes the event with a fresh id and time and queues it for every sink. Never blocks.
  void emit(const AuditEvent& event);
  void publish(const Notification& notification);

  const Publisher& publisher() const { return options_.publisher; }
  size_t queued(std::string_view sink) const;  // for tests and the log

 private:
  class Worker;
  struct Metrics {
    util::Family<util::Counter>& dropped;
    util::Family<util::Counter>& delivered;
    util::Family<util::Gauge>& queued;
    util::Family<util::Gauge>& up;
  };
  NotifierOptions options_;
  Metrics metrics_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool started_ = false;
};

}  // namespace magnumd::audit
