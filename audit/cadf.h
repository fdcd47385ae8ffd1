// CADF audit events as Magnum emits them, and the notifications that carry them.
//
// Magnum builds a pyCADF event (magnum/conductor/utils.py, notify_about_cluster_operation) and
// sends it with oslo.messaging's Notifier: event_type "magnum.cluster.<action>", priority INFO,
// or ERROR when the outcome is a failure, publisher_id "container-infra.<host>". What a
// consumer (Ceilometer, an audit middleware, a SIEM) receives is that notification:
//   {"message_id", "publisher_id", "event_type", "priority", "payload": <CADF event>, "timestamp"}
// and, on RabbitMQ, the same dict wrapped by oslo.messaging's 2.0 envelope (osloEnvelope).
// No pyCADF here: the few fields are written directly, in pyCADF's names and time formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/object.h"
#include "util/time.h"

namespace magnumd::audit {

enum class Action { Create, Update, Delete };
enum class Outcome { Pending, Success, Failure };
const char* actionName(Action action);     // "create", as pyCADF's taxonomy.ACTION_CREATE
const char* outcomeName(Outcome outcome);  // "pending", "success", "failure"

// Who started the operation, as Magnum's _get_request_audit_info: the API caller. Empty user:
// nobody known (an outcome seen after a restart), reported as magnumd itself.
struct Initiator {
  std::string user;
  std::string project_id;  // the caller's namespace; empty for a caller of every namespace

  bool operator==(const Initiator&) const = default;
};

// The cluster as the event's target and its "cluster_data" attachment (Magnum's
// _get_event_target). Only what is not secret: no labels (a label may carry a password, such as
// grafana_admin_passwd), no keys, no tokens.
struct ClusterTarget {
  std::string uid;
  std::string name;
  std::string project_id;  // the cluster's namespace
  std::string status;      // status.phase
  std::string status_reason;
  std::string cluster_template;
  int64_t node_count = 0;
  int64_t master_count = 0;
  std::string stack_id;
  std::string api_address;
  std::string health_status;
  std::string created_at;
};
// The target of a stored Cluster (spec and status read leniently: a field that does not decode
// is left empty).
ClusterTarget clusterTarget(const api::Object& cluster);

struct AuditEvent {
  Action action = Action::Create;
  Outcome outcome = Outcome::Pending;
  Initiator initiator;
  ClusterTarget target;
  std::string reason;  // failures: the cluster's status.statusReason
};

// What differs between two emissions of the same event; tests fix it.
struct Stamp {
  std::string event_id;    // the CADF event's id
  std::string message_id;  // the notification's message_id
  util::SystemTime time;
};
Stamp newStamp();

// Who emits: publisher_id "container-infra.<host>" (Magnum's rpc.get_notifier default) and the
// CADF observer's id, one per process.
struct Publisher {
  std::string publisher_id;
  std::string observer_id;
};

// One notification, encoded once and shared by every sink.
struct Notification {
  std::string event_type;  // "magnum.cluster.create"
  std::string priority;    // "INFO" or "ERROR", as oslo.messaging writes it
  std::string body;        // the notification dict as compact JSON
};

std::string eventType(Action action);
// The CADF event (the notification's payload) as compact JSON.
std::string encodeCadfEvent(const AuditEvent& event, const Stamp& stamp,
                            std::string_view observer_id);
Notification encodeNotification(const AuditEvent& event, const Stamp& stamp,
                                const Publisher& publisher);

// oslo.messaging's message envelope 2.0, as its AMQP drivers send a notification: the dict plus
// "_unique_id" (a 32-hex-digit id consumers use to drop duplicates), serialised into the string
// "oslo.message" beside "oslo.version": "2.0". `body` is a notification's JSON object.
std::string osloEnvelope(std::string_view body, std::string_view unique_id);

// pyCADF's eventTime, "2026-12-07T15:58:00.317041+0000", and oslo.messaging's timestamp,
// "2026-12-07 15:58:00.317041" (str() of a UTC datetime).
std::string cadfTime(util::SystemTime time);
std::string osloTime(util::SystemTime time);

}  // namespace magnumd::audit
