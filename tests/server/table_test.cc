// meta.k8s.io Table responses: columns and priorities, cells, includeObject, single objects, list
// paging fields, the Accept negotiation kubectl relies on, and Tables in watch streams.
#include "server/table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "api/printer_columns.h"
#include "tests/server/api_fixture.h"

namespace magnumd::server::testing {
namespace {

using V = http::verb;
using Events = std::vector<std::pair<std::string, util::JsonDoc>>;

// What kubectl 1.32 sends for `kubectl get`.
constexpr const char* kKubectlAccept =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
    "g=meta.k8s.io,application/json";

util::SystemTime at(const char* when) { return *util::parseRfc3339(when); }

api::Object cluster(const std::string& name, int64_t rv = 7) {
  api::Object o;
  o.kind = api::Kind::Cluster;
  o.metadata.name = name;
  o.metadata.namespace_ = "demo";
  o.metadata.uid = "uid-" + name;
  o.metadata.resource_version = rv;
  o.metadata.creation_timestamp = "2026-11-25T11:55:00Z";
  o.metadata.labels = {{"env", "prod"}};
  o.spec = R"({"clusterTemplate":"k8s-small","masterCount":3,"nodeCount":5})";
  o.status = R"({"phase":"CREATE_COMPLETE","healthStatus":"HEALTHY",)"
             R"("apiAddress":"https://10.0.0.5:6443","coeVersion":"v1.32.4",)"
             R"("masterAddresses":["10.0.0.5","10.0.0.6","10.0.0.7"],)"
             R"("nodeAddresses":["10.0.0.8","10.0.0.9"],"stackId":"abc",)"
             R"("api":{"readyNodes":4,"expectedNodes":5},)"
             R"("rollout":{"phase":"Progressing","targetVersion":"v1.33.1","updatedNodes":2,)"
             R"("totalNodes":8}})";
  return o;
}

TableOptions options(IncludeObject include = IncludeObject::Metadata) {
  TableOptions o;
  o.include = include;
  o.now = at("2026-11-25T12:00:00Z");
  return o;
}

std::vector<std::string> strings(const util::Json& array, const char* member = nullptr) {
  std::vector<std::string> out;
  for (const auto& v : array.GetArray()) {
    const util::Json& s = member ? v[member] : v;
    out.emplace_back(s.GetString(), s.GetStringLength());
  }
  return out;
}

TEST(TableBuilder, ColumnsAreThePrinterColumnsWithWideOnesAtPriorityOne) {
  util::JsonDoc table;
  auto objects = std::vector{cluster("prod")};
  buildTable(api::Kind::Cluster, objects, options(), {"12", {}, std::nullopt}, table);
  EXPECT_STREQ(table["kind"].GetString(), "Table");
  EXPECT_STREQ(table["apiVersion"].GetString(), "meta.k8s.io/v1");
  const auto& columns = table["columnDefinitions"];
  EXPECT_EQ(strings(columns, "name"),
            (std::vector<std::string>{"Name", "Phase", "Health", "Masters", "Nodes", "Age",
                                      "Template", "API Address", "Version", "Rollout",
                                      "Ready Nodes", "Stack", "Reason"}));
  for (rapidjson::SizeType i = 0; i < columns.Size(); ++i) {
    EXPECT_EQ(columns[i]["priority"].GetInt(), i < 6 ? 0 : 1) << columns[i]["name"].GetString();
    // kube-apiserver always sends all five fields.
    EXPECT_TRUE(columns[i].HasMember("type") && columns[i].HasMember("format") &&
                columns[i]["description"].GetStringLength() > 0);
  }
  EXPECT_STREQ(columns[0]["format"].GetString(), "name");
  EXPECT_STREQ(columns[5]["type"].GetString(), "date");
  ASSERT_EQ(table["rows"].Size(), 1u);
  EXPECT_EQ(strings(table["rows"][0]["cells"]),
            (std::vector<std::string>{"prod", "CREATE_COMPLETE", "HEALTHY", "3/3", "2/5", "5m",
                                      "k8s-small", "https://10.0.0.5:6443", "v1.32.4",
                                      "Progressing 2/8 v1.33.1", "4/5", "abc", "<none>"}));
  EXPECT_STREQ(table["metadata"]["resourceVersion"].GetString(), "12");
}

TEST(TableBuilder, EveryServedKindHasOneCellPerColumn) {
  for (const auto& info : api::allKinds()) {
    api::Object o;
    o.kind = info.kind;
    o.metadata.name = "x";
    o.metadata.namespace_ = "demo";
    util::JsonDoc table;
    buildTable(info.kind, std::span(&o, 1), options(), {}, table);
    EXPECT_EQ(table["rows"][0]["cells"].Size(), table["columnDefinitions"].Size()) << info.name;
    EXPECT_EQ(table["columnDefinitions"].Size(), api::printerColumns(info.kind).size());
  }
}

TEST(TableBuilder, IncludeObjectMetadataIsAPartialObjectMetadata) {
  util::JsonDoc table;
  buildObjectTable(cluster("prod"), options(IncludeObject::Metadata), table);
  const auto& object = table["rows"][0]["object"];
  EXPECT_STREQ(object["kind"].GetString(), "PartialObjectMetadata");
  EXPECT_STREQ(object["apiVersion"].GetString(), "meta.k8s.io/v1");
  // kubectl -A reads the namespace from here; --show-labels the labels.
  EXPECT_STREQ(object["metadata"]["namespace"].GetString(), "demo");
  EXPECT_STREQ(object["metadata"]["labels"]["env"].GetString(), "prod");
  EXPECT_STREQ(object["metadata"]["resourceVersion"].GetString(), "7");
  EXPECT_FALSE(object.HasMember("spec"));
  EXPECT_FALSE(object.HasMember("status"));
}

TEST(TableBuilder, IncludeObjectObjectIsTheWholeObjectAndNoneLeavesItOut) {
  util::JsonDoc whole;
  buildObjectTable(cluster("prod"), options(IncludeObject::Object), whole);
  const auto& object = whole["rows"][0]["object"];
  EXPECT_STREQ(object["kind"].GetString(), "Cluster");
  EXPECT_STREQ(object["apiVersion"].GetString(), "container-infra/v1");
  EXPECT_EQ(object["spec"]["masterCount"].GetInt(), 3);
  EXPECT_STREQ(object["status"]["phase"].GetString(), "CREATE_COMPLETE");

  util::JsonDoc bare;
  buildObjectTable(cluster("prod"), options(IncludeObject::None), bare);
  EXPECT_FALSE(bare["rows"][0].HasMember("object"));
  EXPECT_EQ(bare["rows"][0]["cells"].Size(), 13u);
}

TEST(TableBuilder, ASingleObjectCarriesItsResourceVersionAndAListItsPaging) {
  util::JsonDoc one;
  buildObjectTable(cluster("prod", 42), options(), one);
  EXPECT_STREQ(one["metadata"]["resourceVersion"].GetString(), "42");
  EXPECT_FALSE(one["metadata"].HasMember("continue"));

  util::JsonDoc page;
  auto objects = std::vector{cluster("a"), cluster("b")};
  buildTable(api::Kind::Cluster, objects, options(), {"50", "token", 3}, page);
  EXPECT_STREQ(page["metadata"]["resourceVersion"].GetString(), "50");
  EXPECT_STREQ(page["metadata"]["continue"].GetString(), "token");
  EXPECT_EQ(page["metadata"]["remainingItemCount"].GetInt(), 3);
  EXPECT_EQ(page["rows"].Size(), 2u);

  util::JsonDoc empty;
  buildTable(api::Kind::Cluster, {}, options(), {"50", {}, std::nullopt}, empty);
  EXPECT_TRUE(empty["rows"].IsArray() && empty["rows"].Empty());
}

TEST(TableBuilder, NoHeadersLeavesTheColumnsOutAndV1beta1IsNamed) {
  TableOptions o = options();
  o.no_headers = true;
  o.version = Conversion::TableV1beta1;
  util::JsonDoc table;
  buildObjectTable(cluster("prod"), o, table);
  EXPECT_TRUE(table["columnDefinitions"].IsArray() && table["columnDefinitions"].Empty());
  EXPECT_EQ(table["rows"][0]["cells"].Size(), 13u);
  EXPECT_STREQ(table["apiVersion"].GetString(), "meta.k8s.io/v1beta1");
  EXPECT_STREQ(table["rows"][0]["object"]["apiVersion"].GetString(), "meta.k8s.io/v1beta1");
}

TEST(TableBuilder, IncludeObjectValues) {
  EXPECT_EQ(*parseIncludeObject(""), IncludeObject::Metadata);
  EXPECT_EQ(*parseIncludeObject("Metadata"), IncludeObject::Metadata);
  EXPECT_EQ(*parseIncludeObject("Object"), IncludeObject::Object);
  EXPECT_EQ(*parseIncludeObject("None"), IncludeObject::None);
  auto bad = parseIncludeObject("object");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, util::ErrorCode::BadRequest);
  EXPECT_NE(bad.error().message.find("None, Metadata, Object"), std::string::npos);
}

TEST(TableNegotiation, KubectlsAcceptListPicksTheFirstTableItCanServe) {
  auto kubectl = negotiateOutputFormat(kKubectlAccept);
  ASSERT_TRUE(kubectl.ok());
  EXPECT_EQ(kubectl->format, Format::Json);
  EXPECT_EQ(kubectl->conversion, Conversion::TableV1);
  EXPECT_EQ(negotiateOutputFormat("application/json;as=Table;v=v1beta1;g=meta.k8s.io")->conversion,
            Conversion::TableV1beta1);
  auto yaml = negotiateOutputFormat("application/yaml; as=Table; g=meta.k8s.io; v=v1");
  EXPECT_EQ(yaml->format, Format::Yaml);
  EXPECT_EQ(yaml->conversion, Conversion::TableV1);
  // Conversions this server does not make are skipped for the next alternative.
  auto partial = negotiateOutputFormat(
      "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json");
  EXPECT_EQ(partial->conversion, Conversion::None);
  EXPECT_EQ(negotiateOutputFormat("application/json;as=Table;v=v2;g=meta.k8s.io").error().code,
            util::ErrorCode::NotAcceptable);
  EXPECT_EQ(negotiateOutputFormat("application/json")->conversion, Conversion::None);
}

class TableApiTest : public ApiTest {
 protected:
  std::string clusters() { return std::string(kBase) + "/namespaces/demo/clusters"; }
};

TEST_F(TableApiTest, ListGetAndPagesAnswerWithTables) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  ASSERT_EQ(createCluster("demo", "a", "k8s").code, 201u);
  auto b = createCluster("demo", "b", "k8s");
  ASSERT_EQ(b.code, 201u);

