#include "cmd/audit_wiring.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "audit/amqp_sink.h"
#include "audit/cluster_audit.h"
#include "audit/file_sink.h"
#include "audit/notifier.h"
#include "util/log.h"

namespace magnumd::cmd {

namespace {

using util::ErrorCode;
using util::makeError;

// What is still queued gets this long to be delivered at shutdown.
constexpr auto kDrain = std::chrono::seconds(2);

std::string hostName() {
  char host[256] = {};
  return ::gethostname(host, sizeof(host) - 1) == 0 ? host : "localhost";
}

class AuditComponent final : public Component {
 public:
  explicit AuditComponent(AuditOptions options) : options_(std::move(options)) {}
  std::string_view name() const override { return "audit"; }

  util::Status start(Services& services) override {
    if (options_.file.empty() && options_.amqp_url.empty()) return {};
    audit::NotifierOptions notifier_options;
    notifier_options.queue_size = options_.queue_size;
    // Magnum's rpc.get_notifier(): publisher "container-infra.<host>".
    notifier_options.publisher = {"container-infra." + hostName(), util::newUuid()};
    notifier_ = std::make_unique<audit::AuditNotifier>(notifier_options, services.metrics);
    if (!options_.file.empty()) {
      auto sink = audit::FileSink::open(options_.file);
      if (!sink.ok()) return makeError(sink.error().code, "--audit-file " + sink.error().message);
      notifier_->addSink(std::move(sink).value());
      LOG_INFO("audit", "writing CADF notifications to {} (JSON lines)", options_.file);
    }
    if (!options_.amqp_url.empty()) {
      auto sink =
          audit::AmqpSink::create({.url = options_.amqp_url, .exchange = options_.exchange});
      if (!sink.ok())
        return makeError(sink.error().code, "--audit-amqp-url " + sink.error().message);
      notifier_->addSink(std::move(sink).value());
      LOG_INFO("audit", "publishing CADF notifications to {}, exchange {}, topic notifications",
               audit::redactAmqpUrl(options_.amqp_url), options_.exchange);
    }
    notifier_->start();
    auditor_ = std::make_unique<audit::ClusterAuditor>(services.store, *notifier_);
    auditor_->setReportsOutcomes(false);  // until lead(): another replica may report them
    auditor_->start();
    if (!auditor_->waitForSync(std::chrono::seconds(30))) {
      return makeError(ErrorCode::Unavailable, "the watch on clusters did not sync within 30 s");
    }
    services.api_write_observers.push_back(
        [auditor = auditor_.get()](const server::Identity& who, server::Verb verb,
                                   const api::Object* before, const api::Object& after) {
          audit::Initiator initiator{who.user, who.allNamespaces() ? "" : who.namespace_};
          auditor->onApiWrite(initiator, before, after, verb == server::Verb::Delete);
        });
    return {};
  }

  // Before the controllers' lead() (main adds this component first), so no outcome of theirs
  // goes unreported.
  util::Status lead(Services& /*services*/, const Leadership& /*leadership*/) override {
    if (auditor_) auditor_->setReportsOutcomes(true);
    return {};
  }

  void stop() override {
    if (auditor_) auditor_->stop();
    if (notifier_) notifier_->stop(kDrain);
  }

 private:
  AuditOptions options_;
  std::unique_ptr<audit::AuditNotifier> notifier_;
  std::unique_ptr<audit::ClusterAuditor> auditor_;
};

}  // namespace

void addAuditFlags(CLI::App& app, AuditOptions& options) {
  app.add_option("--audit-file", options.file,
                 "append Magnum's CADF audit notifications (cluster create, update, delete: "
                 "pending, then success or failure) to this file, one JSON object a line "
                 "(created with mode 0600)");
  app.add_option("--audit-amqp-url", options.amqp_url,
                 "publish the audit notifications to RabbitMQ as oslo.messaging does "
                 "(amqp://user:password@host:5672/vhost; topic notifications, routing keys "
                 "notifications.info and notifications.error); also from MAGNUMD_AUDIT_AMQP_URL")
      ->envname("MAGNUMD_AUDIT_AMQP_URL");
  app.add_option("--audit-exchange", options.exchange,
                 "the topic exchange audit notifications go to (Magnum's control_exchange)")
      ->capture_default_str();
  app.add_option("--audit-queue-size", options.queue_size,
                 "audit notifications each sink buffers while it cannot deliver; more are "
                 "dropped and counted in magnumd_audit_dropped_total")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
}

std::unique_ptr<Component> makeAuditComponent(AuditOptions options) {
  return std::make_unique<AuditComponent>(std::move(options));
}

}  // namespace magnumd::cmd
