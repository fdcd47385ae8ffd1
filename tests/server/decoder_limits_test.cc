// Hostile inputs to the request decoders: each is refused with an error naming the limit, after
// work bounded by the limit rather than by what the input asks for, and changes nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "server/codec.h"
#include "server/patch.h"
#include "server/selectors.h"
#include "util/yaml.h"

namespace magnumd::server {
namespace {

using Clock = std::chrono::steady_clock;

util::JsonDoc parse(std::string_view text) {
  auto doc = util::parseJson(text);
  EXPECT_TRUE(doc.ok()) << doc.error().message;
  return std::move(doc).value();
}

// An object the size of a stored Cluster with a big annotation.
util::JsonDoc objectWithAnnotation(size_t bytes) {
  return parse(fmt::format(R"({{"metadata":{{"name":"prod","annotations":{{"note":"{}"}}}},"spec":{{}}}})",
                           std::string(bytes, 'x')));
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(JsonPatchLimits, CopyDoublingIsStoppedByTheCopyBudgetAndLeavesTheResultBounded) {
  // The reported attack: each "copy" doubles the document.
  auto doc = objectWithAnnotation(50 * 1024);
  std::string ops = R"([{"op":"copy","from":"/metadata","path":"/spec/seed"})";
  for (int i = 0; i < 24; ++i) {
    ops += fmt::format(R"(,{{"op":"copy","from":"/spec","path":"/spec/c{}"}})", i);
  }
  ops += "]";
  auto patch = parse(ops);
  auto start = Clock::now();
  auto status = applyJsonPatch(doc, patch, doc.GetAllocator());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, util::ErrorCode::TooLarge);
  EXPECT_NE(status.error().message.find("4194304 bytes"), std::string::npos) << status.error().message;
  EXPECT_LT(secondsSince(start), 2.0);
  EXPECT_LT(jsonSizeUpTo(doc, 64 << 20), 8u << 20) << "work stopped near the budget";
}

TEST(JsonPatchLimits, ResultLargerThanABodyIsRefused) {
  auto doc = objectWithAnnotation(10);
  PatchLimits limits;
  limits.max_result_bytes = 4096;
  std::string big(3000, 'y');
  auto patch = parse(fmt::format(R"([{{"op":"add","path":"/spec/a","value":"{0}"}},
                                     {{"op":"copy","from":"/spec/a","path":"/spec/b"}}])",
                                 big));
  auto status = applyJsonPatch(doc, patch, doc.GetAllocator(), limits);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, util::ErrorCode::TooLarge);
  EXPECT_NE(status.error().message.find("larger than 4096 bytes"), std::string::npos);
}

TEST(JsonPatchLimits, TooManyOperationsAreRefusedBeforeAnyIsApplied) {
  auto doc = objectWithAnnotation(10);
  std::string ops = "[";
  for (int i = 0; i < 10001; ++i) {
    ops += fmt::format(R"({}{{"op":"add","path":"/spec/k{}","value":1}})", i ? "," : "", i);
  }
  ops += "]";
  auto patch = parse(ops);
  auto status = applyJsonPatch(doc, patch, doc.GetAllocator());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, util::ErrorCode::TooLarge);
  EXPECT_NE(status.error().message.find("at most 10000"), std::string::npos);
  EXPECT_FALSE(doc["spec"].HasMember("k0"));
}

TEST(JsonPatchLimits, ScanningALargeObjectManyTimesRunsOutOfSteps) {
  // 9,000 keys added, then 9,000 lookups of the last one: quadratic without a budget.
  auto doc = objectWithAnnotation(10);
  std::string ops = R"([{"op":"add","path":"/spec/m","value":{)";
  for (int i = 0; i < 9000; ++i) ops += fmt::format(R"({}"k{}":1)", i ? "," : "", i);
  ops += "}}";
  for (int i = 0; i < 9000; ++i) ops += R"(,{"op":"test","path":"/spec/m/k8999","value":1})";
  ops += "]";
  auto patch = parse(ops);
  auto start = Clock::now();
  auto status = applyJsonPatch(doc, patch, doc.GetAllocator());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, util::ErrorCode::TooLarge);
  EXPECT_NE(status.error().message.find("steps"), std::string::npos) << status.error().message;
  EXPECT_LT(secondsSince(start), 2.0);
}

