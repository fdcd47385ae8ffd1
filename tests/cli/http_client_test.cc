// The blocking client against the project's own Beast server on 127.0.0.1 (plain and TLS).
#include "net/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "net/http_server.h"
#include "tests/support/tls_cert.h"

namespace magnumd::net {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Writes the chunks, then keeps the stream open for `hold`, sending blank keep-alive lines so a
// vanished client is noticed.
asio::awaitable<void> produce(ChunkWriter& w, std::vector<std::string> chunks,
                              std::chrono::milliseconds hold) {
  for (auto& c : chunks) {
    if (!co_await w.write(c)) co_return;
    co_await pause(5ms);
  }
  auto end = Steady::now() + hold;
  while (Steady::now() < end && !w.stopping()) {
    if (!co_await w.write("\n")) co_return;
    co_await pause(20ms);
  }
}

Response text(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "text/plain");
  res.set("X-Test", "yes");
  res.body() = std::move(body);
  return res;
}

asio::awaitable<Reply> handle(Request req, PeerInfo) {
  std::string target(req.target());
  if (target == "/hello") co_return text(http::status::ok, "hello");
  if (target == "/base/echo") {
    co_return text(http::status::created, std::string(req.method_string()) + " " +
                                              std::string(req[http::field::authorization]) + " " +
                                              req.body());
  }
  if (target == "/slow") {
    co_await pause(2s);
    co_return text(http::status::ok, "late");
  }
  if (target == "/big") co_return text(http::status::ok, std::string(200000, 'x'));
  if (target == "/missing") co_return text(http::status::not_found, R"({"kind":"Status"})");
  std::vector<std::string> chunks;
  auto hold = 0ms;
  if (target == "/stream") {
    chunks = {"{\"a\":1}\n{\"b\"", ":2}\n", "{\"c\":3}\r\n", "tail-without-newline"};
  } else if (target == "/stream-hold") {
    chunks = {"first\n"};
    hold = 10s;
  } else if (target == "/stream-long-line") {
    chunks = {std::string(5000, 'y')};
  } else {
    co_return text(http::status::not_found, "no route");
  }
  StreamingResponse stream;
  stream.head = Response{http::status::ok, 11};
  stream.head.set(http::field::content_type, "application/json");
  stream.produce = [chunks, hold](ChunkWriter& w) { return produce(w, chunks, hold); };
  co_return stream;
}

class TestServer {
 public:
  explicit TestServer(std::shared_ptr<asio::ssl::context> tls = nullptr) {
    ServerOptions options;
    options.tls = std::move(tls);
    server_ = std::make_unique<HttpServer>(
        io_, options, [](Request r, PeerInfo p) { return handle(std::move(r), std::move(p)); });
    auto started = server_->start();
    EXPECT_TRUE(started.ok()) << started.error().message;
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    server_->stop();
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return server_->port(); }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

std::unique_ptr<HttpClient> client(const std::string& url, HttpClientOptions options = {}) {
  options.base_url = url;
  auto c = HttpClient::create(options);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return std::move(c).value();
}

std::string url(const TestServer& s, const std::string& scheme = "http") {
  return scheme + "://127.0.0.1:" + std::to_string(s.port());
}

TEST(ParseUrl, AcceptsHttpAndHttpsWithDefaults) {
  auto u = parseUrl("http://127.0.0.1:9511");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9511);
  EXPECT_EQ(u->path, "");
  auto s = parseUrl("HTTPS://magnum.example.org/api/");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->scheme, "https");
  EXPECT_EQ(s->port, 443);
  EXPECT_EQ(s->path, "/api");
  auto v6 = parseUrl("http://[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
}

TEST(ParseUrl, RejectsWhatItCannotUseAndSaysWhy) {
  for (auto [text, why] :
       std::vector<std::pair<const char*, const char*>>{{"127.0.0.1:9511", "missing the scheme"},
                                                        {"ftp://host", "http or https"},
                                                        {"http://host:0", "port"},
                                                        {"http://host:70000", "port"},
                                                        {"http://user:pw@host", "credentials"},
                                                        {"http://host/?x=1", "query"},
                                                        {"http://", "host"}}) {
    auto u = parseUrl(text);
    ASSERT_FALSE(u.ok()) << text;
    EXPECT_NE(u.error().message.find(why), std::string::npos) << u.error().message;
  }
}

