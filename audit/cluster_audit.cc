#include "audit/cluster_audit.h"

#include "api/admission.h"
#include "api/nodegroup.h"
#include "util/json.h"

namespace magnumd::audit {

namespace {

std::string phaseOf(const api::Object& cluster) {
  auto status = util::parseJson(cluster.status);
  if (!status.ok() || !status->IsObject()) return "";
  return util::stringMember(*status, "phase").value_or("");
}

// Magnum's periodic task's status_to_event: the operation a final phase ends.
std::optional<Action> actionOfPhase(std::string_view phase) {
  if (phase.starts_with("CREATE_")) return Action::Create;
  if (phase.starts_with("UPDATE_") || phase.starts_with("ROLLBACK_")) return Action::Update;
  if (phase.starts_with("DELETE_")) return Action::Delete;
  return std::nullopt;
}

}  // namespace

std::optional<AuditEvent> pendingEvent(const Initiator& initiator, const api::Object* before,
                                       const api::Object& after, bool deleted) {
  if (after.kind != api::Kind::Cluster) return std::nullopt;
  AuditEvent event;
  event.outcome = Outcome::Pending;
  event.initiator = initiator;
  event.target = clusterTarget(after);
  if (deleted) {
    // A second DELETE of a cluster already being deleted starts nothing new.
    if (before != nullptr && before->deleting()) return std::nullopt;
    event.action = Action::Delete;
    return event;
  }
  if (before == nullptr) {
    event.action = Action::Create;
    return event;
  }
  // Metadata-only writes (labels, annotations, finalizers) are no operation on the cluster.
  if (before->spec == after.spec) return std::nullopt;
  event.action = Action::Update;
  return event;
}

std::optional<AuditEvent> nodeGroupResizeEvent(const Initiator& initiator,
                                               const api::Object& before, const api::Object& after,
                                               const api::Object& cluster) {
  if (after.kind != api::Kind::NodeGroup || cluster.kind != api::Kind::Cluster) return std::nullopt;
  auto was = api::decodeNodeGroupSpec(before.spec);
  auto now = api::decodeNodeGroupSpec(after.spec);
  if (!was.ok() || !now.ok() || was->node_count == now->node_count) return std::nullopt;
  AuditEvent event;
  event.action = Action::Update;
  event.outcome = Outcome::Pending;
  event.initiator = initiator;
  event.target = clusterTarget(cluster);
  return event;
}

std::optional<AuditEvent> outcomeEvent(const api::Object& before, const api::Object& after) {
  if (after.kind != api::Kind::Cluster) return std::nullopt;
  std::string was = phaseOf(before);
  std::string now = phaseOf(after);
  if (now == was) return std::nullopt;
  const bool complete = now.ends_with("_COMPLETE");
  const bool failed = now.ends_with("_FAILED");
  if (!complete && !failed) return std::nullopt;
  auto action = actionOfPhase(now);
  if (!action) return std::nullopt;
  AuditEvent event;
  event.action = *action;
  event.outcome = failed ? Outcome::Failure : Outcome::Success;
  event.target = clusterTarget(after);
  if (failed) event.reason = event.target.status_reason;
  return event;
}

AuditEvent goneEvent(const api::Object& last) {
  AuditEvent event;
  event.action = Action::Delete;
  event.outcome = Outcome::Success;
  event.target = clusterTarget(last);
  return event;
}

ClusterAuditor::ClusterAuditor(store::Store& store, AuditNotifier& notifier)
    : notifier_(notifier),
      clusters_(store, controller::InformerOptions{.kind = api::Kind::Cluster}) {
  clusters_.addEventHandler(controller::EventHandler{
      .on_add = nullptr,
      .on_update = [this](const controller::ObjectPtr& before,
                          const controller::ObjectPtr& after) { onUpdate(*before, *after); },
      .on_delete = [this](const controller::ObjectPtr& last) { onGone(*last); },
  });
}

ClusterAuditor::~ClusterAuditor() { stop(); }

void ClusterAuditor::start() { clusters_.start(); }

void ClusterAuditor::stop() { clusters_.stop(); }

Initiator ClusterAuditor::initiatorOf(const std::string& uid, bool forget) {
  std::lock_guard lock(mutex_);
  auto it = initiators_.find(uid);
  if (it == initiators_.end()) return {};
  Initiator who = it->second;
  if (forget) initiators_.erase(it);
  return who;
}

void ClusterAuditor::onApiWrite(const Initiator& initiator, const api::Object* before,
                                const api::Object& after, bool deleted) {
  std::optional<AuditEvent> event;
  if (after.kind == api::Kind::NodeGroup && before != nullptr && !deleted) {
    // The cluster as the watch last saw it: a cache read, so an API handler never waits.
    auto cluster = clusters_.get(
        {api::Kind::Cluster, after.metadata.namespace_, api::clusterOfNodeGroup(after.spec)});
    if (cluster) event = nodeGroupResizeEvent(initiator, *before, after, *cluster);
  } else {
    event = pendingEvent(initiator, before, after, deleted);
  }
  if (!event) return;
  {
    std::lock_guard lock(mutex_);
    initiators_[event->target.uid] = initiator;
  }
  notifier_.emit(*event);
}

void ClusterAuditor::onUpdate(const api::Object& before, const api::Object& after) {
  auto event = outcomeEvent(before, after);
  if (!event) return;
  // Forgotten once reported: a later operation nobody asked for through the API (an auto-heal
  // replacement, a certificate renewal, a retried create) is magnumd's own.
  event->initiator = initiatorOf(after.metadata.uid, true);
  if (reports_outcomes_.load()) notifier_.emit(*event);
}

void ClusterAuditor::onGone(const api::Object& last) {
  auto event = goneEvent(last);
  event.initiator = initiatorOf(last.metadata.uid, true);
  if (reports_outcomes_.load()) notifier_.emit(event);
}

}  // namespace magnumd::audit
