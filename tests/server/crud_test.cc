// The REST verbs end to end through ApiServer::handle, on each store backend.
#include <fmt/format.h>

#include <map>
#include <vector>

#include "tests/server/api_fixture.h"

namespace magnumd::server::testing {
namespace {

using V = http::verb;

std::string clusters(const std::string& ns) { return fmt::format("{}/namespaces/{}/clusters", kBase, ns); }
std::string cluster(const std::string& ns, const std::string& name) {
  return clusters(ns) + "/" + name;
}
std::string templates(const std::string& ns) {
  return fmt::format("{}/namespaces/{}/clustertemplates", kBase, ns);
}

class CrudTest : public ApiBackendTest {};

TEST_P(CrudTest, CreateFillsServerFieldsAndDefaultsAndGetReturnsThem) {
  auto created = createTemplate("demo", "k8s");
  ASSERT_EQ(created.code, 201u) << created.body;
  EXPECT_EQ(created.str("/kind"), "ClusterTemplate");
  EXPECT_FALSE(created.str("/metadata/uid").empty());
  EXPECT_FALSE(created.str("/metadata/resourceVersion").empty());
  EXPECT_EQ(created.str("/metadata/generation"), "1");
  EXPECT_EQ(created.str("/spec/dnsNameserver"), "8.8.8.8");  // a seed default, stored

  auto got = call(V::get, templates("demo") + "/k8s");
  ASSERT_EQ(got.code, 200u);
  EXPECT_EQ(got.str("/metadata/uid"), created.str("/metadata/uid"));
  EXPECT_EQ(got.str("/spec/dnsNameserver"), "8.8.8.8");
}

TEST_P(CrudTest, GetMissingIsKubeStyleNotFound) {
  auto got = call(V::get, cluster("demo", "prod"));
  EXPECT_EQ(got.code, 404u);
  EXPECT_EQ(got.str("/kind"), "Status");
  EXPECT_EQ(got.str("/apiVersion"), "v1");
  EXPECT_EQ(got.str("/status"), "Failure");
  EXPECT_EQ(got.reason(), "NotFound");
  EXPECT_EQ(got.str("/message"), R"(clusters "prod" not found)");
  EXPECT_EQ(got.str("/code"), "404");
  EXPECT_EQ(got.str("/details/name"), "prod");
  EXPECT_EQ(got.str("/details/kind"), "clusters");
}

TEST_P(CrudTest, CreateTwiceIsAlreadyExists) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  auto again = createTemplate("demo", "k8s");
  EXPECT_EQ(again.code, 409u);
  EXPECT_EQ(again.reason(), "AlreadyExists");
  EXPECT_EQ(again.str("/message"), R"(clustertemplates "k8s" already exists)");
}

TEST_P(CrudTest, ValidationFailureIs422WithOneCausePerField) {
  std::string body = R"({"apiVersion":"container-infra/v1","kind":"ClusterTemplate",
    "metadata":{"name":"bad"},"spec":{"coe":"kubernetes","image":"img","externalNetwork":"public",
    "serverType":"xx","labels":{"flannel_backend":"gre"}}})";
  auto r = call(V::post, templates("demo"), body);
  ASSERT_EQ(r.code, 422u) << r.body;
  EXPECT_EQ(r.reason(), "Invalid");
  ASSERT_TRUE(r.json["details"]["causes"].IsArray());
  std::vector<std::string> fields;
  for (const auto& c : r.json["details"]["causes"].GetArray()) fields.push_back(c["field"].GetString());
  EXPECT_NE(std::find(fields.begin(), fields.end(), "spec.serverType"), fields.end()) << r.body;
  EXPECT_NE(std::find(fields.begin(), fields.end(), "spec.labels.flannel_backend"), fields.end()) << r.body;
  EXPECT_NE(r.str("/message").find(R"(ClusterTemplate "bad" is invalid)"), std::string::npos) << r.body;
}

TEST_P(CrudTest, UnknownFieldsAre400NamingThem) {
  std::string body = R"({"apiVersion":"container-infra/v1","kind":"ClusterTemplate",
    "metadata":{"name":"x"},"spec":{"coe":"kubernetes","image":"i","externalNetwork":"p","flavour":"m1"}})";
  auto r = call(V::post, templates("demo"), body);
  EXPECT_EQ(r.code, 400u) << r.body;
  EXPECT_EQ(r.reason(), "BadRequest");
  EXPECT_NE(r.str("/message").find("flavour"), std::string::npos) << r.body;
  auto top = call(V::post, templates("demo"),
                  R"({"apiVersion":"container-infra/v1","kind":"ClusterTemplate","metadata":{"name":"x"},"extra":1})");
  EXPECT_EQ(top.code, 400u);
  EXPECT_NE(top.str("/message").find("extra"), std::string::npos) << top.body;
}

