// Keystone's admin API in cloudsim: what `openstack project create`, `user create` and `role add`
// call, then password authentication of the new user and validation of its token.
#include <algorithm>

#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

class IdentityAdminTest : public SimTest {
 protected:
  std::string admin() { return login("admin", "admin"); }

  std::string roleId(const std::string& name) {
    Reply r = call("GET", "/identity/v3/roles?name=" + name, "", admin());
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json["roles"].Size(), 1u) << r.body;
    return str(r.json["roles"][0]["id"]);
  }

  // A project P, a user U (default project P) and role `role` for U on P.
  void makeUser(const std::string& project, const std::string& user, const std::string& role) {
    Reply p = call("POST", "/identity/v3/projects",
                   R"({"project":{"name":")" + project + R"(","enabled":true}})", admin());
    ASSERT_EQ(p.status, 201) << p.body;
    project_id = str(p.json["project"]["id"]);
    Reply u =
        call("POST", "/identity/v3/users",
             R"({"user":{"name":")" + user + R"(","password":"secret","default_project_id":")" +
                 project_id + R"(","enabled":true}})",
             admin());
    ASSERT_EQ(u.status, 201) << u.body;
    user_id = str(u.json["user"]["id"]);
    EXPECT_EQ(str(u.json["user"]["default_project_id"]), project_id);
    EXPECT_FALSE(u.json["user"].HasMember("password"));
    Reply g =
        call("PUT",
             "/identity/v3/projects/" + project_id + "/users/" + user_id + "/roles/" + roleId(role),
             "", admin());
    ASSERT_EQ(g.status, 204) << g.body;
  }

  std::string project_id, user_id;
};

// The projects a token may be scoped to are those with a role, for an admin too: a project the
// admin made but holds no role on is not among them until a role is granted.
TEST_F(IdentityAdminTest, AuthProjectsListsOnlyProjectsWithARole) {
  auto names = [&](const std::string& token) {
    Reply r = call("GET", "/identity/v3/auth/projects", "", token);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    for (const auto& p : r.json["projects"].GetArray()) out.push_back(str(p["name"]));
    std::sort(out.begin(), out.end());
    return out;
  };
  makeUser("alpha", "alice", "member");
  EXPECT_EQ(names(admin()), (std::vector<std::string>{"admin", "demo"}));
  Reply g = call(
      "PUT",
      "/identity/v3/projects/" + project_id + "/users/" +
          str(call("GET", "/identity/v3/users?name=admin", "", admin()).json["users"][0]["id"]) +
          "/roles/" + roleId("member"),
      "", admin());
  ASSERT_EQ(g.status, 204) << g.body;
  EXPECT_EQ(names(admin()), (std::vector<std::string>{"admin", "alpha", "demo"}));
  EXPECT_EQ(names(login("alice", "alpha", "secret")), (std::vector<std::string>{"alpha"}));
}

TEST_F(IdentityAdminTest, DefaultRolesAreListed) {
  Reply r = call("GET", "/identity/v3/roles", "", admin());
  ASSERT_EQ(r.status, 200);
  std::vector<std::string> names;
  for (const auto& role : r.json["roles"].GetArray()) names.push_back(str(role["name"]));
  EXPECT_EQ(names, (std::vector<std::string>{"admin", "member", "reader"}));
  EXPECT_EQ(call("GET", "/identity/v3/roles/nope", "", admin()).status, 404);
}

TEST_F(IdentityAdminTest, NewUserAuthenticatesScopedToItsProjectWithItsRoles) {
  makeUser("alpha", "alice", "reader");
  Reply r = call("POST", "/identity/v3/auth/tokens", authBody("alice", "secret", "alpha"));
  ASSERT_EQ(r.status, 201) << r.body;
  std::string token = r.header("X-Subject-Token");
  // A service validates it with its own token.
  Reply v =
      call("GET", "/identity/v3/auth/tokens?nocatalog", "", admin(), {{"X-Subject-Token", token}});
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(str(v.json["token"]["project"]["id"]), project_id);
  EXPECT_EQ(str(v.json["token"]["user"]["id"]), user_id);
  ASSERT_EQ(v.json["token"]["roles"].Size(), 1u);
  EXPECT_EQ(str(v.json["token"]["roles"][0]["name"]), "reader");
  EXPECT_FALSE(v.json["token"].HasMember("catalog"));
  // Revoked: 404 from then on.
  EXPECT_EQ(
      call("DELETE", "/identity/v3/auth/tokens", "", admin(), {{"X-Subject-Token", token}}).status,
      204);
  EXPECT_EQ(
      call("GET", "/identity/v3/auth/tokens", "", admin(), {{"X-Subject-Token", token}}).status,
      404);
  // No role on another project: Keystone's 401.
  EXPECT_EQ(call("POST", "/identity/v3/auth/tokens", authBody("alice", "secret", "demo")).status,
            401);
  EXPECT_EQ(call("POST", "/identity/v3/auth/tokens", authBody("alice", "wrong", "alpha")).status,
            401);
}

