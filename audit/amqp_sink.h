// The RabbitMQ audit sink: notifications as oslo.messaging's rabbit driver publishes them, so
// Ceilometer and any oslo.messaging notification listener consume them unchanged.
//   - topic exchange `exchange` (Magnum's control_exchange, "magnum"), not durable, as
//     oslo.messaging declares it by default (amqp_durable_queues = False);
//   - routing key "<topic>.<priority>": notifications.info, or notifications.error for failures;
//   - the queue of that name bound to it with that key, declared before the first publish on a
//     connection, as oslo.messaging does so that nothing is lost before a consumer binds;
//   - body: the 2.0 envelope (cadf.h osloEnvelope), content type application/json, persistent.
// Through librabbitmq (rabbitmq-c), on the notifier's sink thread only. Every publish waits
// for the broker's confirm (publisher confirms), so a notification counts as delivered only once
// the broker has it; a broker outage or restart fails send(), which disconnects, and the next
// attempt (after the notifier's backoff) connects again.
#pragma once

#include <chrono>
#include <set>
#include <string>

#include "audit/notifier.h"

namespace magnumd::audit {

struct AmqpOptions {
  std::string url;  // amqp://user:password@host:port/vhost
  std::string exchange = "magnum";
  std::string topic = "notifications";
  std::chrono::milliseconds timeout{5000};  // connect, each broker reply, each confirm
};

// The URL with its password replaced by "***", for logs and errors.
std::string redactAmqpUrl(std::string_view url);

class AmqpSink final : public Sink {
 public:
  // Checks the URL (amqp:// only; the error never contains the password); connects later.
  static util::Result<std::unique_ptr<AmqpSink>> create(AmqpOptions options);
  ~AmqpSink() override;

  std::string_view name() const override { return "amqp"; }
  util::Status send(const Notification& notification) override;
  void close() override;

 private:
  struct Target {
    std::string user, password, host, vhost;
    int port = 5672;
  };
  AmqpSink(AmqpOptions options, Target target);
  util::Status connect();
  util::Status declareQueue(const std::string& routing_key);
  util::Status waitForConfirm();
  // An error naming the broker (never the password), and the connection dropped.
  util::Error fail(std::string_view what);

  AmqpOptions options_;
  Target target_;
  std::string where_;               // "amqp://user:***@host:port/vhost"
  void* connection_ = nullptr;      // amqp_connection_state_t, kept out of this header
  std::set<std::string> declared_;  // routing keys whose queue exists on this connection
  uint64_t next_tag_ = 1;           // the broker numbers confirms per channel from 1
};

}  // namespace magnumd::audit
