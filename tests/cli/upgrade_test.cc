// `magnumctl upgrade cluster` against a scripted in-process server: the merge patches it sends
// (template, batch size, the labels that would hide the template's kube_tag, a node group's own
// kube_tag and image), what it refuses before sending anything, and what it prints.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "net/http_server.h"

namespace magnumd::cli {
namespace {

namespace asio = net::asio;
namespace http = net::http;

constexpr const char* kBase = "/apis/container-infra/v1/namespaces/demo";

struct Seen {
  std::string method, target, content_type, body;
};

// Replies by "METHOD target" (exact), in order when scripted more than once; records requests.
struct Server {
  std::mutex mutex;
  std::vector<Seen> seen;
  std::map<std::string, std::deque<net::Response>> replies;

  net::Response answer(const net::Request& req) {
    std::lock_guard lock(mutex);
    std::string key = std::string(req.method_string()) + " " + std::string(req.target());
    seen.push_back({std::string(req.method_string()), std::string(req.target()),
                    std::string(req[http::field::content_type]), req.body()});
    auto it = replies.find(key);
    if (it != replies.end() && !it->second.empty()) {
      net::Response r = it->second.front();
      if (it->second.size() > 1) it->second.pop_front();
      return r;
    }
    net::Response missing{http::status::internal_server_error, 11};
    missing.body() = "unscripted request " + key;
    return missing;
  }
};

asio::awaitable<net::Reply> handle(net::Request req, Server* server) {
  co_return server->answer(req);
}

net::Response json(http::status status, std::string body) {
  net::Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

net::Response ok(std::string body) { return json(http::status::ok, std::move(body)); }

net::Response conflict() {
  return json(http::status::conflict,
              R"({"kind":"Status","status":"Failure","reason":"Conflict","code":409,)"
              R"("message":"Operation cannot be fulfilled"})");
}

std::string cluster(int rv, int generation, const std::string& spec_extra = "") {
  return fmt::format(
      R"({{"kind":"Cluster","metadata":{{"name":"prod","namespace":"demo","resourceVersion":"{}",)"
      R"("generation":{}}},"spec":{{"clusterTemplate":"k8s-132","masterCount":1,"nodeCount":2{}}}}})",
      rv, generation, spec_extra);
}

std::string clusterTemplate(const std::string& name, const std::string& kube_tag,
                            const std::string& image) {
  return fmt::format(
      R"({{"kind":"ClusterTemplate","metadata":{{"name":"{}","namespace":"demo"}},)"
      R"("spec":{{"coe":"kubernetes","image":"{}","keypair":"k","externalNetwork":"public",)"
      R"("labels":{{"kube_tag":"{}"}}}}}})",
      name, image, kube_tag);
}

std::string nodeGroup(const std::string& name, int rv, const std::string& spec_extra = "") {
  return fmt::format(
      R"({{"kind":"NodeGroup","metadata":{{"name":"{}","namespace":"demo","resourceVersion":"{}"}},)"
      R"("spec":{{"cluster":"prod","role":"worker","nodeCount":1{}}}}})",
      name, rv, spec_extra);
}

class UpgradeCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<net::HttpServer>(
        io_, net::ServerOptions{},
        [this](net::Request r, net::PeerInfo) { return handle(std::move(r), &script_); });
    ASSERT_TRUE(server_->start().ok());
    thread_ = std::thread([this] { io_.run(); });
    ApiClientOptions options;
    options.server = "http://127.0.0.1:" + std::to_string(server_->port());
    options.token = "tok";
    api_ = std::move(ApiClient::create(options).value());
    script("GET " + std::string(kBase) + "/clustertemplates/k8s-132",
           ok(clusterTemplate("k8s-132", "v1.32.4", "fedora-coreos-38")));
    script("GET " + std::string(kBase) + "/clustertemplates/k8s-133",
           ok(clusterTemplate("k8s-133", "v1.33.1", "fedora-coreos-40")));
    script("GET " + std::string(kBase) + "/nodegroups?limit=500",
           ok(R"({"metadata":{"resourceVersion":"9"},"items":[]})"));
  }
  void TearDown() override {
    server_->stop();
    io_.stop();
    thread_.join();
  }
  int run(UpgradeOptions options) {
    options.kind = options.kind.empty() ? "cluster" : options.kind;
    options.cluster = "prod";
    Context ctx{*api_, out_, err_, in_, "demo", true, clock_};
    return runUpgrade(ctx, options);
  }
  void script(const std::string& key, net::Response response) {
    std::lock_guard lock(script_.mutex);
    script_.replies[key].push_back(std::move(response));
  }
  void rescript(const std::string& key, net::Response response) {
    std::lock_guard lock(script_.mutex);
    script_.replies[key] = {std::move(response)};
  }
  std::vector<Seen> patches() {
    std::lock_guard lock(script_.mutex);
    std::vector<Seen> out;
    for (const auto& s : script_.seen) {
      if (s.method == "PATCH") out.push_back(s);
    }
    return out;
  }

