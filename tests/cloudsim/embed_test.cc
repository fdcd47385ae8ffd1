// The embedding API on a real io_context and socket: serving, timer-driven progress (servers turn
// ACTIVE with no request arriving), start errors, stop.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "cloudsim/cloudsim.h"
#include "tests/cloudsim/plain_http.h"
#include "util/json.h"
#include "util/time.h"

namespace magnumd::cloudsim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

using Reply = testing::PlainReply;

Reply send(uint16_t port, http::verb verb, const std::string& target, const std::string& body = "",
           const std::string& token = "") {
  return testing::plainRequest(port, verb, target, body, token);
}

class Running {
 public:
  explicit Running(Options options) {
    auto started = Cloudsim::start(io_, std::move(options));
    if (!started.ok()) {
      error = started.error().message;
      return;
    }
    sim = std::move(*started);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Running() {
    if (sim) sim->stop();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    sim.reset();  // before io_: the simulator's timer belongs to that context
  }
  std::unique_ptr<Cloudsim> sim;
  std::string error;

 private:
  asio::io_context io_;
  std::thread thread_;
};

TEST(CloudsimEmbedTest, ServesAndProgressesOnTimers) {
  Options options;
  options.sim.seed = 5;
  options.sim.server_build = 50ms;
  Running running(options);
  ASSERT_TRUE(running.sim) << running.error;
  uint16_t port = running.sim->port();
  EXPECT_NE(port, 0);
  EXPECT_EQ(running.sim->authUrl(), "http://127.0.0.1:" + std::to_string(port) + "/identity/v3");
  EXPECT_NE(running.sim->cloudsYaml("magnumd-dev").find("auth_url: " + running.sim->authUrl()), std::string::npos);
  EXPECT_EQ(send(port, http::verb::get, "/healthz").status, 200);

  Reply login = send(port, http::verb::post, "/identity/v3/auth/tokens",
                     R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"demo","domain":{"name":"Default"},"password":"password"}}},"scope":{"project":{"name":"demo","domain":{"id":"default"}}}}})");
  ASSERT_EQ(login.status, 201) << login.body;
  auto token_doc = util::parseJson(login.body);
  std::string project = (*token_doc)["token"]["project"]["id"].GetString();
  auto before = std::chrono::system_clock::now();
  Reply created = send(port, http::verb::post, "/heat-api/v1/" + project + "/stacks",
                       R"({"stack_name":"t","template":{"heat_template_version":"2018-08-31","resources":{"s":{"type":"OS::Nova::Server","properties":{"flavor":"m1.tiny"}}}}})",
                       login.token);
  ASSERT_EQ(created.status, 201) << created.body;
  // No request for a while: only the timer can move the server to ACTIVE meanwhile.
  std::this_thread::sleep_for(2s);
  Reply servers = send(port, http::verb::get, "/compute/v2.1/servers/detail", "", login.token);
  auto doc = util::parseJson(servers.body);
  ASSERT_TRUE(doc.ok());
  const auto& server = (*doc)["servers"][0u];
  EXPECT_STREQ(server["status"].GetString(), "ACTIVE");
  auto launched = util::parseRfc3339(std::string(server["OS-SRV-USG:launched_at"].GetString()) + "Z");
  ASSERT_TRUE(launched.has_value());
  EXPECT_LT(*launched - before, 1500ms) << "the server became ACTIVE only when the next request came";
}

TEST(CloudsimEmbedTest, StartErrorsAreValues) {
  Options bad_users;
  bad_users.users_file = "/nonexistent/users.yaml";
  Running missing(bad_users);
  EXPECT_FALSE(missing.sim);
  EXPECT_EQ(missing.error, "--users /nonexistent/users.yaml: cannot open the file");

  std::string path = ::testing::TempDir() + "/cloudsim-users.yaml";
  std::ofstream(path) << "users:\n  - name: ops\n";
  Options incomplete;
  incomplete.users_file = path;
  Running invalid(incomplete);
  EXPECT_FALSE(invalid.sim);
  EXPECT_EQ(invalid.error, "--users " + path + ": users[0].password: required string");

  Running first(Options{});
  ASSERT_TRUE(first.sim) << first.error;
  Options same_port;
  same_port.port = first.sim->port();
  Running second(same_port);
  EXPECT_FALSE(second.sim);
  EXPECT_NE(second.error.find("cannot listen"), std::string::npos) << second.error;
}

}  // namespace
}  // namespace magnumd::cloudsim