TEST_F(IdentityAdminTest, ProjectsByNameAndDuplicates) {
  makeUser("alpha", "alice", "member");
  Reply byName = call("GET", "/identity/v3/projects?name=alpha", "", admin());
  ASSERT_EQ(byName.status, 200);
  ASSERT_EQ(byName.json["projects"].Size(), 1u);
  EXPECT_EQ(str(byName.json["projects"][0]["id"]), project_id);
  EXPECT_EQ(call("GET", "/identity/v3/projects?name=beta", "", admin()).json["projects"].Size(),
            0u);
  EXPECT_EQ(call("GET", "/identity/v3/projects/alpha", "", admin()).status, 404);
  EXPECT_EQ(call("GET", "/identity/v3/projects/" + project_id, "", admin()).status, 200);
  Reply dup = call("POST", "/identity/v3/projects", R"({"project":{"name":"alpha"}})", admin());
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(str(dup.json["error"]["title"]), "Conflict");
  EXPECT_EQ(call("POST", "/identity/v3/users", R"({"user":{"name":"alice"}})", admin()).status,
            409);
  EXPECT_EQ(call("POST", "/identity/v3/projects", R"({"project":{}})", admin()).status, 400);
  // The user sees its own project only.
  std::string alice = login("alice", "alpha", "secret");
  Reply own = call("GET", "/identity/v3/projects", "", alice);
  ASSERT_EQ(own.status, 200);
  ASSERT_EQ(own.json["projects"].Size(), 1u);
  EXPECT_EQ(str(own.json["projects"][0]["name"]), "alpha");
}

TEST_F(IdentityAdminTest, OnlyAdminsChangeIdentities) {
  std::string demo = login();
  EXPECT_EQ(call("POST", "/identity/v3/projects", R"({"project":{"name":"x"}})", demo).status, 403);
  EXPECT_EQ(call("POST", "/identity/v3/users", R"({"user":{"name":"x"}})", demo).status, 403);
  EXPECT_EQ(call("GET", "/identity/v3/users?name=demo", "", demo).status, 403);
  makeUser("alpha", "alice", "member");
  EXPECT_EQ(call("PUT",
                 "/identity/v3/projects/" + project_id + "/users/" + user_id + "/roles/" +
                     roleId("admin"),
                 "", demo)
                .status,
            403);
}

TEST_F(IdentityAdminTest, UsersByNameAndRoleAssignments) {
  makeUser("alpha", "alice", "member");
  Reply u = call("GET", "/identity/v3/users?name=alice", "", admin());
  ASSERT_EQ(u.status, 200);
  ASSERT_EQ(u.json["users"].Size(), 1u);
  EXPECT_EQ(str(u.json["users"][0]["id"]), user_id);
  Reply a = call("GET", "/identity/v3/role_assignments?user.id=" + user_id + "&include_names", "",
                 admin());
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.json["role_assignments"].Size(), 1u);
  const auto& entry = a.json["role_assignments"][0];
  EXPECT_EQ(str(entry["scope"]["project"]["id"]), project_id);
  EXPECT_EQ(str(entry["scope"]["project"]["name"]), "alpha");
  EXPECT_EQ(str(entry["role"]["name"]), "member");
  EXPECT_EQ(str(entry["user"]["name"]), "alice");
  // Granting twice is one grant; revoking makes the check 404 and the user's next login fail.
  std::string grant =
      "/identity/v3/projects/" + project_id + "/users/" + user_id + "/roles/" + roleId("member");
  EXPECT_EQ(call("PUT", grant, "", admin()).status, 204);
  EXPECT_EQ(call("HEAD", grant, "", admin()).status, 204);
  EXPECT_EQ(call("DELETE", grant, "", admin()).status, 204);
  EXPECT_EQ(call("HEAD", grant, "", admin()).status, 404);
  EXPECT_EQ(call("POST", "/identity/v3/auth/tokens", authBody("alice", "secret", "alpha")).status,
            401);
  Reply missing =
      call("PUT", "/identity/v3/projects/nope/users/" + user_id + "/roles/" + roleId("member"), "",
           admin());
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(str(missing.json["error"]["message"]), "Could not find project: nope.");
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
