// The record codec: strictness, error paths, canonical output.
#include "api/codec.h"

#include <gtest/gtest.h>

namespace magnumd::api {
namespace {

struct Inner {
  std::string name;
  int64_t size = 0;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("name", s.name);
    v("size", s.size);
  }
};

struct Outer {
  std::string title;
  std::optional<bool> flag;
  std::vector<Inner> items;
  std::optional<Inner> single;
  StringMap tags;
  template <class S, class V>
  static void fields(S& s, V& v) {
    v("title", s.title);
    v("flag", s.flag);
    v("items", s.items);
    v("single", s.single);
    v("tags", s.tags);
  }
};

TEST(Codec, DecodesNestedRecordsAndEncodesInDeclarationOrder) {
  auto r = decodeRecord<Outer>(R"({"tags":{"b":"2"},"items":[{"size":2,"name":"x"}],"title":"t","flag":false})", "spec");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->items.at(0).name, "x");
  EXPECT_EQ(r->flag, false);
  EXPECT_FALSE(r->single.has_value());
  EXPECT_EQ(encodeRecord(*r), R"({"title":"t","flag":false,"items":[{"name":"x","size":2}],"tags":{"b":"2"}})");
}

TEST(Codec, ReportsEveryProblemWithItsPath) {
  auto r = decodeRecord<Outer>(R"({"title":1,"items":[{"name":"a","sise":1},{"size":"2"}],"single":[],"x":0})", "spec");
  ASSERT_FALSE(r.ok());
  const auto& causes = r.error().causes;
  auto has = [&](std::string_view field) {
    return std::any_of(causes.begin(), causes.end(), [&](const util::Cause& c) { return c.field == field; });
  };
  EXPECT_TRUE(has("spec.title"));
  EXPECT_TRUE(has("spec.items[0].sise"));
  EXPECT_TRUE(has("spec.items[1].size"));
  EXPECT_TRUE(has("spec.single"));
  EXPECT_TRUE(has("spec.x"));
  EXPECT_NE(r.error().message.find(R"(spec: unknown field "x"; valid fields of spec: title, flag, items, single, tags)"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(R"(spec.items[0]: unknown field "sise")"), std::string::npos) << r.error().message;
}

TEST(Codec, BoundsTheNumberOfReportedProblems) {
  std::string many = "{";
  for (int i = 0; i < 1000; ++i) many += (i ? "," : "") + std::string("\"f") + std::to_string(i) + "\":1";
  many += "}";
  auto r = decodeRecord<Outer>(many, "spec");
  ASSERT_FALSE(r.ok());
  EXPECT_LE(r.error().causes.size(), 50u);
}

TEST(Codec, TopLevelMustBeAnObject) {
  auto r = decodeRecord<Outer>("[1]", "spec");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "spec: must be an object, got array");
  EXPECT_FALSE(decodeRecord<Outer>("{bad json", "spec").ok());
}

}  // namespace
}  // namespace magnumd::api

namespace magnumd::api {
namespace {

TEST(JsonShape, DepthAndUtf8) {
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  util::Json ok(rapidjson::kObjectType);
  ok.AddMember("k", util::str("h\xc3\xa9llo \xf0\x9f\x99\x82", a), a);
  EXPECT_TRUE(checkJsonShape(ok, "spec").ok());
  for (std::string_view bad : {std::string_view("\xff"), std::string_view("\xc3"), std::string_view("\xed\xa0\x80"),
                               std::string_view("\xc0\xaf"), std::string_view("\xf4\x90\x80\x80")}) {
    util::Json v(rapidjson::kObjectType);
    v.AddMember("k", util::str(bad, a), a);
    EXPECT_FALSE(checkJsonShape(v, "spec").ok()) << "value bytes " << bad.size();
    util::Json key(rapidjson::kObjectType);
    key.AddMember(util::str(bad, a), util::Json(1), a);
    EXPECT_FALSE(checkJsonShape(key, "spec").ok());
  }
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(parseBoundedJson(nested(64), "spec").ok());
  auto deep = parseBoundedJson(nested(65), "spec");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().message, "spec: must nest at most 64 levels and hold only valid UTF-8 text");
}

}  // namespace
}  // namespace magnumd::api