TEST_P(CrudTest, NamespaceAndKindMustMatchTheUrl) {
  auto wrong_ns = call(V::post, templates("demo"), templateJson("other", "k8s"));
  EXPECT_EQ(wrong_ns.code, 400u);
  EXPECT_NE(wrong_ns.str("/message").find("does not match the namespace"), std::string::npos);
  auto wrong_kind = call(V::post, clusters("demo"), templateJson("demo", "k8s"));
  EXPECT_EQ(wrong_kind.code, 400u);
  // An empty namespace in the body is filled from the URL.
  std::string no_ns = templateJson("", "k8s");
  auto filled = call(V::post, templates("demo"), no_ns);
  ASSERT_EQ(filled.code, 201u) << filled.body;
  EXPECT_EQ(filled.str("/metadata/namespace"), "demo");
}

TEST_P(CrudTest, ClusterNeedsAnExistingTemplate) {
  auto r = createCluster("demo", "prod", "missing");
  ASSERT_EQ(r.code, 422u) << r.body;
  bool named = false;
  for (const auto& c : r.json["details"]["causes"].GetArray()) {
    if (std::string(c["field"].GetString()) == "spec.clusterTemplate") named = true;
  }
  EXPECT_TRUE(named) << r.body;
}

TEST_P(CrudTest, ClusterMayUseAPublicTemplateOfAnotherNamespaceOnly) {
  ASSERT_EQ(createTemplate("shared", "private", false).code, 201u);
  ASSERT_EQ(createTemplate("shared", "public", true).code, 201u);
  EXPECT_EQ(createCluster("demo", "a", "shared/private").code, 422u);
  auto ok = createCluster("demo", "b", "shared/public");
  EXPECT_EQ(ok.code, 201u) << ok.body;
}

TEST_P(CrudTest, PutWithStaleResourceVersionConflicts) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  auto created = createCluster("demo", "prod", "k8s");
  ASSERT_EQ(created.code, 201u) << created.body;
  std::string rv = created.str("/metadata/resourceVersion");

  created.json["spec"]["nodeCount"].SetInt(3);
  auto first = call(V::put, cluster("demo", "prod"), util::toJson(created.json));
  ASSERT_EQ(first.code, 200u) << first.body;
  EXPECT_EQ(first.str("/spec/nodeCount"), "3");
  EXPECT_EQ(first.str("/metadata/generation"), "2");
  EXPECT_NE(first.str("/metadata/resourceVersion"), rv);

  created.json["spec"]["nodeCount"].SetInt(4);  // still carries the old resourceVersion
  auto stale = call(V::put, cluster("demo", "prod"), util::toJson(created.json));
  EXPECT_EQ(stale.code, 409u);
  EXPECT_EQ(stale.reason(), "Conflict");
  EXPECT_EQ(stale.str("/message"),
            R"(Operation cannot be fulfilled on clusters "prod": the object has been modified; )"
            "please apply your changes to the latest version and try again");
}

TEST_P(CrudTest, PutOfMissingObjectIs404AndNameMismatchIs400) {
  EXPECT_EQ(call(V::put, cluster("demo", "ghost"), clusterJson("demo", "ghost", "t")).code, 404u);
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  ASSERT_EQ(createCluster("demo", "prod", "k8s").code, 201u);
  auto r = call(V::put, cluster("demo", "prod"), clusterJson("demo", "other", "k8s"));
  EXPECT_EQ(r.code, 400u);
  EXPECT_NE(r.str("/message").find("does not match the name"), std::string::npos);
}

TEST_P(CrudTest, ImmutableMasterCountIs422) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  auto created = createCluster("demo", "prod", "k8s");
  ASSERT_EQ(created.code, 201u);
  created.json["spec"]["masterCount"].SetInt(3);
  auto r = call(V::put, cluster("demo", "prod"), util::toJson(created.json));
  EXPECT_EQ(r.code, 422u) << r.body;
  EXPECT_NE(r.body.find("spec.masterCount"), std::string::npos);
}

