#include "util/time.h"

#include <gtest/gtest.h>

#include <set>

namespace magnumd::util {
namespace {

TEST(Time, Rfc3339RoundTrip) {
  auto t = parseRfc3339("2026-11-25T11:57:21Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(formatRfc3339(*t), "2026-11-25T11:57:21Z");
}

TEST(Time, AcceptsOffsetsFractionsAndHeatStyle) {
  EXPECT_EQ(formatRfc3339(*parseRfc3339("2026-11-25T12:57:21+01:00")), "2026-11-25T11:57:21Z");
  EXPECT_EQ(formatRfc3339(*parseRfc3339("2026-11-25T11:57:21.123456Z")), "2026-11-25T11:57:21Z");
  EXPECT_EQ(formatRfc3339(*parseRfc3339("2026-11-25T11:57:21")), "2026-11-25T11:57:21Z");
  EXPECT_FALSE(parseRfc3339("yesterday"));
  EXPECT_FALSE(parseRfc3339("2026-13-25T11:57:21Z"));
}

TEST(Time, UuidsAreV4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto u = newUuid();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace magnumd::util