  auto list = call(V::get, clusters(), {}, kAdmin, {}, kKubectlAccept);
  ASSERT_EQ(list.code, 200u) << list.body;
  EXPECT_EQ(list.str("/kind"), "Table");
  EXPECT_EQ(list.str("/apiVersion"), "meta.k8s.io/v1");
  EXPECT_FALSE(list.str("/metadata/resourceVersion").empty());
  ASSERT_EQ(list.json["rows"].Size(), 2u);
  EXPECT_EQ(list.str("/rows/0/cells/0"), "a");
  EXPECT_EQ(list.str("/rows/1/object/kind"), "PartialObjectMetadata");
  EXPECT_EQ(list.str("/rows/1/object/metadata/namespace"), "demo");

  auto page =
      call(V::get, clusters() + "?limit=1&includeObject=None", {}, kAdmin, {}, kKubectlAccept);
  ASSERT_EQ(page.json["rows"].Size(), 1u);
  EXPECT_FALSE(page.str("/metadata/continue").empty());
  EXPECT_FALSE(page.json["rows"][0].HasMember("object"));

  auto one = call(V::get, clusters() + "/b?includeObject=Object", {}, kAdmin, {}, kKubectlAccept);
  ASSERT_EQ(one.code, 200u);
  EXPECT_EQ(one.str("/metadata/resourceVersion"), b.str("/metadata/resourceVersion"));
  EXPECT_EQ(one.str("/rows/0/object/kind"), "Cluster");
  EXPECT_EQ(one.str("/rows/0/cells/0"), "b");

