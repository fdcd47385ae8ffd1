// Audit notifications (audit/): Magnum's CADF events of every cluster's life, to a JSON-lines
// file and/or RabbitMQ in oslo.messaging's form — wired as one Daemon Component that watches
// Clusters for outcomes and the API's accepted writes for pending operations. Every replica
// reports the pending events of the writes its API took; only the leader reports outcomes, so
// each event is sent once however many replicas run. Off unless --audit-file or
// --audit-amqp-url is given.
#pragma once

#include <memory>
#include <string>

#include "cmd/daemon.h"

namespace CLI {
class App;
}

namespace magnumd::cmd {

struct AuditOptions {
  std::string file;      // --audit-file
  std::string amqp_url;  // --audit-amqp-url (or MAGNUMD_AUDIT_AMQP_URL, kept out of `ps`)
  std::string exchange = "magnum";
  size_t queue_size = 10000;
};

void addAuditFlags(CLI::App& app, AuditOptions& options);

std::unique_ptr<Component> makeAuditComponent(AuditOptions options);

}  // namespace magnumd::cmd
