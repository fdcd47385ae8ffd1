// magnumctl's commands against a scripted in-process API server: the protocol paths a real
// server rarely takes on cue (conflicts, expired watches, streams ending) and what the user sees.
#include "cli/commands.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "net/http_server.h"

namespace magnumd::cli {
namespace {

namespace asio = net::asio;
namespace http = net::http;
using net::ChunkWriter;
using net::Reply;
using net::Request;
using net::Response;

constexpr const char* kClusters = "/apis/container-infra/v1/namespaces/default/clusters";

std::string cluster(const std::string& name, int rv, int nodes,
                    const std::string& extra_status = "") {
  return fmt::format(
      R"({{"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{{"name":"{}",)"
      R"("namespace":"default","resourceVersion":"{}"}},"spec":{{"masterCount":1,)"
      R"("nodeCount":{}}},"status":{{{}}}}})",
      name, rv, nodes, extra_status);
}

// Each test scripts replies by "METHOD target-prefix"; every request is recorded.
struct Script {
  std::mutex mutex;
  std::vector<std::string> requests;
  std::map<std::string, std::vector<Reply>> replies;  // consumed front to back

  void add(const std::string& key, Reply reply) { replies[key].push_back(std::move(reply)); }
  Reply next(const std::string& method, const std::string& target) {
    std::lock_guard lock(mutex);
    requests.push_back(method + " " + target);
    for (auto& [key, queue] : replies) {
      auto space = key.find(' ');
      if (key.substr(0, space) != method || target.rfind(key.substr(space + 1), 0) != 0) continue;
      if (queue.empty()) break;
      Reply r = std::move(queue.front());
      queue.erase(queue.begin());
      return r;
    }
    Response missing{http::status::internal_server_error, 11};
    missing.body() = "unscripted request " + method + " " + target;
    return missing;
  }
};

Response json(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

Response statusError(http::status status, const std::string& reason, const std::string& message) {
  return json(
      status,
      fmt::format(
          R"({{"kind":"Status","status":"Failure","reason":"{}","message":"{}","code":{}}})",
          reason, message, static_cast<int>(status)));
}

asio::awaitable<void> writeLines(ChunkWriter& w, std::vector<std::string> lines) {
  for (auto& line : lines) {
    if (!co_await w.write(line + "\n")) co_return;
  }
}

Reply stream(std::vector<std::string> lines) {
  net::StreamingResponse s;
  s.head = Response{http::status::ok, 11};
  s.produce = [lines](ChunkWriter& w) { return writeLines(w, lines); };
  return s;
}

std::string event(const std::string& type, const std::string& object) {
  return fmt::format(R"({{"type":"{}","object":{}}})", type, object);
}

asio::awaitable<Reply> handle(Request req, Script* script) {
  co_return script->next(std::string(req.method_string()), std::string(req.target()));
}

class Commands : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<net::HttpServer>(
        io_, net::ServerOptions{},
        [this](Request r, net::PeerInfo) { return handle(std::move(r), &script_); });
    ASSERT_TRUE(server_->start().ok());
    thread_ = std::thread([this] { io_.run(); });
    ApiClientOptions options;
    options.server = "http://127.0.0.1:" + std::to_string(server_->port());
    options.token = "tok";
    api_ = std::move(ApiClient::create(options).value());
  }
  void TearDown() override {
    server_->stop();
    io_.stop();
    thread_.join();
  }
  Context context() { return Context{*api_, out_, err_, in_, "default", false, clock_}; }
  std::vector<std::string> requests() {
    std::lock_guard lock(script_.mutex);
    return script_.requests;
  }

  Script script_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::unique_ptr<ApiClient> api_;
  std::ostringstream out_, err_;
  std::istringstream in_;
  util::RealClock clock_;
};

TEST_F(Commands, GetWatchResumesAfterStreamEndAndRelistsAfterExpiry) {
  std::string list1 = fmt::format(R"({{"metadata":{{"resourceVersion":"10"}},"items":[{}]}})",
                                  cluster("prod", 5, 2));
  std::string list2 = fmt::format(R"({{"metadata":{{"resourceVersion":"15"}},"items":[{},{}]}})",
                                  cluster("prod", 12, 4), cluster("stage", 11, 1));
  script_.add(fmt::format("GET {}?limit", kClusters), json(http::status::ok, list1));
  script_.add(fmt::format("GET {}?limit", kClusters), json(http::status::ok, list2));
  script_.add(fmt::format("GET {}?watch=true&resourceVersion=10", kClusters),
              stream({event("MODIFIED", cluster("prod", 11, 3))}));
  script_.add(
      fmt::format("GET {}?watch=true&resourceVersion=11", kClusters),
      stream({event("ERROR",
                    R"({"kind":"Status","reason":"Expired","message":"too old","code":410})")}));
  script_.add(fmt::format("GET {}?watch=true&resourceVersion=15", kClusters),
              statusError(http::status::unauthorized, "Unauthorized", "token expired"));
  auto ctx = context();
  GetOptions options;
  options.kind = "cl";
  options.watch = true;
  EXPECT_EQ(runGet(ctx, options), 1);  // ends only on the scripted 401
  std::vector<std::string> lines;
  std::istringstream out(out_.str());
  for (std::string line; std::getline(out, line);)
    lines.push_back(line.substr(0, line.find("   ")) + "|" + line);
  ASSERT_EQ(lines.size(), 5u) << out_.str();
  EXPECT_EQ(lines[0].substr(0, 5), "NAME|");
  EXPECT_NE(lines[1].find("prod"), std::string::npos);
  EXPECT_NE(lines[2].find("   3   "), std::string::npos) << lines[2];  // the MODIFIED event
  EXPECT_NE(lines[3].find("   4   "), std::string::npos) << lines[3];  // relisted, changed
  EXPECT_EQ(lines[4].substr(0, 6), "stage|");                          // relisted, new
  EXPECT_NE(err_.str().find("Error from server (Unauthorized): token expired"), std::string::npos);
}

// As kubectl: -o yaml and -o json leave metadata.managedFields out unless asked for.
TEST_F(Commands, GetOutputLeavesOutManagedFieldsUnlessAsked) {
  std::string object = cluster("prod", 5, 2);
  object.replace(object.find(R"("resourceVersion")"), 0,
                 R"("managedFields":[{"manager":"kubectl","operation":"Apply",)"
                 R"("fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:nodeCount":{}}}}],)");
  for (int i = 0; i < 3; ++i) {
    script_.add(fmt::format("GET {}/prod", kClusters), json(http::status::ok, object));
  }
  script_.add(fmt::format("GET {}?limit", kClusters),
              json(http::status::ok, fmt::format(R"({{"metadata":{{}},"items":[{}]}})", object)));
  auto ctx = context();
  GetOptions options;
  options.kind = "cluster";
  options.names = {"prod"};
  options.output = "yaml";
  ASSERT_EQ(runGet(ctx, options), 0) << err_.str();
  EXPECT_EQ(out_.str().find("managedFields"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("nodeCount: 2"), std::string::npos) << out_.str();
  options.output = "json";
  ASSERT_EQ(runGet(ctx, options), 0);
  EXPECT_EQ(out_.str().find("managedFields"), std::string::npos) << out_.str();
  options.names.clear();
  ASSERT_EQ(runGet(ctx, options), 0);  // a List
  EXPECT_EQ(out_.str().find("managedFields"), std::string::npos) << out_.str();
  options.names = {"prod"};
  options.show_managed_fields = true;
  ASSERT_EQ(runGet(ctx, options), 0);
  EXPECT_NE(out_.str().find("\"f:nodeCount\""), std::string::npos) << out_.str();
}

TEST_F(Commands, ApplyRetriesAStalePatch) {
  std::string live = cluster("prod", 5, 2);
  script_.add(fmt::format("GET {}/prod", kClusters), json(http::status::ok, live));
  script_.add(fmt::format("GET {}/prod", kClusters), json(http::status::ok, cluster("prod", 6, 2)));
  script_.add(fmt::format("PATCH {}/prod", kClusters),
              statusError(http::status::conflict, "Conflict", "the object has been modified"));
  script_.add(fmt::format("PATCH {}/prod", kClusters),
              json(http::status::ok, cluster("prod", 7, 3)));
  in_.str(
      "apiVersion: container-infra/v1\nkind: Cluster\nmetadata: {name: prod}\n"
      "spec: {masterCount: 1, nodeCount: 3}\n");
  auto ctx = context();
  EXPECT_EQ(runApply(ctx, {{"-"}}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "cluster/prod configured\n");
  auto reqs = requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[3].substr(0, 5), "PATCH");
}

TEST_F(Commands, ApplyReportsEachFailedDocumentAndExitsNonZero) {
  script_.add(fmt::format("GET {}/a", kClusters),
              statusError(http::status::not_found, "NotFound", "not found"));
  script_.add(
      fmt::format("POST {}", kClusters),
      json(http::status::unprocessable_entity,
           R"({"kind":"Status","reason":"Invalid","message":"Cluster \"a\" is invalid","code":422,
                       "details":{"causes":[{"field":"spec.masterCount","message":"2: must be odd"}]}})"));
  script_.add(fmt::format("GET {}/b", kClusters),
              statusError(http::status::not_found, "NotFound", "not found"));
  script_.add(fmt::format("POST {}", kClusters), json(http::status::created, cluster("b", 3, 1)));
  in_.str(
      "kind: Cluster\nmetadata: {name: a}\nspec: {masterCount: 2}\n---\n"
      "kind: Cluster\nmetadata: {name: b}\nspec: {masterCount: 1}\n---\n"
      "kind: Pod\nmetadata: {name: c}\n");
  auto ctx = context();
  EXPECT_EQ(runApply(ctx, {{"-"}}), 1);
  EXPECT_EQ(out_.str(), "cluster/b created\n");
  EXPECT_NE(err_.str().find("Error from server (Invalid): applying cluster/a from <stdin> #1: "
                            "Cluster \"a\" is invalid\n  * spec.masterCount: 2: must be odd"),
            std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("<stdin> #3: unknown kind \"Pod\""), std::string::npos) << err_.str();
}

TEST_F(Commands, WaitSeesTheConditionArriveOnTheWatch) {
  script_.add(fmt::format("GET {}?limit=1", kClusters),
              json(http::status::ok, R"({"metadata":{"resourceVersion":"20"},"items":[]})"));
  script_.add(fmt::format("GET {}/prod", kClusters),
              json(http::status::ok, cluster("prod", 18, 2)));
  std::string ready = R"("conditions":[{"type":"Ready","status":"True"}])";
  script_.add(fmt::format("GET {}?watch=true&resourceVersion=20", kClusters),
              stream({event("MODIFIED", cluster("other", 21, 1, ready)),  // another object
                      event("MODIFIED", cluster("prod", 22, 2)),
                      event("MODIFIED", cluster("prod", 23, 2, ready))}));
  auto ctx = context();
  WaitOptions options{"cluster", {"prod"}, "condition=Ready", "10s"};
  EXPECT_EQ(runWait(ctx, options), 0) << err_.str();
  EXPECT_EQ(out_.str(), "cluster/prod condition met\n");
}

TEST_F(Commands, VersionShowsWhichReplicaAnsweredAndWhichLeads) {
  script_.add("GET /version", json(http::status::ok, R"({"version":"0.1.0","replica":"b:9511",)"
                                                     R"("role":"follower","leader":"a:9511"})"));
  auto ctx = context();
  EXPECT_EQ(runVersion(ctx, false), 0) << err_.str();
  const std::string expected =
      "Server Version: 0.1.0\nServer Replica: b:9511 (follower)\nLeader: a:9511\n";
  EXPECT_TRUE(out_.str().ends_with(expected)) << out_.str();
}

TEST_F(Commands, WaitForAConditionFailsWhenTheObjectIsDeleted) {
  script_.add(fmt::format("GET {}?limit=1", kClusters),
              json(http::status::ok, R"({"metadata":{"resourceVersion":"20"},"items":[]})"));
  script_.add(fmt::format("GET {}/prod", kClusters),
              json(http::status::ok, cluster("prod", 18, 2)));
  script_.add(fmt::format("GET {}?watch=true&resourceVersion=20", kClusters),
              stream({event("DELETED", cluster("prod", 21, 2))}));
  auto ctx = context();
  WaitOptions options{"cluster", {"prod"}, "condition=Ready", "10s"};
  EXPECT_EQ(runWait(ctx, options), 1);
  EXPECT_NE(err_.str().find("cluster/prod was deleted while waiting for Ready"), std::string::npos)
      << err_.str();
}

TEST_F(Commands, DescribeCopesWithoutEvents) {
  script_.add(fmt::format("GET {}/prod", kClusters),
              json(http::status::ok, cluster("prod", 18, 2)));
  script_.add("GET /apis/container-infra/v1/namespaces/default/events",
              statusError(http::status::forbidden, "Forbidden", "cannot list events"));
  auto ctx = context();
  EXPECT_EQ(runDescribe(ctx, {"cl", {"prod"}, ""}), 0) << err_.str();
  EXPECT_NE(out_.str().find("Name:               prod"), std::string::npos);
  EXPECT_NE(out_.str().find("Events:             <unavailable: cannot list events>"),
            std::string::npos)
      << out_.str();
}

}  // namespace
}  // namespace magnumd::cli
