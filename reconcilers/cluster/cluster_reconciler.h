// The Cluster reconciler: makes one Heat stack per Cluster match the Cluster, its template and
// its NodeGroups; creates the default node groups; deletes the stack (and the node groups) when
// the Cluster is deleted; reports what it observes in the Cluster's status.
//
// A pass (style.md): load → deleting? delete path : ensure finalizer (before any cloud
// resource) → paused? → resolve template → ensure default node groups → render the stack →
// compare with the observed stack and act → compute status from observation → write it only if
// it changed. Observation comes from the CloudObserver's cache; targeted cloud calls happen only
// to act, to adopt a stack after a crash, or to explain a failure.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "api/cluster.h"
#include "controller/event_recorder.h"
#include "controller/informer.h"
#include "controller/types.h"
#include "reconcilers/control_plane_observer.h"
#include "reconcilers/project_clouds.h"
#include "secrets/cluster_secrets.h"
#include "store/store.h"
#include "util/metrics.h"
#include "util/time.h"

namespace magnumd::reconcilers {

struct ClusterReconcilerOptions {
  // Safety net while a stack operation runs (the observer normally enqueues on change).
  std::chrono::milliseconds in_flight_requeue{std::chrono::seconds(30)};
  // A failed stack whose spec did not change is tried again after this, doubling per attempt.
  std::chrono::milliseconds failed_retry{std::chrono::seconds(60)};
  std::chrono::milliseconds failed_retry_max{std::chrono::minutes(10)};
  // While the observer has not completed its first full sync, passes wait this long.
  std::chrono::milliseconds unsynced_requeue{std::chrono::seconds(1)};
  // Certificates are renewed this long before they expire: a CA by a rotation, the masters'
  // kubeadm certificates (valid leaf_validity from their boot) by replacing the masters.
  std::chrono::seconds renew_before{std::chrono::hours(24 * 30)};
  std::chrono::seconds leaf_validity{std::chrono::hours(24 * 365)};
};

struct ClusterDeps {
  store::Store& store;
  controller::Informer& nodegroups;  // indexed by kByCluster
  CloudProjects& clouds;             // each namespace's project: its driver and its observer
  controller::EventRecorder& events;
  const util::Clock& clock;
  // Each cluster's CAs and join token; null in tests that render no user_data.
  secrets::ClusterSecretStore* secrets = nullptr;
  // What each Kubernetes cluster's own API shows; null: Nova's view only (a stack that completed
  // is a cluster that completed).
  ControlPlaneSource* control_plane = nullptr;
  // magnumd_remediations_total{reason}; may be null.
  util::Family<util::Counter>* remediations = nullptr;
};

struct ClusterScope;

class ClusterReconciler final : public controller::Reconciler {
 public:
  ClusterReconciler(ClusterDeps deps, ClusterReconcilerOptions options);
  ~ClusterReconciler() override;

  controller::Result reconcile(const controller::Request& request) override;

 private:
  // cluster_reconciler.cc
  controller::Result projectUnavailable(ClusterScope& scope, util::Error error);
  controller::Result reconcileNormal(ClusterScope& scope);
  util::Status resolveTemplate(ClusterScope& scope);
  controller::Result withNodeDeadline(const ClusterScope& scope, controller::Result result) const;
  controller::Result withHealthDeadline(const ClusterScope& scope, controller::Result result) const;
  controller::Result withRenewalDeadline(const ClusterScope& scope,
                                         controller::Result result) const;
  // cluster_nodegroups.cc
  util::Status ensureDefaultNodeGroups(ClusterScope& scope);
  util::Status loadNodeGroups(ClusterScope& scope);
  util::Status buildDefinition(ClusterScope& scope);
  void chooseVictims(ClusterScope& scope);
  util::Status releaseDeletedNodeGroups(ClusterScope& scope);
  // cluster_bootstrap.cc
  util::Status renderBootstrap(ClusterScope& scope);
  // CA rotation and certificate renewal (cluster_certificates.cc): takes this pass's step and
  // decides which CA set new servers get.
  util::Status manageCertificates(ClusterScope& scope);
  // Keeps the join token nodes boot with valid in the cluster (cluster_certificates.cc).
  void refreshJoinToken(ClusterScope& scope);
  // cluster_stack.cc
  controller::Result reconcileStack(ClusterScope& scope);
  controller::Result createOrAdopt(ClusterScope& scope);
  controller::Result handleFailed(ClusterScope& scope);
  controller::Result handleComplete(ClusterScope& scope);
  controller::Result repairDrift(ClusterScope& scope);
  util::Status patch(ClusterScope& scope, std::string_view why);
  std::string explain(ClusterScope& scope, const drivers::Stack& stack);
  // cluster_delete.cc
  controller::Result reconcileDelete(ClusterScope& scope);
  util::Status deleteNodeGroups(ClusterScope& scope);
  // cluster_control_plane.cc
  void observeControlPlane(ClusterScope& scope);
  void assessNodes(ClusterScope& scope);
  // cluster_rollout.cc
  util::Status planRollout(ClusterScope& scope);
  // One drain step of `node` (tracked in `draining`); true once it may go: drained, not a Node,
  // no API to drain through, or `timeout` passed. Its Node is deleted then.
  bool drainBeforeRemoval(ClusterScope& scope, const std::string& node,
                          std::vector<api::DrainStatus>& draining,
                          std::chrono::milliseconds timeout, std::string_view why);
  // cluster_remediation.cc
  void checkHealth(ClusterScope& scope);
  controller::Result remediate(ClusterScope& scope, controller::Result result);
  void healthStatus(const ClusterScope& scope, api::ClusterStatus& st, util::SystemTime now) const;
  // cluster_status.cc
  util::Status writeStatus(ClusterScope& scope);

  // Retry bookkeeping for failed stacks (per cluster uid, in memory: a restart retries once).
  struct Attempts {
    int count = 0;
    util::SystemTime last{};
  };
  std::chrono::milliseconds retryDelay(int attempts) const;
  std::optional<std::chrono::milliseconds> retryDue(const std::string& uid,
                                                    const drivers::Stack& stack);
  void noteAttempt(const std::string& uid, const drivers::Stack& stack);
  void forgetAttempts(const std::string& uid);

  ClusterDeps deps_;
  ClusterReconcilerOptions options_;

  std::mutex mutex_;
  // uid -> (stack id + status + updated) -> the cloud's explanation, so a failure is explained once.
  std::map<std::string, std::pair<std::string, std::string>> explained_;
  std::map<std::string, Attempts> attempts_;
  std::set<std::string> recreating_;  // uids whose failed stack this process deleted to retry
};

}  // namespace magnumd::reconcilers