  auto yaml = call(V::get, clusters() + "/b", {}, kAdmin, {},
                   "application/yaml;as=Table;v=v1;g=meta.k8s.io");
  EXPECT_EQ(yaml.content_type, "application/yaml");
  EXPECT_NE(yaml.body.find("kind: Table"), std::string::npos);

  auto bad = call(V::get, clusters() + "?includeObject=All", {}, kAdmin, {}, kKubectlAccept);
  EXPECT_EQ(bad.code, 400u);
  EXPECT_EQ(bad.str("/kind"), "Status");

  // Without as=Table nothing changes.
  EXPECT_EQ(call(V::get, clusters()).str("/kind"), "ClusterList");
}

TEST_F(TableApiTest, WatchEventsAreOneRowTablesWithColumnsOnlyInTheFirst) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  auto listed = call(V::get, clusters(), {}, kAdmin, {}, kKubectlAccept);
  auto w =
      watch(clusters() + "?watch=true&resourceVersion=" + listed.str("/metadata/resourceVersion"),
            kAdmin, nullptr, kKubectlAccept);
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(createCluster("demo", "c", "k8s").code, 201u);
  ASSERT_EQ(call(V::patch, clusters() + "/c", R"({"spec":{"nodeCount":4}})", kAdmin,
                 "application/merge-patch+json")
                .code,
            200u);
  ASSERT_TRUE(w->waitFor([](const Events& e) { return e.size() >= 2; }));
  auto events = w->events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].first, "ADDED");
  EXPECT_EQ(events[1].first, "MODIFIED");
  const auto& first = events[0].second["object"];
  EXPECT_STREQ(first["kind"].GetString(), "Table");
  EXPECT_EQ(first["columnDefinitions"].Size(), api::printerColumns(api::Kind::Cluster).size());
  ASSERT_EQ(first["rows"].Size(), 1u);
  EXPECT_STREQ(first["rows"][0]["cells"][0].GetString(), "c");
  EXPECT_STREQ(first["rows"][0]["object"]["kind"].GetString(), "PartialObjectMetadata");
  const auto& second = events[1].second["object"];
  EXPECT_TRUE(second["columnDefinitions"].Empty());
  EXPECT_STREQ(second["rows"][0]["cells"][4].GetString(), "4");  // NODES: spec.nodeCount
  EXPECT_NE(std::string(second["metadata"]["resourceVersion"].GetString()),
            std::string(first["metadata"]["resourceVersion"].GetString()));
}

