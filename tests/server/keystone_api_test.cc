// Keystone users on the REST API: a project is the namespace named by its id, two projects and
// three roles. A reader cannot create, a member of A cannot see B's cluster, an admin sees both;
// Keystone outages are 503, unknown tokens 401, and bearer tokens keep working beside them.
#include <fmt/format.h>

#include <algorithm>

#include "tests/server/api_fixture.h"
#include "tests/server/fake_keystone.h"
#include "tests/support/fake_clock.h"

namespace magnumd::server::testing {
namespace {

class KeystoneApiTest : public ApiTest {
 protected:
  void SetUp() override {
    keystone_io_ = std::make_unique<asio::io_context>();
    fake_ = std::make_unique<FakeKeystone>(keystone_io_->get_executor());
    fake_->tokens["alice-a"] = token("alice", "team-a", {"member", "reader"});
    fake_->tokens["bob-b"] = token("bob", "team-b", {"member"});
    fake_->tokens["rita-a"] = token("rita", "team-a", {"reader"});
    fake_->tokens["root"] = token("root", "admin", {"admin"});
    fake_->tokens["eve-a"] = token("eve", "team-a", {"heat_stack_owner"});
    keystone_ = std::make_shared<KeystoneAuthenticator>(*fake_, clock_fake_, KeystoneAuthOptions{});
    ApiTest::SetUp();
  }

  static std::string clusters(const std::string& ns) {
    return fmt::format("{}/namespaces/{}/clusters", kBase, ns);
  }
  static std::string templates(const std::string& ns) {
    return fmt::format("{}/namespaces/{}/clustertemplates", kBase, ns);
  }

  // A template and a cluster in `project`'s namespace, created by that project's member.
  void seed(const std::string& project, const std::string& member_token) {
    const std::string ns = project + "-id";
    ASSERT_EQ(
        keystoneCall(http::verb::post, templates(ns), member_token, templateJson(ns, "t")).code,
        201u);
    Reply created = keystoneCall(http::verb::post, clusters(ns), member_token,
                                 clusterJson(ns, project + "-c", "t"));
    ASSERT_EQ(created.code, 201u) << created.body;
  }

