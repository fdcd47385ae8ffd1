#include "audit/cadf.h"

#include <fmt/format.h>

#include <ctime>

#include "api/cluster.h"
#include "util/json.h"

namespace magnumd::audit {

namespace {

using util::Json;
using util::JsonAlloc;
using util::str;

// pyCADF's constants (cadftype.py, cadftaxonomy.py) and Magnum's resource type.
constexpr std::string_view kEventTypeUri = "http://schemas.dmtf.org/cloud/audit/1.0/event";
constexpr std::string_view kUserTypeUri = "service/security/account/user";
constexpr std::string_view kServiceTypeUri = "service";
constexpr std::string_view kClusterTypeUri = "service/magnum/cluster";
constexpr std::string_view kReasonTypeUri = "service/magnum/cluster/status_reason";

struct Utc {
  std::tm tm{};
  long micros = 0;
};

Utc utc(util::SystemTime time) {
  auto since = time.time_since_epoch();
  auto seconds = std::chrono::floor<std::chrono::seconds>(since);
  Utc out;
  out.micros = static_cast<long>(
      std::chrono::duration_cast<std::chrono::microseconds>(since - seconds).count());
  std::time_t t = static_cast<std::time_t>(seconds.count());
  ::gmtime_r(&t, &out.tm);
  return out;
}

std::string dateTime(const Utc& u, char separator) {
  return fmt::format("{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}.{:06}", u.tm.tm_year + 1900,
                     u.tm.tm_mon + 1, u.tm.tm_mday, separator, u.tm.tm_hour, u.tm.tm_min,
                     u.tm.tm_sec, u.micros);
}

void addString(Json& object, std::string_view key, std::string_view value, JsonAlloc& a) {
  object.AddMember(str(key, a), str(value, a), a);
}

Json initiator(const Initiator& who, JsonAlloc& a) {
  Json out(rapidjson::kObjectType);
  if (who.user.empty()) {
    // The controllers saw the outcome and nobody's request is known: the service reports it.
    addString(out, "typeURI", kServiceTypeUri, a);
    addString(out, "id", "magnumd", a);
    addString(out, "name", "magnumd", a);
  } else {
    addString(out, "typeURI", kUserTypeUri, a);
    addString(out, "id", who.user, a);
    addString(out, "user_id", who.user, a);
  }
  if (!who.project_id.empty()) addString(out, "project_id", who.project_id, a);
  return out;
}

Json target(const ClusterTarget& t, JsonAlloc& a) {
  Json content(rapidjson::kObjectType);
  addString(content, "status", t.status, a);
  addString(content, "status_reason", t.status_reason, a);
  addString(content, "project_id", t.project_id, a);
  addString(content, "created_at", t.created_at, a);
  addString(content, "cluster_template_id", t.cluster_template, a);
  content.AddMember("node_count", Json(t.node_count), a);
  content.AddMember("master_count", Json(t.master_count), a);
  addString(content, "stack_id", t.stack_id, a);
  addString(content, "api_address", t.api_address, a);
  addString(content, "health_status", t.health_status, a);
  Json attachment(rapidjson::kObjectType);
  addString(attachment, "typeURI", kClusterTypeUri, a);
  attachment.AddMember("content", content, a);
  addString(attachment, "name", "cluster_data", a);
  Json attachments(rapidjson::kArrayType);
  attachments.PushBack(attachment, a);

  Json out(rapidjson::kObjectType);
  addString(out, "typeURI", kClusterTypeUri, a);
  addString(out, "id", t.uid, a);
  addString(out, "name", t.name, a);
  out.AddMember("attachments", attachments, a);
  return out;
}

void cadfEvent(const AuditEvent& event, const Stamp& stamp, std::string_view observer_id, Json& out,
               JsonAlloc& a) {
  out.SetObject();
  addString(out, "typeURI", kEventTypeUri, a);
  addString(out, "id", stamp.event_id, a);
  addString(out, "eventType", "activity", a);
  addString(out, "eventTime", cadfTime(stamp.time), a);
  addString(out, "action", actionName(event.action), a);
  addString(out, "outcome", outcomeName(event.outcome), a);
  out.AddMember("initiator", initiator(event.initiator, a), a);
  out.AddMember("target", target(event.target, a), a);
  Json observer(rapidjson::kObjectType);
  addString(observer, "typeURI", kClusterTypeUri, a);
  addString(observer, "id", observer_id, a);
  out.AddMember("observer", observer, a);
  if (event.outcome == Outcome::Failure) {
    Json reason(rapidjson::kObjectType);
    addString(reason, "reasonType", kReasonTypeUri, a);
    addString(reason, "reasonCode", event.reason.empty() ? event.target.status : event.reason, a);
    out.AddMember("reason", reason, a);
  }
}

}  // namespace

const char* actionName(Action action) {
  switch (action) {
    case Action::Create:
      return "create";
    case Action::Update:
      return "update";
    case Action::Delete:
      return "delete";
  }
  return "update";
}

const char* outcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::Pending:
      return "pending";
    case Outcome::Success:
      return "success";
    case Outcome::Failure:
      return "failure";
  }
  return "pending";
}

