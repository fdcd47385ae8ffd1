#include "cli/duration.h"

#include <fmt/format.h>

#include <cctype>
#include <limits>

namespace magnumd::cli {

using util::ErrorCode;
using util::makeError;

namespace {

std::optional<int64_t> unitMillis(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60 * 1000;
  if (unit == "h") return 3600 * 1000;
  if (unit == "d") return 24 * 3600 * 1000;
  return std::nullopt;
}

}  // namespace

util::Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return makeError(
        ErrorCode::BadRequest,
        fmt::format("invalid duration \"{}\": {} (use e.g. 30s, 5m, 1h30m, 500ms)", text, why));
  };
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return bad("empty");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits_start = i;
    int64_t number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (number > std::numeric_limits<int64_t>::max() / 10 / (24 * 3600 * 1000)) {
        return bad("too large");
      }
      number = number * 10 + (text[i++] - '0');
    }
    if (i == digits_start) return bad("expected a number");
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) return bad("missing a unit");
    auto millis = unitMillis(unit);
    if (!millis) return bad(fmt::format("unknown unit \"{}\"", unit));
    total += number * *millis;
    if (total > std::numeric_limits<int64_t>::max() / 4) return bad("too large");
  }
  return std::chrono::milliseconds(total);
}

std::string formatAge(std::chrono::seconds age) {
  int64_t seconds = age.count();
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return fmt::format("{}s", seconds);
  int64_t minutes = seconds / 60;
  if (minutes < 10) {
    int64_t s = seconds % 60;
    return s == 0 ? fmt::format("{}m", minutes) : fmt::format("{}m{}s", minutes, s);
  }
  if (minutes < 60 * 3) return fmt::format("{}m", minutes);
  int64_t hours = minutes / 60;
  if (hours < 8) {
    int64_t m = minutes % 60;
    return m == 0 ? fmt::format("{}h", hours) : fmt::format("{}h{}m", hours, m);
  }
  if (hours < 48) return fmt::format("{}h", hours);
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    return h == 0 ? fmt::format("{}d", hours / 24) : fmt::format("{}d{}h", hours / 24, h);
  }
  if (hours < 24 * 365 * 2) return fmt::format("{}d", hours / 24);
  if (hours < 24 * 365 * 8) {
    int64_t days = (hours / 24) % 365;
    return days == 0 ? fmt::format("{}y", hours / 24 / 365)
                     : fmt::format("{}y{}d", hours / 24 / 365, days);
  }
  return fmt::format("{}y", hours / 24 / 365);
}

std::string ageOf(const std::optional<std::string>& timestamp, util::SystemTime now) {
  if (!timestamp || timestamp->empty()) return "<unknown>";
  auto t = util::parseRfc3339(*timestamp);
  if (!t) return "<unknown>";
  return formatAge(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

}  // namespace magnumd::cli
