// Authentication and authorization: token file parsing, 401/403, roles, namespace filtering.
#include <fmt/format.h>

#include "server/auth.h"
#include "tests/server/api_fixture.h"

namespace magnumd::server::testing {
namespace {

using V = http::verb;

TEST(TokenFile, ParsesCommentsBlankLinesAndRoles) {
  auto auth = TokenAuthenticator::parse(
      "# token,user,namespace,role\n\nsecret-admin,root,*,admin\n  secret-member , bob , team-b , member\n",
      "tokens.csv");
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ((*auth)->size(), 2u);
  auto bob = (*auth)->authenticate("secret-member");
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->user, "bob");
  EXPECT_EQ(bob->namespace_, "team-b");
  EXPECT_EQ(bob->role, Role::Member);
  EXPECT_FALSE((*auth)->authenticate("secret-membe").has_value());
  EXPECT_FALSE((*auth)->authenticate("").has_value());
}

TEST(TokenFile, ErrorsNameTheLine) {
  auto bad_role = TokenAuthenticator::parse("# c\nsecret-admin,root,*,owner\n", "t.csv");
  ASSERT_FALSE(bad_role.ok());
  EXPECT_EQ(bad_role.error().message, R"(t.csv:2: role "owner" is not one of admin, member, reader, healer)");
  auto fields = TokenAuthenticator::parse("secret-admin,root,*\n", "t.csv");
  ASSERT_FALSE(fields.ok());
  EXPECT_NE(fields.error().message.find("t.csv:1: expected 4"), std::string::npos);
  auto dup = TokenAuthenticator::parse("secret-admin,a,*,admin\nsecret-admin,b,*,reader\n", "t.csv");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("already defined on line 1"), std::string::npos);
  auto missing = TokenAuthenticator::loadFile("/nonexistent/tokens.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/tokens.csv"), std::string::npos);
}

TEST(BearerToken, Extraction) {
  EXPECT_EQ(bearerToken("Bearer abc"), "abc");
  EXPECT_EQ(bearerToken("  Bearer   abc  "), "abc");
  EXPECT_EQ(bearerToken("Basic abc"), "");
  EXPECT_EQ(bearerToken(""), "");
}

class AuthTest : public ApiTest {};

TEST_F(AuthTest, MissingOrBadTokenIs401) {
  auto none = call(V::get, std::string(kBase) + "/clusters", "", "");
  EXPECT_EQ(none.code, 401u);
  EXPECT_EQ(none.reason(), "Unauthorized");
  auto bad = call(V::get, std::string(kBase) + "/clusters", "", "not-a-token");
  EXPECT_EQ(bad.code, 401u);
  EXPECT_EQ(call(V::get, "/metrics", "", "").code, 401u);
  // Health and version need no token.
  EXPECT_EQ(call(V::get, "/healthz", "", "").code, 200u);
  EXPECT_EQ(call(V::get, "/readyz", "", "").code, 200u);
  auto version = call(V::get, "/version", "", "");
  EXPECT_EQ(version.code, 200u);
  EXPECT_FALSE(version.str("/version").empty());
}

TEST_F(AuthTest, ReadyzAndVersionShowWhichReplicaLeads) {
  stop();
  ReplicaRole role{"b:9511", "a:9511", false};
  role_ = [&role] { return role; };
  start(WatchOptions{});
  // A follower serves the API too, so it is ready; the body and a header say it follows whom.
  auto ready = call(V::get, "/readyz", "", "");
  EXPECT_EQ(ready.code, 200u);
  EXPECT_EQ(ready.body, "ok: follower (leader: a:9511)\n");
  EXPECT_EQ(last_headers_["X-Magnumd-Role"], "follower");
  auto version = call(V::get, "/version", "", "");
  EXPECT_EQ(version.str("/replica"), "b:9511");
  EXPECT_EQ(version.str("/role"), "follower");
  EXPECT_EQ(version.str("/leader"), "a:9511");

  role = {"b:9511", "b:9511", true};
  ready = call(V::get, "/readyz", "", "");
  EXPECT_EQ(ready.body, "ok: leader\n");
  EXPECT_EQ(last_headers_["X-Magnumd-Role"], "leader");
  EXPECT_EQ(call(V::get, "/version", "", "").str("/role"), "leader");
  stop();
  role_ = nullptr;
  start(WatchOptions{});
}

