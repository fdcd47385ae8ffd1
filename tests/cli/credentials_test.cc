// `magnumctl ca show`, `ca sign` and `config` against a scripted in-process server: what they
// send, what they print, the files they write (and refuse to overwrite).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/executor_work_guard.hpp>
#include <filesystem>
#include <fstream>
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
namespace fs = std::filesystem;

constexpr const char* kCluster = "/apis/container-infra/v1/namespaces/demo/clusters/prod";
constexpr const char* kCaPem = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
constexpr const char* kCertPem =
    "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n";
constexpr const char* kKeyPem = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";
constexpr const char* kKubeconfig = "apiVersion: v1\nkind: Config\n";

struct Seen {
  std::string method, target, accept, content_type, body;
};

// Replies by "METHOD target" (exact); records every request.
struct Server {
  std::mutex mutex;
  std::vector<Seen> seen;
  std::map<std::string, net::Response> replies;

  net::Response answer(const net::Request& req) {
    std::lock_guard lock(mutex);
    std::string method(req.method_string());
    std::string target(req.target());
    seen.push_back({method, target, std::string(req[http::field::accept]),
                    std::string(req[http::field::content_type]), req.body()});
    auto it = replies.find(method + " " + target);
    if (it != replies.end()) return it->second;
    net::Response missing{http::status::internal_server_error, 11};
    missing.body() = "unscripted request " + method + " " + target;
    return missing;
  }
};

asio::awaitable<net::Reply> handle(net::Request req, Server* server) {
  co_return server->answer(req);
}

net::Response reply(http::status status, std::string content_type, std::string body) {
  net::Response res{status, 11};
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

net::Response statusError(http::status status, const std::string& reason,
                          const std::string& message) {
  return reply(status, "application/json",
               fmt::format(R"({{"kind":"Status","status":"Failure","reason":"{}","message":"{}",)"
                           R"("code":{}}})",
                           reason, message, static_cast<int>(status)));
}

std::string bundle(const std::string& coe, const std::string& server) {
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("coe", util::str(coe, a), a);
  doc.AddMember("server", util::str(server, a), a);
  doc.AddMember("certificateAuthority", util::str(kCaPem, a), a);
  doc.AddMember("clientCertificate", util::str(kCertPem, a), a);
  doc.AddMember("clientKey", util::str(kKeyPem, a), a);
  if (coe == "kubernetes") doc.AddMember("kubeconfig", util::str(kKubeconfig, a), a);
  return util::toJson(doc);
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

unsigned modeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class CredentialCommands : public ::testing::Test {
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
    std::string tmpl = (fs::temp_directory_path() / "magnumctl-creds-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    server_->stop();
    io_.stop();
    thread_.join();
    fs::remove_all(dir_);
  }
  Context context() { return Context{*api_, out_, err_, in_, "demo", true, clock_}; }
  void script(const std::string& key, net::Response response) {
    std::lock_guard lock(script_.mutex);
    script_.replies[key] = std::move(response);
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(script_.mutex);
    return script_.seen;
  }
  void clearOutput() {
    out_.str("");
    err_.str("");
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
  fs::path dir_;
};

TEST_F(CredentialCommands, CaShowPrintsThePemAsTheServerSentIt) {
  script(fmt::format("GET {}/ca", kCluster),
         reply(http::status::ok, "application/x-pem-file", kCaPem));
  auto ctx = context();
  EXPECT_EQ(runCaShow(ctx, {"prod"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), kCaPem);
  ASSERT_EQ(seen().size(), 1u);
  EXPECT_EQ(seen()[0].accept, "application/x-pem-file");

  script(fmt::format("GET {}/ca", kCluster),
         statusError(http::status::conflict, "Conflict",
                     "clusters \\\"prod\\\" has no certificate authority yet"));
  clearOutput();
  EXPECT_EQ(runCaShow(ctx, {"prod"}), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "Error from server (Conflict): clusters \"prod\" has no certificate authority yet\n");
}

TEST_F(CredentialCommands, CaSignSendsTheCsrAndPrintsTheCertificate) {
  fs::path csr = dir_ / "client.csr";
  std::ofstream(csr)
      << "-----BEGIN CERTIFICATE REQUEST-----\nUkVR\n-----END CERTIFICATE REQUEST-----\n";
  script(fmt::format("POST {}/certificates", kCluster),
         reply(http::status::created, "application/x-pem-file", kCertPem));
  script(fmt::format("POST {}/certificates?expirationSeconds=86400", kCluster),
         reply(http::status::created, "application/x-pem-file", kCertPem));
  auto ctx = context();
  EXPECT_EQ(runCaSign(ctx, {"prod", csr.string(), ""}), 0) << err_.str();
  EXPECT_EQ(out_.str(), kCertPem);
  EXPECT_EQ(runCaSign(ctx, {"prod", csr.string(), "24h"}), 0) << err_.str();
  auto requests = seen();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].content_type, "application/x-pem-file");
  EXPECT_EQ(requests[0].accept, "application/x-pem-file");
  EXPECT_EQ(requests[0].body, readFile(csr));
  EXPECT_EQ(requests[1].target, fmt::format("{}/certificates?expirationSeconds=86400", kCluster));

  // From stdin, and what a refusal looks like.
  script(fmt::format("POST {}/certificates", kCluster),
         statusError(http::status::forbidden, "Forbidden",
                     "CSR: O=system:masters (unrestricted cluster-admin) is signed only for "
                     "administrators; your role is member"));
  in_.str("-----BEGIN CERTIFICATE REQUEST-----\nc3RkaW4=\n-----END CERTIFICATE REQUEST-----\n");
  clearOutput();
  EXPECT_EQ(runCaSign(ctx, {"prod", "-", ""}), 1);
  EXPECT_EQ(seen().back().body, in_.str());
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "Error from server (Forbidden): CSR: O=system:masters (unrestricted cluster-admin) is "
            "signed only for administrators; your role is member\n");

  clearOutput();
  EXPECT_EQ(runCaSign(ctx, {"prod", (dir_ / "missing.csr").string(), ""}), 1);
  EXPECT_NE(err_.str().find("cannot read the CSR file"), std::string::npos) << err_.str();
  EXPECT_EQ(runCaSign(ctx, {"prod", csr.string(), "soon"}), 1);
  EXPECT_EQ(seen().size(), 3u);  // neither of the last two reached the server
}

TEST_F(CredentialCommands, ConfigWritesAPrivateKubeconfigAndKeepsAnExistingOne) {
  script(
      fmt::format("GET {}/kubeconfig", kCluster),
      reply(http::status::ok, "application/json", bundle("kubernetes", "https://10.0.0.5:6443")));
  fs::path dir = dir_ / "prod";  // not there yet: config creates it
  auto ctx = context();
  ConfigOptions options{"prod", dir.string(), false, "", "/bin/bash"};
  EXPECT_EQ(runConfig(ctx, options), 0) << err_.str();
  EXPECT_EQ(out_.str(), fmt::format("export KUBECONFIG={}/config\n", dir.string()));
  EXPECT_EQ(readFile(dir / "config"), kKubeconfig);
  EXPECT_EQ(modeOf(dir / "config"), 0600u);
  EXPECT_EQ(seen().back().accept, "application/json");

  std::ofstream(dir / "config") << "mine\n";
  clearOutput();
  EXPECT_EQ(runConfig(ctx, options), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), fmt::format("error: file {}/config exists, aborting; pass --force to "
                                    "overwrite it\n",
                                    dir.string()));
  EXPECT_EQ(readFile(dir / "config"), "mine\n");

  options.force = true;
  options.shell = "/bin/tcsh";
  clearOutput();
  EXPECT_EQ(runConfig(ctx, options), 0) << err_.str();
  EXPECT_EQ(out_.str(), fmt::format("setenv KUBECONFIG {}/config\n", dir.string()));
  EXPECT_EQ(readFile(dir / "config"), kKubeconfig);
  EXPECT_EQ(modeOf(dir / "config"), 0600u);
}

