#include <set>

#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

using namespace std::chrono_literals;

class NovaTest : public SimTest {
 protected:
  void SetUp() override {
    token = login();
    Reply r = call("POST", heat() + "/stacks",
                   R"({"stack_name":"s1","template":)" + quote(kGroupTemplate) + R"(,"parameters":{"count":5}})", token);
    ASSERT_EQ(r.status, 201) << r.body;
    stack_href = heat() + "/stacks/s1/" + str(r.json["stack"]["id"]);
  }
  Reply servers(const std::string& query = "", const std::string& version = "2.1") {
    return call("GET", "/compute/v2.1/servers/detail" + query, "", token,
                {{"X-OpenStack-Nova-API-Version", version}});
  }
  std::string token, stack_href;
};

TEST_F(NovaTest, ServersBuildThenBecomeActive) {
  Reply r = servers();
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["servers"].Size(), 5u);
  EXPECT_EQ(str(r.json["servers"][0]["status"]), "BUILD");
  EXPECT_EQ(str(r.json["servers"][0]["OS-EXT-STS:vm_state"]), "building");
  EXPECT_EQ(r.header("X-OpenStack-Nova-API-Version"), "2.1");
  tick(2s);
  r = servers();
  for (const auto& s : r.json["servers"].GetArray()) {
    EXPECT_EQ(str(s["status"]), "ACTIVE");
    EXPECT_TRUE(s["addresses"]["private"][0]["addr"].IsString());
    EXPECT_EQ(str(s["flavor"]["id"]), "2");
    EXPECT_FALSE(s.HasMember("tags"));  // tags need 2.26
  }
  Reply latest = servers("", "latest");
  EXPECT_EQ(str(latest.json["servers"][0]["flavor"]["original_name"]), "m1.small");
  EXPECT_EQ(str(latest.json["servers"][0]["tags"][0]), "magnumd");
  EXPECT_EQ(servers("", "2.200").status, 406);
}

TEST_F(NovaTest, PaginationFollowsServersLinks) {
  std::set<std::string> seen;
  std::string query = "?limit=2";
  int pages = 0;
  while (pages < 10) {
    Reply r = servers(query);
    ASSERT_EQ(r.status, 200) << r.body;
    pages++;
    for (const auto& s : r.json["servers"].GetArray()) seen.insert(str(s["id"]));
    if (!r.json.HasMember("servers_links")) break;
    std::string next = str(r.json["servers_links"][0]["href"]);
    query = next.substr(next.find('?'));
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(servers("?marker=does-not-exist").status, 400);
  EXPECT_EQ(servers("?limit=-1").status, 400);
}

TEST_F(NovaTest, ChangesSinceIncludesDeletedServers) {
  tick(3s);
  tick(1s);
  // changes-since is inclusive, as Nova's is: only changes at or after it are listed.
  std::string since = util::formatRfc3339(clock.now());
  EXPECT_EQ(servers("?changes-since=" + since).json["servers"].Size(), 0u);
  tick(1s);
  Reply all = servers();
  std::string victim = str(all.json["servers"][0]["id"]);
  ASSERT_EQ(call("DELETE", "/sim/v1/servers/" + victim).status, 204);
  Reply changed = servers("?changes-since=" + since);
  ASSERT_EQ(changed.json["servers"].Size(), 1u) << changed.body;
  EXPECT_EQ(str(changed.json["servers"][0]["status"]), "DELETED");
  EXPECT_EQ(servers().json["servers"].Size(), 4u);  // without changes-since deleted ones are hidden
  EXPECT_EQ(servers("?changes-since=yesterday").status, 400);
}

TEST_F(NovaTest, FiltersByNameStatusAndTags) {
  tick(3s);
  EXPECT_EQ(servers("?name=worker-[12]$").json["servers"].Size(), 2u);
  std::string id = str(servers().json["servers"][0]["id"]);
  call("POST", "/sim/v1/servers/" + id + "/status", R"({"status":"SHUTOFF"})");
  EXPECT_EQ(servers("?status=SHUTOFF").json["servers"].Size(), 1u);
  EXPECT_EQ(servers("?status=ACTIVE").json["servers"].Size(), 4u);
  EXPECT_EQ(servers("?tags=magnumd", "2.26").json["servers"].Size(), 5u);
  EXPECT_EQ(servers("?tags=magnumd,other", "2.26").json["servers"].Size(), 0u);
  EXPECT_EQ(servers("?not-tags=magnumd", "2.26").json["servers"].Size(), 0u);
  EXPECT_EQ(servers("?status=BOGUS", "2.38").status, 400);
  EXPECT_EQ(servers("?name=(", "2.1").status, 400);
}

TEST_F(NovaTest, ShowRebootMetadataAndTags) {
  tick(3s);
  std::string id = str(servers().json["servers"][0]["id"]);
  std::string base = "/compute/v2.1/servers/" + id;
  Reply show = call("GET", base, "", token);
  ASSERT_EQ(show.status, 200);
  EXPECT_EQ(str(show.json["server"]["id"]), id);
  EXPECT_EQ(call("POST", base + "/action", R"({"reboot":{"type":"SOFT"}})", token).status, 202);
  EXPECT_EQ(str(call("GET", base, "", token).json["server"]["status"]), "REBOOT");
  EXPECT_EQ(call("POST", base + "/action", R"({"reboot":{"type":"SOFT"}})", token).status, 409);
  tick(1s);
  EXPECT_EQ(str(call("GET", base, "", token).json["server"]["status"]), "ACTIVE");
  EXPECT_EQ(call("POST", base + "/action", R"({"explode":null})", token).status, 400);
  EXPECT_EQ(call("PUT", base + "/metadata/role", R"({"meta":{"role":"worker"}})", token).status, 200);
  EXPECT_EQ(str(call("GET", base + "/metadata", "", token).json["metadata"]["role"]), "worker");
  EXPECT_EQ(call("PUT", base + "/tags/extra", "", token).status, 201);
  EXPECT_EQ(call("GET", base + "/tags", "", token).json["tags"].Size(), 2u);
  Reply missing = call("GET", "/compute/v2.1/servers/00000000-0000-0000-0000-000000000000", "", token);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json["itemNotFound"]["code"].GetInt(), 404);
  EXPECT_EQ(call("DELETE", base, "", token).status, 204);
  EXPECT_EQ(call("GET", base, "", token).status, 404);
  EXPECT_EQ(call("GET", "/compute/v2.1/servers", "", "").status, 401);
  EXPECT_EQ(call("GET", "/compute/v2.1/flavors/detail", "", token).status, 200);
}

}  // namespace
}  // namespace magnumd::cloudsim::testing

