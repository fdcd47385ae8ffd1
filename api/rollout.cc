#include "api/rollout.h"

#include <fmt/format.h>

#include "api/health_check.h"
#include "api/labels.h"

namespace magnumd::api {

void validate(const RolloutStrategySpec& spec, const std::string& path, Causes& causes) {
  if (spec.max_batch_size && (*spec.max_batch_size < 1 || *spec.max_batch_size > kMaxBatchSize)) {
    causes.add(path + ".maxBatchSize",
               fmt::format("{} is not between 1 and {}", *spec.max_batch_size, kMaxBatchSize));
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

namespace {

std::string effectiveVersion(std::string_view kube_tag) {
  return kubernetesVersionOf({{"kube_tag", std::string(kube_tag)}});
}

}  // namespace

std::optional<std::string> completedKubernetesVersion(const RolloutStatus& rollout,
                                                      std::string_view node_group) {
  for (const auto& group : rollout.node_groups) {
    if (group.node_group != node_group || group.revisions.empty()) continue;
    // The oldest revision, except that a revert moves the revision it returns to last: the lowest
    // version recorded is the one the group started from either way.
    std::string lowest = effectiveVersion(group.revisions.front().kube_tag);
    for (const auto& r : group.revisions) {
      std::string version = effectiveVersion(r.kube_tag);
      auto order = compareKubernetesVersions(version, lowest);
      if (order && *order < 0) lowest = std::move(version);
    }
    return lowest;
  }
  return std::nullopt;
}

bool isKubernetesDowngrade(std::string_view wanted, std::string_view completed) {
  auto order = compareKubernetesVersions(effectiveVersion(wanted), effectiveVersion(completed));
  return order && *order < 0;
}

}  // namespace magnumd::api