TEST_F(CredentialCommands, ConfigForSwarmWritesTheTlsFilesAndDockerEnvironment) {
  script(fmt::format("GET {}/kubeconfig?expirationSeconds=3600", kCluster),
         reply(http::status::ok, "application/json", bundle("swarm", "tcp://172.24.4.5:2376")));
  fs::path dir = dir_ / "myclusterconfig";
  auto ctx = context();
  EXPECT_EQ(runConfig(ctx, {"prod", dir.string(), false, "1h", "/bin/bash"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), fmt::format("export DOCKER_HOST=tcp://172.24.4.5:2376\n"
                                    "export DOCKER_CERT_PATH={}\n"
                                    "export DOCKER_TLS_VERIFY=True\n",
                                    dir.string()));
  EXPECT_EQ(readFile(dir / "ca.pem"), kCaPem);
  EXPECT_EQ(readFile(dir / "cert.pem"), kCertPem);
  EXPECT_EQ(readFile(dir / "key.pem"), kKeyPem);
  EXPECT_EQ(modeOf(dir / "key.pem"), 0600u);
  EXPECT_FALSE(fs::exists(dir / "config"));

  // One existing file and nothing is written.
  fs::remove(dir / "ca.pem");
  fs::remove(dir / "key.pem");
  clearOutput();
  EXPECT_EQ(runConfig(ctx, {"prod", dir.string(), false, "1h", "/bin/bash"}), 1);
  EXPECT_NE(err_.str().find("cert.pem exists, aborting"), std::string::npos) << err_.str();
  EXPECT_FALSE(fs::exists(dir / "ca.pem"));
  EXPECT_FALSE(fs::exists(dir / "key.pem"));
}

TEST_F(CredentialCommands, ConfigOfAClusterWithoutAnApiWritesNothing) {
  script(fmt::format("GET {}/kubeconfig", kCluster),
         statusError(http::status::conflict, "Conflict",
                     "clusters \\\"prod\\\" has no API address yet (phase CREATE_IN_PROGRESS); its "
                     "credentials are issued once its API is up"));
  auto ctx = context();
  EXPECT_EQ(runConfig(ctx, {"prod", dir_.string(), false, "", ""}), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_NE(err_.str().find("has no API address yet (phase CREATE_IN_PROGRESS)"), std::string::npos)
      << err_.str();
  EXPECT_FALSE(fs::exists(dir_ / "config"));
}

}  // namespace
}  // namespace magnumd::cli
