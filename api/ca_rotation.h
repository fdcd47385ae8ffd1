// Rotation of a cluster's certificate authorities (the seed's `openstack coe ca rotate`): what
// status shows, and the names of the CA sets nodes boot with.
//
// A rotation replaces every node three times, masters first, as a rolling update
// (api/rollout.h), so that at every instant every kubelet trusts every API server it may reach
// and every API server trusts every client it serves:
//   1. Trusting:  the CA files are bundles, old CA first; the old keys still sign.
//   2. Signing:   the bundles put the new CA first; the new keys sign.
//   3. Dropping:  only the new CAs.
// Skipping step 1 would leave old workers unable to verify masters serving new certificates;
// merging steps 2 and 3 would leave new workers unable to verify old masters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/field_doc.h"

namespace magnumd::api {

inline constexpr int64_t kMaxCaGeneration = 1000000;

// status.caRotation.phase
inline constexpr std::string_view kCaComplete = "Complete";
inline constexpr std::string_view kCaWaiting = "Waiting";  // requested, not started yet
inline constexpr std::string_view kCaTrusting = "TrustingNewCa";
inline constexpr std::string_view kCaSigning = "SigningWithNewCa";
inline constexpr std::string_view kCaDropping = "DroppingOldCa";
const std::vector<std::string_view>& caRotationPhases();

// status.caRotation.reason
inline constexpr std::string_view kCaRequested = "Requested";  // spec.caGeneration was raised
inline constexpr std::string_view kCaExpiring = "Expiring";    // a CA expires within renewBefore

struct CaRotationStatus {
  int64_t generation = 0;  // the generation whose CAs sign now
  std::string phase;
  std::string reason;
  std::string message;
  std::string started;  // RFC 3339, when the current rotation began
  std::string last_completed;  // RFC 3339

  bool operator==(const CaRotationStatus&) const = default;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("generation", s.generation,
      {.description = "Generation of the CAs the cluster's nodes and kubeconfigs are issued "
                      "from."});
    v("phase", s.phase,
      {.description = "Complete; Waiting (requested, waits for a running rollout); "
                      "TrustingNewCa, SigningWithNewCa, DroppingOldCa (the three rolls of a "
                      "rotation).",
       .values = caRotationPhases});
    v("reason", s.reason,
      {.description = "Why the current or last rotation ran: Requested (spec.caGeneration) or "
                      "Expiring (a CA expires within --renew-before)."});
    v("message", s.message, {.description = "The current step, or what it waits for."});
    v("started", s.started,
      {.description = "When the current rotation began.", .format = "date-time"});
    v("lastCompleted", s.last_completed,
      {.description = "When the last rotation finished.", .format = "date-time"});
  }
};

// The CA set a node boots with, as its revision records it (NodeGroupRevision.pki):
// "" the first CAs (generation 0); "g<N>" generation N alone; "g<N>-trust" and "g<N>-sign" the
// bundles of steps 1 and 2 of the rotation to generation N. A suffix "@<time>" marks a renewal of
// the masters' certificates and changes nothing in the CA set.
enum class CaStep { Alone, Trust, Sign };
struct CaSet {
  int64_t generation = 0;
  CaStep step = CaStep::Alone;
  std::string renewal;  // "" or the renewal's RFC 3339 time

  bool operator==(const CaSet&) const = default;
};
std::string formatCaSet(const CaSet& set);
std::optional<CaSet> parseCaSet(std::string_view text);

}  // namespace magnumd::api
