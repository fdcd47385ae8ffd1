#include "cli/duration.h"

#include <gtest/gtest.h>

namespace magnumd::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ParseDuration, AcceptsGoStyleDurations) {
  EXPECT_EQ(*parseDuration("30s"), milliseconds(30000));
  EXPECT_EQ(*parseDuration("5m"), milliseconds(300000));
  EXPECT_EQ(*parseDuration("1h30m"), milliseconds(5400000));
  EXPECT_EQ(*parseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*parseDuration("2d"), milliseconds(2LL * 86400000));
  EXPECT_EQ(*parseDuration("0"), milliseconds(0));
  EXPECT_EQ(*parseDuration("1m30s"), milliseconds(90000));
}

TEST(ParseDuration, RejectsMalformedValuesWithTheAcceptedForm) {
  for (const char* bad : {"", "30", "s", "5x", "-5s", "1.5s", "5m3", "99999999999999999999h"}) {
    auto d = parseDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.error().message.find("30s, 5m"), std::string::npos) << d.error().message;
  }
}

TEST(FormatAge, MatchesKubectl) {
  EXPECT_EQ(formatAge(seconds(-5)), "<invalid>");
  EXPECT_EQ(formatAge(seconds(0)), "0s");
  EXPECT_EQ(formatAge(seconds(5)), "5s");
  EXPECT_EQ(formatAge(seconds(119)), "119s");
  EXPECT_EQ(formatAge(seconds(180)), "3m");
  EXPECT_EQ(formatAge(seconds(200)), "3m20s");
  EXPECT_EQ(formatAge(seconds(15 * 60 + 7)), "15m");
  EXPECT_EQ(formatAge(seconds(2 * 3600)), "120m");
  EXPECT_EQ(formatAge(seconds(3 * 3600 + 5 * 60)), "3h5m");
  EXPECT_EQ(formatAge(seconds(10 * 3600)), "10h");
  EXPECT_EQ(formatAge(seconds(4 * 86400)), "4d");
  EXPECT_EQ(formatAge(seconds(4 * 86400 + 3 * 3600)), "4d3h");
  EXPECT_EQ(formatAge(seconds(40 * 86400)), "40d");
  EXPECT_EQ(formatAge(seconds((2 * 365 + 10) * 86400LL)), "2y10d");
  EXPECT_EQ(formatAge(seconds(9 * 365 * 86400LL)), "9y");
}

TEST(AgeOf, ParsesTimestampsAndToleratesAbsence) {
  auto now = *util::parseRfc3339("2026-11-25T12:00:00Z");
  EXPECT_EQ(ageOf(std::string("2026-11-25T11:57:00Z"), now), "3m");
  EXPECT_EQ(ageOf(std::nullopt, now), "<unknown>");
  EXPECT_EQ(ageOf(std::string("yesterday"), now), "<unknown>");
}

}  // namespace
}  // namespace magnumd::cli
