// Status types: encode/decode round trips and the /status admission rules.
#include <gtest/gtest.h>

#include "api/cluster.h"
#include "api/event.h"
#include "api/nodegroup.h"
#include "tests/api/helpers.h"

namespace magnumd::api {
namespace {

using testing::expectInvalid;

TEST(ClusterStatusCodec, RoundTrip) {
  ClusterStatus s;
  s.phase = std::string(kPhaseCreateFailed);
  s.status_reason = "Resource CREATE failed: server kube-master-0: No valid host was found";
  s.health_status = "UNKNOWN";
  s.health_status_reason = {{"api", "The cluster prod is not accessible."}};
  s.api_address = "https://172.24.4.6:6443";
  s.master_addresses = {"172.24.4.6"};
  s.node_addresses = {"172.24.4.7", "172.24.4.8"};
  s.coe_version = "v1.28.2";
  s.stack_id = "c96b66dd-2109-4ae2-b510-b3428f1e8761";
  s.faults = {{"default-master", "No valid host"}};
  s.observed_generation = 3;
  s.conditions = {{"Ready", "False", "StackCreateFailed", "No valid host", "2026-01-01T00:00:00Z", 3}};
  std::string json = encodeClusterStatus(s);
  auto back = decodeClusterStatus(json);
  ASSERT_TRUE(back.ok()) << testing::describe(back.error());
  EXPECT_EQ(*back, s);
  EXPECT_NE(json.find(R"("lastTransitionTime":"2026-01-01T00:00:00Z")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("masterAddresses":["172.24.4.6"])"), std::string::npos) << json;
  EXPECT_EQ(findCondition(back->conditions, "Ready")->reason, "StackCreateFailed");
  EXPECT_EQ(findCondition(back->conditions, "NodesReady"), nullptr);
}

TEST(ClusterStatusCodec, TheObservedApiRoundTripsAndIsAbsentUntilObserved) {
  ClusterStatus s;
  s.coe_version = "v1.32.4";
  s.api = ClusterApiStatus{false, 3, 2, 4};
  std::string json = encodeClusterStatus(s);
  EXPECT_NE(json.find(R"("api":{"reachable":false,"nodes":3,"readyNodes":2,"expectedNodes":4})"),
            std::string::npos)
      << json;
  auto back = decodeClusterStatus(json);
  ASSERT_TRUE(back.ok()) << testing::describe(back.error());
  EXPECT_EQ(*back, s);
  EXPECT_EQ(encodeClusterStatus(ClusterStatus{}).find("\"api\""), std::string::npos);
  auto unknown = decodeClusterStatus(R"({"api":{"reachable":true,"healthy":true}})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find(R"(status.api: unknown field "healthy")"),
            std::string::npos)
      << unknown.error().message;
}

TEST(ClusterStatusCodec, EmptyStatusEncodesOnlyObservedGeneration) {
  EXPECT_EQ(encodeClusterStatus({}), R"({"observedGeneration":0})");
}

TEST(NodeGroupStatusCodec, RoundTripWithNodes) {
  NodeGroupStatus s;
  s.phase = "UPDATE_IN_PROGRESS";
  s.node_count = 2;
  s.nodes = {{"prod-worker-0", "3f1a", "ACTIVE", {"10.0.0.5"}}, {"prod-worker-1", "9b2c", "BUILD", {}}};
  s.stack_id = "s";
  auto back = decodeNodeGroupStatus(encodeNodeGroupStatus(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
}

TEST(StatusAdmission, RejectsUnknownFieldsAndBadEnums) {
  auto unknown = admitStatus(Kind::Cluster, R"({"phase":"CREATE_COMPLETE","state":"x"})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, util::ErrorCode::BadRequest);
  EXPECT_TRUE(testing::causeAt(unknown.error(), "status.state").has_value());

  expectInvalid(admitStatus(Kind::Cluster, R"({"phase":"DONE"})"), "status.phase", "CREATE_IN_PROGRESS");
  expectInvalid(admitStatus(Kind::Cluster, R"({"healthStatus":"OK"})"), "status.healthStatus");
  expectInvalid(admitStatus(Kind::Cluster, R"({"conditions":[{"type":"Ready","status":"yes"}]})"),
                "status.conditions[0].status", "True, False, Unknown");
  expectInvalid(admitStatus(Kind::NodeGroup,
                            R"({"conditions":[{"type":"Ready","status":"True"},{"type":"Ready","status":"True"}]})"),
                "status.conditions[1].type", "twice");
  auto nested = admitStatus(Kind::NodeGroup, R"({"nodes":[{"name":"a","ip":"1"}]})");
  ASSERT_FALSE(nested.ok());
  EXPECT_TRUE(testing::causeAt(nested.error(), "status.nodes[0].ip").has_value()) << testing::describe(nested.error());
}

TEST(StatusAdmission, CanonicalisesAValidStatus) {
  auto r = admitStatus(Kind::Cluster, R"({"conditions":[{"status":"True","type":"Ready"}],"phase":"CREATE_COMPLETE"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, R"({"phase":"CREATE_COMPLETE","observedGeneration":0,"conditions":[{"type":"Ready","status":"True","observedGeneration":0}]})");
  EXPECT_TRUE(admitStatus(Kind::ClusterTemplate, R"({"anything":1})").ok());
  EXPECT_FALSE(admitStatus(Kind::ClusterTemplate, "[]").ok());
}

TEST(EventSpecAdmission, ValidAndInvalid) {
  const char* ok = R"({"involvedObject":{"kind":"Cluster","namespace":"demo","name":"prod","uid":"u"},)"
                   R"("type":"Warning","reason":"StackCreateFailed","message":"No valid host","source":"cluster"})";
  EXPECT_TRUE(admitSpec(Kind::Event, ok).ok());
  auto r = admitSpec(Kind::Event, R"({"involvedObject":{"kind":"Pod","name":"x"},"type":"Error","reason":"bad reason"})");
  expectInvalid(r, "spec.involvedObject.kind");
  expectInvalid(r, "spec.type", "Normal, Warning");
  expectInvalid(r, "spec.reason", "CamelCase");
}

}  // namespace
}  // namespace magnumd::api
