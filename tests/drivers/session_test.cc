#include "drivers/openstack/session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "tests/drivers/fake_openstack.h"
#include "tests/drivers/run_task.h"
#include "tests/support/fake_clock.h"

namespace magnumd::drivers::openstack {
namespace {

using namespace std::chrono_literals;
using testing::FakeOpenStack;
using testing::FakeReply;
using testing::Recorded;
using testing::runTask;
using util::ErrorCode;

struct ManualClock : magnumd::testing::FakeClock {
  ManualClock() : FakeClock(std::chrono::system_clock::from_time_t(1800000000)) {}
};

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    cloud.setClock(&clock);
    cloud.on("GET", "/heat-api/v1/p-1234/stacks", [](const Recorded&) { return FakeReply{200, R"({"stacks": []})"}; });
    cloud.on("GET", "/heat-two/v1/p-1234/stacks", [](const Recorded&) { return FakeReply{200, R"({"stacks": []})"}; });
    cloud.on("GET", "/internal-heat/v1/p-1234/stacks", [](const Recorded&) { return FakeReply{200, R"({"stacks": []})"}; });
    http::HttpClientOptions o;
    o.retry.base_delay = 1ms;
    http = std::move(http::HttpClient::create(io.get_executor(), o).value());
  }

  CloudConfig config() const {
    CloudConfig c;
    c.name = "test";
    c.source = "test config";
    c.auth_url = cloud.authUrl();
    c.username = "demo";
    c.user_domain_name = "Default";
    c.password = "secret";
    c.project_name = "demo";
    c.project_domain_name = "Default";
    c.region_name = "RegionOne";
    return c;
  }

  std::unique_ptr<Session> session(CloudConfig c) { return std::make_unique<Session>(*http, std::move(c), clock); }

  util::Result<http::HttpResponse> listStacks(Session& s) {
    return runTask(io, s.request("orchestration", "GET", "/stacks"));
  }

  boost::asio::io_context io;
  ManualClock clock;
  FakeOpenStack cloud;
  std::unique_ptr<http::HttpClient> http;
};

TEST_F(SessionTest, ReusesTheTokenAndSendsIt) {
  auto s = session(config());
  for (int i = 0; i < 3; ++i) {
    auto res = listStacks(*s);
    ASSERT_TRUE(res.ok()) << res.error().message;
    EXPECT_EQ(res->status, 200);
  }
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 1);
  auto requests = cloud.requests();
  EXPECT_EQ(requests.back().headers.at("x-auth-token"), "tok-1");
  EXPECT_EQ(requests.back().path, "/heat-api/v1/p-1234/stacks");  // $(project_id)s substituted
  EXPECT_EQ(runTask(io, s->projectId()).value(), "p-1234");
}

TEST_F(SessionTest, RenewsShortlyBeforeExpiry) {
  auto s = session(config());
  ASSERT_TRUE(listStacks(*s).ok());
  clock.advance(3200s);  // 400 s left: more than the 300 s margin
  ASSERT_TRUE(listStacks(*s).ok());
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 1);
  clock.advance(200s);  // 200 s left: renew now, before any request fails
  ASSERT_TRUE(listStacks(*s).ok());
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 2);
  EXPECT_EQ(cloud.count("GET", "/heat-api"), 3);  // no request saw a 401
}

TEST_F(SessionTest, ShortLivedTokensRenewAtHalfTheirLifetime) {
  cloud.setTokenLifetime(60s);
  auto s = session(config());
  ASSERT_TRUE(listStacks(*s).ok());
  clock.advance(20s);
  ASSERT_TRUE(listStacks(*s).ok());
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 1);
  clock.advance(15s);
  ASSERT_TRUE(listStacks(*s).ok());
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 2);
}

TEST_F(SessionTest, ReauthenticatesOnceOn401AndRetries) {
  auto s = session(config());
  ASSERT_TRUE(listStacks(*s).ok());
  cloud.revokeAllTokens();  // e.g. Keystone restarted with new Fernet keys
  auto res = listStacks(*s);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 2);
  EXPECT_EQ(cloud.count("GET", "/heat-api"), 3);
}

TEST_F(SessionTest, A401ThatPersistsIsReturnedAfterOneRetry) {
  cloud.on("GET", "/heat-api/v1/p-1234/stacks", [](const Recorded&) {
    return FakeReply{401, R"({"error": {"code": 401, "title": "Unauthorized", "message": "nope"}})"};
  });
  auto s = session(config());
  auto res = listStacks(*s);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(cloud.count("GET", "/heat-api"), 2);
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 2);
}

TEST_F(SessionTest, WrongPasswordIsUnauthorizedWithKeystonesMessage) {
  auto c = config();
  c.password = "wrong";
  auto s = session(c);
  auto res = listStacks(*s);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::Unauthorized);
  EXPECT_NE(res.error().message.find("rejected user \"demo\""), std::string::npos) << res.error().message;
  EXPECT_NE(res.error().message.find("requires authentication"), std::string::npos) << res.error().message;
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 1);  // POST is never retried
}

