#include <set>

#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

using namespace std::chrono_literals;

class HeatTest : public SimTest {
 protected:
  void SetUp() override { token = login(); }

  Reply create(const std::string& name, const std::string& params = "{}") {
    return call("POST", heat() + "/stacks",
                R"({"stack_name":")" + name + R"(","template":)" + quote(kGroupTemplate) +
                    R"(,"parameters":)" + params + R"(,"tags":"a,b"})",
                token);
  }
  std::string href(const std::string& name, const std::string& id) { return heat() + "/stacks/" + name + "/" + id; }
  Reply show(const std::string& name, const std::string& id) { return call("GET", href(name, id), "", token); }
  std::string status(const std::string& name, const std::string& id) {
    return str(show(name, id).json["stack"]["stack_status"]);
  }
  std::set<std::string> members(const std::string& name, const std::string& id) {
    Reply r = call("GET", href(name, id) + "/outputs/refs", "", token);
    std::set<std::string> out;
    for (const auto& m : r.json["output"]["output_value"].GetObject()) out.insert(m.name.GetString());
    return out;
  }
  std::string memberId(const std::string& name, const std::string& id, const std::string& member) {
    Reply r = call("GET", href(name, id) + "/outputs/refs", "", token);
    return str(r.json["output"]["output_value"][member.c_str()]);
  }

  std::string token;
};

TEST_F(HeatTest, CreateIsAsynchronousAndCompletesWhenServersAreActive) {
  Reply r = create("s1");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = str(r.json["stack"]["id"]);
  EXPECT_EQ(r.header("Location"), "http://sim.test:5000" + href("s1", id));
  EXPECT_EQ(status("s1", id), "CREATE_IN_PROGRESS");
  tick(1s);
  EXPECT_EQ(status("s1", id), "CREATE_IN_PROGRESS");
  tick(1500ms);
  Reply s = show("s1", id);
  EXPECT_EQ(str(s.json["stack"]["stack_status"]), "CREATE_COMPLETE");
  EXPECT_EQ(str(s.json["stack"]["stack_status_reason"]), "Stack CREATE completed successfully");
  EXPECT_EQ(str(s.json["stack"]["parameters"]["count"]), "3");
  EXPECT_EQ(str(s.json["stack"]["tags"][1]), "b");
  EXPECT_EQ(members("s1", id), (std::set<std::string>{"0", "1", "2"}));
  // The servers exist in Nova with the template's name, metadata and tags.
  Reply servers = call("GET", "/compute/v2.1/servers/detail?name=demo-worker-1", "", token,
                       {{"OpenStack-API-Version", "compute 2.26"}});
  ASSERT_EQ(servers.json["servers"].Size(), 1u) << servers.body;
  const auto& srv = servers.json["servers"][0];
  EXPECT_EQ(str(srv["id"]), memberId("s1", id, "1"));
  EXPECT_EQ(str(srv["status"]), "ACTIVE");
  EXPECT_EQ(str(srv["metadata"]["cluster"]), "demo");
  EXPECT_EQ(str(srv["tags"][0]), "magnumd");
  // Outputs: first_address list in member order; get_resource of a no-op resource has an id.
  Reply out = call("GET", href("s1", id) + "/outputs/addresses", "", token);
  EXPECT_EQ(out.json["output"]["output_value"].Size(), 3u);
  Reply net = call("GET", href("s1", id) + "/outputs/net_id", "", token);
  EXPECT_EQ(str(net.json["output"]["output_value"]).size(), 36u);
}

TEST_F(HeatTest, LookupByNameRedirectsAndDuplicateNameConflicts) {
  std::string id = str(create("s1").json["stack"]["id"]);
  Reply r = call("GET", heat() + "/stacks/s1/events?sort_dir=asc", "", token);
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.header("Location"), "http://sim.test:5000" + href("s1", id) + "/events?sort_dir=asc");
  EXPECT_EQ(call("GET", heat() + "/stacks/" + id, "", token).status, 302);
  Reply dup = create("s1");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(str(dup.json["error"]["type"]), "StackExists");
  EXPECT_EQ(call("GET", heat() + "/stacks/nope", "", token).status, 404);
}

