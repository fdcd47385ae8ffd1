// Kubernetes-style status conditions, shared by Cluster and NodeGroup status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace magnumd::api {

inline constexpr std::string_view kConditionTrue = "True";
inline constexpr std::string_view kConditionFalse = "False";
inline constexpr std::string_view kConditionUnknown = "Unknown";

struct Condition {
  std::string type;                  // Ready, StackReady, NodesReady, ...
  std::string status;                // True | False | Unknown
  std::string reason;                // CamelCase, machine-readable
  std::string message;               // human-readable; carries the cloud's own reason
  std::string last_transition_time;  // RFC 3339
  int64_t observed_generation = 0;

  bool operator==(const Condition&) const = default;

  template <class S, class V>
  static void fields(S& s, V& v) {
    v("type", s.type);
    v("status", s.status);
    v("reason", s.reason);
    v("message", s.message);
    v("lastTransitionTime", s.last_transition_time);
    v("observedGeneration", s.observed_generation);
  }
};

// Finds a condition by type; nullptr when absent.
const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);

}  // namespace magnumd::api
