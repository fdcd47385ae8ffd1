#include "util/time.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <limits>
#include <optional>
#include <ctime>
#include <mutex>
#include <random>

namespace magnumd::util {

std::string formatRfc3339(SystemTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<SystemTime> parseRfc3339(std::string_view text) {
  std::string s(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(s).substr(static_cast<size_t>(consumed));
  std::chrono::nanoseconds fraction{0};
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int64_t scale = 100000000, value = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      value += (rest.front() - '0') * scale;
      scale /= 10;
      rest.remove_prefix(1);
    }
    fraction = std::chrono::nanoseconds(value);
  }
  int offset_minutes = 0;
  if (!rest.empty() && (rest.front() == 'Z' || rest.front() == 'z')) {
    rest.remove_prefix(1);
  } else if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) {
    int sign = rest.front() == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2) {
      return std::nullopt;
    }
    offset_minutes = sign * (oh * 60 + om);
    rest = {};
  }
  if (!rest.empty()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t secs = timegm(&tm);
  return std::chrono::system_clock::from_time_t(secs) - std::chrono::minutes(offset_minutes) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(fraction);
}

std::string newUuid() {
  static std::mutex mutex;
  static std::mt19937_64 engine{std::random_device{}()};
  uint64_t hi = 0, lo = 0;
  {
    std::lock_guard lock(mutex);
    hi = engine();
    lo = engine();
  }
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                     hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

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

std::string ageOf(const std::optional<std::string>& timestamp, SystemTime now) {
  if (!timestamp || timestamp->empty()) return "<unknown>";
  auto t = parseRfc3339(*timestamp);
  if (!t) return "<unknown>";
  return formatAge(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
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

}  // namespace magnumd::util
