// When and how long to wait before retrying an HTTP request. Pure functions, so the policy
// is tested without sockets or sleeping.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "util/time.h"

namespace magnumd::drivers::http {

struct RetryOptions {
  int max_attempts = 4;                                  // first try included
  std::chrono::milliseconds base_delay{500};             // doubled per attempt
  std::chrono::milliseconds max_delay{20000};            // cap of the exponential part
  std::chrono::milliseconds max_retry_after{60000};      // a server asking for longer is capped
};

// GET, HEAD, PUT, DELETE, OPTIONS: repeating them cannot create a second resource.
bool isIdempotent(std::string_view method);
// 429 and 5xx, except 501 Not Implemented and 505 which no retry can fix.
bool isRetryableStatus(int status);
// Retry-After as delta-seconds or an HTTP-date; nullopt when absent or unparseable.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         util::SystemTime now);
// Delay before attempt `attempt` + 1 (attempt counts from 1): exponential backoff with equal
// jitter (half fixed, half random from random01 in [0,1)); a Retry-After wins, capped.
std::chrono::milliseconds retryDelay(int attempt, const RetryOptions& options, double random01,
                                     std::optional<std::chrono::milliseconds> retry_after);

}  // namespace magnumd::drivers::http