TEST_P(CrudTest, TemplateInUseCannotChangeSpecOrBeDeleted) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  ASSERT_EQ(createCluster("demo", "prod", "k8s").code, 201u);
  auto patched = call(V::patch, templates("demo") + "/k8s", R"({"spec":{"image":"other"}})", kAdmin,
                      "application/merge-patch+json");
  EXPECT_EQ(patched.code, 422u) << patched.body;
  auto labels = call(V::patch, templates("demo") + "/k8s", R"({"metadata":{"labels":{"a":"b"}}})",
                     kAdmin, "application/merge-patch+json");
  EXPECT_EQ(labels.code, 200u) << labels.body;
  auto deleted = call(V::delete_, templates("demo") + "/k8s");
  EXPECT_EQ(deleted.code, 409u);
  EXPECT_EQ(deleted.reason(), "Conflict");
  EXPECT_NE(deleted.str("/message").find("demo/prod"), std::string::npos) << deleted.body;
  // Once the cluster is gone the template can go.
  EXPECT_EQ(call(V::delete_, cluster("demo", "prod")).code, 200u);
  EXPECT_EQ(call(V::delete_, templates("demo") + "/k8s").code, 200u);
}

TEST_P(CrudTest, MergePatchFollowsRfc7386AndRetriesWithoutPrecondition) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  auto created = createCluster("demo", "prod", "k8s", R"({"a":"1","b":"2"})");
  ASSERT_EQ(created.code, 201u);
  auto r = call(V::patch, cluster("demo", "prod"),
                R"({"metadata":{"labels":{"a":null,"c":"3"}},"spec":{"nodeCount":5}})", kAdmin,
                "application/merge-patch+json");
  ASSERT_EQ(r.code, 200u) << r.body;
  EXPECT_EQ(r.str("/metadata/labels"), R"({"b":"2","c":"3"})");
  EXPECT_EQ(r.str("/spec/nodeCount"), "5");
  EXPECT_EQ(r.str("/spec/masterCount"), "1");  // untouched fields stay

  // A resourceVersion inside the patch is a precondition.
  auto stale = call(V::patch, cluster("demo", "prod"),
                    fmt::format(R"({{"metadata":{{"resourceVersion":"{}"}},"spec":{{"nodeCount":6}}}})",
                                created.str("/metadata/resourceVersion")),
                    kAdmin, "application/merge-patch+json");
  EXPECT_EQ(stale.code, 409u) << stale.body;
}

TEST_P(CrudTest, JsonPatchAndUnsupportedPatchTypes) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  ASSERT_EQ(createCluster("demo", "prod", "k8s").code, 201u);
  auto r = call(V::patch, cluster("demo", "prod"),
                R"([{"op":"test","path":"/spec/nodeCount","value":2},{"op":"replace","path":"/spec/nodeCount","value":7}])",
                kAdmin, "application/json-patch+json");
  ASSERT_EQ(r.code, 200u) << r.body;
  EXPECT_EQ(r.str("/spec/nodeCount"), "7");
  auto failed = call(V::patch, cluster("demo", "prod"),
                     R"([{"op":"test","path":"/spec/nodeCount","value":2}])", kAdmin,
                     "application/json-patch+json");
  EXPECT_EQ(failed.code, 422u);
  auto strategic = call(V::patch, cluster("demo", "prod"), "{}", kAdmin,
                        "application/strategic-merge-patch+json");
  EXPECT_EQ(strategic.code, 415u);
  EXPECT_EQ(strategic.reason(), "UnsupportedMediaType");
}

