// Label selectors: the grammar kubectl users type, matching semantics, and parse errors.
#include <gtest/gtest.h>

#include "tests/api/helpers.h"

namespace magnumd::api {
namespace {

using Op = Requirement::Op;

LabelSelector parse(std::string_view text) {
  auto r = parseLabelSelector(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : LabelSelector{};
}

std::string parseError(std::string_view text) {
  auto r = parseLabelSelector(text);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, util::ErrorCode::BadRequest);
  return r.error().message;
}

TEST(Selector, ParsesEveryOperator) {
  auto s = parse("a=b,c==d,e!=f,g in (x,y),h notin (z),i,!j");
  ASSERT_EQ(s.requirements.size(), 7u);
  EXPECT_EQ(s.requirements[0].op, Op::Equals);
  EXPECT_EQ(s.requirements[1].op, Op::Equals);
  EXPECT_EQ(s.requirements[1].values, std::vector<std::string>{"d"});
  EXPECT_EQ(s.requirements[2].op, Op::NotEquals);
  EXPECT_EQ(s.requirements[3].op, Op::In);
  EXPECT_EQ(s.requirements[3].values, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(s.requirements[4].op, Op::NotIn);
  EXPECT_EQ(s.requirements[5].op, Op::Exists);
  EXPECT_EQ(s.requirements[6].op, Op::DoesNotExist);
  EXPECT_EQ(s.requirements[6].key, "j");
  EXPECT_EQ(s.toString(), "a=b,c=d,e!=f,g in (x,y),h notin (z),i,!j");
}

TEST(Selector, ToleratesWhitespace) {
  auto s = parse("  tier = gold ,  env in ( prod , staging ) , ! legacy  ");
  ASSERT_EQ(s.requirements.size(), 3u);
  EXPECT_EQ(s.requirements[0].key, "tier");
  EXPECT_EQ(s.requirements[0].values[0], "gold");
  EXPECT_EQ(s.requirements[1].values, (std::vector<std::string>{"prod", "staging"}));
  EXPECT_EQ(s.requirements[2].key, "legacy");
  EXPECT_EQ(s.toString(), "tier=gold,env in (prod,staging),!legacy");
}

TEST(Selector, EmptySelectsEverything) {
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("   ").empty());
  EXPECT_TRUE(parse("").matches({{"a", "b"}}));
}

TEST(Selector, PrefixedKeysAndEmptyValues) {
  auto s = parse("example.com/tier=gold,team=");
  EXPECT_EQ(s.requirements[0].key, "example.com/tier");
  EXPECT_EQ(s.requirements[1].values, std::vector<std::string>{""});
  EXPECT_TRUE(s.matches({{"example.com/tier", "gold"}, {"team", ""}}));
}

TEST(Selector, MatchingSemantics) {
  StringMap labels{{"env", "prod"}, {"tier", "gold"}};
  EXPECT_TRUE(parse("env=prod").matches(labels));
  EXPECT_FALSE(parse("env=dev").matches(labels));
  EXPECT_FALSE(parse("missing=x").matches(labels));
  EXPECT_TRUE(parse("env!=dev").matches(labels));
  EXPECT_FALSE(parse("env!=prod").matches(labels));
  EXPECT_TRUE(parse("missing!=x").matches(labels)) << "Kubernetes: != matches objects without the key";
  EXPECT_TRUE(parse("env in (dev,prod)").matches(labels));
  EXPECT_FALSE(parse("env in (dev)").matches(labels));
  EXPECT_FALSE(parse("missing in (x)").matches(labels));
  EXPECT_TRUE(parse("env notin (dev)").matches(labels));
  EXPECT_FALSE(parse("env notin (prod)").matches(labels));
  EXPECT_TRUE(parse("missing notin (x)").matches(labels));
  EXPECT_TRUE(parse("tier").matches(labels));
  EXPECT_FALSE(parse("missing").matches(labels));
  EXPECT_TRUE(parse("!missing").matches(labels));
  EXPECT_FALSE(parse("!tier").matches(labels));
  EXPECT_TRUE(parse("env=prod,tier=gold").matches(labels));
  EXPECT_FALSE(parse("env=prod,tier=silver").matches(labels)) << "all requirements must hold";
}

TEST(Selector, ParseErrorsSayWhatIsWrong) {
  EXPECT_EQ(parseError("a in (b"), R"x(labelSelector: "a in (b" is missing ")")x");
  EXPECT_NE(parseError("a in b").find(R"(expects "(" after in)"), std::string::npos);
  EXPECT_NE(parseError("a in ()").find("empty value list"), std::string::npos);
  EXPECT_NE(parseError("a in (x,,y)").find("empty value"), std::string::npos);
  EXPECT_NE(parseError("a=b,").find("ends with a \",\""), std::string::npos);
  EXPECT_NE(parseError(",a").find("unexpected \",\" at position 0"), std::string::npos);
  EXPECT_NE(parseError("a=b;c=d").find("unexpected \";\" at position 3"), std::string::npos);
  EXPECT_NE(parseError("a b").find("expects an operator"), std::string::npos);
  EXPECT_NE(parseError("a>1").find("expects an operator"), std::string::npos);
  EXPECT_NE(parseError("-bad=x").find("key \"-bad\""), std::string::npos);
  EXPECT_NE(parseError("a=-x").find("value \"-x\""), std::string::npos);
  EXPECT_NE(parseError("!").find("expects a label key"), std::string::npos);
  EXPECT_NE(parseError("!a=b").find("unexpected \"=\""), std::string::npos);
  EXPECT_NE(parseError(std::string(5000, 'a')).find("at most 4096"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::api