TEST_F(HeatTest, ScaleWithRemovalPoliciesNeverReusesRemovedNames) {
  std::string id = str(create("s1").json["stack"]["id"]);
  tick(3s);
  // Shrink to 2 removing "1": members 0 and 2.
  Reply p = call("PATCH", href("s1", id), R"({"parameters":{"count":2,"removal":"1"}})", token);
  ASSERT_EQ(p.status, 202) << p.body;
  EXPECT_EQ(members("s1", id), (std::set<std::string>{"0", "2"}));
  tick(100ms);
  EXPECT_EQ(status("s1", id), "UPDATE_COMPLETE");
  // Grow to 4: "1" stays removed, new members are 3 and 4.
  call("PATCH", href("s1", id), R"({"parameters":{"count":4}})", token);
  EXPECT_EQ(status("s1", id), "UPDATE_IN_PROGRESS");
  EXPECT_EQ(members("s1", id), (std::set<std::string>{"0", "2", "3", "4"}));
  tick(3s);
  EXPECT_EQ(status("s1", id), "UPDATE_COMPLETE");
  // Removal by physical id works too.
  std::string victim = memberId("s1", id, "3");
  call("PATCH", href("s1", id), R"({"parameters":{"count":3,"removal":")" + victim + R"("}})", token);
  EXPECT_EQ(members("s1", id), (std::set<std::string>{"0", "2", "4"}));
  EXPECT_EQ(call("GET", "/compute/v2.1/servers/" + victim, "", token).status, 404);
}

TEST_F(HeatTest, MarkUnhealthyThenUpdateReplacesTheMember) {
  std::string id = str(create("s1").json["stack"]["id"]);
  tick(3s);
  std::string old_id = memberId("s1", id, "1");
  // Heat's way: the member in the group's nested stack; cloudsim also accepts the physical id on
  // the top-level stack.
  Reply res = call("GET", href("s1", id) + "/resources", "", token);
  std::string nested_href;
  for (const auto& r : res.json["resources"].GetArray()) {
    if (str(r["resource_name"]) == "workers") {
      for (const auto& l : r["links"].GetArray()) {
        if (str(l["rel"]) == "nested") nested_href = str(l["href"]);
      }
    }
  }
  ASSERT_FALSE(nested_href.empty());
  nested_href = nested_href.substr(std::string("http://sim.test:5000").size());
  Reply mark = call("PATCH", nested_href + "/resources/1", R"({"mark_unhealthy":true,"resource_status_reason":"node dead"})", token);
  ASSERT_EQ(mark.status, 200) << mark.body;
  Reply member = call("GET", nested_href + "/resources/1", "", token);
  EXPECT_EQ(str(member.json["resource"]["resource_status"]), "CHECK_FAILED");
  ASSERT_EQ(call("PATCH", href("s1", id), "{}", token).status, 202);
  std::string new_id = memberId("s1", id, "1");
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(members("s1", id), (std::set<std::string>{"0", "1", "2"}));
  tick(3s);
  EXPECT_EQ(status("s1", id), "UPDATE_COMPLETE");
  // Mark via the top-level stack with the physical id.
  ASSERT_EQ(call("PATCH", href("s1", id) + "/resources/" + new_id, R"({"mark_unhealthy":true})", token).status, 200);
  call("PATCH", href("s1", id), "{}", token);
  EXPECT_NE(memberId("s1", id, "1"), new_id);
  EXPECT_EQ(call("PATCH", href("s1", id) + "/resources/1", R"({"bogus":true})", token).status, 404);
}

TEST_F(HeatTest, ServerErrorFailsTheStackWithTheResourceReason) {
  std::string id = str(create("s1").json["stack"]["id"]);
  std::string server = memberId("s1", id, "2");
  Reply set = call("POST", "/sim/v1/servers/" + server + "/status", R"({"status":"ERROR","reason":"No valid host was found."})");
  ASSERT_EQ(set.status, 200) << set.body;
  Reply s = show("s1", id);
  EXPECT_EQ(str(s.json["stack"]["stack_status"]), "CREATE_FAILED");
  std::string reason = str(s.json["stack"]["stack_status_reason"]);
  EXPECT_NE(reason.find("No valid host was found."), std::string::npos) << reason;
  EXPECT_NE(reason.find("workers"), std::string::npos) << reason;
  Reply events = call("GET", href("s1", id) + "/events?nested_depth=1&resource_status=FAILED", "", token);
  bool found = false;
  for (const auto& e : events.json["events"].GetArray()) {
    if (str(e["resource_name"]) == "2" && str(e["resource_status"]) == "CREATE_FAILED") {
      found = str(e["resource_status_reason"]).find("ResourceInError") != std::string::npos;
    }
  }
  EXPECT_TRUE(found) << events.body;
  // An update retries: the failed member is replaced and the stack completes.
  call("PATCH", href("s1", id), "{}", token);
  tick(3s);
  EXPECT_EQ(status("s1", id), "UPDATE_COMPLETE");
  EXPECT_NE(memberId("s1", id, "2"), server);
}

