#include "cli/describe.h"

#include <gtest/gtest.h>

namespace magnumd::cli {
namespace {

util::JsonDoc parse(const char* text) {
  auto doc = util::parseJson(text);
  EXPECT_TRUE(doc.ok()) << text;
  return std::move(doc).value();
}

TEST(HumanizeKey, CamelAndSnakeCase) {
  EXPECT_EQ(humanizeKey("clusterTemplate"), "Cluster Template");
  EXPECT_EQ(humanizeKey("masterLbEnabled"), "Master Lb Enabled");
  EXPECT_EQ(humanizeKey("phase"), "Phase");
  EXPECT_EQ(humanizeKey("docker_volume_size"), "Docker Volume Size");
  EXPECT_EQ(humanizeKey("ipv6Enabled"), "Ipv6 Enabled");
}

constexpr const char* kCluster = R"({"apiVersion":"container-infra/v1","kind":"Cluster",
  "metadata":{"name":"prod","namespace":"demo","uid":"u-1","resourceVersion":"42","generation":2,
    "creationTimestamp":"2026-11-25T11:00:00Z","labels":{"env":"prod"},
    "annotations":{"magnumctl.container-infra/last-applied-configuration":"{}"}},
  "spec":{"clusterTemplate":"k8s-small","masterCount":3,"labels":{"kube_tag":"v1.28.2"}},
  "status":{"phase":"CREATE_FAILED","statusReason":"Resource CREATE failed: quota",
    "masterAddresses":["10.0.0.5","10.0.0.6"],
    "conditions":[{"type":"Ready","status":"False","reason":"StackFailed",
      "message":"quota exceeded","lastTransitionTime":"2026-11-25T11:58:00Z"}]}})";

constexpr const char* kEvents = R"([
  {"metadata":{"name":"e1","creationTimestamp":"2026-11-25T11:01:00Z"},
   "spec":{"involvedObject":{"kind":"Cluster","name":"prod","uid":"u-1"},"type":"Normal",
     "reason":"StackCreating","message":"creating stack","lastTimestamp":"2026-11-25T11:01:00Z",
     "source":"cluster-controller"}},
  {"metadata":{"name":"e2"},
   "spec":{"involvedObject":{"kind":"Cluster","name":"prod","uid":"old-uid"},"type":"Normal",
     "reason":"FromAnEarlierProd","message":"x","lastTimestamp":"2026-11-25T10:00:00Z"}},
  {"metadata":{"name":"e3"},
   "spec":{"involvedObject":{"kind":"NodeGroup","name":"prod"},"type":"Normal","reason":"Other",
     "message":"y","lastTimestamp":"2026-11-25T11:02:00Z"}},
  {"metadata":{"name":"e4"},
   "spec":{"involvedObject":{"kind":"Cluster","name":"prod"},"type":"Warning","reason":"StackFailed",
     "message":"Resource CREATE failed: quota","count":4,"firstTimestamp":"2026-11-25T11:50:00Z",
     "lastTimestamp":"2026-11-25T11:58:00Z","source":"cluster-controller"}}])";

TEST(EventsFor, MatchesKindNameAndUidOldestFirst) {
  auto object = parse(kCluster);
  auto events = parse(kEvents);
  auto mine = eventsFor(events, object, api::Kind::Cluster);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(*util::stringMember((*mine[0])["spec"], "reason"), "StackCreating");
  EXPECT_EQ(*util::stringMember((*mine[1])["spec"], "reason"), "StackFailed");
}

TEST(DescribeObject, ShowsMetadataSpecStatusConditionsAndEvents) {
  auto object = parse(kCluster);
  auto events = parse(kEvents);
  DescribeInput in{api::Kind::Cluster, &object, eventsFor(events, object, api::Kind::Cluster), "",
                   *util::parseRfc3339("2026-11-25T12:00:00Z")};
  std::string out = describeObject(in);
  EXPECT_NE(out.find("Name:               prod\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Namespace:          demo\n"), std::string::npos);
  EXPECT_NE(out.find("Labels:             env=prod\n"), std::string::npos);
  EXPECT_NE(out.find("Annotations:        <none>\n"), std::string::npos);  // bookkeeping hidden
  EXPECT_NE(out.find("Created:            2026-11-25T11:00:00Z (60m ago)\n"), std::string::npos);
  EXPECT_NE(out.find("Spec:\n  Cluster Template:  k8s-small\n"), std::string::npos);
  EXPECT_NE(out.find("  Labels:\n    kube_tag:  v1.28.2\n"), std::string::npos);  // keys verbatim
  EXPECT_NE(out.find("  Master Addresses:  10.0.0.5, 10.0.0.6\n"), std::string::npos);
  EXPECT_NE(out.find("  Status Reason:     Resource CREATE failed: quota\n"), std::string::npos);
  EXPECT_NE(out.find("Conditions:\n  TYPE    STATUS   REASON        AGE   MESSAGE\n"
                     "  Ready   False    StackFailed   2m    quota exceeded\n"),
            std::string::npos);
  EXPECT_NE(out.find("Events:\n"), std::string::npos);
  EXPECT_NE(out.find("StackCreating"), std::string::npos);
  EXPECT_NE(out.find("2m (x4 over 10m)"), std::string::npos);
  EXPECT_EQ(out.find("FromAnEarlierProd"), std::string::npos);
}

TEST(DescribeObject, NoStatusNoEventsAndEventsUnavailable) {
  auto object = parse(R"({"kind":"Cluster","metadata":{"name":"new"},"spec":{"nodeCount":1}})");
  DescribeInput in{
      api::Kind::Cluster, &object, {}, "", *util::parseRfc3339("2026-11-25T12:00:00Z")};
  std::string out = describeObject(in);
  EXPECT_NE(out.find("Status:             <not yet reported by a controller>"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Conditions:         <none>"), std::string::npos);
  EXPECT_NE(out.find("Events:             <none>"), std::string::npos);
  in.events_error = "the server could not find the requested resource";
  EXPECT_NE(describeObject(in).find("Events:             <unavailable: the server could not"),
            std::string::npos);
}

TEST(DescribeObject, ListsOfObjectsAreItemised) {
  auto object = parse(R"({"kind":"NodeGroup","metadata":{"name":"w"},"spec":{"cluster":"prod"},
    "status":{"nodes":[{"name":"n-0","status":"ACTIVE","addresses":["10.0.0.9"]}]}})");
  DescribeInput in{
      api::Kind::NodeGroup, &object, {}, "", *util::parseRfc3339("2026-11-25T12:00:00Z")};
  std::string out = describeObject(in);
  EXPECT_NE(out.find("  Nodes:\n    - Name:       n-0\n      Status:     ACTIVE\n"
                     "      Addresses:  10.0.0.9\n"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace magnumd::cli
