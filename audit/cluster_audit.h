// Which moments of a Cluster's life are audited, as Magnum's conductor and periodic task do:
//   pending  when the API accepts a create, an update of the spec (a resize, an upgrade = a
//            template change, a CA rotation = a caGeneration bump, any other spec change), a
//            resize of one of its node groups, or a delete;
//   success  when status.phase moves to CREATE_COMPLETE, UPDATE_COMPLETE (or ROLLBACK_COMPLETE),
//            and when a deleted cluster is gone (magnumd has no DELETE_COMPLETE: the object goes);
//   failure  when status.phase moves to *_FAILED, with status.statusReason as the reason.
// The rules are pure functions; ClusterAuditor applies them to the API's writes and to a watch
// on Clusters, remembering who started each operation so its outcome names them too.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "api/object.h"
#include "audit/cadf.h"
#include "audit/notifier.h"
#include "controller/informer.h"
#include "store/store.h"

namespace magnumd::audit {

// The pending event an accepted API write starts, if any. `before` is null for a create;
// `deleted` says the write was a DELETE (then `after` is the object as the store left it).
std::optional<AuditEvent> pendingEvent(const Initiator& initiator, const api::Object* before,
                                       const api::Object& after, bool deleted);

// A resize of one of the cluster's node groups (its nodeCount changed), as Magnum's
// cluster_resize reports it: an update of `cluster`, pending.
std::optional<AuditEvent> nodeGroupResizeEvent(const Initiator& initiator,
                                               const api::Object& before, const api::Object& after,
                                               const api::Object& cluster);

// The outcome a status change reports, if any: a phase that became *_COMPLETE or *_FAILED.
std::optional<AuditEvent> outcomeEvent(const api::Object& before, const api::Object& after);

// The outcome of a cluster that is gone: its delete succeeded.
AuditEvent goneEvent(const api::Object& last);

class ClusterAuditor {
 public:
  ClusterAuditor(store::Store& store, AuditNotifier& notifier);
  ~ClusterAuditor();
  ClusterAuditor(const ClusterAuditor&) = delete;
  ClusterAuditor& operator=(const ClusterAuditor&) = delete;

  // Starts watching Clusters; clusters that exist at start report nothing until they change.
  void start();
  void stop();
  // Waits (real time) until the watch has the clusters that exist, so none of their later
  // changes goes unseen.
  bool waitForSync(controller::Duration timeout) const { return clusters_.waitForSync(timeout); }

  // Whether this auditor reports outcomes (true unless told otherwise). Every replica's watch
  // sees every status change, and each would report the same outcome: only the leader, whose
  // controllers made the change, reports it. Pending events are reported by the replica whose
  // API took the write, which only that one sees. An outcome names its initiator when the leader
  // served the request that started it, else magnumd (who it was is in the pending event).
  void setReportsOutcomes(bool reports) { reports_outcomes_ = reports; }

  // An API write that reached the store (any kind; only Clusters are audited). Never blocks.
  void onApiWrite(const Initiator& initiator, const api::Object* before, const api::Object& after,
                  bool deleted);

 private:
  void onUpdate(const api::Object& before, const api::Object& after);
  void onGone(const api::Object& last);
  Initiator initiatorOf(const std::string& uid, bool forget);

  AuditNotifier& notifier_;
  controller::Informer clusters_;
  std::mutex mutex_;
  std::map<std::string, Initiator> initiators_;  // by cluster uid: who asked for its operation
  std::atomic<bool> reports_outcomes_{true};
};

}  // namespace magnumd::audit
