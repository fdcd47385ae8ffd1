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

// Ages as kubectl prints them ("5m", "2d3h"): util's, shared with the API's Table responses.
using util::ageOf;
using util::formatAge;

}  // namespace magnumd::cli
