// The OpenStack driver end to end against the in-process fake: Heat and Nova requests on the
// wire, pagination, redirects, errors, mark-unhealthy on nested stacks, failure explanations.
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "drivers/openstack/openstack_driver.h"
#include "tests/drivers/fake_openstack.h"
#include "tests/drivers/run_task.h"
#include "util/json.h"

namespace magnumd::drivers::openstack {
namespace {

using namespace std::chrono_literals;
using testing::FakeOpenStack;
using testing::FakeReply;
using testing::Recorded;
using testing::runTask;
using util::ErrorCode;

constexpr char kHeat[] = "/heat-api/v1/p-1234";

std::string queryValue(const std::string& query, const std::string& key) {
  size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    auto part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (part.starts_with(key + "=")) return part.substr(key.size() + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return "";
}

std::string stackJson(int i) {
  return fmt::format(R"({{"id": "id-{}", "stack_name": "s{}", "stack_status": "CREATE_COMPLETE",
    "tags": ["magnumd", "uid-{}"], "creation_time": "2026-11-25T10:00:0{}Z"}})", i, i, i, i % 10);
}

class DriverTest : public ::testing::Test {
 protected:
  DriverTest() {
    CloudConfig c;
    c.name = "test";
    c.source = "test";
    c.auth_url = cloud.authUrl();
    c.user_id = "u-1";
    c.password = "secret";
    c.project_id = "p-1234";
    c.region_name = "RegionOne";
    OpenStackDriverOptions o;
    o.http.retry.base_delay = 1ms;
    o.heat.page_size = 2;
    o.nova.page_size = 2;
    auto d = OpenStackDriver::create(io.get_executor(), c, o);
    EXPECT_TRUE(d.ok()) << d.error().message;
    driver = std::move(d.value());
  }

  template <typename T>
  T run(boost::asio::awaitable<T> task) { return runTask(io, std::move(task)); }

