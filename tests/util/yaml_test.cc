#include "util/yaml.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>

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

// JSON numbers past int64 (RapidJSON keeps them as uint64, then as doubles) survive YAML output.
TEST(Yaml, IntegersBeyondInt64ReadBackAsTheSameNumber) {
  for (const char* text : {"9223372036854775807", "9223372036854775808", "18446744073709551615",
                           "-9223372036854775808", "-9223372036854775809", "18446744073709551616"}) {
    auto doc = parseJson(text);
    ASSERT_TRUE(doc.ok()) << text;
    auto back = parseYamlDocuments(toYaml(*doc));
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(toJson((*back)[0]), toJson(*doc)) << text;
  }
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

namespace magnumd::util {
namespace {

TEST(Yaml, AliasBudgetCoversTheWholeStreamNotEachDocument) {
  // Each document expands to 11,111 nodes, well under the budget; 40 of them are not.
  std::string doc =
      "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
  std::string stream;
  for (int i = 0; i < 40; ++i) stream += "---\n" + doc;
  ASSERT_TRUE(parseYamlDocuments(doc).ok());
  auto r = parseYamlDocuments(stream);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::TooLarge);
  EXPECT_NE(r.error().message.find("200000 nodes"), std::string::npos) << r.error().message;
}

TEST(Yaml, AliasesExpandToCopiesOfTheirAnchors) {
  auto r = parseYamlDocuments("base: &b {x: 1, y: [a, b]}\ncopy: *b\nname: &n plain\nagain: *n\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(toJson((*r)[0]),
            R"({"base":{"x":1,"y":["a","b"]},"copy":{"x":1,"y":["a","b"]},"name":"plain","again":"plain"})");
}

TEST(Yaml, AliasInsideItsOwnAnchorIsAnError) {
  auto r = parseYamlDocuments("a: &a [1, *a]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("alias"), std::string::npos) << r.error().message;
}

TEST(Yaml, MaxDocumentsStopsAtTheFirstExtraDocument) {
  YamlLimits one;
  one.max_documents = 1;
  auto r = parseYamlDocuments("a: 1\n---\nb: [unclosed\n", one);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exactly one"), std::string::npos) << r.error().message;
  EXPECT_TRUE(parseYamlDocuments("---\n---\na: 1\n---\n", one).ok()) << "empty documents do not count";
}

TEST(Yaml, DuplicateKeysInALargeMappingAreFoundInLinearTime) {
  std::string text;
  for (int i = 0; i < 90000; ++i) text += fmt::format("k{}: 1\n", i);
  auto start = std::chrono::steady_clock::now();
  auto ok = parseYamlDocuments(text);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)[0].MemberCount(), 90000u);
  auto dup = parseYamlDocuments(text + "k5: 2\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("duplicate YAML key \"k5\""), std::string::npos);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
}

TEST(Yaml, ScalarsResolveLikeTheCoreSchema) {
  auto r = parseYamlDocuments(
      "i: -12\nf: 1.5e3\ng: .5\nh: 7.\ns: 1.2.3\nt: 1e\nu: '7'\nv: ~\nw:\nx: +3\ny: 0x1F\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(toJson((*r)[0]),
            R"({"i":-12,"f":1500.0,"g":0.5,"h":7.0,"s":"1.2.3","t":"1e","u":"7","v":null,"w":null,"x":3,"y":"0x1F"})");
}

TEST(Yaml, LongStringsEmitAndReadBack) {
  JsonDoc doc;
  doc.SetObject();
  std::string plain(300 * 1024, 'a');
  std::string quoted = std::string(300 * 1024, 'b') + ": #";
  doc.AddMember("plain", str(plain, doc.GetAllocator()), doc.GetAllocator());
  doc.AddMember("quoted", str(quoted, doc.GetAllocator()), doc.GetAllocator());
  auto back = parseYamlDocuments(toYaml(doc));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(toJson((*back)[0]), toJson(doc));
}

}  // namespace
}  // namespace magnumd::util

namespace magnumd::util {
namespace {

TEST(Yaml, InvalidUtf8IsRefusedLikeJson) {
  auto r = parseYamlDocuments("coe: \"kube\xffnetes\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("byte 10 is not valid UTF-8 text"), std::string::npos) << r.error().message;
  // NUL bytes make yaml-cpp read the text as UTF-32 or UTF-16 (found by libFuzzer).
  auto utf32 = parseYamlDocuments(std::string("\0\0\0\x02 (b# One", 12));
  ASSERT_FALSE(utf32.ok());
  EXPECT_NE(utf32.error().message.find("byte 0 is not valid UTF-8 text"), std::string::npos);
  EXPECT_FALSE(parseYamlDocuments("a: \xc3").ok()) << "a sequence cut off at the end";
  EXPECT_TRUE(parseYamlDocuments("name: \"h\xc3\xa9llo \xe2\x82\xac\"\n").ok());
}

}  // namespace
}  // namespace magnumd::util