// While the store's etcd has no quorum, reads of both APIs (get, list, watch; /apis and /v1)
// carry kube-apiserver's `Warning: 299 - "..."` saying since when they may be stale; writes,
// health and version do not, and the warning goes when the quorum is back.
TEST_F(AuthTest, ReadsSayTheyMayBeStaleWhileTheStoreLostItsEtcdQuorum) {
  ASSERT_EQ(createTemplate("team-a", "k8s").code, 201u);
  stop();
  std::optional<util::SystemTime> since;
  stale_since_ = [&since] { return since; };
  start(WatchOptions{});
  const std::string clusters = std::string(kBase) + "/namespaces/team-a/clustertemplates";
  ASSERT_EQ(call(V::get, clusters).code, 200u);
  EXPECT_EQ(last_headers_.count("Warning"), 0u);

  since = *util::parseRfc3339("2026-12-07T21:30:00Z");
  const std::string expected =
      "299 - \"the store lost contact with its etcd quorum at 2026-12-07T21:30:00Z: this replica "
      "answers from its cache, which may be stale since then\"";
  EXPECT_EQ(call(V::get, clusters).code, 200u);
  EXPECT_EQ(last_headers_["Warning"], expected);
  EXPECT_EQ(call(V::get, clusters + "/k8s").code, 200u);
  EXPECT_EQ(last_headers_["Warning"], expected);
  EXPECT_EQ(keystoneCall(V::get, "/v1/clustertemplates", kAdmin).code, 200u);
  EXPECT_EQ(last_headers_["Warning"], expected);
  {
    net::Reply watch = rawCall(V::get, clusters + "?watch=true");  // gone before the server
    auto* stream = std::get_if<net::StreamingResponse>(&watch);
    ASSERT_NE(stream, nullptr);
    EXPECT_EQ(std::string(stream->head[http::field::warning]), expected);
  }
  EXPECT_EQ(call(V::get, "/version", "", "").code, 200u);
  EXPECT_EQ(last_headers_.count("Warning"), 0u);
  createTemplate("team-a", "refused-or-not");
  EXPECT_EQ(last_headers_.count("Warning"), 0u);

  since.reset();
  EXPECT_EQ(call(V::get, clusters).code, 200u);
  EXPECT_EQ(last_headers_.count("Warning"), 0u);
  stop();
  stale_since_ = nullptr;
  start(WatchOptions{});
}

TEST_F(AuthTest, NamespaceLimitedTokenIsConfinedToItsNamespace) {
  ASSERT_EQ(createTemplate("team-a", "k8s").code, 201u);
  ASSERT_EQ(createTemplate("team-b", "k8s").code, 201u);
  ASSERT_EQ(createCluster("team-a", "mine", "k8s").code, 201u);
  ASSERT_EQ(createCluster("team-b", "theirs", "k8s").code, 201u);

  auto own = call(V::get, std::string(kBase) + "/namespaces/team-a/clusters/mine", "", kMemberA);
  EXPECT_EQ(own.code, 200u);
  auto other = call(V::get, std::string(kBase) + "/namespaces/team-b/clusters/theirs", "", kMemberA);
  EXPECT_EQ(other.code, 403u);
  EXPECT_EQ(other.reason(), "Forbidden");
  EXPECT_NE(other.str("/message").find(R"(User "alice")"), std::string::npos) << other.body;
  EXPECT_EQ(call(V::post, std::string(kBase) + "/namespaces/team-b/clusters",
                 clusterJson("team-b", "x", "k8s"), kMemberA).code, 403u);

  auto all = call(V::get, std::string(kBase) + "/clusters", "", kMemberA);
  ASSERT_EQ(all.code, 200u);
  ASSERT_EQ(all.json["items"].Size(), 1u);
  EXPECT_EQ(all.str("/items/0/metadata/namespace"), "team-a");
}

TEST_F(AuthTest, ReaderCannotWriteMemberCannotWriteStatus) {
  ASSERT_EQ(createTemplate("team-a", "k8s").code, 201u);
  auto reader = call(V::post, std::string(kBase) + "/namespaces/team-a/clusters",
                     clusterJson("team-a", "x", "k8s"), kReaderAll);
  EXPECT_EQ(reader.code, 403u);
  EXPECT_NE(reader.str("/message").find("read-only"), std::string::npos);
  EXPECT_EQ(call(V::get, std::string(kBase) + "/namespaces/team-a/clustertemplates/k8s", "", kReaderAll).code,
            200u);

  ASSERT_EQ(call(V::post, std::string(kBase) + "/namespaces/team-a/clusters",
                 clusterJson("team-a", "x", "k8s"), kMemberA).code, 201u);
  auto status = call(V::patch, std::string(kBase) + "/namespaces/team-a/clusters/x/status",
                     R"({"status":{"phase":"CREATE_COMPLETE"}})", kMemberA,
                     "application/merge-patch+json");
  EXPECT_EQ(status.code, 403u);
  auto admin_a = call(V::patch, std::string(kBase) + "/namespaces/team-a/clusters/x/status",
                      R"({"status":{"phase":"CREATE_COMPLETE"}})", kAdminA,
                      "application/merge-patch+json");
  EXPECT_EQ(admin_a.code, 200u) << admin_a.body;
}

