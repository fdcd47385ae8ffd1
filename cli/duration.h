// Durations as operators type them ("30s", "5m", "1h30m") and ages as kubectl prints them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/time.h"

namespace magnumd::cli {

// "30s", "5m", "1h30m": util::parseDuration, shared with the API's duration fields.
using util::parseDuration;

// kubectl's HumanDuration: "45s", "3m20s", "15m", "2h5m", "10h", "4d3h", "40d", "2y10d".
std::string formatAge(std::chrono::seconds age);

// Age of an RFC 3339 timestamp at `now`; "<unknown>" when absent or unparsable.
std::string ageOf(const std::optional<std::string>& timestamp, util::SystemTime now);

}  // namespace magnumd::cli
