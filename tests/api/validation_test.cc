// Syntax checks shared by the kinds.
#include "api/validation.h"

#include <gtest/gtest.h>

namespace magnumd::api {
namespace {

TEST(Syntax, IpAddresses) {
  for (const char* ok : {"8.8.8.8", "0.0.0.0", "255.255.255.255", "::", "::1", "fe80::1", "2001:db8::8:800:200c:417a",
                         "1:2:3:4:5:6:7:8"}) {
    EXPECT_TRUE(parseIp(ok).has_value()) << ok;
  }
  for (const char* bad : {"", "8.8.8", "8.8.8.8.8", "256.1.1.1", "01.1.1.1", "1..1.1", "a.b.c.d", ":::", "1:2:3:4:5:6:7:8:9",
                          "1::2::3", "12345::", "1:", "8.8.8.8 "}) {
    EXPECT_FALSE(parseIp(bad).has_value()) << "[" << bad << "]";
  }
}

TEST(Syntax, Cidrs) {
  EXPECT_EQ(cidrProblem("10.100.0.0/16", true), std::nullopt);
  EXPECT_EQ(cidrProblem("0.0.0.0/0", true), std::nullopt);
  EXPECT_EQ(cidrProblem("fd00::/8", false), std::nullopt);
  EXPECT_TRUE(cidrProblem("10.100.0.1/16", true).has_value());
  EXPECT_TRUE(cidrProblem("10.100.0.0/+16", true).has_value());
  EXPECT_TRUE(cidrProblem("10.100.0.0/", true).has_value());
  EXPECT_TRUE(cidrProblem("/16", true).has_value());
  EXPECT_TRUE(cidrProblem("fd00::/129", false).has_value());
}

TEST(Syntax, Urls) {
  EXPECT_EQ(urlProblem("http://proxy:3128", true), std::nullopt);
  EXPECT_EQ(urlProblem("https://[2001:db8::1]:8443/x", true), std::nullopt);
  EXPECT_EQ(urlProblem("https://user@host:1/", true), std::nullopt);
  EXPECT_TRUE(urlProblem("http://:3128", true).has_value());
  EXPECT_TRUE(urlProblem("http://host:0", false).has_value());
  EXPECT_TRUE(urlProblem("http://host:-1", false).has_value());
  EXPECT_TRUE(urlProblem("ftp://host:21", false).has_value());
  EXPECT_TRUE(urlProblem("http://ho st:1", false).has_value());
}

TEST(Syntax, QuotedValuesAreEscapedAndShort) {
  EXPECT_EQ(api::quoted("a\"b"), R"("a\"b")");
  EXPECT_EQ(api::quoted(std::string_view("\n", 1)), R"("\u000a")");
  EXPECT_LT(api::quoted(std::string(1000, 'x')).size(), 100u);
}

TEST(Syntax, Integers) {
  EXPECT_EQ(parseInteger("24"), 24);
  EXPECT_EQ(parseInteger("-3"), -3);
  EXPECT_EQ(parseInteger("2x"), std::nullopt);
  EXPECT_EQ(parseInteger(""), std::nullopt);
  EXPECT_EQ(parseInteger("99999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace magnumd::api
