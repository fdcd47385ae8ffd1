#include <algorithm>

#include "tests/cloudsim/sim_fixture.h"

namespace magnumd::cloudsim::testing {
namespace {

using namespace std::chrono_literals;

class SimApiTest : public SimTest {
 protected:
  void SetUp() override { token = login(); }
  std::string token;
};

TEST_F(SimApiTest, ErrorRateAnswersWithTheServicesErrorBody) {
  ASSERT_EQ(call("POST", "/sim/v1/faults", R"({"error_rate":1.0,"error_services":["nova"]})").status, 200);
  Reply nova = call("GET", "/compute/v2.1/servers", "", token);
  EXPECT_EQ(nova.status, 503);
  EXPECT_EQ(nova.json["serviceUnavailable"]["code"].GetInt(), 503);
  EXPECT_EQ(call("GET", heat() + "/stacks", "", token).status, 200);  // heat is not affected
  call("POST", "/sim/v1/faults", R"({"error_rate":1.0,"error_services":["heat"]})");
  Reply h = call("GET", heat() + "/stacks", "", token);
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.json["code"].GetInt(), 503);
  ASSERT_EQ(call("DELETE", "/sim/v1/faults").status, 200);
  EXPECT_EQ(call("GET", heat() + "/stacks", "", token).status, 200);
}

TEST_F(SimApiTest, ErrorRateIsAFractionAndDeterministic) {
  call("POST", "/sim/v1/faults", R"({"error_rate":0.3})");
  auto run = [&](Sim& s) {
    std::string pattern;
    for (int i = 0; i < 200; ++i) {
      net::Request req{net::http::verb::get, "/compute/v2.1", 11};
      pattern += s.handle(req).result_int() == 503 ? 'x' : '.';
    }
    return pattern;
  };
  std::string a = run(sim);
  size_t errors = std::count(a.begin(), a.end(), 'x');
  EXPECT_GT(errors, 30u);
  EXPECT_LT(errors, 90u);
  Sim twin(withDefaults({}), clock);
  twin.faults().error_rate = 0.3;
  std::string b = run(twin);
  EXPECT_EQ(a, b);  // same seed, same requests, same faults
}

TEST_F(SimApiTest, OutageLatencyAndValidation) {
  call("POST", "/sim/v1/faults", R"({"unavailable_seconds":5,"latency_ms":200})");
  EXPECT_EQ(call("GET", heat() + "/stacks", "", token).status, 503);
  EXPECT_EQ(call("POST", "/identity/v3/auth/tokens", authBody("demo", "password", "demo")).status, 503);
  net::Request req{net::http::verb::get, "/compute/v2.1", 11};
  EXPECT_EQ(sim.latencyFor(req), 200ms);
  net::Request simreq{net::http::verb::get, "/sim/v1/stats", 11};
  EXPECT_EQ(sim.latencyFor(simreq), 0ms);
  tick(5s);
  EXPECT_EQ(call("GET", heat() + "/stacks", "", token).status, 200);
  EXPECT_EQ(call("POST", "/sim/v1/faults", R"({"error_rate":2})").status, 400);
  EXPECT_EQ(call("POST", "/sim/v1/faults", R"({"fail_stack_create":{"count":-1}})").status, 400);
  EXPECT_EQ(call("POST", "/sim/v1/faults", R"({"typo":1})").status, 400);
  EXPECT_EQ(call("POST", "/sim/v1/servers/nope/status", R"({"status":"ERROR"})").status, 404);
}

TEST_F(SimApiTest, StatsCountRequestsByServiceVerbAndRoute) {
  call("DELETE", "/sim/v1/stats");
  call("GET", heat() + "/stacks", "", token);
  call("GET", heat() + "/stacks", "", token);
  call("GET", "/compute/v2.1/servers/detail?changes-since=2026-01-01T00:00:00Z", "", token);
  call("GET", heat() + "/stacks/name/0e44cc9c-e052-415d-afbf-469b0d384170/resources", "", token);
  Reply stats = call("GET", "/sim/v1/stats");
  const auto& r = stats.json["requests"];
  EXPECT_EQ(r["heat GET /stacks"].GetUint64(), 2u);
  EXPECT_EQ(r["nova GET /servers/detail"].GetUint64(), 1u);
  EXPECT_EQ(r["heat GET /stacks/{name}/{id}/resources"].GetUint64(), 1u);
  EXPECT_EQ(stats.json["total"].GetUint64(), 4u);
}

}  // namespace
}  // namespace magnumd::cloudsim::testing
