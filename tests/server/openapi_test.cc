// /openapi/v2 and /openapi/v3 as kubectl reads them: the v3 index pointing at the group-version
// by hash, the PATCH operations that tell kubectl the server validates fields itself, caching by
// hash and ETag, JSON only, and the paths the documents list being the ones the router serves.
#include "server/openapi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "api/schema.h"
#include "tests/server/api_fixture.h"

namespace magnumd::server::testing {
namespace {

using V = http::verb;

constexpr const char* kGroupVersion = "/openapi/v3/apis/container-infra/v1";

net::Response get(const std::string& target, const std::string& accept = {},
                  const std::string& if_none_match = {}) {
  net::Request request{V::get, target, 11};
  if (!accept.empty()) request.set(http::field::accept, accept);
  if (!if_none_match.empty()) request.set(http::field::if_none_match, if_none_match);
  auto parsed = parseTarget(target);
  EXPECT_TRUE(parsed.ok());
  return openApiResponse(request, parsed->path, parsed->query);
}

class OpenApiTest : public ApiTest {};

TEST_F(OpenApiTest, TheV3IndexPointsAtTheGroupVersionDocumentByItsHash) {
  auto index = call(V::get, "/openapi/v3");
  ASSERT_EQ(index.code, 200u) << index.body;
  EXPECT_EQ(index.content_type, "application/json");
  std::string url = index.json["paths"]["apis/container-infra/v1"]["serverRelativeURL"].GetString();
  EXPECT_EQ(url, std::string(kGroupVersion) + "?hash=" + openApiV3GroupVersion().etag);
  EXPECT_EQ(openApiV3GroupVersion().etag.size(), 128u);  // SHA-512, hex

  auto doc = call(V::get, url);
  ASSERT_EQ(doc.code, 200u);
  EXPECT_EQ(doc.cache_control, "public, max-age=31536000, immutable");
  EXPECT_STREQ(doc.json["openapi"].GetString(), "3.0.0");
  EXPECT_TRUE(doc.json["components"]["schemas"].HasMember("container-infra.v1.Cluster"));
  EXPECT_TRUE(
      doc.json["components"]["schemas"].HasMember(std::string(api::schema::kObjectMeta).c_str()));
  // Without a hash the answer is not to be kept.
  EXPECT_EQ(call(V::get, kGroupVersion).cache_control, "no-cache, private");
}

// kubectl skips its own schema validation and sends fieldValidation=Strict when the PATCH
// operation of the kind lists that parameter; it builds a merge patch (not a strategic one) when
// the operation does not consume strategic-merge-patch+json.
TEST_F(OpenApiTest, PatchOperationsDeclareFieldValidationAndMergePatches) {
  auto doc = util::parseJson(openApiV3GroupVersion().json);
  ASSERT_TRUE(doc.ok());
  for (const auto& info : api::allKinds()) {
    std::string path =
        std::string(kBase) + "/namespaces/{namespace}/" + std::string(info.plural) + "/{name}";
    ASSERT_TRUE((*doc)["paths"].HasMember(path.c_str())) << path;
    const auto& patch = (*doc)["paths"][path.c_str()]["patch"];
    EXPECT_STREQ(patch["x-kubernetes-group-version-kind"]["kind"].GetString(),
                 std::string(info.name).c_str());
    EXPECT_STREQ(patch["x-kubernetes-group-version-kind"]["group"].GetString(), "container-infra");
    bool field_validation = false;
    for (const auto& p : patch["parameters"].GetArray()) {
      field_validation |= std::string(p["name"].GetString()) == "fieldValidation" &&
                          std::string(p["in"].GetString()) == "query";
    }
    EXPECT_TRUE(field_validation) << path;
    std::vector<std::string> names;
    for (const auto& p : patch["parameters"].GetArray()) names.emplace_back(p["name"].GetString());
    EXPECT_NE(std::find(names.begin(), names.end(), "fieldManager"), names.end()) << path;
    EXPECT_NE(std::find(names.begin(), names.end(), "force"), names.end()) << path;
    const auto& content = patch["requestBody"]["content"];
    EXPECT_TRUE(content.HasMember("application/merge-patch+json"));
    EXPECT_TRUE(content.HasMember("application/apply-patch+yaml"));
    EXPECT_FALSE(content.HasMember("application/strategic-merge-patch+json"));
  }
}

// Every path a document lists is one the router serves, and every served collection is listed.
TEST_F(OpenApiTest, TheDocumentedPathsAreTheServedOnes) {
  for (const OpenApiDocument* document : {&openApiV3GroupVersion(), &openApiV2()}) {
    auto doc = util::parseJson(document->json);
    ASSERT_TRUE(doc.ok());
    std::set<std::string> documented;
    for (const auto& m : (*doc)["paths"].GetObject()) {
      std::string path = m.name.GetString();
      documented.insert(path);
      std::string concrete = path;
      for (auto [from, to] : {std::pair{"{namespace}", "demo"}, {"{name}", "prod"}}) {
        auto at = concrete.find(from);
        if (at != std::string::npos) concrete.replace(at, std::string(from).size(), to);
      }
      auto parsed = parseResourcePath(concrete);
      ASSERT_TRUE(parsed.has_value() && parsed->ok()) << path;
    }
    for (const auto& info : api::allKinds()) {
      EXPECT_TRUE(documented.count(std::string(kBase) + "/" + std::string(info.plural)));
      EXPECT_TRUE(documented.count(std::string(kBase) + "/namespaces/{namespace}/" +
                                   std::string(info.plural) + "/{name}/status"));
    }
  }
}

TEST_F(OpenApiTest, V2IsSwaggerJsonAndNotProtobuf) {
  auto v2 = call(V::get, "/openapi/v2");
  ASSERT_EQ(v2.code, 200u);
  EXPECT_STREQ(v2.json["swagger"].GetString(), "2.0");
  EXPECT_TRUE(v2.json["definitions"].HasMember("container-infra.v1.ClusterTemplate"));
  // What client-go's discovery asks for /openapi/v2: protobuf only.
  auto proto = call(V::get, "/openapi/v2", {}, kAdmin, "application/json",
                    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
  EXPECT_EQ(proto.code, 406u) << proto.body;
  EXPECT_EQ(proto.reason(), "NotAcceptable");
  EXPECT_EQ(call(V::get, "/openapi/v2", {}, kAdmin, "application/json",
                 "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json")
                .code,
            200u);
}

TEST_F(OpenApiTest, AStaleHashRedirectsAndAnUnchangedDocumentIsNotSentAgain) {
  auto moved = get(std::string(kGroupVersion) + "?hash=0123");
  EXPECT_EQ(moved.result(), http::status::moved_permanently);
  EXPECT_EQ(std::string(moved[http::field::location]),
            std::string(kGroupVersion) + "?hash=" + openApiV3GroupVersion().etag);

  for (const char* target : {"/openapi/v2", "/openapi/v3", kGroupVersion}) {
    auto first = get(target);
    ASSERT_EQ(first.result(), http::status::ok) << target;
    std::string etag(first[http::field::etag]);
    ASSERT_FALSE(etag.empty()) << target;
    auto again = get(target, "application/json", etag);
    EXPECT_EQ(again.result(), http::status::not_modified) << target;
    EXPECT_TRUE(again.body().empty());
    EXPECT_EQ(get(target, "application/json", "\"other\"").result(), http::status::ok);
  }
}

TEST_F(OpenApiTest, NeedsATokenAndAnswersOnlyGet) {
  EXPECT_EQ(call(V::get, "/openapi/v2", {}, "").code, 401u);
  EXPECT_EQ(call(V::get, "/openapi/v3", {}, kReaderAll).code, 200u);
  EXPECT_EQ(call(V::post, "/openapi/v3", "{}").code, 405u);
  auto missing = call(V::get, "/openapi/v3/apis/apps/v1");
  EXPECT_EQ(missing.code, 404u);
  EXPECT_EQ(missing.reason(), "NotFound");
}

// The rendered documents are kept, not rebuilt per request, and stay small.
TEST_F(OpenApiTest, DocumentsAreRenderedOnceAndBounded) {
  EXPECT_EQ(&openApiV2(), &openApiV2());
  EXPECT_EQ(openApiV3GroupVersion().json.data(), openApiV3GroupVersion().json.data());
  EXPECT_LT(openApiV2().json.size(), 512u * 1024);
  EXPECT_LT(openApiV3GroupVersion().json.size(), 512u * 1024);
}

// kubectl sends fieldValidation on every write: Strict by default, Ignore with --validate=false.
// magnumd refuses unknown fields whichever it is; an unknown directive is refused too.
TEST_F(OpenApiTest, WritesHonourFieldValidation) {
  std::string typo = R"({"apiVersion":"container-infra/v1","kind":"ClusterTemplate",)"
                     R"("metadata":{"name":"t"},"spec":{"coe":"kubernetes","image":"i",)"
                     R"("externalNetwork":"e","flavour":"m1.small"}})";
  for (const char* directive : {"Strict", "Warn", "Ignore"}) {
    auto r =
        call(V::post,
             std::string(kBase) + "/namespaces/demo/clustertemplates?fieldValidation=" + directive,
             typo);
    EXPECT_EQ(r.code, 400u) << directive << ": " << r.body;
    EXPECT_NE(r.str("/message").find("flavour"), std::string::npos) << r.body;
  }
  auto bogus = call(
      V::post, std::string(kBase) + "/namespaces/demo/clustertemplates?fieldValidation=Lenient",
      templateJson("demo", "t"));
  EXPECT_EQ(bogus.code, 400u);
  EXPECT_NE(bogus.str("/message").find("fieldValidation"), std::string::npos) << bogus.body;
  EXPECT_EQ(
      call(V::post, std::string(kBase) + "/namespaces/demo/clustertemplates?fieldValidation=Strict",
           templateJson("demo", "t"))
          .code,
      201u);
}

}  // namespace
}  // namespace magnumd::server::testing