TEST_F(SessionTest, ConcurrentRequestsShareOneAuthentication) {
  auto s = session(config());
  std::vector<std::optional<util::Result<http::HttpResponse>>> results(8);
  for (auto& slot : results) {
    boost::asio::co_spawn(io, testing::storeResult(s->request("orchestration", "GET", "/stacks"), &slot),
                          [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  }
  io.restart();
  io.run();
  for (auto& r : results) ASSERT_TRUE(r.has_value() && r->ok());
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 1);
  EXPECT_EQ(s->authentications(), 1u);
}

TEST_F(SessionTest, ConcurrentCallersShareAFailedAuthentication) {
  auto c = config();
  c.password = "wrong";
  auto s = session(c);
  std::vector<std::optional<util::Result<Token>>> results(5);
  for (auto& slot : results) {
    boost::asio::co_spawn(io, testing::storeResult(s->token(), &slot),
                          [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  }
  io.restart();
  io.run();
  for (auto& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->ok());
  }
  EXPECT_EQ(cloud.count("POST", "/identity/v3/auth/tokens"), 1);
}

TEST_F(SessionTest, CatalogSelectionByRegionAndInterface) {
  auto two = config();
  two.region_name = "RegionTwo";
  ASSERT_TRUE(listStacks(*session(two)).ok());
  EXPECT_EQ(cloud.requests().back().path, "/heat-two/v1/p-1234/stacks");  // %(tenant_id)s

  auto internal = config();
  internal.interface = "internal";
  ASSERT_TRUE(listStacks(*session(internal)).ok());
  EXPECT_EQ(cloud.requests().back().path, "/internal-heat/v1/p-1234/stacks");

  auto missing = config();
  missing.region_name = "RegionNine";
  auto res = listStacks(*session(missing));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::NotFound);
  EXPECT_NE(res.error().message.find("region \"RegionNine\""), std::string::npos) << res.error().message;
}

TEST_F(SessionTest, ApplicationCredentialAuthentication) {
  auto c = config();
  c.auth_type = "v3applicationcredential";
  c.application_credential_id = "ac-1";
  c.application_credential_secret = "appcred-secret";
  auto s = session(c);
  ASSERT_TRUE(listStacks(*s).ok());
  auto auth = cloud.requests().front();
  EXPECT_NE(auth.body.find("\"application_credential\":{\"id\":\"ac-1\""), std::string::npos) << auth.body;
  EXPECT_EQ(auth.body.find("scope"), std::string::npos);
}

TEST_F(SessionTest, UnreachableKeystoneSaysWhere) {
  auto c = config();
  c.auth_url = "http://127.0.0.1:1/identity/v3";
  http::HttpClientOptions o;
  o.retry.max_attempts = 1;
  auto quick = http::HttpClient::create(io.get_executor(), o).value();
  Session s(*quick, c, clock);
  auto res = runTask(io, s.request("orchestration", "GET", "/stacks"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::Unavailable);
  EXPECT_NE(res.error().message.find("authenticating at http://127.0.0.1:1/identity/v3/auth/tokens"),
            std::string::npos) << res.error().message;
}

TEST_F(SessionTest, ValidatesAUsersTokenWithItsOwn) {
  cloud.on("GET", "/identity/v3/auth/tokens", [](const Recorded& r) {
    if (r.headers.count("x-subject-token") == 0 || r.headers.at("x-subject-token") != "user-tok") {
      return FakeReply{
          404, R"({"error":{"code":404,"title":"Not Found","message":"Could not find token."}})"};
    }
    return FakeReply{
        200,
        R"({"token":{"expires_at":"2030-01-01T00:00:00.000000Z","user":{"id":"u-1","name":"alice"},
      "project":{"id":"p-9","name":"team-a"},"roles":[{"id":"r1","name":"member"},{"id":"r2","name":"reader"}]}})"};
  });
  auto s = session(config());
  auto found = runTask(io, s->validateToken("user-tok"));
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->user_name, "alice");
  EXPECT_EQ((*found)->project_id, "p-9");
  EXPECT_EQ((*found)->roles, (std::vector<std::string>{"member", "reader"}));
  const Recorded validation = cloud.requests().back();
  EXPECT_EQ(validation.headers.at("x-auth-token"), "tok-1");  // magnumd's own token
  EXPECT_EQ(validation.query.find("user-tok"), std::string::npos);

  auto unknown = runTask(io, s->validateToken("revoked"));
  ASSERT_TRUE(unknown.ok()) << unknown.error().message;
  EXPECT_FALSE(unknown->has_value());

  cloud.on("GET", "/identity/v3/auth/tokens", [](const Recorded&) {
    return FakeReply{403, R"({"error":{"message":"not allowed"}})"};
  });
  auto refused = runTask(io, s->validateToken("user-tok"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::Unavailable);
  EXPECT_NE(refused.error().message.find("not allowed"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::drivers::openstack
