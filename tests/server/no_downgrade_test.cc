// Magnum's no-downgrade rule at update admission: a Cluster (or NodeGroup) may not move to a
// Kubernetes version below the one its nodes last completed, as status.rollout records it, while
// reverting a stalled rollout to the version it started from stays allowed.
#include <fmt/format.h>

#include "store/store.h"
#include "tests/server/api_fixture.h"

namespace magnumd::server::testing {
namespace {

using V = http::verb;

constexpr const char* kMergePatch = "application/merge-patch+json";

std::string path(const std::string& plural, const std::string& name = "") {
  std::string p = fmt::format("{}/namespaces/demo/{}", kBase, plural);
  return name.empty() ? p : p + "/" + name;
}

std::string revision(const std::string& slot, const std::string& kube_tag) {
  return fmt::format(
      R"({{"slot":"{}","image":"fedora-coreos-38","flavor":"m1.small","kubeTag":"{}",)"
      R"("replicas":1}})",
      slot, kube_tag);
}

// status.rollout with each group's revisions, oldest first.
std::string rolloutStatus(
    const std::string& phase,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& groups) {
  std::string list;
  for (const auto& [group, revisions] : groups) {
    if (!list.empty()) list += ",";
    list +=
        fmt::format(R"({{"nodeGroup":"{}","revisions":[{}]}})", group, fmt::join(revisions, ","));
  }
  return fmt::format(R"({{"status":{{"phase":"UPDATE_COMPLETE","rollout":{{"phase":"{}",)"
                     R"("nodeGroups":[{}]}}}}}})",
                     phase, list);
}

class NoDowngradeTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    for (const auto& [name, tag] :
         {std::pair{"k8s-131", "v1.31.0"}, std::pair{"k8s-132", "v1.32.4"},
          std::pair{"k8s-133", "v1.33.1"}}) {
      auto r = call(V::post, path("clustertemplates"),
                    fmt::format(R"({{"apiVersion":"container-infra/v1","kind":"ClusterTemplate",)"
                                R"("metadata":{{"name":"{}","namespace":"demo"}},)"
                                R"("spec":{{"coe":"kubernetes","image":"fedora-coreos-38",)"
                                R"("keypair":"demo-key","externalNetwork":"public",)"
                                R"("labels":{{"kube_tag":"{}"}}}}}})",
                                name, tag));
      ASSERT_EQ(r.code, 201u) << r.body;
    }
    auto notag = call(V::post, path("clustertemplates"), templateJson("demo", "k8s-default"));
    ASSERT_EQ(notag.code, 201u) << notag.body;
    ASSERT_EQ(createCluster("demo", "prod", "k8s-132").code, 201u);
  }

  void setStatus(const std::string& status) {
    auto r = call(V::patch, path("clusters", "prod") + "/status", status, kAdmin, kMergePatch);
    ASSERT_EQ(r.code, 200u) << r.body;
  }
  Reply patchCluster(const std::string& spec) {
    return call(V::patch, path("clusters", "prod"), fmt::format(R"({{"spec":{}}})", spec), kAdmin,
                kMergePatch);
  }
};

TEST_F(NoDowngradeTest, WithoutARolloutRecordNothingIsJudged) {
  auto r = patchCluster(R"({"clusterTemplate":"k8s-131"})");
  EXPECT_EQ(r.code, 200u) << r.body;
}

TEST_F(NoDowngradeTest, AnOlderTemplateOrKubeTagThanTheCompletedVersionIsRefused) {
  setStatus(rolloutStatus("Complete", {{"default-master", {revision("", "v1.32.4")}},
                                       {"default-worker", {revision("", "v1.32.4")}}}));
  auto by_template = patchCluster(R"({"clusterTemplate":"k8s-131"})");
  EXPECT_EQ(by_template.code, 422u) << by_template.body;
  EXPECT_EQ(by_template.reason(), "Invalid");
  EXPECT_EQ(by_template.str("/details/causes/0/field"), "spec.clusterTemplate");
  EXPECT_EQ(by_template.str("/details/causes/0/message"),
            "\"k8s-131\" gives kube_tag v1.31.0, older than v1.32.4, which the cluster runs; "
            "Kubernetes clusters cannot be downgraded");

  auto by_label = patchCluster(R"({"labels":{"kube_tag":"v1.31.0"}})");
  EXPECT_EQ(by_label.code, 422u) << by_label.body;
  EXPECT_EQ(by_label.str("/message"),
            "Cluster \"prod\" is invalid: spec.labels.kube_tag: v1.31.0 is older than v1.32.4, "
            "which the cluster runs; Kubernetes clusters cannot be downgraded");

  // Labels that replace the template's without a kube_tag leave the default, which is no older.
  EXPECT_EQ(patchCluster(R"({"labels":{"kube_dashboard_enabled":"false"}})").code, 200u);
  // Upgrades, and the same version by another route, go through.
  EXPECT_EQ(patchCluster(R"({"labels":null,"clusterTemplate":"k8s-133"})").code, 200u);
  auto same = call(V::get, path("clusters", "prod"));
  EXPECT_EQ(same.str("/spec/clusterTemplate"), "k8s-133");
}

