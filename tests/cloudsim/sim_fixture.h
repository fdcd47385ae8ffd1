// Drives a Sim through its request handler with a fake clock: no sockets, no real time.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cloudsim/sim.h"
#include "tests/support/fake_clock.h"
#include "util/json.h"

namespace magnumd::cloudsim::testing {

// Starts at 2026-01-02T03:04:05Z, the time cloudsim's tests render.
struct FakeClock : magnumd::testing::FakeClock {
  FakeClock() : magnumd::testing::FakeClock(util::parseRfc3339("2026-01-02T03:04:05Z").value()) {}
};

struct Reply {
  int status = 0;
  util::JsonDoc json;
  std::string body;
  net::Response raw;
  std::string header(const char* name) const { return std::string(raw[name]); }
};

class SimTest : public ::testing::Test {
 protected:
  explicit SimTest(SimConfig config = {}) : sim(withDefaults(config), clock) { sim.advance(); }

  static SimConfig withDefaults(SimConfig c) {
    c.seed = 42;
    return c;
  }

  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& token = "", std::map<std::string, std::string> headers = {}) {
    net::Request req{net::http::string_to_verb(method), target, 11};
    req.set(net::http::field::host, "sim.test:5000");
    if (!token.empty()) req.set("X-Auth-Token", token);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    Reply r;
    r.raw = sim.handle(req);
    r.status = r.raw.result_int();
    r.body = r.raw.body();
    if (!r.body.empty()) {
      auto parsed = util::parseJson(r.body);
      if (parsed.ok()) r.json = std::move(*parsed);
    }
    return r;
  }

  // A project-scoped token for a default user.
  std::string login(const std::string& user = "demo", const std::string& project = "demo",
                    const std::string& password = "password") {
    Reply r = call("POST", "/identity/v3/auth/tokens", authBody(user, password, project));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.header("X-Subject-Token");
  }

  static std::string authBody(const std::string& user, const std::string& password, const std::string& project) {
    std::string scope = project.empty() ? "" : R"(,"scope":{"project":{"name":")" + project + R"(","domain":{"name":"Default"}}})";
    return R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"name":")" + user +
           R"(","domain":{"name":"Default"},"password":")" + password + R"("}}})" + scope + "}}";
  }

  std::string projectId(const std::string& name = "demo") {
    sim.advance();
    for (const auto& p : sim.identity().projects()) {
      if (p.name == name) return p.id;
    }
    return "";
  }

  std::string heat(const std::string& project = "demo") { return "/heat-api/v1/" + projectId(project); }

  void tick(std::chrono::milliseconds d) {
    clock.advance(d);
    sim.advance();
  }

  FakeClock clock;
  Sim sim;
};

inline std::string str(const util::Json& v) { return v.IsString() ? v.GetString() : util::toJson(v); }

}  // namespace magnumd::cloudsim::testing

namespace magnumd::cloudsim::testing {

inline std::string quote(const std::string& s) {
  util::JsonDoc d;
  d.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), d.GetAllocator());
  return util::toJson(d);
}

inline const char* kGroupTemplate = R"(heat_template_version: 2018-08-31
description: workers
parameters:
  count: {type: number, default: 3}
  removal: {type: comma_delimited_list, default: []}
  cluster: {type: string, default: demo}
resources:
  workers:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      removal_policies: [{resource_list: {get_param: removal}}]
      resource_def:
        type: OS::Nova::Server
        properties:
          name: {list_join: ['-', [{get_param: cluster}, 'worker', '%index%']]}
          image: fedora-coreos
          flavor: m1.small
          networks: [{network: private}]
          metadata: {cluster: {get_param: cluster}}
          tags: [magnumd]
  net:
    type: OS::Neutron::Net
outputs:
  refs:
    value: {get_attr: [workers, refs_map]}
    description: member ids
  addresses:
    value: {get_attr: [workers, first_address]}
  net_id:
    value: {get_resource: net}
)";

}  // namespace magnumd::cloudsim::testing
