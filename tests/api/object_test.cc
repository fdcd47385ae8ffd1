// The object envelope: decode what users write, encode what the server returns, round trip.
#include "api/object.h"

#include <gtest/gtest.h>

#include "util/yaml.h"

namespace magnumd::api {
namespace {

TEST(ObjectEnvelope, DecodeEncodeRoundTrip) {
  const char* text = R"({"apiVersion":"container-infra/v1","kind":"Cluster",)"
                     R"("metadata":{"name":"prod","namespace":"demo","uid":"u-1","resourceVersion":"42",)"
                     R"("generation":3,"creationTimestamp":"2026-01-01T00:00:00Z","labels":{"team":"platform"},)"
                     R"("annotations":{"note":"x"},"finalizers":["magnumd.io/cluster"]},)"
                     R"("spec":{"clusterTemplate":"k8s","nodeCount":2},"status":{"phase":"CREATE_COMPLETE"}})";
  auto obj = decodeObject(text);
  ASSERT_TRUE(obj.ok()) << obj.error().message;
  EXPECT_EQ(obj->kind, Kind::Cluster);
  EXPECT_EQ(obj->metadata.name, "prod");
  EXPECT_EQ(obj->metadata.resource_version, 42);
  EXPECT_EQ(obj->metadata.generation, 3);
  EXPECT_EQ(obj->metadata.labels.at("team"), "platform");
  EXPECT_EQ(obj->spec, R"({"clusterTemplate":"k8s","nodeCount":2})");
  EXPECT_EQ(encodeObject(*obj), text);
  auto again = decodeObject(encodeObject(*obj));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *obj);
}

TEST(ObjectEnvelope, YamlDocumentsDecodeLikeJson) {
  auto docs = util::parseYamlDocuments(R"(apiVersion: container-infra/v1
kind: NodeGroup
metadata: {name: big, namespace: demo}
spec: {cluster: prod, nodeCount: 2}
---
apiVersion: container-infra/v1
kind: ClusterTemplate
metadata: {name: t}
spec: {coe: kubernetes}
)");
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 2u);
  auto ng = decodeObject(static_cast<const util::Json&>((*docs)[0]));
  ASSERT_TRUE(ng.ok());
  EXPECT_EQ(ng->kind, Kind::NodeGroup);
  EXPECT_EQ(ng->spec, R"({"cluster":"prod","nodeCount":2})");
}

TEST(ObjectEnvelope, RejectsUnknownTopLevelAndMetadataFields) {
  auto top = decodeObject(R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"a"},"spce":{}})");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().code, util::ErrorCode::BadRequest);
  EXPECT_NE(top.error().message.find("spce"), std::string::npos);
  auto meta = decodeObject(R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"a","nmae":"b"}})");
  ASSERT_FALSE(meta.ok());
  EXPECT_NE(meta.error().message.find("nmae"), std::string::npos);
}

TEST(ObjectEnvelope, RejectsWrongApiVersionKindAndTypes) {
  EXPECT_FALSE(decodeObject(R"({"apiVersion":"v1","kind":"Cluster"})").ok());
  EXPECT_FALSE(decodeObject(R"({"apiVersion":"container-infra/v1","kind":"Pod"})").ok());
  EXPECT_FALSE(decodeObject(R"({"apiVersion":"container-infra/v1"})").ok());
  EXPECT_FALSE(decodeObject(R"({"apiVersion":"container-infra/v1","kind":"Cluster","spec":[]})").ok());
  EXPECT_FALSE(decodeObject(R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"labels":{"a":1}}})").ok());
  EXPECT_FALSE(decodeObject(R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"resourceVersion":"x"}})").ok());
  EXPECT_FALSE(decodeObject("[]").ok());
}

TEST(ObjectEnvelope, DeepNestingIsRejectedBeforeAnythingRecursesIntoIt) {
  std::string deep = R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"a"},"spec":{"x":)";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}}";
  auto r = decodeObject(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::BadRequest);
  EXPECT_NE(r.error().message.find("nested deeper than"), std::string::npos) << r.error().message;
}

TEST(ObjectEnvelope, StringsMustBeUtf8WhateverTheyWereDecodedFrom) {
  // Both parsers validate UTF-8 now; decodeObject still checks values built any other way.
  auto docs = util::parseYamlDocuments("apiVersion: container-infra/v1\nkind: Cluster\nmetadata: {name: \"a\xff\"}\n");
  ASSERT_FALSE(docs.ok());
  EXPECT_NE(docs.error().message.find("UTF-8"), std::string::npos) << docs.error().message;
  auto doc = util::parseJson(R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"a"}})");
  ASSERT_TRUE(doc.ok());
  (*doc)["metadata"]["name"].SetString("a\xff", doc->GetAllocator());
  auto r = decodeObject(static_cast<const util::Json&>(*doc));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("UTF-8"), std::string::npos) << r.error().message;
}

TEST(ObjectEnvelope, MalformedYamlThatYamlCppCannotEndIsAnError) {
  // yaml-cpp 0.7 loops forever (allocating) on a lone ","; found by fuzz_replay.
  auto r = util::parseYamlDocuments(",");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::BadRequest);
}

TEST(ObjectEnvelope, NegativeResourceVersionIsRejected) {
  EXPECT_FALSE(decodeObject(R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"a","resourceVersion":-1}})").ok());
}

TEST(ObjectEnvelope, KindNames) {
  EXPECT_EQ(kindFromAnyName("ct"), Kind::ClusterTemplate);
  EXPECT_EQ(kindFromAnyName("Clusters"), Kind::Cluster);
  EXPECT_EQ(kindFromAnyName("NG"), Kind::NodeGroup);
  EXPECT_EQ(kindFromAnyName("pods"), std::nullopt);
  EXPECT_EQ(kindFromPlural("nodegroups"), Kind::NodeGroup);
}

}  // namespace
}  // namespace magnumd::api