TEST_F(AuthTest, AHealerWritesAClustersHealthAndNothingElse) {
  ASSERT_EQ(createTemplate("team-a", "k8s").code, 201u);
  ASSERT_EQ(call(V::post, std::string(kBase) + "/namespaces/team-a/clusters",
                 clusterJson("team-a", "x", "k8s"), kMemberA).code, 201u);
  const std::string status = std::string(kBase) + "/namespaces/team-a/clusters/x/status";
  auto health = call(V::patch, status,
                     R"({"status":{"healthStatus":"UNHEALTHY","healthStatusReason":{"x-node-1.NodeCondition":"error"}}})",
                     kHealerA, "application/merge-patch+json");
  ASSERT_EQ(health.code, 200u) << health.body;
  EXPECT_EQ(health.str("/status/healthStatus"), "UNHEALTHY");

  auto phase = call(V::patch, status, R"({"status":{"phase":"CREATE_COMPLETE"}})", kHealerA,
                    "application/merge-patch+json");
  EXPECT_EQ(phase.code, 403u);
  EXPECT_EQ(phase.str("/message"),
            "role healer may change only status.healthStatus and status.healthStatusReason, not "
            "status.phase");
  auto spec = call(V::patch, std::string(kBase) + "/namespaces/team-a/clusters/x",
                   R"({"spec":{"nodeCount":3}})", kHealerA, "application/merge-patch+json");
  EXPECT_EQ(spec.code, 403u);
  EXPECT_NE(spec.str("/message").find("role healer may only update a Cluster's health"),
            std::string::npos);
  EXPECT_EQ(call(V::get, std::string(kBase) + "/namespaces/team-a/clusters/x", "", kHealerA).code,
            200u);
}

TEST_F(AuthTest, NamespaceLimitedWatchSeesNothingOfOtherNamespaces) {
  ASSERT_EQ(createTemplate("team-a", "k8s").code, 201u);
  ASSERT_EQ(createTemplate("team-b", "k8s").code, 201u);
  auto writer = watch(std::string(kBase) + "/clusters?watch=true", kMemberA);
  ASSERT_NE(writer, nullptr);
  ASSERT_EQ(createCluster("team-b", "theirs", "k8s").code, 201u);
  ASSERT_EQ(createCluster("team-a", "mine", "k8s").code, 201u);
  ASSERT_TRUE(writer->waitFor([](const auto& events) {
    for (const auto& [type, doc] : events) {
      if (type == "ADDED") return true;
    }
    return false;
  }));
  for (const auto& [type, doc] : writer->events()) {
    if (type == "ADDED") {
      EXPECT_EQ(std::string(doc["object"]["metadata"]["namespace"].GetString()), "team-a");
    }
  }
}

TEST_F(AuthTest, MetricsNeedAnyValidTokenAndCountRequests) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  call(V::get, std::string(kBase) + "/namespaces/demo/clusters/none");
  auto metrics = call(V::get, "/metrics", "", kReaderAll);
  ASSERT_EQ(metrics.code, 200u);
  EXPECT_NE(metrics.body.find(R"(magnumd_api_requests_total{verb="create",resource="clustertemplates",code="201"} 1)"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find(R"(magnumd_api_requests_total{verb="get",resource="clusters",code="404"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("magnumd_api_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.body.find(R"(magnumd_store_write_duration_seconds_count{op="create"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("magnumd_api_open_watches"), std::string::npos);
  EXPECT_NE(metrics.body.find("process_resident_memory_bytes"), std::string::npos);
}

TEST_F(AuthTest, ReadyzFailsAfterShutdownBegins) {
  api_->setReady(false);
  EXPECT_EQ(call(V::get, "/readyz", "", "").code, 503u);
  EXPECT_EQ(call(V::get, "/healthz", "", "").code, 200u);
}

}  // namespace
}  // namespace magnumd::server::testing
