#include "api/health_check.h"

#include <fmt/format.h>

#include <charconv>

#include "util/time.h"

namespace magnumd::api {

namespace {

constexpr std::chrono::hours kMaxDuration{24 * 30};

std::chrono::milliseconds durationOr(const std::string& text, std::string_view fallback) {
  auto parsed = util::parseDuration(text);
  return parsed.ok() ? *parsed : *util::parseDuration(fallback);
}

void validateDuration(const std::string& value, const std::string& field, bool zero_disables,
                      Causes& causes) {
  const std::string form =
      fmt::format("{}{}", kHealthCheckDurationForm, zero_disables ? "; 0 disables the check" : "");
  auto parsed = util::parseDuration(value);
  if (!parsed.ok()) {
    causes.add(field, fmt::format("{} is not a duration: use {}", quoted(value), form));
  } else if (*parsed > kMaxDuration) {
    causes.add(field, fmt::format("{} is out of range: use {}", quoted(value), form));
  }
}

}  // namespace

int64_t IntOrPercent::scaled(int64_t total, bool round_up) const {
  if (!percent) return value;
  const int64_t product = value * total;
  return round_up ? (product + 99) / 100 : product / 100;
}

util::Result<IntOrPercent> parseIntOrPercent(std::string_view text) {
  IntOrPercent out;
  if (!text.empty() && text.back() == '%') {
    out.percent = true;
    text.remove_suffix(1);
  }
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out.value);
  if (text.empty() || ec != std::errc() || ptr != end || out.value < 0 ||
      (out.percent && out.value > 100)) {
    return util::makeError(util::ErrorCode::Invalid, fmt::format("not {}", kIntOrPercentForm));
  }
  return out;
}

HealthCheckOptions healthCheckOptionsOf(const HealthCheckSpec& spec) {
  HealthCheckOptions out;
  out.unhealthy_timeout = durationOr(spec.unhealthy_timeout, kDefaultUnhealthyTimeout);
  auto max = parseIntOrPercent(spec.max_unhealthy);
  out.max_unhealthy = max.ok() ? *max : *parseIntOrPercent(kDefaultMaxUnhealthy);
  out.min_healthy_period = durationOr(spec.min_healthy_period, kDefaultMinHealthyPeriod);
  out.node_drain_timeout = durationOr(spec.node_drain_timeout, kDefaultNodeDrainTimeout);
  out.max_remediations_per_hour = spec.max_remediations_per_hour;
  return out;
}

void validate(const HealthCheckSpec& spec, const std::string& path, Causes& causes) {
  validateDuration(spec.unhealthy_timeout, path + ".unhealthyTimeout", true, causes);
  validateDuration(spec.min_healthy_period, path + ".minHealthyPeriod", false, causes);
  validateDuration(spec.node_drain_timeout, path + ".nodeDrainTimeout", false, causes);
  if (auto max = parseIntOrPercent(spec.max_unhealthy); !max.ok()) {
    causes.add(path + ".maxUnhealthy",
               fmt::format("{} is {}, such as 2 or 40%", quoted(spec.max_unhealthy),
                           max.error().message));
  }
  if (spec.max_remediations_per_hour < 0 ||
      spec.max_remediations_per_hour > kMaxRemediationsPerHour) {
    causes.add(path + ".maxRemediationsPerHour",
               fmt::format("{} is not between 0 and {} (0 never replaces a node)",
                           spec.max_remediations_per_hour, kMaxRemediationsPerHour));
  }
}

}  // namespace magnumd::api