  Server script_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::unique_ptr<ApiClient> api_;
  std::ostringstream out_, err_;
  std::istringstream in_;
  util::RealClock clock_;
};

const std::string kCluster = std::string(kBase) + "/clusters/prod";

TEST_F(UpgradeCommand, PatchesTheTemplateAndBatchSizeAndSaysHowToFollow) {
  script("GET " + kCluster, ok(cluster(5, 2)));
  script("PATCH " + kCluster,
         ok(cluster(6, 3, R"(,"rolloutStrategy":{"maxBatchSize":2,"maxSurge":"1"})")));
  ASSERT_EQ(run({.cluster_template = "k8s-133", .max_batch_size = 2}), 0) << err_.str();
  auto sent = patches();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].content_type, "application/merge-patch+json");
  EXPECT_EQ(sent[0].body,
            R"({"metadata":{"resourceVersion":"5"},"spec":{"clusterTemplate":"k8s-133",)"
            R"("rolloutStrategy":{"maxBatchSize":2}}})");
  EXPECT_EQ(out_.str(),
            "cluster/prod upgrading to template k8s-133 (kube_tag v1.33.1, image "
            "fedora-coreos-40): masters one at a time, then workers at most 2 new at a time "
            "(maxBatchSize)\n"
            "Follow the rollout:  magnumctl -n demo get cluster prod -o wide --watch\n"
            "Wait for its end:    magnumctl -n demo wait cluster prod --for condition=Ready "
            "--timeout 30m\n");
}

TEST_F(UpgradeCommand, ClusterLabelsThatHideTheTemplatesKubeTagFollowIt) {
  // Without mergeLabels the cluster's labels replace the template's: Magnum's upgrade set the
  // cluster's kube_tag label to the template's, and so does this.
  script("GET " + kCluster, ok(cluster(5, 2, R"(,"labels":{"kube_tag":"v1.32.4"})")));
  script("PATCH " + kCluster, ok(cluster(6, 3)));
  ASSERT_EQ(run({.cluster_template = "k8s-133"}), 0) << err_.str();
  ASSERT_EQ(patches().size(), 1u);
  EXPECT_EQ(patches()[0].body,
            R"({"metadata":{"resourceVersion":"5"},"spec":{"clusterTemplate":"k8s-133",)"
            R"("labels":{"kube_tag":"v1.33.1"}}})");
  EXPECT_NE(out_.str().find("(kube_tag v1.33.1, image fedora-coreos-40)"), std::string::npos)
      << out_.str();
}

TEST_F(UpgradeCommand, RetriesWhenTheClusterChangedUnderIt) {
  script("GET " + kCluster, ok(cluster(5, 2)));
  script("GET " + kCluster, ok(cluster(7, 2)));
  script("PATCH " + kCluster, conflict());
  script("PATCH " + kCluster, ok(cluster(8, 3)));
  ASSERT_EQ(run({.cluster_template = "k8s-133"}), 0) << err_.str();
  auto sent = patches();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[1].body.find(R"("resourceVersion":"7")"), std::string::npos) << sent[1].body;
}

TEST_F(UpgradeCommand, AnUnchangedClusterSaysSo) {
  script("GET " + kCluster, ok(cluster(5, 2)));
  script("PATCH " + kCluster, ok(cluster(5, 2)));
  ASSERT_EQ(run({.cluster_template = "k8s-132"}), 0) << err_.str();
  EXPECT_EQ(out_.str().rfind("cluster/prod unchanged: it already uses template k8s-132 (kube_tag "
                             "v1.32.4, image fedora-coreos-38)\n",
                             0),
            0u)
      << out_.str();
}