TEST_P(CrudTest, StatusSubresourceChangesOnlyStatusAndMainResourceIgnoresStatus) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  auto created = createCluster("demo", "prod", "k8s");
  ASSERT_EQ(created.code, 201u);

  auto status = call(V::patch, cluster("demo", "prod") + "/status",
                     R"({"spec":{"nodeCount":9},"status":{"phase":"CREATE_IN_PROGRESS"}})", kAdmin,
                     "application/merge-patch+json");
  ASSERT_EQ(status.code, 200u) << status.body;
  EXPECT_EQ(status.str("/status/phase"), "CREATE_IN_PROGRESS");
  EXPECT_EQ(status.str("/spec/nodeCount"), "2");       // spec changes ignored on /status
  EXPECT_EQ(status.str("/metadata/generation"), "1");  // status writes never bump generation

  auto main = call(V::patch, cluster("demo", "prod"),
                   R"({"spec":{"nodeCount":3},"status":{"phase":"CREATE_FAILED"}})", kAdmin,
                   "application/merge-patch+json");
  ASSERT_EQ(main.code, 200u) << main.body;
  EXPECT_EQ(main.str("/spec/nodeCount"), "3");
  EXPECT_EQ(main.str("/status/phase"), "CREATE_IN_PROGRESS");  // status changes ignored here

  auto get = call(V::get, cluster("demo", "prod") + "/status");
  EXPECT_EQ(get.code, 200u);
  EXPECT_EQ(get.str("/status/phase"), "CREATE_IN_PROGRESS");
}

TEST_P(CrudTest, DryRunValidatesWithoutPersisting) {
  auto dry = call(V::post, templates("demo") + "?dryRun=All", templateJson("demo", "k8s"));
  ASSERT_EQ(dry.code, 201u) << dry.body;
  EXPECT_EQ(dry.str("/spec/dnsNameserver"), "8.8.8.8");
  EXPECT_EQ(call(V::get, templates("demo") + "/k8s").code, 404u);
  auto bad = call(V::post, templates("demo") + "?dryRun=All",
                  R"({"apiVersion":"container-infra/v1","kind":"ClusterTemplate","metadata":{"name":"x"},"spec":{"coe":"nomad"}})");
  EXPECT_EQ(bad.code, 422u);
  EXPECT_EQ(call(V::post, templates("demo") + "?dryRun=Yes", templateJson("demo", "k8s")).code, 400u);

  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  EXPECT_EQ(call(V::delete_, templates("demo") + "/k8s?dryRun=All").code, 200u);
  EXPECT_EQ(call(V::get, templates("demo") + "/k8s").code, 200u);
}

TEST_P(CrudTest, DeleteWithFinalizersMarksThenRemovesWhenFinalizersGo) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  std::string body = clusterJson("demo", "prod", "k8s");
  const std::string labels = R"("labels":{})";
  body.replace(body.find(labels), labels.size(), R"("labels":{},"finalizers":["test/hold"])");
  auto created = call(V::post, clusters("demo"), body);
  ASSERT_EQ(created.code, 201u) << created.body;

  auto marked = call(V::delete_, cluster("demo", "prod"));
  ASSERT_EQ(marked.code, 200u) << marked.body;
  EXPECT_EQ(marked.str("/kind"), "Cluster");
  EXPECT_FALSE(marked.str("/metadata/deletionTimestamp").empty());
  EXPECT_EQ(call(V::get, cluster("demo", "prod")).code, 200u);

  auto added = call(V::patch, cluster("demo", "prod"),
                    R"({"metadata":{"finalizers":["test/hold","test/new"]}})", kAdmin,
                    "application/merge-patch+json");
  EXPECT_EQ(added.code, 422u) << added.body;  // no new finalizers while deleting

  auto released = call(V::patch, cluster("demo", "prod"), R"({"metadata":{"finalizers":null}})",
                       kAdmin, "application/merge-patch+json");
  EXPECT_EQ(released.code, 200u) << released.body;
  EXPECT_EQ(call(V::get, cluster("demo", "prod")).code, 404u);
}

TEST_P(CrudTest, DeleteWithoutFinalizersAnswersSuccessStatus) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  auto created = createCluster("demo", "prod", "k8s");
  auto deleted = call(V::delete_, cluster("demo", "prod"));
  ASSERT_EQ(deleted.code, 200u);
  EXPECT_EQ(deleted.str("/kind"), "Status");
  EXPECT_EQ(deleted.str("/status"), "Success");
  EXPECT_EQ(deleted.str("/details/uid"), created.str("/metadata/uid"));
  EXPECT_EQ(call(V::delete_, cluster("demo", "prod")).code, 404u);
}

