// When a cluster's certificates change: a CA rotation asked for by the spec, or started because a
// CA expires within renewBefore, moves through its three rolls (api/ca_rotation.h); the masters
// are replaced when the certificates kubeadm issued them at boot (a year, kubeadm's
// certificateValidityPeriod) would expire within renewBefore, as KubeadmControlPlane's
// rolloutBefore.certificatesExpiryDays does. A pure function of what the cluster's secret and
// status record, so a pass after a crash takes the same step.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "secrets/cluster_secrets.h"
#include "util/time.h"

namespace magnumd::reconcilers {

struct CertificateInput {
  int64_t generation = 0;  // of the CAs that sign now (the secret's)
  secrets::Rotation rotation = secrets::Rotation::None;
  bool cluster_info_written = false;           // cluster-info holds the step's CA set
  int64_t requested_generation = 0;            // spec.caGeneration
  std::optional<util::SystemTime> ca_expires;  // the earliest notAfter of the current CAs
  // When the oldest master server was created (its kubeadm certificates date from its boot).
  std::optional<util::SystemTime> oldest_master;
  util::SystemTime now{};
  std::chrono::seconds renew_before{std::chrono::hours(24 * 30)};
  std::chrono::seconds leaf_validity{std::chrono::hours(24 * 365)};
  bool rollout_idle = true;  // no rolling replacement under way
  bool at_wanted = false;    // every node group's only revision has the wanted CA set
  // Empty: the masters can be replaced. Otherwise why not (no load balancer or floating IP).
  std::string cannot_replace_masters;
};

enum class CertificateAction {
  None,              // nothing to do now (see the plan's phase and message)
  Begin,             // make generation + 1's CAs: step Trust
  WriteClusterInfo,  // make cluster-info hold the step's CA set
  ToSign,            // every node trusts both: let the new CAs sign
  ToDrop,            // every node has certificates from the new CAs: drop the old ones
  Finish,            // every node has only the new CAs: forget the old ones
  RenewMasters,      // replace the masters before their certificates expire
};

struct CertificatePlan {
  CertificateAction action = CertificateAction::None;
  std::string phase;    // status.caRotation.phase
  std::string reason;   // api::kCaRequested / kCaExpiring (Begin)
  std::string message;  // what the step waits for
  // Nothing to do yet: when a renewal (of the CAs, or of the masters' certificates) falls due,
  // so that the cluster's next pass comes then even if nothing else about it changes.
  std::optional<util::SystemTime> recheck_at;
};

CertificatePlan planCertificates(const CertificateInput& in);

}  // namespace magnumd::reconcilers