  std::vector<std::string> names(const Reply& list) {
    std::vector<std::string> out;
    const auto* items = util::member(list.json, "items");
    if (items == nullptr) return out;
    for (const auto& item : items->GetArray()) out.push_back(item["metadata"]["name"].GetString());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<asio::io_context> keystone_io_;
  std::unique_ptr<FakeKeystone> fake_;
  magnumd::testing::FakeClock clock_fake_;
};

TEST_F(KeystoneApiTest, MembersWorkInTheirOwnProjectOnly) {
  seed("team-a", "alice-a");
  seed("team-b", "bob-b");
  // alice (member of team-a) cannot read or write team-b's namespace.
  Reply other = keystoneCall(http::verb::get, clusters("team-b-id") + "/team-b-c", "alice-a");
  EXPECT_EQ(other.code, 403u) << other.body;
  EXPECT_NE(other.body.find("team-a-id"), std::string::npos) << other.body;
  EXPECT_EQ(keystoneCall(http::verb::post, clusters("team-b-id"), "alice-a",
                         clusterJson("team-b-id", "sneaky", "t"))
                .code,
            403u);
  EXPECT_EQ(keystoneCall(http::verb::get, clusters("team-a-id") + "/team-a-c", "alice-a").code,
            200u);
  // Listing every namespace narrows to her own, as a namespace-limited token does.
  Reply all = keystoneCall(http::verb::get, std::string(kBase) + "/clusters", "alice-a");
  ASSERT_EQ(all.code, 200u) << all.body;
  EXPECT_EQ(names(all), (std::vector<std::string>{"team-a-c"}));
}

TEST_F(KeystoneApiTest, ReadersReadAndCannotCreate) {
  seed("team-a", "alice-a");
  EXPECT_EQ(keystoneCall(http::verb::get, clusters("team-a-id") + "/team-a-c", "rita-a").code,
            200u);
  Reply denied = keystoneCall(http::verb::post, clusters("team-a-id"), "rita-a",
                              clusterJson("team-a-id", "mine", "t"));
  EXPECT_EQ(denied.code, 403u);
  EXPECT_NE(denied.body.find("read-only"), std::string::npos) << denied.body;
  EXPECT_EQ(keystoneCall(http::verb::delete_, clusters("team-a-id") + "/team-a-c", "rita-a").code,
            403u);
}

TEST_F(KeystoneApiTest, AdminsActAcrossProjects) {
  seed("team-a", "alice-a");
  seed("team-b", "bob-b");
  Reply all = keystoneCall(http::verb::get, std::string(kBase) + "/clusters", "root");
  ASSERT_EQ(all.code, 200u);
  EXPECT_EQ(names(all), (std::vector<std::string>{"team-a-c", "team-b-c"}));
  EXPECT_EQ(keystoneCall(http::verb::delete_, clusters("team-b-id") + "/team-b-c", "root").code,
            200u);
}

TEST_F(KeystoneApiTest, RefusalsSayWhy) {
  Reply unknown = keystoneCall(http::verb::get, clusters("team-a-id"), "no-such-token");
  EXPECT_EQ(unknown.code, 401u);
  EXPECT_EQ(unknown.body.find("no-such-token"), std::string::npos) << "tokens are never echoed";
  Reply no_role = keystoneCall(http::verb::get, clusters("team-a-id"), "eve-a");
  EXPECT_EQ(no_role.code, 403u);
  EXPECT_NE(no_role.body.find("admin, member, healer or reader"), std::string::npos)
      << no_role.body;
  fake_->down = true;
  Reply down = keystoneCall(http::verb::get, clusters("team-b-id"), "bob-b");
  EXPECT_EQ(down.code, 503u) << down.body;
  EXPECT_NE(down.body.find("Keystone"), std::string::npos) << down.body;
  // Bearer tokens do not depend on Keystone.
  EXPECT_EQ(call(http::verb::get, clusters("team-b-id")).code, 200u);
}

// Magnum's /v1 API takes the same Keystone tokens: a project's Magnum objects are its namespace's.
TEST_F(KeystoneApiTest, MagnumApiUsesTheSameProjects) {
  auto magnum = [&](http::verb method, const std::string& target, const std::string& token,
                    const std::string& body = {}) {
    return call(method, target, body, "", "application/json", {},
                {{"X-Auth-Token", token}, {"OpenStack-API-Version", "container-infra latest"}});
  };
  Reply created = magnum(http::verb::post, "/v1/clustertemplates", "alice-a",
                         R"({"name":"k8s","image_id":"fedora-coreos-38","coe":"kubernetes",)"
                         R"("keypair_id":"demo-key","external_network_id":"public"})");
  ASSERT_EQ(created.code, 201u) << created.body;
  EXPECT_EQ(created.str("/project_id"), "team-a-id");
  // The same object, in the project's namespace, through /apis.
  EXPECT_EQ(keystoneCall(http::verb::get, templates("team-a-id") + "/k8s", "alice-a").code, 200u);
  Reply theirs = magnum(http::verb::get, "/v1/clustertemplates", "bob-b");
  ASSERT_EQ(theirs.code, 200u) << theirs.body;
  EXPECT_EQ(theirs.body.find("\"k8s\""), std::string::npos) << theirs.body;
  EXPECT_EQ(magnum(http::verb::post, "/v1/clustertemplates", "rita-a", R"({"name":"r"})").code,
            403u);
  // Keystone down: a token validated before keeps working from the cache; a new one gets 503.
  fake_->down = true;
  EXPECT_EQ(magnum(http::verb::get, "/v1/clustertemplates", "bob-b").code, 200u);
  Reply down = magnum(http::verb::get, "/v1/clustertemplates", "never-seen");
  EXPECT_EQ(down.code, 503u) << down.body;
  EXPECT_NE(down.body.find("Keystone"), std::string::npos) << down.body;
}

// Token-file tokens work in X-Auth-Token too (`openstack --os-token`), without Keystone.
TEST_F(KeystoneApiTest, TokenFileTokensWorkInXAuthToken) {
  fake_->down = true;
  EXPECT_EQ(keystoneCall(http::verb::get, clusters("team-a"), kMemberA).code, 200u);
  EXPECT_EQ(fake_->calls, 0);
}

class NoKeystoneApiTest : public ApiTest {};

TEST_F(NoKeystoneApiTest, KeystoneTokensNeedKeystoneAuth) {
  Reply r = keystoneCall(http::verb::get, std::string(kBase) + "/clusters", "some-keystone-token");
  EXPECT_EQ(r.code, 401u);
  EXPECT_NE(r.body.find("--keystone-auth"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace magnumd::server::testing
