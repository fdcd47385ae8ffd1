#include "cli/table.h"

#include <gtest/gtest.h>

namespace magnumd::cli {
namespace {

util::JsonDoc parse(const char* text) {
  auto doc = util::parseJson(text);
  EXPECT_TRUE(doc.ok()) << text;
  return std::move(doc).value();
}

TableOptions at(const char* now, bool wide = false, bool ns = false) {
  return {wide, ns, *util::parseRfc3339(now)};
}

constexpr const char* kCluster = R"({"kind":"Cluster","metadata":{"name":"prod","namespace":"demo",
  "creationTimestamp":"2026-11-25T11:55:00Z"},
  "spec":{"clusterTemplate":"k8s-small","masterCount":3,"nodeCount":5},
  "status":{"phase":"CREATE_COMPLETE","healthStatus":"HEALTHY","apiAddress":"https://10.0.0.5:6443",
  "masterAddresses":["10.0.0.5","10.0.0.6","10.0.0.7"],"nodeAddresses":["10.0.0.8","10.0.0.9"],
  "stackId":"abc"}})";

TEST(RenderTable, PadsColumnsWithThreeSpacesAndLeavesTheLastOneRagged) {
  Table t{{"NAME", "PHASE", "AGE"},
          {{"prod", "CREATE_COMPLETE", "5m"}, {"staging-long", "", "3s"}}};
  EXPECT_EQ(renderTable(t),
            "NAME           PHASE             AGE\n"
            "prod           CREATE_COMPLETE   5m\n"
            "staging-long                     3s\n");
}

TEST(RenderRow, WiderCellsPushTheRestRightInsteadOfBeingCut) {
  std::vector<size_t> widths{4, 5};
  EXPECT_EQ(renderRow({"a-very-long-name", "X", "Y"}, widths), "a-very-long-name   X       Y\n");
}

TEST(ClusterTable, ShowsObservedOverDesiredAndAge) {
  auto doc = parse(kCluster);
  auto opt = at("2026-11-25T12:00:00Z");
  EXPECT_EQ(tableHeaders(api::Kind::Cluster, opt),
            (Row{"NAME", "PHASE", "HEALTH", "MASTERS", "NODES", "AGE"}));
  EXPECT_EQ(tableRow(api::Kind::Cluster, doc, opt),
            (Row{"prod", "CREATE_COMPLETE", "HEALTHY", "3/3", "2/5", "5m"}));
}

TEST(ClusterTable, NodesCountEveryWorkerGroupWhenStatusSaysHowMany) {
  // spec.nodeCount is the default worker group's; status.nodeCount adds the extra groups.
  auto doc = parse(R"({"metadata":{"name":"prod","creationTimestamp":"2026-11-25T11:55:00Z"},
    "spec":{"masterCount":1,"nodeCount":2},
    "status":{"phase":"CREATE_COMPLETE","masterAddresses":["10.0.0.5"],
    "nodeAddresses":["10.0.0.6","10.0.0.7","10.0.0.8","10.0.0.9"],"nodeCount":4}})");
  EXPECT_EQ(tableRow(api::Kind::Cluster, doc, at("2026-11-25T12:00:00Z"))[4], "4/4");
}

TEST(ClusterTable, WideAndAllNamespacesAddColumns) {
  auto doc = parse(kCluster);
  auto opt = at("2026-11-25T12:00:00Z", true, true);
  EXPECT_EQ(tableHeaders(api::Kind::Cluster, opt),
            (Row{"NAMESPACE", "NAME", "PHASE", "HEALTH", "MASTERS", "NODES", "AGE", "TEMPLATE",
                 "API ADDRESS", "VERSION", "ROLLOUT", "READY NODES", "STACK", "REASON"}));
  EXPECT_EQ(tableRow(api::Kind::Cluster, doc, opt),
            (Row{"demo", "prod", "CREATE_COMPLETE", "HEALTHY", "3/3", "2/5", "5m", "k8s-small",
                 "https://10.0.0.5:6443", "<none>", "<none>", "<none>", "abc", "<none>"}));
  // Once magnumd has looked at the cluster's own API: its version and Ready Nodes of expected.
  auto seen = parse(
      R"({"metadata":{"name":"prod","namespace":"demo","creationTimestamp":"2026-11-25T11:55:00Z"},
    "spec":{"masterCount":1,"nodeCount":2},
    "status":{"phase":"CREATE_IN_PROGRESS","coeVersion":"v1.32.4",
              "api":{"reachable":true,"nodes":2,"readyNodes":2,"expectedNodes":3}}})");
  auto row = tableRow(api::Kind::Cluster, seen, opt);
  EXPECT_EQ(row[9], "v1.32.4");
  EXPECT_EQ(row[11], "2/3");
}

