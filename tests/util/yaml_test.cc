#include "util/yaml.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace magnumd::util {
namespace {

TEST(Yaml, MultiDocumentWithTypedScalars) {
  auto r = parseYamlDocuments("a: 1\nb: \"1\"\nc: true\nd: 'x'\n---\n---\ne: [1, two]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(toJson((*r)[0]), R"({"a":1,"b":"1","c":true,"d":"x"})");
  EXPECT_EQ(toJson((*r)[1]), R"({"e":[1,"two"]})");
}

TEST(Yaml, ErrorsNameLine) {
  auto r = parseYamlDocuments("a: [1, 2\nb: 3\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("line"), std::string::npos);
}

TEST(Yaml, DuplicateKeysRejected) {
  auto r = parseYamlDocuments("a: 1\na: 2\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("duplicate"), std::string::npos);
}

TEST(Yaml, RoundTripKeepsStringsThatLookLikeOtherTypes) {
  auto doc = parseJson(R"({"x":"true","n":"5","s":"plain","l":[1,2],"o":{}})");
  ASSERT_TRUE(doc.ok());
  auto back = parseYamlDocuments(toYaml(*doc));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(toJson((*back)[0]), R"({"x":"true","n":"5","s":"plain","l":[1,2],"o":{}})");
}

TEST(Yaml, LooksLikeYaml) {
  EXPECT_FALSE(looksLikeYaml("  {\"a\":1}"));
  EXPECT_TRUE(looksLikeYaml("a: 1"));
}

}  // namespace
}  // namespace magnumd::util

namespace magnumd::util {
namespace {

TEST(Yaml, AliasBombIsRejectedNotExpanded) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    bomb += fmt::format("{0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n", c, prev);
    prev = c;
  }
  auto r = parseYamlDocuments(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("alias"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace magnumd::util
