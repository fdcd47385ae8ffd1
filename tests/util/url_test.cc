#include "util/url.h"

#include <gtest/gtest.h>

namespace magnumd::util {
namespace {

TEST(Url, EncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percentEncode("a-b.c_d~e"), "a-b.c_d~e");
  EXPECT_EQ(percentEncode("a/b c,d:e"), "a%2Fb%20c%2Cd%3Ae");
  EXPECT_EQ(percentEncode("é"), "%C3%A9");
  EXPECT_EQ(percentEncode(std::string_view("\0x", 2)), "%00x");
}

TEST(Url, QueryValuesKeepCommasAndColons) {
  EXPECT_EQ(percentEncodeQueryValue("a,b:c&d=e f"), "a,b:c%26d%3De%20f");
}

TEST(Url, DecodeUndoesEncodeAndKeepsBrokenEscapes) {
  for (std::string_view s : {"", "plain", "a/b c,d:e", "100%", "é\n"}) {
    EXPECT_EQ(percentDecode(percentEncode(s)), s);
  }
  EXPECT_EQ(percentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(percentDecode("a+b"), "a+b");
  EXPECT_EQ(percentDecode("a+b", true), "a b");
  EXPECT_EQ(percentDecode("%41%4a"), "AJ");
}

}  // namespace
}  // namespace magnumd::util
