#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

using namespace std::chrono_literals;

class IdentityTest : public SimTest {
 protected:
  IdentityTest() : SimTest([] {
    SimConfig c;
    c.token_ttl = std::chrono::seconds(60);
    return c;
  }()) {}
};

TEST_F(IdentityTest, PasswordAuthIssuesAProjectScopedTokenWithCatalog) {
  Reply r = call("POST", "/identity/v3/auth/tokens", authBody("demo", "password", "demo"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(r.header("X-Subject-Token").empty());
  const auto& t = r.json["token"];
  EXPECT_EQ(str(t["project"]["name"]), "demo");
  EXPECT_EQ(str(t["user"]["name"]), "demo");
  EXPECT_EQ(str(t["roles"][0]["name"]), "member");
  EXPECT_EQ(str(t["expires_at"]), "2026-01-02T03:05:05.000000Z");
  std::map<std::string, std::string> urls;
  for (const auto& s : t["catalog"].GetArray()) {
    for (const auto& e : s["endpoints"].GetArray()) {
      if (str(e["interface"]) == "internal") urls[str(s["type"])] = str(e["url"]);
    }
  }
  EXPECT_EQ(urls["orchestration"], "http://sim.test:5000/heat-api/v1/" + projectId());
  EXPECT_EQ(urls["compute"], "http://sim.test:5000/compute/v2.1");
  EXPECT_EQ(urls["identity"], "http://sim.test:5000/identity");
}

TEST_F(IdentityTest, WrongPasswordGetsKeystoneError) {
  Reply r = call("POST", "/identity/v3/auth/tokens", authBody("demo", "nope", "demo"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json["error"]["code"].GetInt(), 401);
  EXPECT_EQ(str(r.json["error"]["title"]), "Unauthorized");
  EXPECT_EQ(str(r.json["error"]["message"]), "The request you have made requires authentication.");
  EXPECT_EQ(r.header("WWW-Authenticate"), "Keystone uri=\"http://sim.test:5000/identity\"");
  EXPECT_EQ(call("POST", "/identity/v3/auth/tokens", authBody("demo", "password", "admin")).status, 401);
  EXPECT_EQ(call("POST", "/identity/v3/auth/tokens", "{}").status, 400);
  EXPECT_EQ(call("POST", "/identity/v3/auth/tokens", "[1,").status, 400);
}

TEST_F(IdentityTest, UserAndProjectById) {
  std::string user_id = sim.identity().user(1).id;
  Reply r = call("POST", "/identity/v3/auth/tokens",
                 R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"id":")" + user_id +
                     R"(","password":"password"}}},"scope":{"project":{"id":")" + projectId() + R"("}}}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(str(r.json["token"]["project"]["id"]), projectId());
  Reply unscoped = call("POST", "/identity/v3/auth/tokens", authBody("demo", "password", ""));
  ASSERT_EQ(unscoped.status, 201);
  EXPECT_FALSE(unscoped.json["token"].HasMember("project"));
  EXPECT_EQ(call("GET", heat() + "/stacks", "", unscoped.header("X-Subject-Token")).status, 403);
}

TEST_F(IdentityTest, TokensExpireAndValidate) {
  std::string token = login();
  Reply v = call("GET", "/identity/v3/auth/tokens", "", token, {{"X-Subject-Token", token}});
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(str(v.json["token"]["user"]["name"]), "demo");
  EXPECT_EQ(call("GET", "/identity/v3/auth/tokens", "", token, {{"X-Subject-Token", "bogus"}}).status, 404);
  EXPECT_EQ(call("GET", heat() + "/stacks", "", token).status, 200);
  tick(61s);
  Reply expired = call("GET", heat() + "/stacks", "", token);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(str(expired.json["error"]["title"]), "Unauthorized");
  std::string fresh = login();
  EXPECT_EQ(call("DELETE", "/identity/v3/auth/tokens", "", fresh, {{"X-Subject-Token", fresh}}).status, 204);
  EXPECT_EQ(call("GET", heat() + "/stacks", "", fresh).status, 401);
}

TEST_F(IdentityTest, ApplicationCredentialsCreatedThroughTheApi) {
  std::string token = login();
  std::string user_id = sim.identity().user(1).id;
  Reply c = call("POST", "/identity/v3/users/" + user_id + "/application_credentials",
                 R"({"application_credential":{"name":"magnumd","secret":"s3cret"}})", token);
  ASSERT_EQ(c.status, 201) << c.body;
  std::string id = str(c.json["application_credential"]["id"]);
  Reply by_id = call("POST", "/identity/v3/auth/tokens",
                     R"({"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":")" + id +
                         R"(","secret":"s3cret"}}}})");
  ASSERT_EQ(by_id.status, 201) << by_id.body;
  EXPECT_EQ(str(by_id.json["token"]["project"]["name"]), "demo");
  EXPECT_EQ(str(by_id.json["token"]["application_credential"]["name"]), "magnumd");
  Reply by_name = call("POST", "/identity/v3/auth/tokens",
                       R"({"auth":{"identity":{"methods":["application_credential"],"application_credential":{"name":"magnumd","secret":"s3cret","user":{"name":"demo","domain":{"name":"Default"}}}}}})");
  EXPECT_EQ(by_name.status, 201) << by_name.body;
  Reply scoped = call("POST", "/identity/v3/auth/tokens",
                      R"({"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":")" + id +
                          R"(","secret":"s3cret"}},"scope":{"project":{"name":"demo","domain":{"id":"default"}}}}})");
  EXPECT_EQ(scoped.status, 401);
  EXPECT_EQ(str(scoped.json["error"]["message"]), "Application credentials cannot request a scope.");
  Reply wrong = call("POST", "/identity/v3/auth/tokens",
                     R"({"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":")" + id +
                         R"(","secret":"nope"}}}})");
  EXPECT_EQ(wrong.status, 401);
}

TEST_F(IdentityTest, UsersFileReplacesDefaults) {
  Sim custom(SimConfig{}, clock);
  auto doc = util::parseJson(R"({"users":[{"name":"ops","password":"pw","project":"team","roles":["admin"]}],
    "application_credentials":[{"name":"ci","secret":"x","user":"ops"}]})");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(custom.loadUsers(*doc).ok());
  EXPECT_EQ(custom.identity().user(0).name, "ops");
  EXPECT_EQ(custom.identity().appCredentials().size(), 1u);
  auto bad = util::parseJson(R"({"users":[{"name":"x"}]})");
  Sim other(SimConfig{}, clock);
  auto status = other.loadUsers(*bad);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "users[0].password: required string");
}

TEST_F(IdentityTest, VersionDocuments) {
  Reply root = call("GET", "/identity");
  EXPECT_EQ(root.status, 300);
  EXPECT_EQ(str(root.json["versions"]["values"][0]["id"]), "v3.14");
  Reply v3 = call("GET", "/identity/v3");
  EXPECT_EQ(str(v3.json["version"]["links"][0]["href"]), "http://sim.test:5000/identity/v3/");
  Reply compute = call("GET", "/compute/v2.1");
  EXPECT_EQ(str(compute.json["version"]["min_version"]), "2.1");
  EXPECT_EQ(str(compute.json["version"]["version"]), "2.96");
  EXPECT_EQ(call("GET", "/compute").json["versions"].Size(), 1u);
  EXPECT_EQ(str(call("GET", "/heat-api").json["versions"][0]["id"]), "v1.0");
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