TEST_F(HeatTest, DeleteIsAsynchronousAndTheIdStillAnswersDeleteComplete) {
  std::string id = str(create("s1").json["stack"]["id"]);
  tick(3s);
  std::string server = memberId("s1", id, "0");
  ASSERT_EQ(call("DELETE", href("s1", id), "", token).status, 204);
  EXPECT_EQ(status("s1", id), "DELETE_IN_PROGRESS");
  tick(1s);
  Reply s = show("s1", id);
  EXPECT_EQ(str(s.json["stack"]["stack_status"]), "DELETE_COMPLETE");
  EXPECT_FALSE(s.json["stack"].HasMember("outputs"));
  EXPECT_EQ(call("GET", heat() + "/stacks/s1", "", token).status, 404);
  EXPECT_EQ(call("GET", heat() + "/stacks", "", token).json["stacks"].Size(), 0u);
  EXPECT_EQ(call("DELETE", href("s1", id), "", token).status, 404);
  EXPECT_EQ(call("GET", "/compute/v2.1/servers/" + server, "", token).status, 404);
  // The name is free again.
  EXPECT_EQ(create("s1").status, 201);
  // After the retention period the deleted record is gone.
  tick(std::chrono::seconds(601));
  EXPECT_EQ(show("s1", id).status, 404);
}

TEST_F(HeatTest, ListFiltersAndPaginates) {
  for (int i = 0; i < 5; ++i) create("s" + std::to_string(i), R"({"count":0})");
  Reply page = call("GET", heat() + "/stacks?limit=2", "", token);
  ASSERT_EQ(page.json["stacks"].Size(), 2u);
  EXPECT_EQ(str(page.json["stacks"][0]["stack_name"]), "s4");  // newest first
  std::string next = str(page.json["links"][0]["href"]);
  EXPECT_NE(next.find("marker=" + str(page.json["stacks"][1]["id"])), std::string::npos);
  Reply second = call("GET", next.substr(std::string("http://sim.test:5000").size()), "", token);
  EXPECT_EQ(str(second.json["stacks"][0]["stack_name"]), "s2");
  Reply named = call("GET", heat() + "/stacks?name=s1&name=s3&sort_keys=stack_name&sort_dir=asc", "", token);
  ASSERT_EQ(named.json["stacks"].Size(), 2u);
  EXPECT_EQ(str(named.json["stacks"][0]["stack_name"]), "s1");
  EXPECT_EQ(call("GET", heat() + "/stacks?tags=a,b", "", token).json["stacks"].Size(), 5u);
  EXPECT_EQ(call("GET", heat() + "/stacks?tags=a,zzz", "", token).json["stacks"].Size(), 0u);
  EXPECT_EQ(call("GET", heat() + "/stacks?status=COMPLETE", "", token).json["stacks"].Size(), 5u);
  EXPECT_EQ(call("GET", heat() + "/stacks?status=CREATE_FAILED", "", token).json["stacks"].Size(), 0u);
  EXPECT_EQ(call("GET", heat() + "/stacks?bogus=1", "", token).status, 400);
}

