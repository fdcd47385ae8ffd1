#include "api/rollout.h"

#include <fmt/format.h>

#include "api/health_check.h"

namespace magnumd::api {

void validate(const RolloutStrategySpec& spec, const std::string& path, Causes& causes) {
  if (spec.max_batch_size && (*spec.max_batch_size < 1 || *spec.max_batch_size > 100)) {
    causes.add(path + ".maxBatchSize",
               fmt::format("{} is not between 1 and 100", *spec.max_batch_size));
  }
  auto surge = parseIntOrPercent(spec.max_surge);
  auto unavailable = parseIntOrPercent(spec.max_unavailable);
  if (!surge.ok()) {
    causes.add(path + ".maxSurge", fmt::format("{} is {}, such as 1 or 25%",
                                               quoted(spec.max_surge), surge.error().message));
  }
  if (!unavailable.ok()) {
    causes.add(path + ".maxUnavailable",
               fmt::format("{} is {}, such as 0 or 25%", quoted(spec.max_unavailable),
                           unavailable.error().message));
  }
  if (surge.ok() && unavailable.ok() && surge->value == 0 && unavailable->value == 0 &&
      !spec.max_batch_size) {
    causes.add(path, "maxSurge and maxUnavailable cannot both be 0: nothing could be replaced");
  }
}

}  // namespace magnumd::api