TEST_P(CrudTest, DefaultNodeGroupsGoOnlyWithTheirCluster) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  ASSERT_EQ(createCluster("demo", "prod", "k8s").code, 201u);
  // What the cluster reconciler creates (the API refuses these names from users).
  for (const char* name : {"prod-default-master", "prod-default-worker"}) {
    api::Object group;
    group.kind = api::Kind::NodeGroup;
    group.metadata.namespace_ = "demo";
    group.metadata.name = name;
    group.spec = R"({"cluster":"prod","role":"worker","nodeCount":1,"minNodeCount":0})";
    group.status = "{}";
    auto created = store::createSync(*store_, group);
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  const std::string groups = "/apis/container-infra/v1/namespaces/demo/nodegroups/";
  auto refused = call(V::delete_, groups + "prod-default-worker");
  EXPECT_EQ(refused.code, 409u) << refused.body;
  EXPECT_NE(refused.str("/message").find("default node group of cluster demo/prod"), std::string::npos)
      << refused.body;
  EXPECT_EQ(call(V::get, groups + "prod-default-worker").code, 200u);
  EXPECT_EQ(call(V::delete_, groups + "prod-default-master").code, 409u);
  // Once the cluster is going, they may go too.
  ASSERT_EQ(call(V::delete_, cluster("demo", "prod")).code, 200u);
  EXPECT_EQ(call(V::delete_, groups + "prod-default-worker").code, 200u);
}

TEST_P(CrudTest, DeletePreconditionsInDeleteOptions) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  auto r = call(V::delete_, templates("demo") + "/k8s",
                R"({"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"nope"}})");
  EXPECT_EQ(r.code, 409u);
  EXPECT_NE(r.str("/message").find("Precondition failed"), std::string::npos);
  EXPECT_EQ(call(V::delete_, templates("demo") + "/k8s", R"({"bogus":1})").code, 400u);
}

TEST_P(CrudTest, YamlInAndOut) {
  std::string yaml = R"(apiVersion: container-infra/v1
kind: ClusterTemplate
metadata:
  name: k8s
spec:
  coe: kubernetes
  image: fedora-coreos-38
  externalNetwork: public
  keypair: demo-key
)";
  auto created = call(V::post, templates("demo"), yaml, kAdmin, "application/yaml");
  ASSERT_EQ(created.code, 201u) << created.body;
  auto got = call(V::get, templates("demo") + "/k8s", "", kAdmin, "", "application/yaml");
  EXPECT_EQ(got.code, 200u);
  EXPECT_EQ(got.content_type, "application/yaml");
  EXPECT_NE(got.body.find("kind: ClusterTemplate"), std::string::npos) << got.body;
  EXPECT_NE(got.body.find("coe: kubernetes"), std::string::npos) << got.body;
  auto err = call(V::get, templates("demo") + "/none", "", kAdmin, "", "application/yaml");
  EXPECT_EQ(err.code, 404u);
  EXPECT_NE(err.body.find("reason: NotFound"), std::string::npos) << err.body;
  EXPECT_EQ(call(V::get, templates("demo") + "/k8s", "", kAdmin, "", "text/html").code, 406u);
  // No Content-Type: detected.
  auto detected = call(V::post, templates("demo"), yaml.replace(yaml.find("k8s"), 3, "k9s"), kAdmin, "");
  EXPECT_EQ(detected.code, 201u) << detected.body;
  EXPECT_EQ(call(V::post, templates("demo"), "x", kAdmin, "application/xml").code, 415u);
}

TEST_P(CrudTest, HostileBodiesAreRejectedNotCrashing) {
  std::string deep(100000, '[');
  EXPECT_EQ(call(V::post, templates("demo"), deep).code, 400u);
  EXPECT_EQ(call(V::post, templates("demo"), deep, kAdmin, "application/yaml").code, 400u);
  EXPECT_EQ(call(V::post, templates("demo"), "{\"a\":").code, 400u);
  EXPECT_EQ(call(V::post, templates("demo"), "---\na: 1\n---\nb: 2\n", kAdmin, "application/yaml").code, 400u);
  EXPECT_EQ(call(V::post, templates("demo"), "").code, 400u);
}