TEST_F(HeatTest, BadInputIsRejectedWithHeatErrors) {
  Reply r = call("POST", heat() + "/stacks", R"({"stack_name":"1bad","template":{"heat_template_version":"2018-08-31"}})", token);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json["code"].GetInt(), 400);
  EXPECT_EQ(str(r.json["title"]), "Bad Request");
  r = call("POST", heat() + "/stacks", R"({"stack_name":"ok","template":{"heat_template_version":"2018-08-31"},"parameters":{"x":1}})", token);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(str(r.json["error"]["message"]).find("The Parameter (x) was not defined in template."), std::string::npos);
  r = create("s1", R"({"count":"many"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(str(r.json["error"]["message"]).find("count"), std::string::npos) << r.body;
  r = call("POST", heat() + "/stacks", "{not json", token);
  EXPECT_EQ(r.status, 400);
  // A rejected create leaves no servers behind.
  EXPECT_EQ(sim.nova().liveCount(), 0u);
  EXPECT_EQ(call("GET", heat() + "/stacks", "", "").status, 401);
  std::string admin = login("admin", "admin");
  EXPECT_EQ(call("GET", heat() + "/stacks", "", admin).status, 200);  // admin may look at demo
  EXPECT_EQ(call("GET", heat("admin") + "/stacks", "", token).status, 403);
}

TEST_F(HeatTest, InjectedCreateAndUpdateFailuresCarryTheReason) {
  ASSERT_EQ(call("POST", "/sim/v1/faults", R"({"fail_stack_create":{"count":1,"reason":"quota exceeded"}})").status, 200);
  std::string id = str(create("s1").json["stack"]["id"]);
  tick(2500ms);
  Reply s = show("s1", id);
  EXPECT_EQ(str(s.json["stack"]["stack_status"]), "CREATE_FAILED");
  EXPECT_NE(str(s.json["stack"]["stack_status_reason"]).find("quota exceeded"), std::string::npos);
  std::string id2 = str(create("s2").json["stack"]["id"]);
  tick(2500ms);
  EXPECT_EQ(status("s2", id2), "CREATE_COMPLETE");  // only the next one failed
  call("POST", "/sim/v1/faults", R"({"fail_stack_update":{"count":1,"reason":"boom"}})");
  call("PATCH", href("s2", id2), R"({"parameters":{"count":5}})", token);
  tick(2500ms);
  EXPECT_EQ(status("s2", id2), "UPDATE_FAILED");
  call("PATCH", href("s2", id2), R"({"parameters":{"count":5}})", token);
  tick(2500ms);
  EXPECT_EQ(status("s2", id2), "UPDATE_COMPLETE");
  EXPECT_EQ(members("s2", id2).size(), 5u);
}

TEST_F(HeatTest, ProviderTemplatesAndResourceListNesting) {
  const char* parent = R"({"heat_template_version":"2018-08-31",
    "parameters":{"n":{"type":"number","default":2}},
    "resources":{"nodes":{"type":"OS::Heat::ResourceGroup","properties":{"count":{"get_param":"n"},
      "resource_def":{"type":"node.yaml","properties":{"idx":"%index%"}}}}},
    "outputs":{"ips":{"value":{"get_attr":["nodes","ip"]}}}})";
  const char* node = "heat_template_version: 2018-08-31\nparameters:\n  idx: {type: string}\n"
                     "resources:\n  server:\n    type: OS::Nova::Server\n    properties:\n"
                     "      name: {str_replace: {template: node-$I, params: {$I: {get_param: idx}}}}\n"
                     "      flavor: m1.tiny\n"
                     "outputs:\n  ip: {value: {get_attr: [server, first_address]}}\n";
  Reply r = call("POST", heat() + "/stacks", std::string(R"({"stack_name":"p","template":)") + parent +
                 R"(,"files":{"node.yaml":)" + quote(node) + "}}", token);
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = str(r.json["stack"]["id"]);
  tick(3s);
  EXPECT_EQ(status("p", id), "CREATE_COMPLETE");
  Reply out = call("GET", href("p", id) + "/outputs/ips", "", token);
  ASSERT_EQ(out.json["output"]["output_value"].Size(), 2u) << out.body;
  EXPECT_EQ(str(out.json["output"]["output_value"][0]).rfind("10.", 0), 0u);
  Reply deep = call("GET", href("p", id) + "/resources?nested_depth=2&type=OS::Nova::Server", "", token);
  EXPECT_EQ(deep.json["resources"].Size(), 2u) << deep.body;
  EXPECT_EQ(call("GET", "/compute/v2.1/servers?name=^node-1$", "", token).json["servers"].Size(), 1u);
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