TEST_F(UpgradeCommand, NamesNodeGroupsThatKeepTheirOwnVersion) {
  script("GET " + kCluster, ok(cluster(5, 2)));
  script("PATCH " + kCluster, ok(cluster(6, 3)));
  rescript("GET " + std::string(kBase) + "/nodegroups?limit=500",
           ok(fmt::format(R"({{"metadata":{{"resourceVersion":"9"}},"items":[{},{}]}})",
                          nodeGroup("prod-default-worker", 3),
                          nodeGroup("gpu", 4, R"(,"labels":{"kube_tag":"v1.32.4"})"))));
  ASSERT_EQ(run({.cluster_template = "k8s-133"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("nodegroup/gpu keeps its own kube_tag v1.32.4, image fedora-coreos-40 "
                            "and does not follow the template; once the cluster is done:\n"
                            "  magnumctl -n demo upgrade cluster prod --template k8s-133 "
                            "--nodegroup gpu\n"),
            std::string::npos)
      << out_.str();
  EXPECT_EQ(out_.str().find("prod-default-worker"), std::string::npos) << out_.str();
}

TEST_F(UpgradeCommand, ANodeGroupOnlyMovesToItsClustersTemplate) {
  script("GET " + kCluster, ok(cluster(5, 2)));
  script("GET " + std::string(kBase) + "/nodegroups/gpu",
         ok(nodeGroup("gpu", 4, R"(,"labels":{"kube_tag":"v1.31.0"})")));
  EXPECT_EQ(run({.cluster_template = "k8s-133", .nodegroup = "gpu"}), 1);
  EXPECT_EQ(err_.str(),
            "error: nodegroup/gpu can only be upgraded to the template of its cluster, k8s-132 "
            "(as in Magnum); move the cluster first: magnumctl -n demo upgrade cluster prod "
            "--template k8s-133\n");
  EXPECT_TRUE(patches().empty());
}

TEST_F(UpgradeCommand, ANodeGroupGetsItsClustersKubeTagAndImage) {
  script("GET " + kCluster, ok(cluster(5, 2)));
  script("GET " + std::string(kBase) + "/nodegroups/gpu",
         ok(nodeGroup(
             "gpu", 4,
             R"(,"image":"gpu-image-1","mergeLabels":true,"labels":{"kube_tag":"v1.31.0"})")));
  script("PATCH " + kCluster, ok(cluster(6, 3, R"(,"rolloutStrategy":{"maxBatchSize":3})")));
  script("PATCH " + std::string(kBase) + "/nodegroups/gpu", ok(nodeGroup("gpu", 7)));
  ASSERT_EQ(run({.cluster_template = "k8s-132", .max_batch_size = 3, .nodegroup = "gpu"}), 0)
      << err_.str();
  auto sent = patches();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].target, kCluster);
  EXPECT_EQ(
      sent[0].body,
      R"({"metadata":{"resourceVersion":"5"},"spec":{"rolloutStrategy":{"maxBatchSize":3}}})");
  EXPECT_EQ(sent[1].body,
            R"({"metadata":{"resourceVersion":"4"},"spec":{"image":"fedora-coreos-38",)"
            R"("labels":{"kube_tag":"v1.32.4"}}})");
  EXPECT_EQ(out_.str().rfind("nodegroup/gpu upgrading to template k8s-132 (kube_tag v1.32.4, "
                             "image fedora-coreos-38), workers at most 3 new at a time "
                             "(maxBatchSize)\n",
                             0),
            0u)
      << out_.str();
}

TEST_F(UpgradeCommand, ADefaultGroupFollowsTheClusterSoItsUpgradeIsTheClusters) {
  // Magnum's --nodegroup default-worker moved the cluster's stack, masters included.
  script("GET " + kCluster, ok(cluster(5, 2)));
  script("PATCH " + kCluster, ok(cluster(6, 3)));
  ASSERT_EQ(run({.cluster_template = "k8s-133", .nodegroup = "default-worker"}), 0) << err_.str();
  ASSERT_EQ(patches().size(), 1u);
  EXPECT_EQ(patches()[0].target, kCluster);
}

TEST_F(UpgradeCommand, OnlyClustersAreUpgraded) {
  EXPECT_EQ(run({.kind = "nodegroups", .cluster_template = "k8s-133"}), 1);
  EXPECT_NE(err_.str().find("only clusters are upgraded"), std::string::npos) << err_.str();
  auto missing = run({.kind = "widgets", .cluster_template = "k8s-133"});
  EXPECT_EQ(missing, 1);
}

TEST_F(UpgradeCommand, AServerRefusalIsPrintedWithItsCauses) {
  script("GET " + kCluster, ok(cluster(5, 2)));
  script("PATCH " + kCluster,
         json(http::status::unprocessable_entity,
              R"({"kind":"Status","status":"Failure","reason":"Invalid","code":422,)"
              R"("message":"Cluster \"prod\" is invalid: spec.clusterTemplate: too old",)"
              R"("details":{"causes":[{"field":"spec.clusterTemplate","message":"too old"}]}})"));
  EXPECT_EQ(run({.cluster_template = "k8s-133"}), 1);
  EXPECT_NE(err_.str().find("Error from server (Invalid)"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("spec.clusterTemplate"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace magnumd::cli
