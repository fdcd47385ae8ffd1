#include "util/json.h"

#include <gtest/gtest.h>

#include <string>

namespace magnumd::util {
namespace {

TEST(Json, ParseErrorNamesOffset) {
  auto r = parseJson(R"({"a": 1,})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  EXPECT_NE(r.error().message.find("offset"), std::string::npos);
}

TEST(Json, DeepNestingDoesNotCrash) {
  std::string deep(200000, '[');
  auto r = parseJson(deep);
  EXPECT_FALSE(r.ok());
}

TEST(Json, TypedMembersTolerateWrongTypes) {
  auto r = parseJson(R"({"s":"x","i":5,"b":true})");
  ASSERT_TRUE(r.ok());
  const Json& v = *r;
  EXPECT_EQ(stringMember(v, "s"), "x");
  EXPECT_EQ(intMember(v, "i"), 5);
  EXPECT_EQ(boolMember(v, "b"), true);
  EXPECT_EQ(stringMember(v, "i"), std::nullopt);
  EXPECT_EQ(intMember(v, "missing"), std::nullopt);
}

}  // namespace
}  // namespace magnumd::util
