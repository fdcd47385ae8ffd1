// Helpers for Kubernetes-style conditions (api::Condition: type, status True|False|Unknown,
// reason, message, lastTransitionTime, observedGeneration), as typed statuses hold them
// (ClusterStatus::conditions) and on raw status JSON for kind-agnostic code.
// lastTransitionTime changes only when the status flips, so an unchanged pass writes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/condition.h"
#include "util/json.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::controller {

using Conditions = std::vector<api::Condition>;
// Lookup by type: api::findCondition(conditions, type).

bool isTrue(const Conditions& conditions, std::string_view type);
bool isFalse(const Conditions& conditions, std::string_view type);  // absent is not False

// Sets `condition` (matched by type). lastTransitionTime becomes `now` when the condition is
// new or its status differs; otherwise the stored time is kept. Returns whether anything changed.
bool setCondition(Conditions& conditions, api::Condition condition, util::SystemTime now);
bool markTrue(Conditions& conditions, std::string_view type, std::string_view reason,
              std::string_view message, int64_t generation, util::SystemTime now);
bool markFalse(Conditions& conditions, std::string_view type, std::string_view reason,
               std::string_view message, int64_t generation, util::SystemTime now);
bool markUnknown(Conditions& conditions, std::string_view type, std::string_view reason,
                 std::string_view message, int64_t generation, util::SystemTime now);
bool removeCondition(Conditions& conditions, std::string_view type);

// JSON array <-> Conditions. Decoding names the bad entry:
// `status.conditions[1].status: "yes" is not one of True, False, Unknown`.
util::Result<Conditions> decodeConditions(const util::Json& array);
void encodeConditions(const Conditions& conditions, util::Json& out, util::JsonAlloc& alloc);

// The same on a whole status document (canonical JSON text of an object).
util::Result<Conditions> conditionsOf(std::string_view status_json);
// `status_json` with `conditions` replaced (other fields and their order kept).
util::Result<std::string> withConditions(std::string_view status_json,
                                         const Conditions& conditions);

// status.observedGeneration (0 when absent) and a copy of status with it set.
int64_t observedGenerationOf(std::string_view status_json);
util::Result<std::string> withObservedGeneration(std::string_view status_json, int64_t generation);

}  // namespace magnumd::controller