  boost::asio::io_context io;
  FakeOpenStack cloud;
  std::unique_ptr<OpenStackDriver> driver;
};

TEST_F(DriverTest, ListStacksFollowsEveryPageWithTheFilters) {
  cloud.on("GET", std::string(kHeat) + "/stacks", [](const Recorded& r) {
    int start = 0;
    if (auto m = queryValue(r.query, "marker"); !m.empty()) start = std::stoi(m.substr(3)) + 1;
    std::string items;
    int limit = std::stoi(queryValue(r.query, "limit"));
    int end = std::min(start + limit, 5);
    for (int i = start; i < end; ++i) items += (items.empty() ? "" : ",") + stackJson(i);
    std::string links = end - start == limit
        ? fmt::format(R"(, "links": [{{"rel": "next", "href": "http://elsewhere/v1/p/stacks?limit={}&marker=id-{}"}}])", limit, end - 1)
        : "";
    return FakeReply{200, fmt::format(R"({{"stacks": [{}]{}}})", items, links)};
  });
  auto stacks = run(driver->listStacks(StackFilter{{"magnumd", "x y"}, {"FAILED", "IN_PROGRESS"}}));
  ASSERT_TRUE(stacks.ok()) << stacks.error().message;
  ASSERT_EQ(stacks->size(), 5u);
  EXPECT_EQ((*stacks)[4].ref, (StackRef{"s4", "id-4"}));
  EXPECT_EQ((*stacks)[4].tags, (std::vector<std::string>{"magnumd", "uid-4"}));
  auto requests = cloud.requests();
  int lists = 0;
  for (const auto& r : requests) {
    if (r.path != std::string(kHeat) + "/stacks") continue;
    ++lists;
    EXPECT_EQ(queryValue(r.query, "tags"), "magnumd,x%20y");
    EXPECT_NE(r.query.find("status=FAILED&status=IN_PROGRESS"), std::string::npos) << r.query;
  }
  EXPECT_EQ(lists, 3);
}

TEST_F(DriverTest, ListStacksPageMakesOneRequestAndReturnsTheNextMarker) {
  cloud.on("GET", std::string(kHeat) + "/stacks", [](const Recorded& r) {
    int start = 0;
    if (auto m = queryValue(r.query, "marker"); !m.empty()) {
      if (m == "id-gone") return FakeReply{400, R"({"error": {"message": "marker id-gone not found"}})"};
      start = std::stoi(m.substr(3)) + 1;
    }
    int limit = std::stoi(queryValue(r.query, "limit"));
    int end = std::min(start + limit, 5);
    std::string items;
    for (int i = start; i < end; ++i) items += (items.empty() ? "" : ",") + stackJson(i);
    std::string links = end - start == limit
        ? fmt::format(R"(, "links": [{{"rel": "next", "href": "http://h/v1/p/stacks?marker=id-{}"}}])", end - 1)
        : "";
    return FakeReply{200, fmt::format(R"({{"stacks": [{}]{}}})", items, links)};
  });
  StackFilter filter{{"magnumd"}, {}};
  auto first = run(driver->listStacksPage(filter, PageRequest{"", 3}));
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->items.size(), 3u);
  EXPECT_EQ(first->next_marker, "id-2");
  auto last = run(driver->listStacksPage(filter, PageRequest{first->next_marker, 3}));
  ASSERT_TRUE(last.ok()) << last.error().message;
  ASSERT_EQ(last->items.size(), 2u);
  EXPECT_EQ(last->items[1].ref, (StackRef{"s4", "id-4"}));
  EXPECT_EQ(last->next_marker, "");
  EXPECT_EQ(cloud.count("GET", std::string(kHeat) + "/stacks"), 2);
  auto lost = run(driver->listStacksPage(filter, PageRequest{"id-gone", 3}));
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, util::ErrorCode::BadRequest);
}

TEST_F(DriverTest, CreateSendsHeatsBodyAndReturnsTheRef) {
  cloud.on("POST", std::string(kHeat) + "/stacks", [](const Recorded&) {
    return FakeReply{201, R"({"stack": {"id": "new-id", "links": [{"rel": "self", "href": "http://h/v1/p-1234/stacks/c1/new-id"}]}})"};
  });
  StackCreate c;
  c.name = "c1";
  c.template_text = "heat_template_version: 2018-08-31\nresources: {}\n";
  c.files = {{"file://x.sh", "#!/bin/sh"}};
  c.parameters = {{"count", "3"}};
  c.tags = {"magnumd", "uid-1"};
  c.timeout_mins = 60;
  auto ref = run(driver->createStack(c));
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(*ref, (StackRef{"c1", "new-id"}));
  auto body = util::parseJson(cloud.requests().back().body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(util::stringMember(*body, "tags").value(), "magnumd,uid-1");
  EXPECT_EQ(util::stringMember(*body, "template").value(), c.template_text);
  EXPECT_EQ(util::intMember(*body, "timeout_mins").value(), 60);
  EXPECT_EQ(util::boolMember(*body, "disable_rollback").value(), true);
  EXPECT_EQ(util::stringMember(*util::member(*body, "files"), "file://x.sh").value(), "#!/bin/sh");
}

TEST_F(DriverTest, CreateConflictAndUnavailableAreTypedAndNotRetried) {
  cloud.on("POST", std::string(kHeat) + "/stacks", [](const Recorded& r) {
    if (r.body.find("\"taken\"") != std::string::npos) {
      return FakeReply{409, R"({"code": 409, "title": "Conflict", "explanation": "x", "error": {"type": "StackExists", "message": "The Stack (taken) already exists."}})"};
    }
    return FakeReply{503, R"({"code": 503, "title": "Service Unavailable", "explanation": "busy"})"};
  });
  StackCreate c;
  c.name = "taken";
  auto r = run(driver->createStack(c));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::Conflict);
  EXPECT_NE(r.error().message.find("The Stack (taken) already exists."), std::string::npos);
  c.name = "other";
  r = run(driver->createStack(c));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::Unavailable);
  EXPECT_EQ(cloud.count("POST", std::string(kHeat) + "/stacks"), 2);
}

TEST_F(DriverTest, GetByNameFollowsHeatsRedirect) {
  const std::string canonical = std::string(kHeat) + "/stacks/c1/id-1";
  cloud.on("GET", std::string(kHeat) + "/stacks/c1", [this, canonical](const Recorded& r) {
    return FakeReply{302, "{}", {{"Location", cloud.url() + canonical + (r.query.empty() ? "" : "?" + r.query)}}};
  });
  cloud.on("GET", canonical, [](const Recorded& r) {
    std::string outputs = r.query.find("resolve_outputs=false") != std::string::npos
        ? "" : R"(, "outputs": [{"output_key": "api_address", "output_value": "10.0.0.5"}])";
    return FakeReply{200, fmt::format(R"({{"stack": {{"id": "id-1", "stack_name": "c1", "stack_status": "UPDATE_IN_PROGRESS",
      "parameters": {{"count": "3"}}{}}}}})", outputs)};
  });
  auto s = run(driver->getStack(StackRef{"c1", ""}, true));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->ref.id, "id-1");
  EXPECT_TRUE(s->inProgress());
  EXPECT_EQ(s->output("api_address")->value_json, "\"10.0.0.5\"");
  auto without = run(driver->getStack(StackRef{"c1", ""}, false));
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->outputs.empty());
}

