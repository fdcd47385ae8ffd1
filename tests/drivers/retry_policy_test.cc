#include "drivers/http/retry_policy.h"

#include <gtest/gtest.h>

namespace magnumd::drivers::http {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicy, OnlyIdempotentMethodsAreRetried) {
  for (auto m : {"GET", "HEAD", "PUT", "DELETE", "get"}) EXPECT_TRUE(isIdempotent(m)) << m;
  for (auto m : {"POST", "PATCH", "post"}) EXPECT_FALSE(isIdempotent(m)) << m;
}

TEST(RetryPolicy, RetryableStatuses) {
  for (int s : {429, 500, 502, 503, 504}) EXPECT_TRUE(isRetryableStatus(s)) << s;
  for (int s : {200, 201, 400, 401, 404, 409, 501, 505}) EXPECT_FALSE(isRetryableStatus(s)) << s;
}

TEST(RetryPolicy, RetryAfterSecondsAndHttpDate) {
  auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parseRetryAfter("3", now), milliseconds(3000));
  EXPECT_EQ(parseRetryAfter(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", now), milliseconds(10000));
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now), milliseconds(0));
  EXPECT_EQ(parseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(parseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(parseRetryAfter("", now), std::nullopt);
}

TEST(RetryPolicy, ExponentialBackoffWithEqualJitterAndCap) {
  RetryOptions o;
  o.base_delay = milliseconds(100);
  o.max_delay = milliseconds(1000);
  EXPECT_EQ(retryDelay(1, o, 0.0, std::nullopt), milliseconds(50));
  EXPECT_EQ(retryDelay(1, o, 1.0, std::nullopt), milliseconds(100));
  EXPECT_EQ(retryDelay(2, o, 0.0, std::nullopt), milliseconds(100));
  EXPECT_EQ(retryDelay(3, o, 0.5, std::nullopt), milliseconds(300));
  EXPECT_EQ(retryDelay(10, o, 1.0, std::nullopt), milliseconds(1000));   // capped
  EXPECT_EQ(retryDelay(1000, o, 1.0, std::nullopt), milliseconds(1000)); // no overflow
}

TEST(RetryPolicy, RetryAfterWinsButIsBounded) {
  RetryOptions o;
  o.max_retry_after = milliseconds(2000);
  EXPECT_EQ(retryDelay(1, o, 0.9, milliseconds(1500)), milliseconds(1500));
  EXPECT_EQ(retryDelay(1, o, 0.9, milliseconds(600000)), milliseconds(2000));
}

}  // namespace
}  // namespace magnumd::drivers::http