namespace magnumd::cloudsim::testing {
namespace {

using namespace std::chrono_literals;

const char* kUserDataTemplate = R"(heat_template_version: 2018-08-31
parameters:
  user_data: {type: string}
resources:
  net:
    type: OS::Neutron::Net
    properties: {name: prod-private}
  server:
    type: OS::Nova::Server
    properties:
      name: prod-master-0
      image: ubuntu-2204-kube
      flavor: m1.small
      user_data_format: RAW
      user_data: {get_param: user_data}
      networks: [{network: {get_resource: net}}]
)";

class NovaUserDataTest : public SimTest {
 protected:
  Reply create(const std::string& token, const std::string& user_data, const std::string& name = "ud",
               const std::string& project = "admin") {
    return call("POST", heat(project) + "/stacks",
                R"({"stack_name":")" + name + R"(","template":)" + quote(kUserDataTemplate) +
                    R"(,"parameters":{"user_data":)" + quote(user_data) + "}}",
                token);
  }
  Reply show(const std::string& token, const std::string& version) {
    Reply list = call("GET", "/compute/v2.1/servers", "", token);
    return call("GET", "/compute/v2.1/servers/" + str(list.json["servers"][0]["id"]), "", token,
                {{"X-OpenStack-Nova-API-Version", version}});
  }
};

TEST_F(NovaUserDataTest, AdminsReadUserDataBackAsBase64FromMicroversion23) {
  std::string admin = login("admin", "admin");
  ASSERT_EQ(create(admin, "#cloud-config\nruncmd: [true]\n").status, 201);
  tick(2s);
  Reply r = show(admin, "2.3");
  ASSERT_EQ(r.status, 200) << r.body;
  // base64 of "#cloud-config\nruncmd: [true]\n"
  EXPECT_EQ(str(r.json["server"]["OS-EXT-SRV-ATTR:user_data"]), "I2Nsb3VkLWNvbmZpZwpydW5jbWQ6IFt0cnVlXQo=");
  Reply v21 = show(admin, "2.1");
  EXPECT_FALSE(v21.json["server"].HasMember("OS-EXT-SRV-ATTR:user_data"));
  EXPECT_TRUE(v21.json["server"].HasMember("OS-EXT-SRV-ATTR:instance_name"));  // 2.1, admin
  // Nova keys addresses by the network's name, not by the id the template referenced it with.
  EXPECT_TRUE(r.json["server"]["addresses"].HasMember("prod-private")) << r.body;
}

TEST_F(NovaUserDataTest, MembersDoNotSeeUserData) {
  std::string member = login("demo", "demo");  // role member on project demo
  ASSERT_EQ(create(member, "#cloud-config\n", "ud", "demo").status, 201);
  Reply r = call("GET", "/compute/v2.1/servers/detail", "", member,
                 {{"X-OpenStack-Nova-API-Version", "2.96"}});
  ASSERT_EQ(r.json["servers"].Size(), 1u) << r.body;
  EXPECT_FALSE(r.json["servers"][0].HasMember("OS-EXT-SRV-ATTR:user_data"));
  EXPECT_FALSE(r.json["servers"][0].HasMember("OS-EXT-SRV-ATTR:host"));
}

TEST_F(NovaUserDataTest, NewUserDataReplacesTheServerAsHeatsDefaultPolicyDoes) {
  std::string admin = login("admin", "admin");
  Reply created = create(admin, "#cloud-config\n# one\n");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string href = heat("admin") + "/stacks/ud/" + str(created.json["stack"]["id"]);
  tick(2s);
  auto serverId = [&] {
    return str(call("GET", "/compute/v2.1/servers", "", admin).json["servers"][0]["id"]);
  };
  std::string first = serverId();
  ASSERT_EQ(call("PATCH", href, R"({"parameters":{"user_data":"#cloud-config\n# one\n"}})", admin).status, 202);
  tick(2s);
  EXPECT_EQ(serverId(), first);  // same user_data: updated in place
  ASSERT_EQ(call("PATCH", href, R"({"parameters":{"user_data":"#cloud-config\n# two\n"}})", admin).status, 202);
  tick(2s);
  EXPECT_NE(serverId(), first);
}

TEST_F(NovaUserDataTest, UserDataOver65535Base64CharactersIsRefused) {
  std::string admin = login("admin", "admin");
  EXPECT_EQ(create(admin, std::string(49149, 'x')).status, 201);  // 65,532 characters of base64
  Reply big = create(admin, std::string(49150, 'x'), "ud2");  // 65,536
  EXPECT_EQ(big.status, 400) << big.body;
  EXPECT_NE(big.body.find("user_data"), std::string::npos) << big.body;
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