TEST_F(DriverTest, PatchAndDeleteUseTheCanonicalPath) {
  const std::string path = std::string(kHeat) + "/stacks/c1/id-1";
  cloud.on("PATCH", path, [](const Recorded&) { return FakeReply{202, R"({"code": "202 Accepted"})"}; });
  cloud.on("DELETE", path, [](const Recorded&) { return FakeReply{204, ""}; });
  StackPatch p;
  p.parameters = {{"count", "2"}, {"removal_policies", "[\"1\"]"}};
  ASSERT_TRUE(run(driver->patchStack(StackRef{"c1", "id-1"}, p)).ok());
  EXPECT_EQ(cloud.requests().back().body, R"({"parameters":{"count":"2","removal_policies":"[\"1\"]"}})");
  ASSERT_TRUE(run(driver->deleteStack(StackRef{"c1", "id-1"})).ok());
  auto gone = run(driver->deleteStack(StackRef{"c2", "id-2"}));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
}

constexpr char kResources[] = R"({"resources": [
  {"resource_name": "workers", "physical_resource_id": "nested-id", "resource_type": "OS::Heat::ResourceGroup",
   "resource_status": "CREATE_FAILED", "resource_status_reason": "Resource CREATE failed: ResourceInError",
   "links": [{"rel": "self", "href": "http://h/v1/p-1234/stacks/c1/id-1/resources/workers"},
             {"rel": "stack", "href": "http://h/v1/p-1234/stacks/c1/id-1"},
             {"rel": "nested", "href": "http://h/v1/p-1234/stacks/c1-workers-abc/nested-id"}]},
  {"resource_name": "0", "physical_resource_id": "srv-0", "resource_type": "OS::Nova::Server",
   "resource_status": "CREATE_COMPLETE", "parent_resource": "workers",
   "links": [{"rel": "stack", "href": "http://h/v1/p-1234/stacks/c1-workers-abc/nested-id"}]},
  {"resource_name": "1", "physical_resource_id": "srv-1", "resource_type": "OS::Nova::Server",
   "resource_status": "CREATE_FAILED", "resource_status_reason": "state changed", "parent_resource": "workers",
   "links": [{"rel": "stack", "href": "http://h/v1/p-1234/stacks/c1-workers-abc/nested-id"}]}]})";

TEST_F(DriverTest, MarkUnhealthyTargetsTheMembersNestedStack) {
  cloud.on("GET", std::string(kHeat) + "/stacks/c1/id-1/resources", [](const Recorded& r) {
    EXPECT_EQ(queryValue(r.query, "nested_depth"), "5");
    return FakeReply{200, kResources};
  });
  cloud.on("PATCH", std::string(kHeat) + "/stacks/c1-workers-abc/nested-id/resources/1",
           [](const Recorded&) { return FakeReply{200, ""}; });
  ASSERT_TRUE(run(driver->markUnhealthy(StackRef{"c1", "id-1"}, "srv-1", "node NotReady")).ok());
  EXPECT_EQ(cloud.requests().back().body, R"({"mark_unhealthy":true,"resource_status_reason":"node NotReady"})");
  auto missing = run(driver->markUnhealthy(StackRef{"c1", "id-1"}, "srv-9", "x"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST_F(DriverTest, ExplainFailureUsesResourcesAndEvents) {
  cloud.on("GET", std::string(kHeat) + "/stacks/c1/id-1", [](const Recorded&) {
    return FakeReply{200, R"({"stack": {"id": "id-1", "stack_name": "c1", "stack_status": "CREATE_FAILED",
      "stack_status_reason": "Resource CREATE failed: ResourceInError"}})"};
  });
  cloud.on("GET", std::string(kHeat) + "/stacks/c1/id-1/resources", [](const Recorded&) { return FakeReply{200, kResources}; });
  cloud.on("GET", std::string(kHeat) + "/stacks/c1/id-1/events", [](const Recorded& r) {
    EXPECT_EQ(queryValue(r.query, "resource_status"), "FAILED");
    return FakeReply{200, R"({"events": [{"id": "e1", "resource_name": "1", "physical_resource_id": "srv-1",
      "resource_status": "CREATE_FAILED", "event_time": "2026-11-25T10:00:00Z",
      "resource_status_reason": "ResourceInError: Went to status ERROR due to \"No valid host was found.\""}]})"};
  });
  auto reason = run(driver->explainFailure(StackRef{"c1", "id-1"}));
  ASSERT_TRUE(reason.ok()) << reason.error().message;
  EXPECT_EQ(*reason, "resource \"workers.1\" (OS::Nova::Server) CREATE_FAILED: ResourceInError: Went to "
                     "status ERROR due to \"No valid host was found.\"");
}

