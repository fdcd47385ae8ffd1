#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace magnumd::util {

using SystemTime = std::chrono::system_clock::time_point;

// An injectable clock so tests never read the real time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
  virtual std::chrono::steady_clock::time_point monotonic() const = 0;
};

class RealClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

// RFC 3339 in UTC with second precision: "2026-11-25T11:57:21Z".
std::string formatRfc3339(SystemTime t);
// Accepts "Z" or "+hh:mm" offsets and optional fractional seconds; also Heat's "2026-11-25T11:57:21".
std::optional<SystemTime> parseRfc3339(std::string_view text);

// kubectl's HumanDuration: "45s", "3m20s", "15m", "2h5m", "10h", "4d3h", "40d", "2y10d".
std::string formatAge(std::chrono::seconds age);

// Age of an RFC 3339 timestamp at `now`; "<unknown>" when absent or unparsable.
std::string ageOf(const std::optional<std::string>& timestamp, SystemTime now);

// Go's time.ParseDuration subset, as operators type durations ("30s", "5m", "1h30m", "500ms",
// "2d"): a sequence of <integer><unit> with units ms, s, m, h, d; "0" alone is zero. Errors are
// BadRequest quoting the text and showing the accepted form.
Result<std::chrono::milliseconds> parseDuration(std::string_view text);

// A random version-4 UUID (from /dev/urandom-seeded generator).
std::string newUuid();

}  // namespace magnumd::util