TEST(ClusterTable, WideShowsTheRolloutPhaseProgressAndTarget) {
  auto opt = at("2026-11-25T12:00:00Z", true);
  auto rolling = parse(R"({"metadata":{"name":"prod","creationTimestamp":"2026-11-25T11:55:00Z"},
    "spec":{"masterCount":1,"nodeCount":3},
    "status":{"phase":"UPDATE_IN_PROGRESS","coeVersion":"v1.32.4",
              "rollout":{"phase":"Progressing","targetVersion":"v1.33.1","updatedNodes":2,
                         "totalNodes":4}}})");
  EXPECT_EQ(tableHeaders(api::Kind::Cluster, opt)[9], "ROLLOUT");
  EXPECT_EQ(tableRow(api::Kind::Cluster, rolling, opt)[9], "Progressing 2/4 v1.33.1");
  auto stalled = parse(R"({"metadata":{"name":"prod"},"spec":{},
    "status":{"rollout":{"phase":"Stalled","targetVersion":"v1.33.1","updatedNodes":1,
                         "totalNodes":4}}})");
  EXPECT_EQ(tableRow(api::Kind::Cluster, stalled, opt)[9], "Stalled 1/4 v1.33.1");
  auto done = parse(R"({"metadata":{"name":"prod"},"spec":{},
    "status":{"rollout":{"phase":"Complete","targetVersion":"v1.33.1","updatedNodes":4,
                         "totalNodes":4}}})");
  EXPECT_EQ(tableRow(api::Kind::Cluster, done, opt)[9], "Complete");
}

TEST(ClusterTable, WithoutStatusShowsDesiredCountsAndNone) {
  auto doc = parse(R"({"metadata":{"name":"new","creationTimestamp":"2026-11-25T11:59:50Z"},
                       "spec":{"masterCount":1,"nodeCount":2}})");
  EXPECT_EQ(tableRow(api::Kind::Cluster, doc, at("2026-11-25T12:00:00Z")),
            (Row{"new", "<none>", "<none>", "1", "2", "10s"}));
}

TEST(ClusterTable, DeletingObjectShowsTerminatingUntilADeletePhase) {
  auto doc = parse(R"({"metadata":{"name":"old","deletionTimestamp":"2026-11-25T11:59:00Z"},
                       "spec":{},"status":{"phase":"CREATE_COMPLETE"}})");
  EXPECT_EQ(tableRow(api::Kind::Cluster, doc, at("2026-11-25T12:00:00Z"))[1], "Terminating");
  auto deleting = parse(R"({"metadata":{"name":"old","deletionTimestamp":"2026-11-25T11:59:00Z"},
                            "status":{"phase":"DELETE_IN_PROGRESS"}})");
  EXPECT_EQ(tableRow(api::Kind::Cluster, deleting, at("2026-11-25T12:00:00Z"))[1],
            "DELETE_IN_PROGRESS");
}

TEST(TemplateTable, ShowsCoeImageNetworkPublic) {
  auto doc = parse(R"({"metadata":{"name":"k8s-small","creationTimestamp":"2026-11-21T12:00:00Z"},
    "spec":{"coe":"kubernetes","image":"fedora-coreos-38","networkDriver":"flannel","public":true}})");
  EXPECT_EQ(tableRow(api::Kind::ClusterTemplate, doc, at("2026-11-25T12:00:00Z")),
            (Row{"k8s-small", "kubernetes", "fedora-coreos-38", "flannel", "true", "4d"}));
}

TEST(NodeGroupTable, CountsActiveNodesAsReady) {
  auto doc = parse(R"({"metadata":{"name":"big","creationTimestamp":"2026-11-25T09:00:00Z"},
    "spec":{"cluster":"prod","role":"worker","nodeCount":3,"minNodeCount":1,"maxNodeCount":10},
    "status":{"phase":"UPDATE_IN_PROGRESS","nodes":[{"name":"a","status":"ACTIVE"},
      {"name":"b","status":"BUILD"},{"name":"c","status":"ACTIVE"}]}})");
  EXPECT_EQ(tableRow(api::Kind::NodeGroup, doc, at("2026-11-25T12:00:00Z")),
            (Row{"big", "prod", "worker", "2/3", "1", "10", "UPDATE_IN_PROGRESS", "3h"}));
  auto unbounded =
      parse(R"({"metadata":{"name":"x"},"spec":{"cluster":"p","nodeCount":1,"minNodeCount":0}})");
  auto row = tableRow(api::Kind::NodeGroup, unbounded, at("2026-11-25T12:00:00Z"));
  EXPECT_EQ(row[3], "1");
  EXPECT_EQ(row[5], "<none>");
}

TEST(EventTable, OrdersByLastSeenAndNamesTheObject) {
  auto items = parse(R"([
    {"metadata":{"name":"e2"},"spec":{"involvedObject":{"kind":"Cluster","name":"prod"},
      "type":"Warning","reason":"StackFailed","message":"Resource CREATE failed","count":3,
      "lastTimestamp":"2026-11-25T11:59:00Z"}},
    {"metadata":{"name":"e1"},"spec":{"involvedObject":{"kind":"NodeGroup","name":"big"},
      "type":"Normal","reason":"ScaledUp","message":"2 -> 3","lastTimestamp":"2026-11-25T11:50:00Z"}}
  ])");
  Table t = buildTable(api::Kind::Event, items, at("2026-11-25T12:00:00Z"));
  EXPECT_EQ(t.headers, (Row{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (Row{"10m", "Normal", "ScaledUp", "nodegroup/big", "2 -> 3"}));
  EXPECT_EQ(t.rows[1],
            (Row{"60s", "Warning", "StackFailed", "cluster/prod", "Resource CREATE failed (x3)"}));
}

TEST(ObservedOverDesired, FallsBackGracefully) {
  EXPECT_EQ(observedOverDesired(2, 5), "2/5");
  EXPECT_EQ(observedOverDesired(std::nullopt, 5), "5");
  EXPECT_EQ(observedOverDesired(4, std::nullopt), "4");
  EXPECT_EQ(observedOverDesired(std::nullopt, std::nullopt), "<none>");
}

}  // namespace
}  // namespace magnumd::cli
