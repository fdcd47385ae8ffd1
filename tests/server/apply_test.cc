// Server-side apply through ApiServer::handle: PATCH application/apply-patch+yaml with field
// managers, the 409 kube-apiserver answers a conflicting apply with, force, removal of what an
// applier stops setting, the Update entries every other write leaves, dryRun on every verb, and
// the bounds on managedFields whatever a client sends.
#include <fmt/format.h>
#include <rapidjson/pointer.h>

#include "tests/server/api_fixture.h"

namespace magnumd::server::testing {
namespace {

using V = http::verb;

constexpr const char* kApplyType = "application/apply-patch+yaml";
constexpr const char* kMergeType = "application/merge-patch+json";

std::string cluster(const std::string& name) {
  return fmt::format("{}/namespaces/demo/clusters/{}", kBase, name);
}

// A Cluster as kubectl apply --server-side sends it (YAML here; kubectl sends JSON).
std::string applied(const std::string& name, const std::string& spec,
                    const std::string& labels = "{}") {
  return fmt::format(
      "apiVersion: container-infra/v1\nkind: Cluster\nmetadata: {{name: {}, labels: {}}}\n"
      "spec: {}\n",
      name, labels, spec);
}

// The managedFields entry of `manager` with `operation`, as JSON text; "" when absent.
std::string entry(const Reply& r, const std::string& manager,
                  const std::string& operation = "Apply") {
  const util::Json* fields = rapidjson::Pointer("/metadata/managedFields").Get(r.json);
  if (fields == nullptr || !fields->IsArray()) return "";
  for (const auto& e : fields->GetArray()) {
    if (util::stringMember(e, "manager") == manager &&
        util::stringMember(e, "operation") == operation) {
      return util::toJson(e["fieldsV1"]);
    }
  }
  return "";
}

class ApplyTest : public ApiBackendTest {
 protected:
  void SetUp() override {
    ApiBackendTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  }
  Reply apply(const std::string& name, const std::string& body, const std::string& query) {
    return call(V::patch, cluster(name) + "?" + query, body, kAdmin, kApplyType);
  }
};

TEST_P(ApplyTest, TwoManagersConflictOnAFieldAndForceTakesIt) {
  const std::string spec = "{clusterTemplate: k8s, masterCount: 1, nodeCount: 2}";
  auto created = apply("ssa", applied("ssa", spec), "fieldManager=a");
  ASSERT_EQ(created.code, 201u) << created.body;
  EXPECT_EQ(created.str("/metadata/managedFields/0/manager"), "a");
  EXPECT_EQ(created.str("/metadata/managedFields/0/operation"), "Apply");
  EXPECT_EQ(created.str("/metadata/managedFields/0/apiVersion"), "container-infra/v1");
  EXPECT_EQ(created.str("/metadata/managedFields/0/fieldsType"), "FieldsV1");
  EXPECT_FALSE(created.str("/metadata/managedFields/0/time").empty());
  EXPECT_EQ(entry(created, "a"),
            R"({"f:metadata":{"f:labels":{}},"f:spec":{"f:clusterTemplate":{},"f:masterCount":{},)"
            R"("f:nodeCount":{}}})");
  const std::string rv = created.str("/metadata/resourceVersion");

  // Applying the same again writes nothing.
  auto again = apply("ssa", applied("ssa", spec), "fieldManager=a");
  ASSERT_EQ(again.code, 200u) << again.body;
  EXPECT_EQ(again.str("/metadata/resourceVersion"), rv);

  auto conflict = apply("ssa", applied("ssa", "{nodeCount: 3}"), "fieldManager=b");
  ASSERT_EQ(conflict.code, 409u) << conflict.body;
  EXPECT_EQ(conflict.reason(), "Conflict");
  EXPECT_EQ(conflict.str("/message"),
            "Apply failed with 1 conflict: conflict with \"a\": .spec.nodeCount");
  EXPECT_EQ(conflict.str("/details/causes/0/reason"), "FieldManagerConflict");
  EXPECT_EQ(conflict.str("/details/causes/0/field"), ".spec.nodeCount");
  EXPECT_EQ(conflict.str("/details/causes/0/message"), "conflict with \"a\"");
  EXPECT_EQ(call(V::get, cluster("ssa")).str("/spec/nodeCount"), "2");

  auto forced = apply("ssa", applied("ssa", "{nodeCount: 3}"), "fieldManager=b&force=true");
  ASSERT_EQ(forced.code, 200u) << forced.body;
  EXPECT_EQ(forced.str("/spec/nodeCount"), "3");
  EXPECT_EQ(forced.str("/metadata/generation"), "2");
  EXPECT_EQ(entry(forced, "b"), R"({"f:metadata":{"f:labels":{}},"f:spec":{"f:nodeCount":{}}})");
  auto stored = call(V::get, cluster("ssa"));  // kept by the store as written
  EXPECT_EQ(entry(stored, "b"), entry(forced, "b"));
  EXPECT_EQ(entry(stored, "a"), entry(forced, "a"));
  EXPECT_EQ(
      entry(forced, "a"),
      R"({"f:metadata":{"f:labels":{}},"f:spec":{"f:clusterTemplate":{},"f:masterCount":{}}})");
}

TEST_P(ApplyTest, OmittingAFieldRemovesItAndNobodyElsesFields) {
  auto created = apply("ssa",
                       applied("ssa", "{clusterTemplate: k8s, masterCount: 1, flavor: m1.large}",
                               "{team: x, tier: web}"),
                       "fieldManager=a");
  ASSERT_EQ(created.code, 201u) << created.body;
  // Another writer's label (an Update) stays; a's own omitted label and field go.
  auto labelled = call(V::patch, cluster("ssa") + "?fieldManager=kubectl-label",
                       R"({"metadata":{"labels":{"owner":"ops"}}})", kAdmin, kMergeType);
  ASSERT_EQ(labelled.code, 200u) << labelled.body;
  EXPECT_EQ(entry(labelled, "kubectl-label", "Update"),
            R"({"f:metadata":{"f:labels":{"f:owner":{}}}})");
  auto second = apply("ssa", applied("ssa", "{clusterTemplate: k8s, masterCount: 1}", "{team: x}"),
                      "fieldManager=a");
  ASSERT_EQ(second.code, 200u) << second.body;
  EXPECT_EQ(second.str("/metadata/labels/team"), "x");
  EXPECT_EQ(second.str("/metadata/labels/owner"), "ops");
  EXPECT_EQ(second.str("/metadata/labels/tier"), "");
  EXPECT_EQ(second.str("/spec/flavor"), "");
  EXPECT_EQ(second.str("/spec/nodeCount"), "1");  // a default nobody set stays
}

TEST_P(ApplyTest, EveryOtherWriteRecordsAnUpdateEntryForItsManager) {
  auto created =
      call(V::post, fmt::format("{}/namespaces/demo/clusters?fieldManager=kubectl-create", kBase),
           clusterJson("demo", "prod", "k8s"));
  ASSERT_EQ(created.code, 201u) << created.body;
  EXPECT_NE(entry(created, "kubectl-create", "Update").find(R"("f:nodeCount":{})"),
            std::string::npos)
      << created.body;
  auto edited = call(V::patch, cluster("prod") + "?fieldManager=kubectl-edit",
                     R"({"spec":{"nodeCount":4}})", kAdmin, kMergeType);
  ASSERT_EQ(edited.code, 200u) << edited.body;
  EXPECT_EQ(entry(edited, "kubectl-edit", "Update"), R"({"f:spec":{"f:nodeCount":{}}})");
  EXPECT_EQ(entry(edited, "kubectl-create", "Update").find("nodeCount"), std::string::npos);
  // Without fieldManager the User-Agent names the manager, else "unknown".
  auto patched = call(V::patch, cluster("prod"), R"({"spec":{"nodeCount":5}})", kAdmin, kMergeType);
  ASSERT_EQ(patched.code, 200u);
  EXPECT_EQ(entry(patched, "unknown", "Update"), R"({"f:spec":{"f:nodeCount":{}}})");

  // An apply that changes a field an updater owns conflicts with it, named with its version and
  // time.
  auto conflict = apply("prod", applied("prod", "{nodeCount: 7}"), "fieldManager=gitops");
  ASSERT_EQ(conflict.code, 409u) << conflict.body;
  EXPECT_EQ(conflict.str("/message")
                .rfind("Apply failed with 1 conflict: conflict with \"unknown\" "
                       "using container-infra/v1 at ",
                       0),
            0u)
      << conflict.body;
  EXPECT_NE(conflict.str("/message").find(": .spec.nodeCount"), std::string::npos);
}

TEST_P(ApplyTest, RequestsThatCannotBeAppliedAreRefusedNamingWhy) {
  auto missing = apply("ssa", applied("ssa", "{clusterTemplate: k8s}"), "");
  EXPECT_EQ(missing.code, 400u) << missing.body;
  EXPECT_NE(missing.str("/message").find("fieldManager: Required value"), std::string::npos);
  auto tab = apply("ssa", applied("ssa", "{clusterTemplate: k8s}"), "fieldManager=a%09b");
  EXPECT_EQ(tab.code, 422u) << tab.body;
  EXPECT_EQ(tab.str("/details/causes/0/field"), "fieldManager");
  auto status = call(V::patch, cluster("ssa") + "/status?fieldManager=a", "{}", kAdmin, kApplyType);
  EXPECT_EQ(status.code, 415u) << status.body;
  auto owned =
      apply("ssa",
            "apiVersion: container-infra/v1\nkind: Cluster\nmetadata:\n  name: ssa\n"
            "  managedFields: [{manager: x, operation: Apply}]\nspec: {clusterTemplate: k8s}\n",
            "fieldManager=a");
  EXPECT_EQ(owned.code, 400u) << owned.body;
  EXPECT_NE(owned.str("/message").find("metadata.managedFields must be nil"), std::string::npos);
  auto twice = call(V::patch, fmt::format("{}/namespaces/demo/nodegroups/ng?fieldManager=a", kBase),
                    "apiVersion: container-infra/v1\nkind: NodeGroup\nmetadata: {name: ng}\n"
                    "spec: {cluster: prod, nodesToRemove: [n1, n1]}\n",
                    kAdmin, kApplyType);
  EXPECT_EQ(twice.code, 422u) << twice.body;
  EXPECT_EQ(twice.str("/details/causes/0/field"), "spec.nodesToRemove");
  auto invalid =
      apply("ssa", applied("ssa", "{clusterTemplate: k8s, masterCount: 2}"), "fieldManager=a");
  EXPECT_EQ(invalid.code, 422u) << invalid.body;  // admission runs on the applied result
  ASSERT_EQ(createCluster("demo", "prod", "k8s").code, 201u);
  auto force = call(V::patch, cluster("prod") + "?force=true", R"({"spec":{"nodeCount":3}})",
                    kAdmin, kMergeType);
  EXPECT_EQ(force.code, 400u) << force.body;
  EXPECT_NE(force.str("/message").find("force: may not be specified for non-apply patch"),
            std::string::npos);
}

TEST_P(ApplyTest, DryRunComputesEveryWriteAndStoresNothing) {
  auto dry_create = apply("ssa", applied("ssa", "{clusterTemplate: k8s, masterCount: 1}"),
                          "fieldManager=a&dryRun=All");
  ASSERT_EQ(dry_create.code, 201u) << dry_create.body;
  EXPECT_EQ(dry_create.str("/spec/nodeCount"), "1");  // defaulted
  EXPECT_NE(entry(dry_create, "a").find("f:clusterTemplate"), std::string::npos);
  EXPECT_EQ(call(V::get, cluster("ssa")).code, 404u);

  ASSERT_EQ(createCluster("demo", "prod", "k8s").code, 201u);
  const std::string rv = call(V::get, cluster("prod")).str("/metadata/resourceVersion");
  auto dry_apply =
      apply("prod", applied("prod", "{nodeCount: 9}"), "fieldManager=a&force=true&dryRun=All");
  ASSERT_EQ(dry_apply.code, 200u) << dry_apply.body;
  EXPECT_EQ(dry_apply.str("/spec/nodeCount"), "9");
  EXPECT_EQ(dry_apply.str("/metadata/generation"), "2");
  auto dry_merge = call(V::patch, cluster("prod") + "?dryRun=All", R"({"spec":{"nodeCount":8}})",
                        kAdmin, kMergeType);
  ASSERT_EQ(dry_merge.code, 200u) << dry_merge.body;
  EXPECT_EQ(dry_merge.str("/spec/nodeCount"), "8");
  auto current = call(V::get, cluster("prod"));
  std::string put = current.body;
  put.replace(put.find(R"("nodeCount":2)"), 13, R"("nodeCount":6)");
  auto dry_put = call(V::put, cluster("prod") + "?dryRun=All", put);
  ASSERT_EQ(dry_put.code, 200u) << dry_put.body;
  EXPECT_EQ(dry_put.str("/spec/nodeCount"), "6");
  auto dry_delete = call(V::delete_, cluster("prod") + "?dryRun=All");
  ASSERT_EQ(dry_delete.code, 200u) << dry_delete.body;

  auto after = call(V::get, cluster("prod"));
  EXPECT_EQ(after.str("/metadata/resourceVersion"), rv);
  EXPECT_EQ(after.str("/spec/nodeCount"), "2");
}

TEST_P(ApplyTest, ClientsMayClearOrReplaceManagedFieldsOnlyWithinBounds) {
  const std::string spec = "{clusterTemplate: k8s, masterCount: 1, nodeCount: 2}";
  ASSERT_EQ(apply("ssa", applied("ssa", spec), "fieldManager=a").code, 201u);
  ASSERT_EQ(apply("ssa", applied("ssa", "{nodeCount: 3}"), "fieldManager=b").code, 409u);
  auto cleared = call(V::patch, cluster("ssa"),
                      R"([{"op":"replace","path":"/metadata/managedFields","value":[{}]}])", kAdmin,
                      "application/json-patch+json");
  ASSERT_EQ(cleared.code, 200u) << cleared.body;
  EXPECT_EQ(cleared.str("/metadata/managedFields/0/manager"), "");
  // Nobody owns anything now: another applier changes the field freely.
  auto taken = apply("ssa", applied("ssa", "{nodeCount: 3}"), "fieldManager=b");
  EXPECT_EQ(taken.code, 200u) << taken.body;

  auto wrong = call(
      V::patch, cluster("ssa"),
      R"({"metadata":{"managedFields":[{"manager":"x","operation":"Delete","fieldsType":"FieldsV1","fieldsV1":{}}]}})",
      kAdmin, kMergeType);
  EXPECT_EQ(wrong.code, 422u) << wrong.body;
  EXPECT_EQ(wrong.str("/details/causes/0/field"), "metadata.managedFields[0].operation");

  std::string many;
  for (int i = 0; i < 40; ++i) {
    many += fmt::format(R"({}{{"manager":"m{}","operation":"Apply","fieldsType":"FieldsV1",)"
                        R"("fieldsV1":{{"f:spec":{{"f:nodeCount":{{}}}}}}}})",
                        i == 0 ? "" : ",", i);
  }
  auto forged =
      call(V::patch, cluster("ssa"),
           fmt::format(R"({{"metadata":{{"managedFields":[{}]}}}})", many), kAdmin, kMergeType);
  EXPECT_EQ(forged.code, 413u) << forged.body;
  EXPECT_NE(forged.str("/message").find("at most 32 managers may apply to one object"),
            std::string::npos)
      << forged.body;
}

INSTANTIATE_STORE_BACKENDS(ApplyTest);

}  // namespace
}  // namespace magnumd::server::testing