TEST_F(DriverTest, ListServersPaginatesWithChangesSinceTagsAndMicroversion) {
  cloud.on("GET", "/compute/v2.1/servers/detail", [](const Recorded& r) {
    EXPECT_EQ(r.headers.at("openstack-api-version"), "compute 2.26");
    EXPECT_EQ(r.headers.at("x-openstack-nova-api-version"), "2.26");
    EXPECT_EQ(queryValue(r.query, "changes-since"), "2026-11-25T10:00:00Z");
    EXPECT_EQ(queryValue(r.query, "tags"), "magnumd");
    int start = 0;
    if (auto m = queryValue(r.query, "marker"); !m.empty()) start = std::stoi(m.substr(4)) + 1;
    std::string items;
    int end = std::min(start + 2, 5);
    for (int i = start; i < end; ++i) {
      items += fmt::format(R"({}{{"id": "srv-{}", "name": "n{}", "status": "{}", "OS-EXT-STS:task_state": null,
        "tags": ["magnumd"], "metadata": {{"cluster": "c1"}}, "updated": "2026-11-25T10:00:0{}Z"}})",
                           items.empty() ? "" : ",", i, i, i == 4 ? "DELETED" : "ACTIVE", i);
    }
    std::string links = end - start == 2
        ? fmt::format(R"(, "servers_links": [{{"rel": "next", "href": "http://proxy-host/v2.1/servers/detail?limit=2&marker=srv-{}"}}])", end - 1)
        : "";
    return FakeReply{200, fmt::format(R"({{"servers": [{}]{}}})", items, links)};
  });
  ServerQuery q;
  q.changes_since = util::parseRfc3339("2026-11-25T10:00:00Z");
  q.tags = {"magnumd"};
  auto servers = run(driver->listServers(q));
  ASSERT_TRUE(servers.ok()) << servers.error().message;
  ASSERT_EQ(servers->size(), 5u);
  EXPECT_EQ((*servers)[4].status, "DELETED");
  EXPECT_EQ((*servers)[0].metadata.at("cluster"), "c1");
  EXPECT_EQ(cloud.count("GET", "/compute/v2.1/servers/detail"), 3);
}

TEST_F(DriverTest, ListServersPageUsesTheConfiguredPageSizeAndTheGivenMarker) {
  cloud.on("GET", "/compute/v2.1/servers/detail", [](const Recorded& r) {
    EXPECT_EQ(queryValue(r.query, "limit"), "2");  // the fixture's page size
    EXPECT_EQ(queryValue(r.query, "marker"), "srv-7");
    return FakeReply{200, R"({"servers": [{"id": "srv-8", "name": "n8", "status": "ACTIVE"}]})"};
  });
  auto page = run(driver->listServersPage(ServerQuery{}, PageRequest{"srv-7", 0}));
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "srv-8");
  EXPECT_EQ(page->next_marker, "");
}

TEST_F(DriverTest, ServerGetAndDeleteErrors) {
  cloud.on("GET", "/compute/v2.1/servers/srv-1", [](const Recorded&) {
    return FakeReply{200, R"({"server": {"id": "srv-1", "status": "ERROR", "fault": {"code": 500, "message": "boom"}}})"};
  });
  auto s = run(driver->getServer("srv-1"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->fault->message, "boom");
  auto missing = run(driver->deleteServer("srv-9"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST_F(DriverTest, MalformedSuccessBodiesAreErrors) {
  cloud.on("GET", std::string(kHeat) + "/stacks", [](const Recorded&) { return FakeReply{200, "{\"stacks\": [tru"}; });
  auto r = run(driver->listStacks({}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("heat stack list: malformed response"), std::string::npos) << r.error().message;
}

TEST_F(DriverTest, FromCloudReadsCloudsYaml) {
  auto dir = std::filesystem::temp_directory_path() / ("magnumd-fromcloud-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "clouds.yaml") << fmt::format(
      "clouds:\n  sim:\n    auth:\n      auth_url: {}\n      user_id: u-1\n      password: secret\n"
      "      project_id: p-1234\n    region_name: RegionOne\n", cloud.authUrl());
  ConfigEnvironment env;
  env.vars["OS_CLIENT_CONFIG_FILE"] = (dir / "clouds.yaml").string();
  auto d = OpenStackDriver::fromCloud(io.get_executor(), "sim", {}, env);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(run((*d)->projectId()).value(), "p-1234");
  auto bad = OpenStackDriver::fromCloud(io.get_executor(), "other", {}, env);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("cloud \"other\" not found"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace magnumd::drivers::openstack