TEST(JsonPatchLimits, ValuesCannotBeNestedPastTheDepthLimit) {
  auto doc = parse(R"({"spec":{}})");
  std::string deep = "1";
  for (int i = 0; i < 40; ++i) deep = "[" + deep + "]";
  // 40 levels fit; copying them under themselves twice would not.
  auto patch = parse(fmt::format(R"([{{"op":"add","path":"/spec/a","value":{0}}},
                                     {{"op":"copy","from":"/spec/a","path":"/spec/a/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0"}}])",
                                 deep));
  auto status = applyJsonPatch(doc, patch, doc.GetAllocator());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("deeper than 64"), std::string::npos) << status.error().message;
}

TEST(JsonPatchLimits, FailedTestOnLargeValuesShowsAShortMessage) {
  auto doc = objectWithAnnotation(100 * 1024);
  auto patch = parse(R"([{"op":"test","path":"/metadata/annotations/note","value":"nope"}])");
  auto status = applyJsonPatch(doc, patch, doc.GetAllocator());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, util::ErrorCode::Invalid);
  EXPECT_LT(status.error().message.size(), 1000u);
}

TEST(JsonPatchLimits, TestComparesLargeObjectsInLinearTime) {
  std::string members;
  for (int i = 0; i < 20000; ++i) members += fmt::format(R"({}"k{}":{})", i ? "," : "", i, i);
  auto doc = parse(fmt::format(R"({{"spec":{{"m":{{{}}}}}}})", members));
  auto patch = parse(fmt::format(R"([{{"op":"test","path":"/spec/m","value":{{{}}}}}])", members));
  auto start = Clock::now();
  auto status = applyJsonPatch(doc, patch, doc.GetAllocator());
  EXPECT_TRUE(status.ok()) << status.error().message;
  EXPECT_LT(secondsSince(start), 2.0);
}

TEST(MergePatchLimits, ManyKeysMergeInLinearTime) {
  // 60,000 new keys into a map: one FindMember scan per key would be 1.8e9 comparisons.
  auto doc = objectWithAnnotation(10);
  std::string members;
  for (int i = 0; i < 60000; ++i) members += fmt::format(R"({}"k{}":"")", i ? "," : "", i);
  auto patch = parse(fmt::format(R"({{"metadata":{{"annotations":{{{}}}}}}})", members));
  auto start = Clock::now();
  auto status = applyMergePatch(doc, patch, doc.GetAllocator());
  EXPECT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(doc["metadata"]["annotations"].MemberCount(), 60001u);
  EXPECT_LT(secondsSince(start), 2.0);
}

TEST(MergePatchLimits, RemovalsAndAdditionsInOneLargePatch) {
  std::string members;
  for (int i = 0; i < 100; ++i) members += fmt::format(R"({}"k{}":{})", i ? "," : "", i, i);
  auto doc = parse(fmt::format(R"({{"m":{{{}}}}})", members));
  std::string patch_members;
  for (int i = 0; i < 100; i += 2) patch_members += fmt::format(R"("k{}":null,)", i);
  patch_members += R"("new":true,"k1":"one")";
  auto patch = parse(fmt::format(R"({{"m":{{{}}}}})", patch_members));
  ASSERT_TRUE(applyMergePatch(doc, patch, doc.GetAllocator()).ok());
  const auto& m = doc["m"];
  EXPECT_EQ(m.MemberCount(), 51u);
  EXPECT_FALSE(m.HasMember("k0"));
  EXPECT_FALSE(m.HasMember("k98"));
  EXPECT_EQ(m["k99"].GetInt(), 99);
  EXPECT_STREQ(m["k1"].GetString(), "one");
  EXPECT_TRUE(m["new"].GetBool());
}

