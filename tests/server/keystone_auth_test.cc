// KeystoneAuthenticator against a fake Keystone: role mapping, caching until expiry or the TTL,
// revocation within the TTL, one validation for concurrent requests, a bounded cache, and
// Keystone outages reported as Unavailable rather than Unauthorized.
#include "server/keystone_auth.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "tests/server/fake_keystone.h"
#include "tests/support/fake_clock.h"

namespace magnumd::server {
namespace {

using namespace std::chrono_literals;
using testing::FakeKeystone;
using testing::token;
namespace asio = boost::asio;

asio::awaitable<void> authenticateInto(KeystoneAuthenticator* auth, std::string token,
                                       std::optional<util::Result<Identity>>* out) {
  out->emplace(co_await auth->authenticate(std::move(token)));
}

class KeystoneAuthTest : public ::testing::Test {
 protected:
  util::Result<Identity> check(KeystoneAuthenticator& auth, const std::string& t) {
    std::optional<util::Result<Identity>> out;
    asio::co_spawn(io, authenticateInto(&auth, t, &out), asio::detached);
    io.restart();
    io.run();
    return std::move(*out);
  }

  asio::io_context io;
  magnumd::testing::FakeClock clock;
  FakeKeystone keystone{io.get_executor()};
};

TEST(KeystoneRoles, MapToMagnumdRolesAndProjectNamespaces) {
  auto member = identityFromKeystone(token("alice", "team-a", {"reader", "member"}));
  ASSERT_TRUE(member.ok());
  EXPECT_EQ(member->role, Role::Member);
  EXPECT_EQ(member->namespace_, "team-a-id");
  EXPECT_EQ(member->user, "alice");
  auto reader = identityFromKeystone(token("bob", "team-a", {"reader"}));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->role, Role::Reader);
  EXPECT_EQ(reader->namespace_, "team-a-id");
  auto admin = identityFromKeystone(token("root", "admin", {"member", "admin"}));
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->role, Role::Admin);
  EXPECT_TRUE(admin->allNamespaces());

  auto none = identityFromKeystone(token("eve", "team-a", {"heat_stack_owner"}));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, util::ErrorCode::Forbidden);
  EXPECT_NE(none.error().message.find("heat_stack_owner"), std::string::npos);
  KeystoneToken no_project{"eve-id", "eve", "", "", {"member"}, std::nullopt};
  auto refused = identityFromKeystone(no_project);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, util::ErrorCode::Forbidden);
  EXPECT_NE(refused.error().message.find("not scoped to a project"), std::string::npos);
}

TEST_F(KeystoneAuthTest, CachesWithinTheTtlAndSeesRevocationAfterIt) {
  KeystoneAuthenticator auth(keystone, clock, {30s, 100});
  keystone.tokens["tok-alice"] = token("alice", "team-a", {"member"});
  ASSERT_TRUE(check(auth, "tok-alice").ok());
  ASSERT_TRUE(check(auth, "tok-alice").ok());
  EXPECT_EQ(keystone.calls, 1);
  keystone.tokens.erase("tok-alice");  // revoked in Keystone
  clock.advance(29s);
  EXPECT_TRUE(check(auth, "tok-alice").ok());  // still within the TTL
  clock.advance(2s);
  auto revoked = check(auth, "tok-alice");
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code, util::ErrorCode::Unauthorized);
  EXPECT_EQ(keystone.calls, 2);
}

TEST_F(KeystoneAuthTest, TrustsATokenNoLongerThanItsExpiry) {
  KeystoneAuthenticator auth(keystone, clock, {60s, 100});
  auto t = token("alice", "team-a", {"member"});
  t.expires_at = clock.now() + 10s;
  keystone.tokens["short"] = t;
  ASSERT_TRUE(check(auth, "short").ok());
  clock.advance(11s);
  // Keystone itself would now say 404; the fake still knows it, but its expiry has passed.
  auto expired = check(auth, "short");
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, util::ErrorCode::Unauthorized);
  EXPECT_EQ(keystone.calls, 2);
}

TEST_F(KeystoneAuthTest, KeystoneDownIsUnavailableAndNotRemembered) {
  KeystoneAuthenticator auth(keystone, clock, {60s, 100});
  keystone.tokens["tok"] = token("alice", "team-a", {"member"});
  keystone.down = true;
  auto down = check(auth, "tok");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, util::ErrorCode::Unavailable);
  EXPECT_NE(down.error().message.find("connection refused"), std::string::npos);
  EXPECT_EQ(down.error().message.find("tok"), std::string::npos) << "the token must not be echoed";
  keystone.down = false;
  EXPECT_TRUE(check(auth, "tok").ok());
  EXPECT_EQ(keystone.calls, 2);
}

TEST_F(KeystoneAuthTest, ConcurrentRequestsForOneTokenShareOneValidation) {
  KeystoneAuthenticator auth(keystone, clock, {60s, 100});
  keystone.tokens["tok"] = token("alice", "team-a", {"reader"});
  keystone.hold = true;
  std::vector<std::optional<util::Result<Identity>>> results(5);
  for (auto& slot : results)
    asio::co_spawn(io, authenticateInto(&auth, "tok", &slot), asio::detached);
  io.poll();  // every request is now waiting: one in the validator, four on its flight
  EXPECT_EQ(keystone.calls, 1);
  for (const auto& slot : results) EXPECT_FALSE(slot.has_value());
  keystone.release();
  io.restart();
  io.run();
  for (const auto& slot : results) {
    ASSERT_TRUE(slot.has_value());
    ASSERT_TRUE(slot->ok());
    EXPECT_EQ((*slot)->role, Role::Reader);
  }
  EXPECT_EQ(keystone.calls, 1);
  EXPECT_EQ(auth.validations(), 1u);
}

TEST_F(KeystoneAuthTest, CacheIsBounded) {
  KeystoneAuthenticator auth(keystone, clock, {60s, 3});
  for (int i = 0; i < 10; ++i) {
    std::string t = "tok-" + std::to_string(i);
    keystone.tokens[t] = token("u" + std::to_string(i), "p", {"member"});
    ASSERT_TRUE(check(auth, t).ok());
    EXPECT_LE(auth.cached(), 3u);
  }
  // The newest are remembered, the oldest were forgotten.
  const int before = keystone.calls;
  EXPECT_TRUE(check(auth, "tok-9").ok());
  EXPECT_EQ(keystone.calls, before);
  EXPECT_TRUE(check(auth, "tok-0").ok());
  EXPECT_EQ(keystone.calls, before + 1);
}

}  // namespace
}  // namespace magnumd::server
