// Admission against the cloud through both APIs: a template's image (with os_distro) and flavors,
// a cluster's effective key pair, each looked up in the namespace's own project, only changed
// fields on updates, 503 when the cloud cannot answer, cached answers, and nothing checked when
// magnumd has no cloud.
#include <fmt/format.h>

#include "tests/server/api_fixture.h"
#include "tests/support/fake_cloud_lookup.h"

namespace magnumd::server::testing {
namespace {

constexpr const char* kTemplates = "/apis/container-infra/v1/namespaces/team-a/clustertemplates";
constexpr const char* kClusters = "/apis/container-infra/v1/namespaces/team-a/clusters";

std::string templateWith(const std::string& name, const std::string& extra) {
  return fmt::format(
      R"({{"apiVersion":"container-infra/v1","kind":"ClusterTemplate","metadata":{{"name":"{}"}},)"
      R"("spec":{{"coe":"kubernetes","externalNetwork":"public","networkDriver":"flannel",{}}}}})",
      name, extra);
}

class CloudAdmissionTest : public ApiTest {
 protected:
  void SetUp() override {
    cloud_lookups_ = &lookups;
    ApiTest::SetUp();
  }
  Reply magnum(http::verb method, const std::string& target, const std::string& body) {
    return call(method, target, body, "", "application/json", {},
                {{"X-Auth-Token", kMemberA}, {"OpenStack-API-Version", "container-infra latest"}});
  }
  drivers::FakeCloudLookup cloud;  // magnumd's own project, which team-a maps to
  drivers::FakeNamespaceLookups lookups{cloud};
};

TEST_F(CloudAdmissionTest, TemplateImageMustExistAndCarryAnOsDistro) {
  Reply missing =
      call(http::verb::post, kTemplates,
           templateWith("t1", R"("image":"fedora-coreos-99","keypair":"demo-key")"), kMemberA);
  EXPECT_EQ(missing.code, 422u) << missing.body;
  EXPECT_NE(missing.body.find(R"(spec.image: image \"fedora-coreos-99\" not found in Glance)"),
            std::string::npos)
      << missing.body;

  cloud.addImage("plain", "");
  Reply no_distro =
      call(http::verb::post, kTemplates, templateWith("t2", R"("image":"plain")"), kMemberA);
  EXPECT_EQ(no_distro.code, 422u);
  EXPECT_NE(no_distro.body.find("has no os_distro property"), std::string::npos) << no_distro.body;

  cloud.addImage("jammy", "ubuntu");
  Reply ubuntu =
      call(http::verb::post, kTemplates, templateWith("t4", R"("image":"jammy")"), kMemberA);
  EXPECT_EQ(ubuntu.code, 422u);
  EXPECT_NE(
      ubuntu.body.find(R"(has os_distro \"ubuntu\", which the kubernetes driver does not boot)"),
      std::string::npos)
      << ubuntu.body;

  // Magnum's API answers the same refusals with 400 (ImageNotFound, OSDistroFieldNotFound).
  Reply magnum_missing = magnum(http::verb::post, "/v1/clustertemplates",
                                R"({"name":"m1","image_id":"fedora-coreos-99","coe":"kubernetes",)"
                                R"("external_network_id":"public"})");
  EXPECT_EQ(magnum_missing.code, 400u) << magnum_missing.body;
  EXPECT_NE(magnum_missing.body.find("fedora-coreos-99"), std::string::npos) << magnum_missing.body;

  EXPECT_EQ(call(http::verb::post, kTemplates, templateWith("t3", R"("image":"fedora-coreos-38")"),
                 kMemberA)
                .code,
            201u);
}

TEST_F(CloudAdmissionTest, FlavorsMustExistAndAMissingKeypairWaitsForTheCluster) {
  Reply flavor =
      call(http::verb::post, kTemplates,
           templateWith(
               "t1", R"("image":"fedora-coreos-38","flavor":"m9.giant","masterFlavor":"m8.big")"),
           kMemberA);
  EXPECT_EQ(flavor.code, 422u);
  EXPECT_NE(flavor.body.find(R"(spec.flavor: flavor \"m9.giant\" not found in Nova)"),
            std::string::npos)
      << flavor.body;
  EXPECT_NE(flavor.body.find(R"(spec.masterFlavor: flavor \"m8.big\" not found in Nova)"),
            std::string::npos);

  // Magnum allows a template whose key pair does not exist (yet).
  Reply tmpl =
      call(http::verb::post, kTemplates,
           templateWith("t2", R"("image":"fedora-coreos-38","keypair":"later-key")"), kMemberA);
  ASSERT_EQ(tmpl.code, 201u) << tmpl.body;
  const std::string cluster =
      R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"c1"},)"
      R"("spec":{"clusterTemplate":"t2","masterCount":1,"nodeCount":1}})";
  Reply refused = call(http::verb::post, kClusters, cluster, kMemberA);
  EXPECT_EQ(refused.code, 422u);
  EXPECT_NE(refused.body.find(
                R"(spec.keypair: key pair \"later-key\" (from template \"t2\") not found in Nova)"),
            std::string::npos)
      << refused.body;
  Reply magnum_refused =
      magnum(http::verb::post, "/v1/clusters",
             R"({"name":"c2","cluster_template_id":"t2","master_count":1,"node_count":1})");
  EXPECT_EQ(magnum_refused.code, 400u) << magnum_refused.body;
  EXPECT_NE(magnum_refused.body.find("later-key"), std::string::npos);