TEST(HttpClient, SendsRequestsOverOneKeptAliveConnection) {
  TestServer server;
  auto c = client(url(server));
  for (int i = 0; i < 3; ++i) {
    auto r = c->send({"GET", "/hello", {}, {}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello");
    EXPECT_EQ(r->header("x-test"), "yes");
  }
  EXPECT_EQ(c->connectionsOpened(), 1u);
}

TEST(HttpClient, SendsMethodHeadersAndBodyUnderTheBasePath) {
  TestServer server;
  auto c = client(url(server) + "/base");
  auto r = c->send({"POST", "/echo", {{"Authorization", "Bearer t0k"}}, "payload"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "POST Bearer t0k payload");
}

TEST(HttpClient, ConnectionRefusedNamesTheServer) {
  uint16_t port;
  {
    TestServer server;
    port = server.port();
  }
  auto c = client("http://127.0.0.1:" + std::to_string(port));
  auto r = c->send({"GET", "/hello", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::Unavailable);
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos);
  EXPECT_NE(r.error().message.find("refused"), std::string::npos) << r.error().message;
}

TEST(HttpClient, ReadTimeoutEndsASlowExchange) {
  TestServer server;
  HttpClientOptions options;
  options.read_timeout = 200ms;
  auto c = client(url(server), options);
  auto start = Steady::now();
  auto r = c->send({"GET", "/slow", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::Timeout);
  EXPECT_LT(Steady::now() - start, 1500ms);
  auto after = c->send({"GET", "/hello", {}, {}});  // a fresh connection afterwards
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->body, "hello");
}

TEST(HttpClient, ResponseOverTheLimitIsRefused) {
  TestServer server;
  HttpClientOptions options;
  options.max_response_bytes = 100000;
  auto c = client(url(server), options);
  auto r = c->send({"GET", "/big", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::TooLarge);
}

TEST(HttpClient, StreamDeliversLinesAcrossChunkBoundaries) {
  TestServer server;
  auto c = client(url(server));
  std::vector<std::string> lines;
  auto r = c->stream({"GET", "/stream", {}, {}}, [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}",
                                             "tail-without-newline"}));
}

TEST(HttpClient, StreamReturnsErrorResponsesWhole) {
  TestServer server;
  auto c = client(url(server));
  int calls = 0;
  auto r = c->stream({"GET", "/missing", {}, {}}, [&](std::string_view) { return ++calls > 0; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, R"({"kind":"Status"})");
  EXPECT_EQ(calls, 0);
}

TEST(HttpClient, StreamEndsWhenTheHandlerSaysSoAndTheClientStaysUsable) {
  TestServer server;
  auto c = client(url(server));
  auto start = Steady::now();
  auto r = c->stream({"GET", "/stream-hold", {}, {}}, [](std::string_view) { return false; });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LT(Steady::now() - start, 2s);
  auto next = c->send({"GET", "/hello", {}, {}});
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->body, "hello");
}

TEST(HttpClient, StopFromAnotherThreadEndsAStream) {
  TestServer server;
  auto c = client(url(server));
  std::promise<void> first_line;
  std::thread stopper([&, f = first_line.get_future()]() mutable {
    f.wait();
    c->stop();
  });
  bool seen = false;
  auto start = Steady::now();
  auto r = c->stream({"GET", "/stream-hold", {}, {}}, [&](std::string_view line) {
    if (!seen && line == "first") {
      seen = true;
      first_line.set_value();
    }
    return true;
  });
  stopper.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(seen);
  EXPECT_LT(Steady::now() - start, 5s);
}

TEST(HttpClient, StreamDeadlineIsATimeout) {
  TestServer server;
  auto c = client(url(server));
  auto r = c->stream(
      {"GET", "/stream-hold", {}, {}}, [](std::string_view) { return true; },
      StreamOptions{Steady::now() + 300ms});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::Timeout);
}

TEST(HttpClient, StreamRefusesOverlongLines) {
  TestServer server;
  HttpClientOptions options;
  options.max_line_bytes = 1000;
  auto c = client(url(server), options);
  auto r = c->stream({"GET", "/stream-long-line", {}, {}}, [](std::string_view) { return true; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::TooLarge);
}

using magnumd::testing::makeSelfSignedCert;
using magnumd::testing::TestCert;

class HttpsClient : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("magnumctl-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    pem_ = makeSelfSignedCert(dir_.string());
    auto tls = makeServerTlsContext(pem_.cert_file, pem_.key_file);
    ASSERT_TRUE(tls.ok()) << tls.error().message;
    server_ = std::make_unique<TestServer>(*tls);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  TestCert pem_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(HttpsClient, VerifiesAgainstTheGivenCaFile) {
  HttpClientOptions options;
  options.ca_file = pem_.cert_file;
  auto c = client(url(*server_, "https"), options);
  auto r = c->send({"GET", "/hello", {}, {}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "hello");
  auto again = c->send({"GET", "/hello", {}, {}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(c->connectionsOpened(), 1u);
}

TEST_F(HttpsClient, VerifiesDnsNamesToo) {
  HttpClientOptions options;
  options.ca_file = pem_.cert_file;
  auto c = client("https://localhost:" + std::to_string(server_->port()), options);
  auto r = c->send({"GET", "/hello", {}, {}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "hello");
}

TEST_F(HttpsClient, RefusesAnUntrustedCertificateAndSaysWhatToDo) {
  auto c = client(url(*server_, "https"));
  auto r = c->send({"GET", "/hello", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("--ca-file"), std::string::npos);
}

TEST_F(HttpsClient, InsecureSkipsVerification) {
  HttpClientOptions options;
  options.insecure_skip_tls_verify = true;
  auto c = client(url(*server_, "https"), options);
  auto r = c->send({"GET", "/hello", {}, {}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<std::string> lines;
  auto s = c->stream({"GET", "/stream", {}, {}}, [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(lines.size(), 4u);
}

TEST_F(HttpsClient, HostNameMustMatchTheCertificate) {
  // A trusted certificate for another name: the chain verifies, the host name does not.
  auto other_dir = dir_ / "other";
  std::filesystem::create_directories(other_dir);
  auto other = makeSelfSignedCert(other_dir.string(), "DNS:other.example");
  auto tls = makeServerTlsContext(other.cert_file, other.key_file);
  ASSERT_TRUE(tls.ok());
  TestServer other_server(*tls);
  HttpClientOptions options;
  options.ca_file = other.cert_file;
  auto c = client(url(other_server, "https"), options);
  auto r = c->send({"GET", "/hello", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not valid for 127.0.0.1"), std::string::npos)
      << r.error().message;
}

TEST(HttpClientCreate, BadCaFileIsAnErrorUpFront) {
  HttpClientOptions options;
  options.base_url = "https://127.0.0.1:1";
  options.ca_file = "/nonexistent/ca.pem";
  auto c = HttpClient::create(options);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::net
