#include "drivers/http/retry_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <string>

namespace magnumd::drivers::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// RFC 7231 IMF-fixdate: "Wed, 21 Oct 2015 07:28:00 GMT".
std::optional<util::SystemTime> parseHttpDate(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

bool isIdempotent(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}) {
    if (iequals(method, m)) return true;
  }
  return false;
}

bool isRetryableStatus(int status) {
  return status == 429 || (status >= 500 && status <= 599 && status != 501 && status != 505);
}

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         util::SystemTime now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(std::min<int64_t>(seconds, 86400) * 1000);
  }
  auto when = parseHttpDate(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(*when - now);
}

std::chrono::milliseconds retryDelay(int attempt, const RetryOptions& options, double random01,
                                     std::optional<std::chrono::milliseconds> retry_after) {
  if (retry_after) return std::min(*retry_after, options.max_retry_after);
  const int shift = std::clamp(attempt - 1, 0, 30);
  const int64_t base = options.base_delay.count();
  int64_t exponential = base << shift;
  if (exponential < base || exponential > options.max_delay.count()) {
    exponential = options.max_delay.count();
  }
  random01 = std::clamp(random01, 0.0, 1.0);
  const auto half = exponential / 2;
  return std::chrono::milliseconds(half + static_cast<int64_t>(random01 * double(exponential - half)));
}

}  // namespace magnumd::drivers::http
