// What one Cluster pass knows: the object, its decoded spec and status, the template, the node
// groups, the rendered stack, what the cloud shows, and what this pass did. Internal to
// reconcilers/cluster/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/cluster.h"
#include "api/cluster_template.h"
#include "api/nodegroup.h"
#include "api/object.h"
#include "drivers/cloud_driver.h"
#include "drivers/coe/coe_driver.h"
#include "drivers/kube/kube_client.h"
#include "reconcilers/cloud_observer.h"
#include "reconcilers/health_check.h"
#include "reconcilers/project_clouds.h"
#include "secrets/cluster_secrets.h"
#include "util/time.h"

namespace magnumd::reconcilers {

// The cluster as its own API shows it (cluster_control_plane.cc).
struct ControlPlaneView {
  enum class Mode {
    Off,                // not Kubernetes, no observer, or being deleted: Nova's view only
    Keep,               // paused or blocked: what was observed before stays in status
    NotAccessible,      // no floating IP on the API: magnumd cannot reach it (Magnum's rule)
    WaitingForAddress,  // the stack has not given the API address yet
    NoClusterCa,        // the cluster has no CA in magnumd's store: nothing to talk to it with
    CredentialsFailed,  // magnumd could not make its client certificate
    Tracked,            // probed by the observer; `observed` once it looked
  };
  Mode mode = Mode::Off;
  std::string api_url;
  std::string detail;  // why not Tracked
  std::optional<drivers::kube::ApiObservation> observed;
};

// Every expected node (a server of the stack) against the Nodes of the cluster's API.
struct NodeReadiness {
  bool assessed = false;  // Tracked, and either observed or failing to be
  int64_t expected = 0;
  int64_t registered = 0;              // Node objects
  int64_t ready = 0;                   // expected nodes that are Ready Nodes
  std::vector<std::string> waiting;    // "name: not joined", "name: NotReady (reason: message)"
  std::vector<std::string> timed_out;  // names past nodeStartupTimeout
  std::optional<util::SystemTime> next_deadline;  // the earliest pending timeout
  bool allReady() const { return ready == expected; }
};

// Auto-heal for this pass (cluster_remediation.cc).
struct HealthView {
  bool enabled = false;  // spec.healthCheck.enabled, else auto_healing_enabled
  bool judged = false;   // the plan below is this pass's
  api::HealthCheckOptions options{};
  HealthPlan plan;
  std::vector<api::DrainStatus> draining;         // carried in status between passes
  std::vector<api::RemediationRecord> history;    // recent remediations (status)
};

struct ClusterScope {
  api::Object cluster;  // the latest stored version; replaced after every metadata write
  ProjectCloud cloud;   // the project of the cluster's namespace: where its stack lives
  api::ClusterSpec spec;
  api::ClusterStatus old_status;
  std::optional<ObservedCluster> observed;

  std::optional<api::ClusterTemplateSpec> tmpl;
  std::optional<api::ClusterConfig> config;
  std::vector<api::Object> nodegroups;           // live, in stack order (masters first)
  std::vector<api::Object> deleting_nodegroups;  // deletionTimestamp set
  coe::CoeDriverPtr coe;
  coe::ClusterShape shape;
  std::optional<coe::StackDefinition> definition;
  std::string desired_hash;
  std::vector<api::CertificateAuthorityStatus> certificate_authorities;  // empty: not loaded

  // The stack as this pass leaves it: observed, or what an action just started.
  std::optional<drivers::Stack> stack;
  std::string blocked;      // why no cloud action can happen (template missing, ...)
  std::string failure;      // the cloud's explanation of a failed stack
  std::string progress;     // what the pass started, for statusReason ("scaling default-worker")
  bool timed_out = false;
  bool paused = false;
  ControlPlaneView control_plane;
  NodeReadiness nodes;
  HealthView health;
  // The cluster's secrets, once loaded this pass (cluster_certificates.cc).
  std::optional<secrets::ClusterSecrets> secrets;
  // When the join token must be written again (refreshJoinToken): the pass comes back then even
  // if nothing else changes, since a settled cluster gets no other reason to.
  std::optional<util::SystemTime> token_refresh_due;
  // When a CA or the masters' certificates fall due for renewal (planCertificates).
  std::optional<util::SystemTime> certificates_due;
  // The CA set new servers get (api::formatCaSet): workers, and masters (with any renewal).
  std::string worker_pki, master_pki;
  std::optional<api::CaRotationStatus> ca_rotation;  // this pass's (status.caRotation)
  std::optional<api::RolloutStatus> rollout;  // planned this pass (cluster_rollout.cc)
  bool rolling = false;                       // a rolling replacement is under way

  const std::string& uid() const { return cluster.metadata.uid; }
  std::vector<drivers::Server> serversOf(const std::string& group) const;
  // Those of one revision ("" the group's first) of the group.
  std::vector<drivers::Server> serversOf(const std::string& group, const std::string& slot) const;
};

// cluster_control_plane.cc
// The last operation's phase is already recorded as complete for this stack.
bool settled(const ClusterScope& scope);
// The phase waits for every expected node to be a Ready Node (or fails on nodeStartupTimeout).
bool waitsForNodes(const ClusterScope& scope);
// Items joined by `separator`, at most `max_items` and about `max_bytes`, then "and N more".
std::string listBounded(const std::vector<std::string>& items, size_t max_items, size_t max_bytes,
                        std::string_view separator = "; ");
// Why the operation failed on nodeStartupTimeout, naming the nodes.
std::string nodeStartupFailure(const ClusterScope& scope);

// cluster_certificates.cc
// A CA rotation is between its first roll and the end of its last.
bool caRotating(const ClusterScope& scope);

// cluster_remediation.cc
// labels auto_healing_enabled and auto_healing_controller=magnum-auto-healer: the in-cluster
// healer owns health (Magnum's rule).
bool externalHealer(const ClusterScope& scope);

}  // namespace magnumd::reconcilers