  // Its own key pair wins over the template's.
  const std::string own =
      R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"c3"},)"
      R"("spec":{"clusterTemplate":"t2","keypair":"demo-key","masterCount":1,"nodeCount":1}})";
  EXPECT_EQ(call(http::verb::post, kClusters, own, kMemberA).code, 201u);
}

TEST_F(CloudAdmissionTest, UnreachableCloudIs503AndNothingIsAccepted) {
  cloud.unavailable = true;
  Reply r = call(http::verb::post, kTemplates, templateWith("t1", R"("image":"fedora-coreos-38")"),
                 kMemberA);
  EXPECT_EQ(r.code, 503u) << r.body;
  EXPECT_NE(r.body.find(R"(cannot check spec.image image \"fedora-coreos-38\" against the cloud)"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("Connection refused"), std::string::npos);
  EXPECT_EQ(call(http::verb::get, std::string(kTemplates) + "/t1", "", kMemberA).code, 404u);
  Reply m = magnum(
      http::verb::post, "/v1/clustertemplates",
      R"({"name":"m1","image_id":"fedora-coreos-38","coe":"kubernetes","external_network_id":"public"})");
  EXPECT_EQ(m.code, 503u) << m.body;
  cloud.unavailable = false;
  EXPECT_EQ(call(http::verb::post, kTemplates, templateWith("t1", R"("image":"fedora-coreos-38")"),
                 kMemberA)
                .code,
            201u);
}

TEST_F(CloudAdmissionTest, AnswersAreCachedAndUpdatesCheckOnlyWhatChanged) {
  ASSERT_EQ(call(http::verb::post, kTemplates, templateWith("t1", R"("image":"fedora-coreos-38")"),
                 kMemberA)
                .code,
            201u);
  const int first = cloud.calls;
  EXPECT_EQ(first, 2) << "the image and m1.small (flavor and master flavor alike)";
  ASSERT_EQ(call(http::verb::post, kTemplates, templateWith("t2", R"("image":"fedora-coreos-38")"),
                 kMemberA)
                .code,
            201u);
  EXPECT_EQ(cloud.calls, first) << "answered from the cache";

  // An update that leaves image and flavors alone asks the cloud nothing, even when it is down.
  cloud.unavailable = true;
  Reply labels = call(http::verb::patch, std::string(kTemplates) + "/t1",
                      R"({"spec":{"labels":{"kube_tag":"v1.32.1"}}})", kMemberA,
                      "application/merge-patch+json");
  EXPECT_EQ(labels.code, 200u) << labels.body;
  cloud.unavailable = false;
  Reply image =
      call(http::verb::patch, std::string(kTemplates) + "/t1", R"({"spec":{"image":"gone-image"}})",
           kMemberA, "application/merge-patch+json");
  EXPECT_EQ(image.code, 422u) << image.body;
  EXPECT_NE(image.body.find("gone-image"), std::string::npos);
}

TEST_F(CloudAdmissionTest, EachNamespaceLooksUpInItsOwnProject) {
  drivers::FakeCloudLookup project_b;
  project_b.addImage("b-private", "fedora-coreos");
  project_b.addFlavor("b.large");
  lookups.map("team-b", "project-b", project_b);
  const std::string b_template = templateWith("t1", R"("image":"b-private","flavor":"b.large")");

  // Accepted in team-b's namespace, looked up in team-b's project only.
  Reply b = call(http::verb::post, "/apis/container-infra/v1/namespaces/team-b/clustertemplates",
                 b_template, kAdmin);
  EXPECT_EQ(b.code, 201u) << b.body;
  EXPECT_EQ(cloud.calls, 0);
  EXPECT_EQ(project_b.calls, 3) << "the image, b.large and m1.small (the master flavor)";

  // Team-a's project does not see team-b's private image and flavor, cached as found or not.
  Reply a = call(http::verb::post, kTemplates, b_template, kMemberA);
  EXPECT_EQ(a.code, 422u) << a.body;
  EXPECT_NE(a.body.find(R"(spec.image: image \"b-private\" not found in Glance)"),
            std::string::npos)
      << a.body;
  EXPECT_NE(a.body.find(R"(spec.flavor: flavor \"b.large\" not found in Nova)"), std::string::npos)
      << a.body;
  Reply magnum_a = magnum(http::verb::post, "/v1/clustertemplates",
                          R"({"name":"m1","image_id":"b-private","coe":"kubernetes",)"
                          R"("external_network_id":"public"})");
  EXPECT_EQ(magnum_a.code, 400u) << magnum_a.body;
  EXPECT_NE(magnum_a.body.find("b-private"), std::string::npos) << magnum_a.body;

  // Key pairs are the service user's in every project: the refusal names that user.
  ASSERT_EQ(call(http::verb::post, kTemplates, templateWith("t2", R"("image":"fedora-coreos-38")"),
                 kMemberA)
                .code,
            201u);
  Reply key = call(
      http::verb::post, kClusters,
      R"({"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{"name":"c1"},)"
      R"("spec":{"clusterTemplate":"t2","keypair":"alice-key","masterCount":1,"nodeCount":1}})",
      kMemberA);
  EXPECT_EQ(key.code, 422u) << key.body;
  EXPECT_NE(key.body.find(R"(key pair \"alice-key\" not found in Nova among the key pairs of )"
                          R"(magnumd's service user \"magnumd-svc\")"),
            std::string::npos)
      << key.body;
  EXPECT_NE(key.body.find("keypair create --user magnumd-svc"), std::string::npos) << key.body;

  // A namespace whose project magnumd may not act in: refused, naming why, nothing stored.
  lookups.refuse("team-c");
  Reply c = call(http::verb::post, "/apis/container-infra/v1/namespaces/team-c/clustertemplates",
                 b_template, kAdmin);
  EXPECT_EQ(c.code, 403u) << c.body;
  EXPECT_NE(c.body.find("no role on project team-c"), std::string::npos) << c.body;
  EXPECT_EQ(call(http::verb::get, "/apis/container-infra/v1/namespaces/team-c/clustertemplates/t1",
                 "", kAdmin)
                .code,
            404u);
}

class NoCloudTest : public ApiTest {};

TEST_F(NoCloudTest, WithoutACloudNothingIsLookedUp) {
  Reply r =
      call(http::verb::post, kTemplates,
           templateWith("t1", R"("image":"not-in-any-glance","flavor":"m9.giant")"), kMemberA);
  EXPECT_EQ(r.code, 201u) << r.body;
}

}  // namespace
}  // namespace magnumd::server::testing
