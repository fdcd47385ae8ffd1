// Magnum's v1 API over the same objects as /apis: versions and microversions, Magnum's bodies
// and errors, one source of truth across both APIs, projects, roles, paging, and the actions.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <future>

#include "pki/certificate.h"
#include "tests/pki/pki_test_util.h"
#include "tests/server/api_fixture.h"
#include "tests/server/magnum_fixture.h"

namespace magnumd::server::testing {
namespace {

TEST_F(MagnumApiTest, VersionsNeedNoTokenAndNameTheRange) {
  Reply root = magnum(http::verb::get, "/", {}, "", "");
  ASSERT_EQ(root.code, 200u) << root.body;
  EXPECT_EQ(root.str("/versions/0/id"), "v1");
  EXPECT_EQ(root.str("/versions/0/min_version"), "1.1");
  EXPECT_EQ(root.str("/versions/0/max_version"), "1.14");
  EXPECT_EQ(root.str("/versions/0/links/0/href"), "http://magnum.test:9511/v1/");
  Reply v1 = magnum(http::verb::get, "/v1/", {}, "", "");
  ASSERT_EQ(v1.code, 200u) << v1.body;
  EXPECT_EQ(v1.str("/media_types/0/type"), "application/vnd.openstack.magnum.v1+json");
  EXPECT_EQ(v1.str("/clusters/0/href"), "http://magnum.test:9511/v1/clusters/");
  Reply anonymous = magnum(http::verb::get, "/v1/clusters", {}, "");
  EXPECT_EQ(anonymous.code, 401u) << anonymous.body;
  EXPECT_EQ(anonymous.str("/errors/0/status"), "401");
}

TEST_F(MagnumApiTest, MicroversionsAreNegotiatedAsMagnumDoes) {
  EXPECT_EQ(magnum(http::verb::get, "/v1/clusters", {}, kMemberA, "").code, 200u);
  EXPECT_EQ(last_headers_["OpenStack-API-Version"], "container-infrastructure-management 1.1");
  EXPECT_EQ(last_headers_["OpenStack-API-Minimum-Version"],
            "container-infrastructure-management 1.1");
  EXPECT_EQ(last_headers_["OpenStack-API-Maximum-Version"],
            "container-infrastructure-management 1.14");
  EXPECT_EQ(last_headers_["Vary"], "OpenStack-API-Version");
  EXPECT_EQ(magnum(http::verb::get, "/v1/clusters", {}, kMemberA, "container-infra latest").code,
            200u);
  EXPECT_EQ(last_headers_["OpenStack-API-Version"], "container-infrastructure-management 1.14");
  EXPECT_EQ(
      magnum(http::verb::get, "/v1/clusters", {}, kMemberA, "container-infrastructure 1.9").code,
      200u);
  EXPECT_EQ(last_headers_["OpenStack-API-Version"], "container-infrastructure-management 1.9");

  Reply too_new = magnum(http::verb::get, "/v1/clusters", {}, kMemberA, "container-infra 1.15");
  EXPECT_EQ(too_new.code, 406u);
  EXPECT_EQ(too_new.str("/errors/0/code"), "magnum.microversion-unsupported");
  EXPECT_NE(too_new.str("/errors/0/detail").find("1.15"), std::string::npos) << too_new.body;
  EXPECT_EQ(magnum(http::verb::get, "/v1/clusters", {}, kMemberA, "compute 1.2").code, 406u);
  EXPECT_EQ(magnum(http::verb::get, "/v1/clusters", {}, kMemberA, "container-infra one").code,
            406u);
  EXPECT_EQ(magnum(http::verb::get, "/v1/clusters", {}, kMemberA, "container-infra 2.0").code,
            406u);
}

TEST_F(MagnumApiTest, ObjectsMadeThroughEitherApiAreOneObject) {
  std::string tmpl = createMagnumTemplate("k8s");
  Reply stored =
      call(http::verb::get, fmt::format("{}/namespaces/team-a/clustertemplates/k8s", kBase));
  ASSERT_EQ(stored.code, 200u) << stored.body;
  EXPECT_EQ(stored.str("/metadata/uid"), tmpl);
  EXPECT_EQ(stored.str("/spec/image"), "fedora-coreos-38");
  EXPECT_EQ(stored.str("/spec/labels/auto_healing_enabled"), "True");  // Magnum's str(True)

  std::string uuid = createMagnumCluster("prod", tmpl);
  Reply cluster = call(http::verb::get, fmt::format("{}/namespaces/team-a/clusters/prod", kBase));
  ASSERT_EQ(cluster.code, 200u) << cluster.body;
  EXPECT_EQ(cluster.str("/metadata/uid"), uuid);
  EXPECT_EQ(cluster.str("/spec/clusterTemplate"), "k8s");
  EXPECT_EQ(cluster.str("/spec/nodeCount"), "2");

  // And the other way: a cluster made through /apis shows in Magnum's terms.
  ASSERT_EQ(createCluster("team-a", "staging", "k8s").code, 201u);
  Reply shown = magnum(http::verb::get, "/v1/clusters/staging");
  ASSERT_EQ(shown.code, 200u) << shown.body;
  EXPECT_EQ(shown.str("/cluster_template_id"), tmpl);
  EXPECT_EQ(shown.str("/keypair"), "demo-key");  // the template's, as Magnum copies it
  EXPECT_EQ(shown.str("/project_id"), "team-a");
  EXPECT_EQ(shown.str("/labels_skipped/kube_tag"), "v1.32.1");
  EXPECT_TRUE(shown.json.HasMember("cluster_id")) << shown.body;  // 1.13+: not stack_id
  EXPECT_FALSE(shown.json.HasMember("stack_id"));
  Reply old = magnum(http::verb::get, "/v1/clusters/staging", {}, kMemberA, "container-infra 1.12");
  EXPECT_TRUE(old.json.HasMember("stack_id")) << old.body;
  Reply by_uuid = magnum(http::verb::get, "/v1/clusters/" + uuid);
  EXPECT_EQ(by_uuid.str("/name"), "prod");
  EXPECT_EQ(by_uuid.str("/links/0/href"), "http://magnum.test:9511/v1/clusters/" + uuid);
}

TEST_F(MagnumApiTest, MagnumNamesKubernetesRefusesAreKeptAndFound) {
  std::string tmpl = createMagnumTemplate("My_Template.v2");
  Reply shown = magnum(http::verb::get, "/v1/clustertemplates/My_Template.v2");
  ASSERT_EQ(shown.code, 200u) << shown.body;
  EXPECT_EQ(shown.str("/uuid"), tmpl);
  EXPECT_EQ(shown.str("/name"), "My_Template.v2");
  Reply bad = magnum(http::verb::post, "/v1/clusters",
                     fmt::format(R"({{"name":"9lives","cluster_template_id":"{}"}})", tmpl));
  EXPECT_EQ(bad.code, 400u) << bad.body;
  EXPECT_NE(bad.str("/errors/0/detail").find("name"), std::string::npos);
}

TEST_F(MagnumApiTest, ProjectsSeeOnlyTheirOwnAndReadersCannotCreate) {
  ASSERT_EQ(createTemplate("team-b", "k8s").code, 201u);
  ASSERT_EQ(createCluster("team-b", "secret", "k8s").code, 201u);
  Reply b = call(http::verb::get, fmt::format("{}/namespaces/team-b/clusters/secret", kBase));
  std::string b_uuid = b.str("/metadata/uid");

  Reply mine = magnum(http::verb::get, "/v1/clusters");
  ASSERT_EQ(mine.code, 200u) << mine.body;
  EXPECT_EQ(mine.json["clusters"].Size(), 0u) << mine.body;
  EXPECT_EQ(magnum(http::verb::get, "/v1/clusters/" + b_uuid).code, 404u);
  EXPECT_EQ(magnum(http::verb::delete_, "/v1/clusters/" + b_uuid).code, 404u);
  Reply admin = magnum(http::verb::get, "/v1/clusters", {}, kAdmin);
  EXPECT_EQ(admin.json["clusters"].Size(), 1u) << admin.body;

  Reply reader =
      magnum(http::verb::post, "/v1/clustertemplates",
             R"({"name":"x","image_id":"i","coe":"kubernetes","external_network_id":"public"})",
             kReaderAll);
  EXPECT_EQ(reader.code, 403u) << reader.body;
  Reply publish = magnum(http::verb::post, "/v1/clustertemplates",
                         R"({"name":"x","image_id":"i","coe":"kubernetes","public":true})");
  EXPECT_EQ(publish.code, 403u) << publish.body;
}

TEST_F(MagnumApiTest, ClusterPatchChangesOnlyWhatMagnumAllows) {
  std::string uuid = createMagnumCluster("prod", createMagnumTemplate("k8s"));
  Reply scaled = magnum(http::verb::patch, "/v1/clusters/prod",
                        R"([{"op":"replace","path":"/node_count","value":5}])");
  ASSERT_EQ(scaled.code, 202u) << scaled.body;
  EXPECT_EQ(scaled.str("/uuid"), uuid);
  EXPECT_EQ(call(http::verb::get, fmt::format("{}/namespaces/team-a/clusters/prod", kBase))
                .str("/spec/nodeCount"),
            "5");
  Reply keypair = magnum(http::verb::patch, "/v1/clusters/prod",
                         R"([{"op":"replace","path":"/keypair","value":"other"}])");
  EXPECT_EQ(keypair.code, 400u);
  EXPECT_NE(keypair.str("/errors/0/detail").find("keypair"), std::string::npos) << keypair.body;
  Reply internal = magnum(http::verb::patch, "/v1/clusters/prod",
                          R"([{"op":"replace","path":"/uuid","value":"x"}])");
  EXPECT_EQ(internal.code, 400u);
  EXPECT_NE(internal.str("/errors/0/detail").find("internal attribute"), std::string::npos);
  Reply op = magnum(http::verb::patch, "/v1/clusters/prod",
                    R"([{"op":"copy","from":"/labels","path":"/x"}])");
  EXPECT_EQ(op.code, 400u);
}

// Renderings are cached per version of the object and of its template (magnum_render_cache.h):
// every change to either shows in the next show and list, in every variant of the view.
TEST_F(MagnumApiTest, ShowsAndListsFollowEveryChangeOfAClusterAndItsTemplate) {
  std::string tmpl = createMagnumTemplate("k8s");
  createMagnumCluster("prod", tmpl);
  auto shown = [&](const std::string& target, const char* pointer) {
    Reply r = magnum(http::verb::get, target);
    EXPECT_EQ(r.code, 200u) << r.body;
    return r.str(pointer);
  };
  for (int round = 0; round < 2; ++round) {  // the second round reads what the first cached
    EXPECT_EQ(shown("/v1/clusters/prod", "/node_count"), "2");
    EXPECT_EQ(shown("/v1/clusters", "/clusters/0/node_count"), "2");
    EXPECT_EQ(shown("/v1/clusters/detail", "/clusters/0/labels/kube_tag"), "v1.32.1");
  }
  ASSERT_EQ(call(http::verb::patch, fmt::format("{}/namespaces/team-a/clusters/prod", kBase),
                 R"({"spec":{"nodeCount":4}})", kAdmin, "application/merge-patch+json")
                .code,
            200u);
  EXPECT_EQ(shown("/v1/clusters/prod", "/node_count"), "4");
  EXPECT_EQ(shown("/v1/clusters", "/clusters/0/node_count"), "4");
  EXPECT_EQ(shown("/v1/clusters/detail", "/clusters/0/node_count"), "4");

  // Pointed at another template (an upgrade), the cluster shows that template's labels.
  createMagnumTemplate("k8s-v2");
  ASSERT_EQ(
      call(http::verb::patch, fmt::format("{}/namespaces/team-a/clustertemplates/k8s-v2", kBase),
           R"({"spec":{"labels":{"kube_tag":"v1.32.2"}}})", kAdmin, "application/merge-patch+json")
          .code,
      200u);
  Reply upgraded = magnum(http::verb::post, "/v1/clusters/prod/actions/upgrade",
                          R"({"cluster_template":"k8s-v2"})");
  ASSERT_EQ(upgraded.code, 202u) << upgraded.body;
  EXPECT_EQ(shown("/v1/clusters/detail", "/clusters/0/labels/kube_tag"), "v1.32.2");
  EXPECT_EQ(shown("/v1/clusters/prod", "/labels/kube_tag"), "v1.32.2");

  // Another microversion is another rendering: stack_id before 1.13, cluster_id from it.
  Reply old = magnum(http::verb::get, "/v1/clusters", {}, kMemberA, "container-infra 1.12");
  EXPECT_TRUE(old.json["clusters"][0].HasMember("stack_id")) << old.body;
  Reply now = magnum(http::verb::get, "/v1/clusters");
  EXPECT_TRUE(now.json["clusters"][0].HasMember("cluster_id")) << now.body;
  EXPECT_FALSE(now.json["clusters"][0].HasMember("stack_id"));
}

TEST_F(MagnumApiTest, ResizeAndUpgradeNeedTheirMicroversions) {
  std::string tmpl = createMagnumTemplate("k8s");
  std::string v2 = createMagnumTemplate("k8s-v2");
  createMagnumCluster("prod", tmpl);
  std::string resize = R"({"node_count":4,"nodes_to_remove":[]})";
  EXPECT_EQ(magnum(http::verb::post, "/v1/clusters/prod/actions/resize", resize, kMemberA, "").code,
            406u);
  Reply resized = magnum(http::verb::post, "/v1/clusters/prod/actions/resize", resize);
  ASSERT_EQ(resized.code, 202u) << resized.body;
  Reply zero = magnum(http::verb::post, "/v1/clusters/prod/actions/resize", R"({"node_count":0})",
                      kMemberA, "container-infra 1.9");
  EXPECT_EQ(zero.code, 400u) << zero.body;
  EXPECT_EQ(call(http::verb::get, fmt::format("{}/namespaces/team-a/clusters/prod", kBase))
                .str("/spec/nodeCount"),
            "4");
  Reply upgraded = magnum(http::verb::post, "/v1/clusters/prod/actions/upgrade",
                          fmt::format(R"({{"cluster_template":"{}","max_batch_size":2}})", v2));
  ASSERT_EQ(upgraded.code, 202u) << upgraded.body;
  Reply after = call(http::verb::get, fmt::format("{}/namespaces/team-a/clusters/prod", kBase));
  EXPECT_EQ(after.str("/spec/clusterTemplate"), "k8s-v2");
  EXPECT_EQ(after.str("/spec/rolloutStrategy/maxBatchSize"), "2");
}

TEST_F(MagnumApiTest, ListsPageWithMarkersAndRefuseBadParameters) {
  for (const char* name : {"a", "b", "c"}) createMagnumTemplate(name);
  Reply first = magnum(http::verb::get, "/v1/clustertemplates?limit=2&sort_key=name");
  ASSERT_EQ(first.code, 200u) << first.body;
  ASSERT_EQ(first.json["clustertemplates"].Size(), 2u);
  EXPECT_EQ(first.str("/clustertemplates/1/name"), "b");
  std::string next = first.str("/next");
  ASSERT_NE(next.find("marker=" + first.str("/clustertemplates/1/uuid")), std::string::npos)
      << next;
  Reply second = magnum(http::verb::get, next.substr(next.find("/v1/")));
  ASSERT_EQ(second.code, 200u) << second.body;
  ASSERT_EQ(second.json["clustertemplates"].Size(), 1u);
  EXPECT_EQ(second.str("/clustertemplates/0/name"), "c");
  EXPECT_FALSE(second.json.HasMember("next"));
  EXPECT_EQ(magnum(http::verb::get, "/v1/clustertemplates?limit=0").code, 400u);
  EXPECT_EQ(magnum(http::verb::get, "/v1/clustertemplates?sort_dir=up").code, 400u);
  EXPECT_EQ(magnum(http::verb::get, "/v1/clustertemplates?sort_key=secret").code, 400u);
}

TEST_F(MagnumApiTest, DeletesGoThroughTheSameRules) {
  std::string tmpl = createMagnumTemplate("k8s");
  createMagnumCluster("prod", tmpl);
  Reply in_use = magnum(http::verb::delete_, "/v1/clustertemplates/k8s");
  EXPECT_EQ(in_use.code, 400u) << in_use.body;  // Magnum's ClusterTemplateReferenced
  EXPECT_NE(in_use.str("/errors/0/detail").find("referenced"), std::string::npos) << in_use.body;
  EXPECT_EQ(magnum(http::verb::delete_, "/v1/clusters/prod").code, 204u);
  Reply gone = call(http::verb::get, fmt::format("{}/namespaces/team-a/clusters/prod", kBase));
  EXPECT_TRUE(gone.code == 404u || !gone.str("/metadata/deletionTimestamp").empty()) << gone.body;
  Reply missing = magnum(http::verb::get, "/v1/clusters/nope");
  EXPECT_EQ(missing.code, 404u);
  EXPECT_EQ(missing.str("/errors/0/code"), "client");
  EXPECT_EQ(missing.str("/errors/0/title"), "Cluster nope could not be found");  // Magnum's
}

TEST_F(MagnumApiTest, NodeGroupsAreListedPerClusterFromOneNine) {
  createMagnumCluster("prod", createMagnumTemplate("k8s"));
  EXPECT_EQ(
      magnum(http::verb::get, "/v1/clusters/prod/nodegroups", {}, kMemberA, "container-infra 1.8")
          .code,
      406u);
  Reply created = magnum(http::verb::post, "/v1/clusters/prod/nodegroups",
                         R"({"name":"gpu_pool","node_count":1,"flavor_id":"g1.large"})");
  ASSERT_EQ(created.code, 202u) << created.body;
  EXPECT_EQ(created.str("/name"), "gpu_pool");
  Reply listed = magnum(http::verb::get, "/v1/clusters/prod/nodegroups");
  ASSERT_EQ(listed.code, 200u) << listed.body;
  bool found = false;
  for (const auto& ng : listed.json["nodegroups"].GetArray()) {
    found = found || std::string(ng["name"].GetString()) == "gpu_pool";
  }
  EXPECT_TRUE(found) << listed.body;
  Reply limits = magnum(http::verb::patch, "/v1/clusters/prod/nodegroups/gpu_pool",
                        R"([{"op":"replace","path":"/max_node_count","value":3}])");
  EXPECT_EQ(limits.code, 202u) << limits.body;
  EXPECT_EQ(limits.str("/max_node_count"), "3");
  EXPECT_EQ(magnum(http::verb::delete_, "/v1/clusters/prod/nodegroups/gpu_pool").code, 204u);
}

TEST_F(MagnumApiTest, CertificatesShowSignAndRotateTheClustersCa) {
  std::string uuid = createMagnumCluster("prod", createMagnumTemplate("k8s"));
  auto cluster = store_->get({api::Kind::Cluster, "team-a", "prod"});
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE(secrets_->ensure(*cluster).ok());  // as the reconciler makes it

  Reply ca = magnum(http::verb::get, "/v1/certificates/" + uuid);
  ASSERT_EQ(ca.code, 200u) << ca.body;
  EXPECT_EQ(ca.str("/cluster_uuid"), uuid);
  std::string ca_pem = ca.str("/pem");
  EXPECT_NE(ca_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  Reply etcd = magnum(http::verb::get, "/v1/certificates/prod?ca_cert_type=etcd");
  ASSERT_EQ(etcd.code, 200u) << etcd.body;
  EXPECT_NE(etcd.str("/pem"), ca_pem);

  auto key = pki::testing::makeEcKey("prime256v1");
  std::string csr = pki::testing::makeCsrPem(*key, "alice", {"magnumd:members"});
  util::JsonDoc body;
  body.SetObject();
  body.AddMember("cluster_uuid", util::str(uuid, body.GetAllocator()), body.GetAllocator());
  body.AddMember("csr", util::str(csr, body.GetAllocator()), body.GetAllocator());
  Reply signed_ = magnum(http::verb::post, "/v1/certificates", util::toJson(body));
  ASSERT_EQ(signed_.code, 201u) << signed_.body;
  EXPECT_EQ(signed_.str("/csr"), csr);
  EXPECT_TRUE(pki::verifyChain(signed_.str("/pem"), ca_pem, std::chrono::system_clock::now(),
                               pki::ExtendedKeyUsage::ClientAuth)
                  .ok());
  // A member may not have another identity signed, whichever API it asks through.
  std::string admin_csr = pki::testing::makeCsrPem(*key, "admin", {"system:masters"});
  body["csr"].SetString(admin_csr.c_str(), body.GetAllocator());
  EXPECT_EQ(magnum(http::verb::post, "/v1/certificates", util::toJson(body)).code, 403u);
  Reply unknown = magnum(http::verb::post, "/v1/certificates",
                         R"({"cluster_uuid":"00000000-0000-0000-0000-000000000000","csr":"x"})");
  EXPECT_EQ(unknown.code, 400u) << unknown.body;

  EXPECT_EQ(
      magnum(http::verb::patch, "/v1/certificates/" + uuid, {}, kMemberA, "container-infra 1.4")
          .code,
      406u);
  Reply rotated = magnum(http::verb::patch, "/v1/certificates/" + uuid);
  ASSERT_EQ(rotated.code, 202u) << rotated.body;
  EXPECT_EQ(rotated.str("/uuid"), uuid);
  EXPECT_EQ(call(http::verb::get, fmt::format("{}/namespaces/team-a/clusters/prod", kBase))
                .str("/spec/caGeneration"),
            "1");
}

TEST_F(MagnumApiTest, StatsCountClustersAndNodesOfTheCallersProject) {
  std::string tmpl = createMagnumTemplate("k8s");
  createMagnumCluster("one", tmpl);
  createMagnumCluster("two", tmpl);
  ASSERT_EQ(createTemplate("team-b", "k8s").code, 201u);
  ASSERT_EQ(createCluster("team-b", "other", "k8s").code, 201u);
  Reply mine = magnum(http::verb::get, "/v1/stats");
  ASSERT_EQ(mine.code, 200u) << mine.body;
  EXPECT_EQ(mine.str("/clusters"), "2");
  EXPECT_EQ(mine.str("/nodes"), "6");  // (2 workers + 1 master) x 2
  EXPECT_EQ(magnum(http::verb::get, "/v1/stats?project_id=team-b").code, 403u);
  Reply b = magnum(http::verb::get, "/v1/stats?project_id=team-b&type=cluster", {}, kAdmin);
  EXPECT_EQ(b.str("/clusters"), "1") << b.body;
  EXPECT_EQ(magnum(http::verb::get, "/v1/stats?type=node").code, 400u);
}

TEST_F(MagnumApiTest, MservicesShowTheControllersHeartbeatToAdminsOnly) {
  EXPECT_EQ(magnum(http::verb::get, "/v1/mservices").code, 403u);
  Reply none = magnum(http::verb::get, "/v1/mservices", {}, kAdmin);
  ASSERT_EQ(none.code, 200u) << none.body;
  EXPECT_EQ(none.json["mservices"].Size(), 0u);  // this server runs no controllers
}

// Several replicas: one magnum-conductor row per replica, from the reports every replica reads
// from the store, so a follower lists the leader and itself; a replica whose last report is older
// than three report intervals (at least 30 s) is down.
TEST_F(MagnumApiTest, MservicesListEveryReplicaAndThoseThatStoppedReportingAreDown) {
  stop();
  ServiceHeartbeat heartbeat;
  heartbeat.host = "this-machine";
  heartbeat.running = false;  // a follower: its own controllers do not run
  const auto now = std::chrono::system_clock::now();
  const auto created = *util::parseRfc3339("2026-12-07T20:00:00Z");
  heartbeat.replicas = [&] {
    return std::vector<ReplicaReport>{{"replica0", created, now - std::chrono::hours(1), 40},
                                      {"replica1", created, now, 7}};
  };
  heartbeat_ = &heartbeat;
  start(WatchOptions{});
  Reply listed = magnum(http::verb::get, "/v1/mservices", {}, kAdmin);
  ASSERT_EQ(listed.code, 200u) << listed.body;
  ASSERT_EQ(listed.json["mservices"].Size(), 2u) << listed.body;
  EXPECT_EQ(listed.str("/mservices/0/host"), "replica0");
  EXPECT_EQ(listed.str("/mservices/0/state"), "down");
  EXPECT_EQ(listed.str("/mservices/0/report_count"), "40");
  EXPECT_EQ(listed.str("/mservices/0/created_at"), "2026-12-07T20:00:00+00:00");
  EXPECT_EQ(listed.str("/mservices/1/host"), "replica1");
  EXPECT_EQ(listed.str("/mservices/1/state"), "up");
  EXPECT_EQ(listed.str("/mservices/1/binary"), "magnum-conductor");
  EXPECT_EQ(listed.str("/mservices/1/id"), "2");
  stop();
  heartbeat_ = nullptr;
  start(WatchOptions{});
}

TEST_F(MagnumApiTest, QuotasAreSetByAdminsAndLimitCreatesThroughBothApis) {
  std::string tmpl = createMagnumTemplate("k8s");
  // Without a quota: the default (no limit here), shown as Magnum shows a missing quota.
  Reply none = magnum(http::verb::get, "/v1/quotas/team-a/Cluster");
  ASSERT_EQ(none.code, 200u) << none.body;
  EXPECT_EQ(none.str("/hard_limit"), "0");
  // Only admins set quotas.
  std::string body = R"({"project_id":"team-a","resource":"Cluster","hard_limit":1})";
  EXPECT_EQ(magnum(http::verb::post, "/v1/quotas", body).code, 403u);
  Reply made = magnum(http::verb::post, "/v1/quotas", body, kAdmin);
  ASSERT_EQ(made.code, 201u) << made.body;
  EXPECT_EQ(made.str("/hard_limit"), "1");
  EXPECT_EQ(magnum(http::verb::post, "/v1/quotas", body, kAdmin).code, 409u);
  // The same object through /apis.
  Reply quota = call(http::verb::get, fmt::format("{}/namespaces/team-a/quotas/cluster", kBase));
  ASSERT_EQ(quota.code, 200u) << quota.body;
  EXPECT_EQ(quota.str("/spec/hardLimit"), "1");

  createMagnumCluster("one", tmpl);
  Reply over = magnum(http::verb::post, "/v1/clusters",
                      fmt::format(R"({{"name":"two","cluster_template_id":"{}"}})", tmpl));
  EXPECT_EQ(over.code, 403u) << over.body;
  EXPECT_NE(over.str("/errors/0/detail").find("exceeded quota: cluster in project team-a"),
            std::string::npos)
      << over.body;
  Reply kube = createCluster("team-a", "three", "k8s");
  EXPECT_EQ(kube.code, 403u) << kube.body;
  EXPECT_EQ(kube.reason(), "Forbidden");
  EXPECT_NE(kube.str("/message").find("limited: clusters=1"), std::string::npos) << kube.body;
  // Another project is not limited by team-a's quota.
  ASSERT_EQ(createTemplate("team-b", "k8s").code, 201u);
  EXPECT_EQ(createCluster("team-b", "free", "k8s").code, 201u);

  // Raising it lets the next one in; node quotas count masters and workers.
  Reply raised = magnum(http::verb::patch, "/v1/quotas/team-a/Cluster",
                        R"({"project_id":"team-a","resource":"Cluster","hard_limit":5})", kAdmin);
  ASSERT_EQ(raised.code, 202u) << raised.body;
  ASSERT_EQ(magnum(http::verb::post, "/v1/quotas",
                   R"({"project_id":"team-a","resource":"Node","hard_limit":5})", kAdmin)
                .code,
            201u);
  // "one" wants 1 master + 2 workers = 3; two more workers would make 5: allowed; one more: not.
  EXPECT_EQ(magnum(http::verb::patch, "/v1/clusters/one",
                   R"([{"op":"replace","path":"/node_count","value":4}])")
                .code,
            202u);
  Reply nodes = magnum(http::verb::patch, "/v1/clusters/one",
                       R"([{"op":"replace","path":"/node_count","value":5}])");
  EXPECT_EQ(nodes.code, 403u) << nodes.body;
  EXPECT_NE(nodes.str("/errors/0/detail").find("nodes"), std::string::npos) << nodes.body;
  // Shrinking is never refused.
  EXPECT_EQ(magnum(http::verb::patch, "/v1/clusters/one",
                   R"([{"op":"replace","path":"/node_count","value":1}])")
                .code,
            202u);
  // Listing quotas is quota:get_all, Magnum's admin-only rule; a member reads its own one by one.
  Reply mine = magnum(http::verb::get, "/v1/quotas");
  EXPECT_EQ(mine.code, 403u) << mine.body;
  EXPECT_EQ(mine.str("/errors/0/detail"), "Policy doesn't allow quota:get_all to be performed.");
  Reply listed = magnum(http::verb::get, "/v1/quotas", {}, kAdmin);
  ASSERT_EQ(listed.code, 200u) << listed.body;
  EXPECT_EQ(listed.json["quotas"].Size(), 2u);
  EXPECT_EQ(magnum(http::verb::delete_, "/v1/quotas/team-a/Node", {}, kAdmin).code, 204u);
}

TEST_F(MagnumApiTest, QuotaObjectsAreNamedAfterTheirResourceAndWrittenByAdminsOnly) {
  auto quota = [&](const std::string& name, const std::string& resource, const char* token) {
    return call(
        http::verb::post, fmt::format("{}/namespaces/team-a/quotas", kBase),
        fmt::format(R"({{"apiVersion":"container-infra/v1","kind":"Quota",)"
                    R"("metadata":{{"name":"{}"}},"spec":{{"resource":"{}","hardLimit":2}}}})",
                    name, resource),
        token);
  };
  Reply misnamed = quota("wrong", "Cluster", kAdmin);
  EXPECT_EQ(misnamed.code, 422u) << misnamed.body;
  EXPECT_NE(misnamed.body.find("metadata.name"), std::string::npos) << misnamed.body;
  EXPECT_EQ(quota("gpu", "Gpu", kAdmin).code, 422u);
  EXPECT_EQ(quota("cluster", "Cluster", kMemberA).code, 403u);
  EXPECT_EQ(quota("cluster", "Cluster", kAdminA).code, 201u);
  Reply changed = call(http::verb::patch, fmt::format("{}/namespaces/team-a/quotas/cluster", kBase),
                       R"({"spec":{"resource":"Node"}})", kAdmin, "application/merge-patch+json");
  EXPECT_EQ(changed.code, 422u) << changed.body;  // the resource is immutable
}

TEST_F(MagnumApiTest, ConcurrentCreatesCannotPassAClusterQuotaTogether) {
  std::string tmpl = createMagnumTemplate("k8s");
  ASSERT_EQ(magnum(http::verb::post, "/v1/quotas",
                   R"({"project_id":"team-a","resource":"Cluster","hard_limit":3})", kAdmin)
                .code,
            201u);
  // 12 creates in flight at once on the server's io_context.
  std::vector<std::future<net::Reply>> replies;
  for (int i = 0; i < 12; ++i) {
    net::Request request{http::verb::post, "/v1/clusters", 11};
    request.set("X-Auth-Token", kMemberA);
    request.set("OpenStack-API-Version", kLatest);
    request.set(http::field::content_type, "application/json");
    request.body() = fmt::format(R"({{"name":"c{}","cluster_template_id":"{}"}})", i, tmpl);
    request.prepare_payload();
    replies.push_back(
        asio::co_spawn(*io_, api_->handle(std::move(request), net::PeerInfo{"127.0.0.1", false}),
                       asio::use_future));
  }
  int accepted = 0, refused = 0;
  for (auto& f : replies) {
    auto reply = f.get();
    unsigned code = std::get<net::Response>(reply).result_int();
    accepted += code == 202u;
    refused += code == 403u;
  }
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(refused, 9);
  Reply listed = call(http::verb::get, fmt::format("{}/namespaces/team-a/clusters", kBase));
  EXPECT_EQ(listed.json["items"].Size(), 3u);
}

}  // namespace
}  // namespace magnumd::server::testing

namespace magnumd::server::testing {
namespace {

// Microversion 1.14: node_labels and node_taints on node groups, on create and PATCH.
TEST_F(MagnumApiTest, NodeGroupsCarryNodeLabelsAndTaintsFromOneFourteen) {
  std::string uuid = createMagnumCluster("prod", createMagnumTemplate("k8s"));
  const std::string url = "/v1/clusters/" + uuid + "/nodegroups";
  const std::string body = R"({"name":"gpu","node_count":1,"node_labels":{"gpu":"a100"},)"
                           R"("node_taints":[{"key":"gpu","value":"true","effect":"NoSchedule"}]})";
  // Before 1.14 the attributes do not exist.
  Reply old = magnum(http::verb::post, url, body, kMemberA, "container-infra 1.13");
  EXPECT_EQ(old.code, 400u) << old.body;
  EXPECT_NE(old.str("/errors/0/detail").find("node_labels"), std::string::npos) << old.body;

  Reply made = magnum(http::verb::post, url, body);
  ASSERT_EQ(made.code, 202u) << made.body;
  EXPECT_EQ(made.str("/node_labels/gpu"), "a100");
  EXPECT_EQ(made.str("/node_taints/0/effect"), "NoSchedule");
  Reply stored =
      call(http::verb::get, fmt::format("{}/namespaces/team-a/nodegroups/prod-gpu", kBase));
  ASSERT_EQ(stored.code, 200u) << stored.body;
  EXPECT_EQ(stored.str("/spec/nodeLabels/gpu"), "a100");
  EXPECT_EQ(stored.str("/spec/nodeTaints/0/key"), "gpu");
  Reply shown_old = magnum(http::verb::get, url + "/gpu", {}, kMemberA, "container-infra 1.13");
  ASSERT_EQ(shown_old.code, 200u);
  EXPECT_FALSE(shown_old.json.HasMember("node_labels")) << shown_old.body;

  // PATCH replaces them; a string value is Python's repr, as magnumclient sends a dict.
  Reply patched = magnum(
      http::verb::patch, url + "/gpu",
      R"([{"op":"replace","path":"/node_labels","value":"{'pool': 'gpu'}"},)"
      R"({"op":"replace","path":"/node_taints","value":[{"key":"gpu","effect":"NoExecute"}]}])");
  ASSERT_EQ(patched.code, 202u) << patched.body;
  stored = call(http::verb::get, fmt::format("{}/namespaces/team-a/nodegroups/prod-gpu", kBase));
  EXPECT_EQ(stored.str("/spec/nodeLabels/pool"), "gpu");
  EXPECT_EQ(stored.str("/spec/nodeLabels/gpu"), "") << stored.body;  // removed, not merged
  EXPECT_EQ(stored.str("/spec/nodeTaints/0/effect"), "NoExecute");
  EXPECT_EQ(magnum(http::verb::patch, url + "/gpu",
                   R"([{"op":"replace","path":"/node_labels","value":{"a":"b"}}])", kMemberA,
                   "container-infra 1.13")
                .code,
            400u);
  Reply restricted =
      magnum(http::verb::patch, url + "/gpu",
             R"([{"op":"replace","path":"/node_labels","value":{"kubernetes.io/x":"y"}}])");
  EXPECT_EQ(restricted.code, 400u) << restricted.body;
  EXPECT_NE(restricted.str("/errors/0/detail").find("kubelet would refuse"), std::string::npos)
      << restricted.body;
  Reply effect = magnum(http::verb::post, url,
                        R"({"name":"bad","node_taints":[{"key":"a","effect":"Never"}]})");
  EXPECT_EQ(effect.code, 400u) << effect.body;
  EXPECT_NE(effect.str("/errors/0/detail").find("NoSchedule, PreferNoSchedule, NoExecute"),
            std::string::npos)
      << effect.body;
}

}  // namespace
}  // namespace magnumd::server::testing
