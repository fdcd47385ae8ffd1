// Kubernetes-style status conditions, shared by Cluster and NodeGroup status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/field_doc.h"

namespace magnumd::api {

inline constexpr std::string_view kConditionTrue = "True";
inline constexpr std::string_view kConditionFalse = "False";
inline constexpr std::string_view kConditionUnknown = "Unknown";

inline const std::vector<std::string_view>& conditionStatuses() {
  static const std::vector<std::string_view> kStatuses = {kConditionTrue, kConditionFalse,
                                                          kConditionUnknown};
  return kStatuses;
}

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
    v("type", s.type,
      {.description = "What the condition is about: Ready, StackReady, NodesReady, ...",
       .required = true});
    v("status", s.status,
      {.description = "Whether the condition holds.",
       .values = conditionStatuses,
       .required = true});
    v("reason", s.reason, {.description = "Why, in one CamelCase word, for programs."});
    v("message", s.message,
      {.description = "Why, for people; carries the cloud's own words when it failed."});
    v("lastTransitionTime", s.last_transition_time,
      {.description = "When status last changed.", .format = "date-time"});
    v("observedGeneration", s.observed_generation,
      {.description = "The metadata.generation the condition was computed from."});
  }
};

// Finds a condition by type; nullptr when absent.
const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);

}  // namespace magnumd::api
