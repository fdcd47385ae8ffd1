// CA rotation and certificate renewal wired into a pass (reconcilers/certificates.h decides): the
// step is recorded in the cluster's secret (the one place that says which CAs exist), cluster-info
// is rewritten through the cluster's API before nodes that read it join, and the CA set new
// servers get is handed to the rollout (cluster_rollout.cc), which replaces the nodes.
#include <fmt/format.h>

#include <algorithm>

#include "api/ca_rotation.h"
#include "reconcilers/certificates.h"
#include "reconcilers/cluster/cluster_reconciler.h"
#include "reconcilers/cluster/cluster_scope.h"

namespace magnumd::reconcilers {

namespace {

using secrets::ClusterSecrets;
using secrets::Rotation;

std::string masterSet(const ClusterSecrets& s) {
  api::CaSet set = s.wantedCaSet();
  set.renewal = s.renewal;
  return api::formatCaSet(set);
}

// Every node group has one revision, of the CA set it should have, and the rollout is complete.
bool atWanted(const ClusterScope& scope, const ClusterSecrets& s) {
  const auto& rollout = scope.old_status.rollout;
  if (!rollout) return true;  // nothing rolled yet: every server has the CAs it was made with
  if (rollout->phase != "Complete" && !rollout->phase.empty()) return false;
  const std::string worker = api::formatCaSet(s.wantedCaSet());
  const std::string master = masterSet(s);
  for (const auto& group : scope.shape.node_groups) {
    for (const auto& g : rollout->node_groups) {
      if (g.node_group != group.name) continue;
      if (g.revisions.size() != 1) return false;
      const auto& want = group.role == api::kRoleMaster ? master : worker;
      if (g.revisions.front().pki != want) return false;
    }
  }
  return true;
}

}  // namespace

bool caRotating(const ClusterScope& scope) {
  if (!scope.ca_rotation) return false;
  const auto& phase = scope.ca_rotation->phase;
  return phase == api::kCaTrusting || phase == api::kCaSigning || phase == api::kCaDropping;
}

util::Status ClusterReconciler::manageCertificates(ClusterScope& scope) {
  if (deps_.secrets == nullptr) return {};
  ASSIGN_OR_RETURN(auto secrets, deps_.secrets->ensure(scope.cluster));
  if (scope.shape.coe != "kubernetes") {
    scope.secrets = std::move(secrets);
    return {};
  }
  api::CaRotationStatus status = scope.old_status.ca_rotation.value_or(api::CaRotationStatus{});
  std::string waiting;
  for (int step = 0; step < 4; ++step) {
    CertificateInput in;
    in.generation = secrets.generation;
    in.rotation = secrets.rotation;
    in.cluster_info_written = secrets.cluster_info == api::formatCaSet(secrets.clusterInfoCaSet());
    in.requested_generation = scope.spec.ca_generation;
    if (auto cas = secrets::summarize(secrets.pki); cas.ok()) {
      for (const auto& ca : *cas) {
        if (!in.ca_expires || ca.not_after < *in.ca_expires) in.ca_expires = ca.not_after;
      }
    }
    for (const auto& group : scope.shape.node_groups) {
      if (group.role != api::kRoleMaster) continue;
      for (const auto& s : scope.serversOf(group.name)) {
        if (s.created && (!in.oldest_master || *s.created < *in.oldest_master))
          in.oldest_master = s.created;
      }
    }
    in.now = deps_.clock.now();
    in.renew_before = options_.renew_before;
    in.leaf_validity = options_.leaf_validity;
    in.rollout_idle = !scope.old_status.rollout || scope.old_status.rollout->phase == "Complete" ||
                      scope.old_status.rollout->phase.empty();
    in.at_wanted = atWanted(scope, secrets);
    if (!scope.shape.master_lb_enabled && !scope.shape.floating_ip_enabled) {
      in.cannot_replace_masters =
          "without masterLbEnabled or floatingIpEnabled the cluster's API is its master's own "
          "address, and the masters cannot be replaced";
    }
    const CertificatePlan plan = planCertificates(in);
    scope.certificates_due = plan.recheck_at;
    status.phase = plan.phase;
    status.message = plan.message;
    waiting.clear();

    util::Result<ClusterSecrets> next = secrets;
    switch (plan.action) {
      case CertificateAction::None:
        break;
      case CertificateAction::Begin:
        next = deps_.secrets->beginRotation(scope.cluster, secrets.generation + 1, plan.reason);
        if (next.ok()) {
          deps_.events.normal(scope.cluster, "CARotationStarted",
                              "rotating the cluster's CAs to generation {} ({})", next->generation,
                              plan.message);
        }
        break;
      case CertificateAction::WriteClusterInfo: {
        const api::CaSet set = secrets.clusterInfoCaSet();
        auto bundle = secrets.nodePki(set);
        if (!bundle.ok()) return bundle.takeError();
        auto written = deps_.control_plane == nullptr
                           ? util::Status(util::makeError(util::ErrorCode::Unavailable,
                                                          "magnumd does not watch cluster APIs"))
                           : scope.cloud.call->run(deps_.control_plane->setClusterInfoCa(
                                 scope.uid(), bundle->cluster_ca.cert_pem));
        if (!written.ok()) {
          waiting = fmt::format("{}: cannot write cluster-info yet: {}", plan.message,
                                written.error().message);
          break;
        }
        next = deps_.secrets->update(scope.cluster, [&](ClusterSecrets& s) -> util::Status {
          s.cluster_info = api::formatCaSet(set);
          return {};
        });
        break;
      }
      case CertificateAction::ToSign:
      case CertificateAction::ToDrop:
      case CertificateAction::Finish: {
        const Rotation from = secrets.rotation;
        const Rotation to = plan.action == CertificateAction::ToSign   ? Rotation::Sign
                            : plan.action == CertificateAction::ToDrop ? Rotation::Drop
                                                                       : Rotation::None;
        next = deps_.secrets->update(scope.cluster, [&](ClusterSecrets& s) -> util::Status {
          if (s.rotation != from) return {};  // another pass moved it
          s.rotation = to;
          if (to == Rotation::None) s.previous.reset();
          return {};
        });
        if (next.ok() && to == Rotation::None) {
          status.last_completed = util::formatRfc3339(deps_.clock.now());
          deps_.events.normal(scope.cluster, "CARotated",
                              "the cluster's CAs are at generation {}; kubeconfigs issued from "
                              "older CAs no longer work",
                              next->generation);
        } else if (next.ok()) {
          deps_.events.normal(scope.cluster, "CARotationStep", "{}", plan.message);
        }
        break;
      }
      case CertificateAction::RenewMasters:
        next = deps_.secrets->update(scope.cluster, [&](ClusterSecrets& s) -> util::Status {
          s.renewal = util::formatRfc3339(deps_.clock.now());
          return {};
        });
        if (next.ok()) {
          deps_.events.normal(scope.cluster, "CertificatesRenewing", "{}", plan.message);
        }
        break;
    }
    if (!next.ok()) return next.takeError();
    const bool moved = plan.action != CertificateAction::None && waiting.empty();
    secrets = std::move(*next);
    if (!moved) break;
  }
  if (!waiting.empty()) status.message = waiting;
  status.generation = secrets.generation;
  if (secrets.rotation != Rotation::None) {
    status.reason = secrets.reason;
    status.started = util::formatRfc3339(secrets.rotation_started);
  }
  scope.worker_pki = api::formatCaSet(secrets.wantedCaSet());
  scope.master_pki = masterSet(secrets);
  scope.ca_rotation = std::move(status);
  scope.secrets = std::move(secrets);
  return {};
}

// kubeadm init makes the token valid for token_ttl (24 h) from the first master's boot, and the
// token cleaner deletes it once expired; every server of the stack boots with the same token, so
// a node added a day later (scale-up, rollout, auto-heal) could not join. While magnumd can reach
// the API, the token is written again with a fresh expiration once half its lifetime is gone (and
// made anew if it was already deleted), as Cluster API's kubeadm bootstrap provider does. The
// user_data does not change.
void ClusterReconciler::refreshJoinToken(ClusterScope& scope) {
  if (deps_.secrets == nullptr || deps_.control_plane == nullptr || !scope.secrets ||
      scope.control_plane.mode != ControlPlaneView::Mode::Tracked ||
      !scope.control_plane.observed || !scope.control_plane.observed->reachable) {
    return;
  }
  const auto ttl = deps_.secrets->tokenTtl();
  const auto now = deps_.clock.now();
  if (now + ttl / 2 < scope.secrets->token_expires) {
    scope.token_refresh_due = scope.secrets->token_expires - ttl / 2;
    return;
  }
  const auto expires = now + ttl;
  auto written = scope.cloud.call->run(deps_.control_plane->refreshBootstrapToken(
      scope.uid(), scope.secrets->bootstrap_token, expires));
  if (!written.ok()) {
    // Again soon, well before the token runs out (a quarter of its lifetime at most).
    scope.token_refresh_due =
        now +
        std::min<std::chrono::milliseconds>(
            options_.failed_retry, std::chrono::duration_cast<std::chrono::milliseconds>(ttl / 4));
    deps_.events.warning(scope.cluster, "JoinTokenRefreshFailed",
                         "the join token could not be renewed in the cluster (new nodes cannot "
                         "join once it expires on {}): {}",
                         util::formatRfc3339(scope.secrets->token_expires),
                         written.error().message);
    return;
  }
  auto updated = deps_.secrets->update(scope.cluster, [&](secrets::ClusterSecrets& s) -> util::Status {
    s.token_expires = expires;
    return {};
  });
  if (updated.ok()) scope.secrets = std::move(*updated);
  scope.token_refresh_due = expires - ttl / 2;
}

}  // namespace magnumd::reconcilers