TEST_F(TableApiTest, TableWatchesGetBookmarksOnlyWhenTheyAskForThem) {
  stop();
  WatchOptions fast;
  fast.bookmark_interval = std::chrono::milliseconds(20);
  start(fast);
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  ASSERT_EQ(createCluster("demo", "a", "k8s").code, 201u);
  // From revision 0: the initial state as ADDED rows, no initial-events-end bookmark.
  auto quiet = watch(clusters() + "?watch=true", kAdmin, nullptr, kKubectlAccept);
  auto asked =
      watch(clusters() + "?watch=true&allowWatchBookmarks=true", kAdmin, nullptr, kKubectlAccept);
  ASSERT_TRUE(asked->waitFor([](const Events& e) {
    return std::count_if(e.begin(), e.end(),
                         [](const auto& ev) { return ev.first == "BOOKMARK"; }) >= 2;
  }));
  auto events = quiet->events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].first, "ADDED");
  EXPECT_STREQ(events[0].second["object"]["rows"][0]["cells"][0].GetString(), "a");
  for (const auto& [type, doc] : asked->events()) {
    if (type != "BOOKMARK") continue;
    EXPECT_STREQ(doc["object"]["kind"].GetString(), "Table");
    EXPECT_TRUE(doc["object"]["rows"].Empty());
    EXPECT_FALSE(std::string(doc["object"]["metadata"]["resourceVersion"].GetString()).empty());
  }
}

}  // namespace
}  // namespace magnumd::server::testing
