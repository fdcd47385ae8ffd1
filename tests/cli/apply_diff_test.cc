#include "cli/apply_diff.h"

#include <gtest/gtest.h>

namespace magnumd::cli {
namespace {

util::JsonDoc parse(const std::string& text) {
  auto doc = util::parseJson(text);
  EXPECT_TRUE(doc.ok()) << text;
  return std::move(doc).value();
}

// The live object as the server returns it after creating `manifest`: server-owned metadata,
// defaults filled into spec, a status.
util::JsonDoc liveAfterCreate(const util::Json& manifest, const std::string& extra_spec_json) {
  util::JsonDoc live = manifestForCreate(manifest, "default");
  auto& a = live.GetAllocator();
  live["metadata"].AddMember("uid", "u-1", a);
  live["metadata"].AddMember("resourceVersion", "7", a);
  auto extra = parse(extra_spec_json);
  for (auto& m : extra.GetObject())
    live["spec"].AddMember(util::Json(m.name, a), util::Json(m.value, a), a);
  live.AddMember("status", util::Json(rapidjson::kObjectType), a);
  live["status"].AddMember("phase", "CREATE_COMPLETE", a);
  return live;
}

constexpr const char* kCluster = R"({"apiVersion":"container-infra/v1","kind":"Cluster",
  "metadata":{"name":"prod","labels":{"env":"prod"}},
  "spec":{"clusterTemplate":"k8s-small","masterCount":3,"nodeCount":5,"labels":{"kube_tag":"v1.28"}}})";

TEST(ManifestForCreate, RecordsTheDeclaredConfigAndNamespace) {
  auto manifest = parse(kCluster);
  auto body = manifestForCreate(manifest, "demo");
  EXPECT_EQ(*util::stringMember(body["metadata"], "namespace"), "demo");
  auto last = util::stringMember(body["metadata"]["annotations"], kLastAppliedAnnotation);
  ASSERT_TRUE(last.has_value());
  auto declared = parse(*last);
  EXPECT_EQ(declared["spec"]["nodeCount"].GetInt(), 5);
  EXPECT_EQ(std::string(declared["metadata"]["labels"]["env"].GetString()), "prod");
  EXPECT_FALSE(declared.HasMember("apiVersion"));
}

TEST(ComputeApplyPatch, SameManifestIsUnchangedDespiteServerDefaults) {
  auto manifest = parse(kCluster);
  auto live = liveAfterCreate(manifest, R"({"createTimeout":60,"flavor":"m1.small"})");
  EXPECT_FALSE(computeApplyPatch(manifest, live).has_value());
}

TEST(ComputeApplyPatch, ChangedFieldPatchesOnlyThatFieldAndTheAnnotation) {
  auto manifest = parse(kCluster);
  auto live = liveAfterCreate(manifest, R"({"flavor":"m1.small"})");
  auto changed = parse(kCluster);
  changed["spec"]["nodeCount"].SetInt(7);
  auto patch = computeApplyPatch(changed, live);
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ((*patch)["spec"].MemberCount(), 1u);
  EXPECT_EQ((*patch)["spec"]["nodeCount"].GetInt(), 7);
  EXPECT_FALSE((*patch)["metadata"].HasMember("labels"));
  auto last = parse((*patch)["metadata"]["annotations"][kLastAppliedAnnotation.data()].GetString());
  EXPECT_EQ(last["spec"]["nodeCount"].GetInt(), 7);
}

TEST(ComputeApplyPatch, FieldRemovedFromTheFileIsNulledButForeignFieldsStay) {
  auto manifest = parse(kCluster);
  auto live = liveAfterCreate(manifest, R"({"flavor":"m1.small"})");
  // Someone else labelled the object; the user then drops kube_tag and the env label.
  live["metadata"]["labels"].AddMember("team", "infra", live.GetAllocator());
  auto next =
      parse(R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"prod"},
    "spec":{"clusterTemplate":"k8s-small","masterCount":3,"nodeCount":5}})");
  auto patch = computeApplyPatch(next, live);
  ASSERT_TRUE(patch.has_value());
  EXPECT_TRUE((*patch)["spec"]["labels"].IsNull());
  EXPECT_FALSE((*patch)["spec"].HasMember("flavor"));  // a default, never declared
  EXPECT_TRUE((*patch)["metadata"]["labels"]["env"].IsNull());
  EXPECT_FALSE((*patch)["metadata"]["labels"].HasMember("team"));
}

TEST(ComputeApplyPatch, NestedMapsPatchOnlyChangedKeys) {
  auto manifest = parse(kCluster);
  auto live = liveAfterCreate(manifest, "{}");
  live["spec"]["labels"].AddMember("kube_dashboard_enabled", "true", live.GetAllocator());
  auto next = parse(kCluster);
  next["spec"]["labels"]["kube_tag"].SetString("v1.29");
  auto patch = computeApplyPatch(next, live);
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ(util::toJson((*patch)["spec"]), R"({"labels":{"kube_tag":"v1.29"}})");
}

TEST(ComputeApplyPatch, ObjectWithoutAnnotationGetsItOnFirstApply) {
  auto manifest = parse(kCluster);
  auto live = liveAfterCreate(manifest, "{}");
  live["metadata"].RemoveMember("annotations");
  auto patch = computeApplyPatch(manifest, live);
  ASSERT_TRUE(patch.has_value());  // "configured": only the bookkeeping annotation changes
  EXPECT_FALSE(patch->HasMember("spec"));
  EXPECT_TRUE((*patch)["metadata"]["annotations"].HasMember(kLastAppliedAnnotation.data()));
  // Applying again against the patched object is then unchanged.
  live["metadata"].AddMember("annotations",
                             util::Json((*patch)["metadata"]["annotations"], live.GetAllocator()),
                             live.GetAllocator());
  EXPECT_FALSE(computeApplyPatch(manifest, live).has_value());
}

TEST(ComputeApplyPatch, NumbersCompareByValueAcrossIntAndDouble) {
  auto manifest =
      parse(R"({"kind":"ClusterTemplate","metadata":{"name":"t"},"spec":{"dockerVolumeSize":5}})");
  auto live = liveAfterCreate(manifest, "{}");
  live["spec"]["dockerVolumeSize"].SetDouble(5.0);
  EXPECT_FALSE(computeApplyPatch(manifest, live).has_value());
}

TEST(DeclaredConfig, LeavesOutTheLastAppliedAnnotationItself) {
  auto manifest = parse(R"({"kind":"Cluster","metadata":{"name":"p","annotations":{
    "note":"x","magnumctl.container-infra/last-applied-configuration":"{}"}}})");
  auto declared = declaredConfig(manifest);
  EXPECT_EQ(util::toJson(declared["metadata"]), R"({"labels":{},"annotations":{"note":"x"}})");
}

}  // namespace
}  // namespace magnumd::cli