TEST(MergePatchLimits, ResultLargerThanABodyIsRefused) {
  auto doc = objectWithAnnotation(600 * 1024);
  auto patch = parse(fmt::format(R"({{"spec":{{"more":"{}"}}}})", std::string(600 * 1024, 'z')));
  auto status = applyMergePatch(doc, patch, doc.GetAllocator());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, util::ErrorCode::TooLarge);
  EXPECT_NE(status.error().message.find("1048576"), std::string::npos);
}

TEST(BodyLimits, YamlMultiDocumentBodyIsRefusedAtTheSecondDocument) {
  // A thousand documents, each an alias bomb that fits the per-document budget: refused after
  // the first, without converting the rest.
  std::string doc = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "---\n" + doc;
  auto start = Clock::now();
  auto decoded = decodeBody("application/yaml", body);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("exactly one YAML document"), std::string::npos)
      << decoded.error().message;
  EXPECT_LT(secondsSince(start), 1.0);
}

TEST(BodyLimits, JsonNestedDeeperThanTheLimitIsRefused) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  auto decoded = decodeBody("application/json", deep);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("deeper than"), std::string::npos);
  auto direct = util::parseJson(deep);
  ASSERT_FALSE(direct.ok());
  EXPECT_NE(direct.error().message.find("deeper than 128"), std::string::npos);
}

TEST(BodyLimits, YamlBlockNestingIsBounded) {
  // "- - - - ..." nests a block sequence per two bytes, with no bracket to count.
  std::string body;
  for (int i = 0; i < 20000; ++i) body += "- ";
  body += "x\n";
  auto decoded = decodeBody("application/yaml", body);
  ASSERT_FALSE(decoded.ok());
}

TEST(BodyLimits, LargeAnnotationRendersAsYamlWithoutDeepRecursion) {
  // A 200 KB string crashed the YAML emitter's std::regex check (one recursion per character).
  auto doc = objectWithAnnotation(256 * 1024 - 100);
  std::string yaml = render(doc, Format::Yaml);
  auto back = util::parseYamlDocuments(yaml);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(util::toJson((*back)[0]), util::toJson(doc));
}

TEST(BodyLimits, JsonBodiesMayNotRepeatAKeyAnyMoreThanYaml) {
  auto small = decodeBody("application/json", R"({"spec":{"nodeCount":1,"nodeCount":5}})");
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("duplicate key \"nodeCount\" in the object at \"/spec\""),
            std::string::npos)
      << small.error().message;
  std::string members;
  for (int i = 0; i < 50000; ++i) members += fmt::format(R"("k{}":1,)", i);
  auto start = Clock::now();
  auto large = decodeBody("application/json", fmt::format(R"({{"a":[{{{}"k7":2}}]}})", members));
  ASSERT_FALSE(large.ok());
  EXPECT_NE(large.error().message.find("\"k7\" in the object at \"/a/0\""), std::string::npos)
      << large.error().message;
  EXPECT_LT(secondsSince(start), 2.0);
  EXPECT_TRUE(decodeBody("application/json", R"({"a":{"x":1},"b":{"x":1}})").ok());
}

TEST(SelectorLimits, FieldSelectorsAreBounded) {
  std::string many;
  for (int i = 0; i < 17; ++i) many += fmt::format("{}metadata.name=n{}", i ? "," : "", i);
  auto too_many = parseFilter({{"fieldSelector", many}});
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("more than 16"), std::string::npos);
  auto too_long = parseFilter({{"fieldSelector", "metadata.name=" + std::string(5000, 'a')}});
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("at most 4096"), std::string::npos);
  EXPECT_TRUE(parseFilter({{"fieldSelector", "metadata.name=a,metadata.namespace!=b"}}).ok());
}

}  // namespace
}  // namespace magnumd::server