TEST_F(NoDowngradeTest, VersionsCompareByNumber) {
  setStatus(rolloutStatus("Complete", {{"default-master", {revision("", "v1.32.10")}}}));
  // Text order would call v1.32.9 newer than v1.32.10.
  auto r = patchCluster(R"({"labels":{"kube_tag":"v1.32.9"}})");
  EXPECT_EQ(r.code, 422u) << r.body;
  EXPECT_EQ(patchCluster(R"({"labels":{"kube_tag":"v1.32.11"}})").code, 200u);
}

TEST_F(NoDowngradeTest, AStalledRolloutRevertsToTheVersionItStartedFromButNotBelow) {
  ASSERT_EQ(patchCluster(R"({"clusterTemplate":"k8s-133"})").code, 200u);
  setStatus(rolloutStatus(
      "Stalled", {{"default-master", {revision("", "v1.32.4"), revision("r1", "v1.33.1")}}}));
  auto below = patchCluster(R"({"clusterTemplate":"k8s-131"})");
  EXPECT_EQ(below.code, 422u) << below.body;
  EXPECT_NE(below.str("/message").find("older than v1.32.4"), std::string::npos) << below.body;
  auto revert = patchCluster(R"({"clusterTemplate":"k8s-132"})");
  EXPECT_EQ(revert.code, 200u) << revert.body;
  // The revert makes the started-from revision the wanted one, last; it is still the version
  // the masters run at least.
  setStatus(rolloutStatus(
      "Progressing", {{"default-master", {revision("r1", "v1.33.1"), revision("", "v1.32.4")}}}));
  EXPECT_EQ(patchCluster(R"({"labels":{"kube_tag":"v1.32.5"}})").code, 200u);
  EXPECT_EQ(patchCluster(R"({"labels":{"kube_tag":"v1.31.0"}})").code, 422u);
}

TEST_F(NoDowngradeTest, ATemplateWithoutKubeTagIsJudgedByTheDefault) {
  ASSERT_EQ(patchCluster(R"({"clusterTemplate":"k8s-133"})").code, 200u);
  setStatus(rolloutStatus("Complete", {{"default-master", {revision("r1", "v1.33.1")}}}));
  auto r = patchCluster(R"({"clusterTemplate":"k8s-default"})");
  EXPECT_EQ(r.code, 422u) << r.body;
  EXPECT_EQ(r.str("/details/causes/0/message"),
            "\"k8s-default\" sets no kube_tag, so the default is v1.32.4, older than v1.33.1, "
            "which the cluster runs; Kubernetes clusters cannot be downgraded");
}

TEST_F(NoDowngradeTest, ChangesThatKeepTheVersionAreNotJudged) {
  // However the record came to be above the spec, a scale is not a downgrade.
  setStatus(rolloutStatus("Complete", {{"default-master", {revision("", "v1.33.1")}}}));
  auto r = patchCluster(R"({"nodeCount":4})");
  EXPECT_EQ(r.code, 200u) << r.body;
}

TEST_F(NoDowngradeTest, ANodeGroupIsJudgedByItsOwnRevisions) {
  auto created = call(V::post, path("nodegroups"),
                      R"({"apiVersion":"container-infra/v1","kind":"NodeGroup",)"
                      R"("metadata":{"name":"gpu","namespace":"demo"},)"
                      R"("spec":{"cluster":"prod","nodeCount":1,"mergeLabels":true,)"
                      R"("labels":{"kube_tag":"v1.33.1"}}})");
  ASSERT_EQ(created.code, 201u) << created.body;
  setStatus(rolloutStatus("Complete", {{"default-master", {revision("", "v1.32.4")}},
                                       {"gpu", {revision("", "v1.33.1")}}}));
  auto older = call(V::patch, path("nodegroups", "gpu"),
                    R"({"spec":{"labels":{"kube_tag":"v1.32.4"}}})", kAdmin, kMergePatch);
  EXPECT_EQ(older.code, 422u) << older.body;
  EXPECT_EQ(older.str("/message"),
            "NodeGroup \"gpu\" is invalid: spec.labels.kube_tag: v1.32.4 is older than v1.33.1, "
            "which node group gpu runs; Kubernetes clusters cannot be downgraded");
  // Dropping its own kube_tag would give it the cluster's older version.
  auto inherit =
      call(V::patch, path("nodegroups", "gpu"), R"({"spec":{"labels":null}})", kAdmin, kMergePatch);
  EXPECT_EQ(inherit.code, 422u) << inherit.body;
  EXPECT_EQ(inherit.str("/details/causes/0/field"), "spec.labels");
  auto newer = call(V::patch, path("nodegroups", "gpu"),
                    R"({"spec":{"labels":{"kube_tag":"v1.34.0"}}})", kAdmin, kMergePatch);
  EXPECT_EQ(newer.code, 200u) << newer.body;
}

}  // namespace
}  // namespace magnumd::server::testing