ClusterTarget clusterTarget(const api::Object& cluster) {
  ClusterTarget t;
  t.uid = cluster.metadata.uid;
  t.name = cluster.metadata.name;
  t.project_id = cluster.metadata.namespace_;
  t.created_at = cluster.metadata.creation_timestamp;
  if (auto spec = api::decodeClusterSpec(cluster.spec); spec.ok()) {
    t.cluster_template = spec->cluster_template;
    t.node_count = spec->node_count;
    t.master_count = spec->master_count;
  }
  if (auto status = api::decodeClusterStatus(cluster.status); status.ok()) {
    t.status = status->phase;
    t.status_reason = status->status_reason;
    t.stack_id = status->stack_id;
    t.api_address = status->api_address;
    t.health_status = status->health_status;
  }
  return t;
}

Stamp newStamp() { return {util::newUuid(), util::newUuid(), std::chrono::system_clock::now()}; }

std::string eventType(Action action) {
  return fmt::format("magnum.cluster.{}", actionName(action));
}

std::string encodeCadfEvent(const AuditEvent& event, const Stamp& stamp,
                            std::string_view observer_id) {
  util::JsonDoc doc;
  cadfEvent(event, stamp, observer_id, doc, doc.GetAllocator());
  return util::toJson(doc);
}

Notification encodeNotification(const AuditEvent& event, const Stamp& stamp,
                                const Publisher& publisher) {
  Notification n;
  n.event_type = eventType(event.action);
  // oslo.messaging's Notifier: notifier.error for failures, notifier.info otherwise.
  n.priority = event.outcome == Outcome::Failure ? "ERROR" : "INFO";
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  addString(doc, "message_id", stamp.message_id, a);
  addString(doc, "publisher_id", publisher.publisher_id, a);
  addString(doc, "event_type", n.event_type, a);
  addString(doc, "priority", n.priority, a);
  Json payload;
  cadfEvent(event, stamp, publisher.observer_id, payload, a);
  doc.AddMember("payload", payload, a);
  addString(doc, "timestamp", osloTime(stamp.time), a);
  n.body = util::toJson(doc);
  return n;
}

std::string osloEnvelope(std::string_view body, std::string_view unique_id) {
  // The body is a JSON object ("{...}"): the id goes in as its first member.
  const bool empty = body.find_first_not_of(" \t\r\n", 1) == body.rfind('}');
  std::string message = fmt::format(R"({{"_unique_id":"{}"{}{})", unique_id, empty ? "" : ",",
                                    empty ? std::string_view("}") : body.substr(1));
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  addString(doc, "oslo.version", "2.0", a);
  addString(doc, "oslo.message", message, a);
  return util::toJson(doc);
}

std::string cadfTime(util::SystemTime time) { return dateTime(utc(time), 'T') + "+0000"; }

std::string osloTime(util::SystemTime time) { return dateTime(utc(time), ' '); }

}  // namespace magnumd::audit