TEST_P(CrudTest, ListWithSelectorAndPagination) {
  ASSERT_EQ(createTemplate("demo", "k8s").code, 201u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(createCluster("demo", fmt::format("c{}", i), "k8s",
                            i % 2 == 0 ? R"({"tier":"prod"})" : R"({"tier":"dev"})").code, 201u);
  }
  auto all = call(V::get, clusters("demo"));
  ASSERT_EQ(all.code, 200u);
  EXPECT_EQ(all.str("/kind"), "ClusterList");
  EXPECT_EQ(all.str("/apiVersion"), "container-infra/v1");
  EXPECT_FALSE(all.str("/metadata/resourceVersion").empty());
  EXPECT_EQ(all.json["items"].Size(), 5u);
  EXPECT_EQ(all.str("/items/0/kind"), "Cluster");

  auto prod = call(V::get, clusters("demo") + "?labelSelector=tier%3Dprod");
  EXPECT_EQ(prod.json["items"].Size(), 3u) << prod.body;
  auto notin = call(V::get, clusters("demo") + "?labelSelector=tier%20notin%20(prod)");
  EXPECT_EQ(notin.json["items"].Size(), 2u) << notin.body;
  EXPECT_EQ(call(V::get, clusters("demo") + "?labelSelector=tier%20in%20(a").code, 400u);
  auto by_name = call(V::get, clusters("demo") + "?fieldSelector=metadata.name%3Dc3");
  EXPECT_EQ(by_name.json["items"].Size(), 1u);

  std::vector<std::string> names;
  std::string next;
  for (int page = 0; page < 10; ++page) {
    auto r = call(V::get, clusters("demo") + "?limit=2" + (next.empty() ? "" : "&continue=" + next));
    ASSERT_EQ(r.code, 200u) << r.body;
    for (const auto& item : r.json["items"].GetArray()) names.push_back(item["metadata"]["name"].GetString());
    next = r.str("/metadata/continue");
    if (next.empty()) break;
    EXPECT_LE(r.json["items"].Size(), 2u);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"c0", "c1", "c2", "c3", "c4"}));
  EXPECT_EQ(call(V::get, clusters("demo") + "?limit=abc").code, 400u);

  auto everywhere = call(V::get, std::string(kBase) + "/clusters");
  EXPECT_EQ(everywhere.json["items"].Size(), 5u);
}

TEST_P(CrudTest, MethodsAndPathsThatDoNotExist) {
  EXPECT_EQ(call(V::get, std::string(kBase) + "/namespaces/demo/widgets").code, 404u);
  EXPECT_EQ(call(V::post, cluster("demo", "x"), "{}").code, 405u);
  EXPECT_EQ(call(V::delete_, clusters("demo")).code, 405u);
  EXPECT_EQ(call(V::post, std::string(kBase) + "/clusters", "{}").code, 405u);
  EXPECT_EQ(call(V::get, "/nothing/here").code, 404u);
  auto discovery = call(V::get, kBase);
  EXPECT_EQ(discovery.code, 200u);
  EXPECT_EQ(discovery.str("/kind"), "APIResourceList");
  // docs/api.md: any other method on a path answers 405, on every path.
  for (const std::string& path : {std::string(kBase), std::string("/apis"), std::string("/metrics"),
                                 std::string("/healthz"), std::string("/version")}) {
    for (auto method : {V::post, V::put, V::delete_, V::patch, V::head, V::options}) {
      auto r = call(method, path, "{}");
      EXPECT_EQ(r.code, 405u) << http::to_string(method) << " " << path << ": " << r.body;
    }
  }
  const std::map<std::string, std::vector<V>> refused{
      {clusters("demo"), {V::put, V::patch, V::delete_, V::head, V::options}},
      {cluster("demo", "x"), {V::post, V::head, V::options}},
      {cluster("demo", "x") + "/status", {V::post, V::delete_, V::head}},
      {std::string(kBase) + "/clusters", {V::post, V::put, V::delete_, V::head}},
      {cluster("demo", "x") + "/ca", {V::put, V::delete_, V::head}},
      {cluster("demo", "x") + "/kubeconfig", {V::post, V::head}},
  };
  for (const auto& [path, methods] : refused) {
    for (auto method : methods) {
      auto r = call(method, path, "{}");
      EXPECT_EQ(r.code, 405u) << http::to_string(method) << " " << path << ": " << r.body;
      EXPECT_EQ(r.str("/reason"), "MethodNotAllowed") << http::to_string(method) << " " << path;
    }
  }
  // A valid token comes first where one is needed; the health endpoints need none.
  EXPECT_EQ(call(V::post, "/metrics", "{}", "").code, 401u);
  EXPECT_EQ(call(V::post, cluster("demo", "x"), "{}", "").code, 401u);
  EXPECT_EQ(call(V::post, "/healthz", "{}", "").code, 405u);
}

INSTANTIATE_STORE_BACKENDS(CrudTest);

}  // namespace
}  // namespace magnumd::server::testing
