// Magnum's policy on the v1 API (server/magnum_policy.h) as clients meet it: the healer's and a
// member's health PATCH, a policy file narrowing /v1 while /apis roles stay the ceiling, the
// admin-only rules, and the policy-checked credential rotation (1.12).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "server/magnum_policy.h"
#include "tests/server/magnum_fixture.h"

namespace magnumd::server::testing {
namespace {

class MagnumPolicyApiTest : public MagnumApiTest {};

// magnum-auto-healer's PATCH of the health: allowed by cluster:update_health_status, which admits
// the healer role and project members; nothing else of the cluster is the healer's to change.
TEST_F(MagnumPolicyApiTest, HealersAndMembersPatchTheHealthReadersDoNot) {
  std::string uuid = createMagnumCluster("prod", createMagnumTemplate("k8s"));
  const std::string health =
      R"([{"op":"replace","path":"/health_status","value":"UNHEALTHY"},)"
      R"({"op":"replace","path":"/health_status_reason","value":"{'api': 'ok', 'n1.Ready': 'False', 'n2.Ready': True}"}])";
  Reply healed = magnum(http::verb::patch, "/v1/clusters/" + uuid, health, kHealerA);
  ASSERT_EQ(healed.code, 202u) << healed.body;
  Reply shown = magnum(http::verb::get, "/v1/clusters/" + uuid, {}, kHealerA);
  ASSERT_EQ(shown.code, 200u) << shown.body;
  EXPECT_EQ(shown.str("/health_status"), "UNHEALTHY");
  // Python's repr, as magnum-auto-healer sends it: a quoted 'False' stays a string.
  EXPECT_EQ(shown.str("/health_status_reason/n1.Ready"), "False");
  EXPECT_EQ(shown.str("/health_status_reason/n2.Ready"), "True");
  // The same PATCH again changes nothing and is still the healer's to send.
  EXPECT_EQ(magnum(http::verb::patch, "/v1/clusters/" + uuid, health, kHealerA).code, 202u);

  Reply scale = magnum(http::verb::patch, "/v1/clusters/" + uuid,
                       R"([{"op":"replace","path":"/node_count","value":5}])", kHealerA);
  EXPECT_EQ(scale.code, 403u) << scale.body;
  EXPECT_EQ(scale.str("/errors/0/detail"), "Policy doesn't allow cluster:update to be performed.");
  EXPECT_EQ(magnum(http::verb::post, "/v1/clusters", R"({"name":"x","cluster_template_id":"k8s"})",
                   kHealerA)
                .code,
            403u);

  // A member may set the health too (Magnum's default), though /apis keeps status to admins and
  // healers: the Magnum layer writes it with a healer's rights.
  Reply member = magnum(http::verb::patch, "/v1/clusters/" + uuid,
                        R"([{"op":"replace","path":"/health_status","value":"HEALTHY"}])");
  ASSERT_EQ(member.code, 202u) << member.body;
  EXPECT_EQ(magnum(http::verb::get, "/v1/clusters/" + uuid).str("/health_status"), "HEALTHY");
  EXPECT_EQ(
      call(http::verb::patch, fmt::format("{}/namespaces/team-a/clusters/prod/status", kBase),
           R"({"status":{"healthStatus":"UNKNOWN"}})", kMemberA, "application/merge-patch+json")
          .code,
      403u);
  Reply reader =
      magnum(http::verb::patch, "/v1/clusters/" + uuid,
             R"([{"op":"replace","path":"/health_status","value":"UNKNOWN"}])", kReaderAll);
  EXPECT_EQ(reader.code, 403u) << reader.body;
}

TEST_F(MagnumPolicyApiTest, APolicyFileNarrowsTheMagnumApiOnlyAndRbacStaysTheCeiling) {
  auto policy = magnum::Policy::withOverrides(R"(
"cluster:create": "rule:context_is_admin"
"cluster:get_all_all_projects": "!"
"clustertemplate:create": "role:reader"
"stats:get_all": "@"
)",
                                              "policy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  stop();
  magnum_policy_ = *policy;
  start(WatchOptions{});

  std::string tmpl = createMagnumTemplate("k8s");
  Reply member = magnum(http::verb::post, "/v1/clusters",
                        fmt::format(R"({{"name":"a","cluster_template_id":"{}"}})", tmpl));
  EXPECT_EQ(member.code, 403u) << member.body;
  EXPECT_EQ(member.str("/errors/0/detail"), "Policy doesn't allow cluster:create to be performed.");
  // /apis keeps its own rules: the member still creates there.
  EXPECT_EQ(createCluster("team-a", "b", "k8s").code, 201u);
  // An admin of every project is refused the all-projects list the file took away...
  Reply all = magnum(http::verb::get, "/v1/clusters", {}, kAdmin);
  EXPECT_EQ(all.code, 403u) << all.body;
  EXPECT_EQ(all.str("/errors/0/detail"),
            "Policy doesn't allow cluster:get_all_all_projects to be performed.");
  // ...and a project's own list is unaffected.
  EXPECT_EQ(magnum(http::verb::get, "/v1/clusters").json["clusters"].Size(), 1u);
  // A rule that allows a reader what its role does not is still refused by the role.
  Reply reader = magnum(http::verb::post, "/v1/clustertemplates",
                        R"({"name":"r","image_id":"fedora-coreos-38","coe":"kubernetes",)"
                        R"("external_network_id":"public"})",
                        kReaderAll);
  EXPECT_EQ(reader.code, 403u) << reader.body;
  EXPECT_NE(reader.str("/errors/0/detail").find("role reader is read-only"), std::string::npos)
      << reader.body;
  EXPECT_EQ(magnum(http::verb::get, "/v1/stats", {}, kHealerA).code, 200u);
}

TEST_F(MagnumPolicyApiTest, AdminOnlyRulesByOperation) {
  EXPECT_EQ(magnum(http::verb::get, "/v1/mservices").code, 403u);
  EXPECT_EQ(magnum(http::verb::get, "/v1/mservices", {}, kAdmin).code, 200u);
  Reply publish = magnum(http::verb::post, "/v1/clustertemplates",
                         R"({"name":"x","image_id":"i","coe":"kubernetes","public":true})");
  EXPECT_EQ(publish.code, 403u) << publish.body;
  EXPECT_EQ(publish.str("/errors/0/detail"),
            "Policy doesn't allow clustertemplate:publish to be performed.");
  std::string uuid = createMagnumCluster("prod", createMagnumTemplate("k8s"));
  EXPECT_EQ(magnum(http::verb::delete_, "/v1/clusters/" + uuid, {}, kReaderAll).code, 403u);
  EXPECT_EQ(magnum(http::verb::get, "/v1/clusters/" + uuid, {}, kReaderAll).code, 200u);
}

// PATCH /v1/credentials/{cluster} (1.12): checked as Magnum checks it, then refused as Magnum's
// Heat driver refuses it, since a magnumd cluster holds no OpenStack credential.
TEST_F(MagnumApiTest, CredentialRotationIsCheckedAsMagnumDoesAndNotSupported) {
  std::string uuid = createMagnumCluster("prod", createMagnumTemplate("k8s"));
  const std::string url = "/v1/credentials/" + uuid;
  EXPECT_EQ(magnum(http::verb::patch, url, {}, kMemberA, "container-infra 1.11").code, 406u);
  EXPECT_EQ(magnum(http::verb::patch, url, {}, kMemberA, "").code, 406u);  // no header: 1.1
  EXPECT_EQ(magnum(http::verb::get, url).code, 405u);
  EXPECT_EQ(magnum(http::verb::patch, "/v1/credentials/nowhere").code, 404u);
  Reply reader = magnum(http::verb::patch, url, {}, kReaderAll);
  EXPECT_EQ(reader.code, 403u) << reader.body;
  EXPECT_EQ(reader.str("/errors/0/detail"),
            "Policy doesn't allow credential:rotate to be performed.");

  Reply creating = magnum(http::verb::patch, url);
  EXPECT_EQ(creating.code, 400u) << creating.body;
  EXPECT_NE(creating.str("/errors/0/detail").find("when its status is \"CREATE_IN_PROGRESS\""),
            std::string::npos)
      << creating.body;
  ASSERT_EQ(
      call(http::verb::patch, fmt::format("{}/namespaces/team-a/clusters/prod/status", kBase),
           R"({"status":{"phase":"CREATE_COMPLETE"}})", kAdmin, "application/merge-patch+json")
          .code,
      200u);
  Reply complete = magnum(http::verb::patch, "/v1/credentials/prod");
  EXPECT_EQ(complete.code, 400u) << complete.body;
  EXPECT_EQ(complete.str("/errors/0/title"), "Credential rotation is not supported by driver");
  Reply root = magnum(http::verb::get, "/v1/", {}, "", "");
  EXPECT_EQ(root.str("/credentials/0/href"), "http://magnum.test:9511/v1/credentials/");
}

}  // namespace
}  // namespace magnumd::server::testing
