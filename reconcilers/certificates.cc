#include "reconcilers/certificates.h"

#include <fmt/format.h>

#include "api/ca_rotation.h"

namespace magnumd::reconcilers {

using secrets::Rotation;

namespace {

CertificatePlan make(CertificateAction action, std::string_view phase, std::string message) {
  return {action, std::string(phase), "", std::move(message)};
}

}  // namespace

CertificatePlan planCertificates(const CertificateInput& in) {
  const int64_t next = in.generation + 1;
  switch (in.rotation) {
    case Rotation::Trust:
      if (!in.cluster_info_written) {
        return make(CertificateAction::WriteClusterInfo, api::kCaTrusting,
                    fmt::format("step 1 of 3: publishing CA generation {} beside {} in "
                                "cluster-info",
                                in.generation, in.generation - 1));
      }
      if (in.at_wanted) {
        return make(CertificateAction::ToSign, api::kCaSigning,
                    "step 2 of 3: every node trusts both CAs; replacing nodes to get "
                    "certificates from the new CAs");
      }
      return make(CertificateAction::None, api::kCaTrusting,
                  "step 1 of 3: replacing nodes so that each trusts the old and the new CAs");
    case Rotation::Sign:
      if (in.at_wanted) {
        return make(CertificateAction::ToDrop, api::kCaDropping,
                    "step 3 of 3: every node has certificates from the new CAs; replacing "
                    "nodes to drop the old CAs");
      }
      return make(CertificateAction::None, api::kCaSigning,
                  "step 2 of 3: replacing nodes to get certificates from the new CAs");
    case Rotation::Drop:
      if (!in.cluster_info_written) {
        return make(CertificateAction::WriteClusterInfo, api::kCaDropping,
                    "step 3 of 3: publishing only the new CAs in cluster-info");
      }
      if (in.at_wanted) {
        return make(CertificateAction::Finish, api::kCaComplete,
                    fmt::format("CA generation {} is the only one", in.generation));
      }
      return make(CertificateAction::None, api::kCaDropping,
                  "step 3 of 3: replacing nodes to drop the old CAs");
    case Rotation::None:
      break;
  }

  std::string reason;
  if (in.requested_generation > in.generation) {
    reason = api::kCaRequested;
  } else if (in.ca_expires && in.now + in.renew_before >= *in.ca_expires) {
    reason = api::kCaExpiring;
  }
  if (!reason.empty()) {
    const std::string why =
        reason == api::kCaRequested
            ? fmt::format("spec.caGeneration asks for generation {}", in.requested_generation)
            : fmt::format("a CA expires on {}, within renewBefore",
                          util::formatRfc3339(*in.ca_expires));
    if (!in.cannot_replace_masters.empty()) {
      return make(
          CertificateAction::None, api::kCaWaiting,
          fmt::format("{}, but the CAs cannot be rotated: {}", why, in.cannot_replace_masters));
    }
    if (!in.rollout_idle || !in.at_wanted) {
      return make(CertificateAction::None, api::kCaWaiting,
                  fmt::format("{}; the rotation starts once the running rollout completes", why));
    }
    CertificatePlan plan = make(CertificateAction::Begin, api::kCaTrusting,
                                fmt::format("{}: rotating to CA generation {}", why, next));
    plan.reason = reason;
    return plan;
  }
  if (in.oldest_master && in.cannot_replace_masters.empty() && in.rollout_idle && in.at_wanted &&
      in.now + in.renew_before >= *in.oldest_master + in.leaf_validity) {
    return make(CertificateAction::RenewMasters, api::kCaComplete,
                fmt::format("the masters' certificates expire about {}; replacing the masters",
                            util::formatRfc3339(*in.oldest_master + in.leaf_validity)));
  }
  // Only times still ahead: a renewal already due waits for what blocks it (a rollout, which
  // brings the cluster back when it completes), and must not turn into a pass every second.
  CertificatePlan plan = make(CertificateAction::None, api::kCaComplete, "");
  auto consider = [&](util::SystemTime due) {
    if (due > in.now && (!plan.recheck_at || due < *plan.recheck_at)) plan.recheck_at = due;
  };
  if (in.ca_expires) consider(*in.ca_expires - in.renew_before);
  if (in.oldest_master && in.cannot_replace_masters.empty())
    consider(*in.oldest_master + in.leaf_validity - in.renew_before);
  return plan;
}

}  // namespace magnumd::reconcilers
