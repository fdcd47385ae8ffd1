#include "drivers/http/http_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <thread>

#include "drivers/http/blocking_client.h"
#include "net/http_server.h"
#include "tests/drivers/fake_openstack.h"
#include "tests/drivers/run_task.h"
#include "tests/support/tls_cert.h"

namespace magnumd::drivers::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::FakeOpenStack;
using testing::FakeReply;
using testing::Recorded;
using testing::runTask;
using util::ErrorCode;

class HttpClientTest : public ::testing::Test {
 protected:
  HttpClientTest() { cloud.requireTokens = false; }

  std::unique_ptr<HttpClient> client(HttpClientOptions options = {}) {
    options.retry.base_delay = 5ms;
    options.retry.max_delay = 20ms;
    auto c = HttpClient::create(io.get_executor(), std::move(options));
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(c.value());
  }

  util::Result<HttpResponse> send(HttpClient& c, std::string method, std::string path, std::string body = {}) {
    return runTask(io, c.send(HttpRequest{method, cloud.url() + path, {}, body}));
  }

  // A route answering `failures` times with `status` (and headers), then 200.
  void flaky(const std::string& method, const std::string& path, int failures, int status,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto left = std::make_shared<std::atomic<int>>(failures);
    cloud.on(method, path, [left, status, headers](const Recorded&) {
      if (left->fetch_sub(1) > 0) return FakeReply{status, R"({"error": "try later"})", headers};
      return FakeReply{200, R"({"ok": true})"};
    });
  }

  // Sends `request` on the test's io_context and cancels it after `after` (terminal, as
  // CloudCall does once its caller gave up; 0: right after it started).
  struct Ended {
    std::optional<util::Result<HttpResponse>> result;
    std::exception_ptr error;  // a cancelled request ends with an exception
    std::chrono::steady_clock::duration took{};
  };
  Ended sendCancelledAfter(HttpClient& c, HttpRequest request, std::chrono::milliseconds after) {
    Ended out;
    asio::cancellation_signal cancel;
    auto began = std::chrono::steady_clock::now();
    asio::co_spawn(io, testing::storeResult(c.send(std::move(request)), &out.result),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                     out.error = e;
                     out.took = std::chrono::steady_clock::now() - began;
                   }));
    auto emit = [&cancel] { cancel.emit(asio::cancellation_type::terminal); };
    asio::steady_timer timer(io, after);
    if (after.count() == 0) {
      asio::post(io, emit);
    } else {
      timer.async_wait([emit](boost::system::error_code) { emit(); });
    }
    io.restart();
    io.run();
    return out;
  }

  boost::asio::io_context io;
  FakeOpenStack cloud;
};

TEST_F(HttpClientTest, KeepsConnectionsAliveAndReusesThem) {
  cloud.on("GET", "/ping", [](const Recorded& r) {
    return FakeReply{200, R"({"pong": true})", {{"X-Echo-UA", r.headers.count("user-agent") ? r.headers.at("user-agent") : ""}}};
  });
  auto c = client();
  for (int i = 0; i < 3; ++i) {
    auto res = send(*c, "GET", "/ping");
    ASSERT_TRUE(res.ok()) << res.error().message;
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, R"({"pong": true})");
    EXPECT_EQ(*res->header("x-echo-ua"), "magnumd");
    EXPECT_EQ(res->requestId(), "req-GET");
  }
  EXPECT_EQ(c->stats().connections_opened, 1u);
  EXPECT_EQ(c->stats().connections_reused, 2u);
}

TEST_F(HttpClientTest, RetriesIdempotentRequestsOn5xxAnd429) {
  flaky("GET", "/flaky-get", 2, 503);
  flaky("DELETE", "/flaky-delete", 1, 429);
  flaky("PUT", "/flaky-put", 1, 502);
  auto c = client();
  EXPECT_EQ(send(*c, "GET", "/flaky-get")->status, 200);
  EXPECT_EQ(cloud.count("GET", "/flaky-get"), 3);
  EXPECT_EQ(send(*c, "DELETE", "/flaky-delete")->status, 200);
  EXPECT_EQ(cloud.count("DELETE", "/flaky-delete"), 2);
  EXPECT_EQ(send(*c, "PUT", "/flaky-put")->status, 200);
  EXPECT_EQ(c->stats().retries, 4u);
}

TEST_F(HttpClientTest, NeverRetriesPostOrPatch) {
  flaky("POST", "/create", 1, 503);
  flaky("PATCH", "/update", 1, 429, {{"Retry-After", "0"}});
  auto c = client();
  EXPECT_EQ(send(*c, "POST", "/create", "{}")->status, 503);
  EXPECT_EQ(cloud.count("POST", "/create"), 1);
  EXPECT_EQ(send(*c, "PATCH", "/update", "{}")->status, 429);
  EXPECT_EQ(cloud.count("PATCH", "/update"), 1);
  EXPECT_EQ(c->stats().retries, 0u);
}

TEST_F(HttpClientTest, GivesUpAfterMaxAttemptsWithTheLastResponse) {
  flaky("GET", "/down", 100, 503);
  HttpClientOptions o;
  o.retry.max_attempts = 3;
  auto c = client(o);
  auto res = send(*c, "GET", "/down");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(cloud.count("GET", "/down"), 3);
}

TEST_F(HttpClientTest, NotImplementedIsNotRetried) {
  flaky("GET", "/nope", 5, 501);
  auto c = client();
  EXPECT_EQ(send(*c, "GET", "/nope")->status, 501);
  EXPECT_EQ(cloud.count("GET", "/nope"), 1);
}

TEST_F(HttpClientTest, HonoursRetryAfterWithinItsBound) {
  flaky("GET", "/later", 1, 429, {{"Retry-After", "30"}});
  HttpClientOptions o;
  o.retry.max_retry_after = 300ms;  // the server asks for 30 s; we wait at most 300 ms
  auto c = client(o);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(send(*c, "GET", "/later")->status, 200);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 280ms);
  EXPECT_LT(took, 5s);
}

TEST_F(HttpClientTest, ConnectionRefusedIsUnavailableAndRetriedOnlyWhenIdempotent) {
  int port;
  {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor a(tmp, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  HttpClientOptions o;
  o.retry.max_attempts = 3;
  auto c = client(o);
  auto url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto res = runTask(io, c->send(HttpRequest{"GET", url, {}, {}}));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::Unavailable);
  EXPECT_NE(res.error().message.find("connecting to http://127.0.0.1:"), std::string::npos) << res.error().message;
  EXPECT_EQ(c->stats().attempts, 3u);
  res = runTask(io, c->send(HttpRequest{"POST", url, {}, "{}"}));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(c->stats().attempts, 4u);
}

TEST_F(HttpClientTest, RequestTimeout) {
  cloud.on("GET", "/slow", [](const Recorded&) { return FakeReply{200, "{}", {}, 2000ms}; });
  HttpClientOptions o;
  o.request_timeout = 200ms;
  o.retry.max_attempts = 1;
  auto c = client(o);
  auto start = std::chrono::steady_clock::now();
  auto res = send(*c, "GET", "/slow");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::Timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST_F(HttpClientTest, ResponseBodyLimit) {
  cloud.on("GET", "/huge", [](const Recorded&) { return FakeReply{200, std::string(300000, 'x')}; });
  HttpClientOptions o;
  o.max_response_bytes = 100000;
  auto c = client(o);
  auto res = send(*c, "GET", "/huge");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::TooLarge);
  EXPECT_EQ(cloud.count("GET", "/huge"), 1);  // a size problem is not retried
}

TEST_F(HttpClientTest, ARequestMayTightenTheResponseLimit) {
  cloud.on("GET", "/small", [](const Recorded&) { return FakeReply{200, std::string(5000, 'x')}; });
  auto c = client();
  HttpRequest tight{"GET", cloud.url() + "/small", {}, {}};
  tight.max_response_bytes = 4096;
  auto res = runTask(io, c->send(tight));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::TooLarge);
  EXPECT_EQ(failureKind(res.error()), FailureKind::TooLarge);
  EXPECT_NE(res.error().message.find("exceeds 4096 bytes"), std::string::npos)
      << res.error().message;
  EXPECT_TRUE(send(*c, "GET", "/small").ok());  // the client's own limit is untouched
}

TEST_F(HttpClientTest, BoundedPoolQueuesConcurrentRequests) {
  cloud.on("GET", "/wait", [](const Recorded&) { return FakeReply{200, "{}", {}, 100ms}; });
  HttpClientOptions o;
  o.max_connections_per_host = 1;
  auto c = client(o);
  std::vector<std::optional<util::Result<HttpResponse>>> results(4);
  for (auto& slot : results) {
    boost::asio::co_spawn(io, testing::storeResult(c->send(HttpRequest{"GET", cloud.url() + "/wait", {}, {}}), &slot),
                          [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  }
  io.restart();
  io.run();
  for (auto& r : results) {
    ASSERT_TRUE(r.has_value() && r->ok());
    EXPECT_EQ((*r)->status, 200);
  }
  EXPECT_EQ(c->stats().connections_opened, 1u);
}

struct Outcomes {
  std::atomic<int> answered{0}, timed_out{0}, other{0};
};

asio::awaitable<void> sendAndCount(HttpClient* client, std::string url, Outcomes* outcomes) {
  auto res = co_await client->send(HttpRequest{"GET", std::move(url), {}, {}});
  if (res.ok() && res->status == 200) {
    outcomes->answered++;
  } else if (!res.ok() && res.error().code == ErrorCode::Timeout) {
    outcomes->timed_out++;
  } else {
    outcomes->other++;
  }
}

// magnumd runs its io_context on several threads, and its callers are not all on strands (the
// cluster API probes are not). An answer that arrives as its request's deadline passes must not
// race the deadline's timer: Beast's streams need a stream's operations and its timer in one
// strand. Many requests answered around their deadline, sent from coroutines on a four-thread
// io_context: each ends with its answer or a Timeout, and the sanitizer builds see no race.
TEST_F(HttpClientTest, AnswersRacingTheirDeadlinesOnManyThreadsEndCleanly) {
  std::atomic<int> served{0};
  cloud.on("GET", "/edge", [&served](const Recorded&) {
    const auto delay = std::chrono::milliseconds(15 + served++ % 11);  // 15..25 ms
    return FakeReply{200, R"({"ok": true})", {}, delay};
  });
  HttpClientOptions o;
  o.request_timeout = 20ms;
  o.retry.max_attempts = 1;
  o.max_connections_per_host = 16;
  auto c = client(o);
  constexpr int kRequests = 300;
  Outcomes outcomes;
  for (int i = 0; i < kRequests; ++i) {
    asio::co_spawn(io, sendAndCount(c.get(), cloud.url() + "/edge", &outcomes),
                   [](std::exception_ptr e) {
                     if (e) std::rethrow_exception(e);
                   });
  }
  io.restart();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([this] { io.run(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(outcomes.other.load(), 0);
  EXPECT_EQ(outcomes.answered.load() + outcomes.timed_out.load(), kRequests);
}

TEST_F(HttpClientTest, CancellingARequestAbortsItsWaitForTheResponse) {
  cloud.on("GET", "/slow", [](const Recorded&) { return FakeReply{200, "{}", {}, 2000ms}; });
  HttpClientOptions o;
  o.request_timeout = 10s;
  auto c = client(o);
  auto ended = sendCancelledAfter(*c, HttpRequest{"GET", cloud.url() + "/slow", {}, {}}, 100ms);
  EXPECT_FALSE(ended.result.has_value());
  EXPECT_NE(ended.error, nullptr) << "a cancelled request ends with operation_aborted";
  EXPECT_LT(ended.took, 1000ms) << "the cancellation did not abort the read";
  EXPECT_EQ(cloud.count("GET", "/slow"), 1);
}

TEST_F(HttpClientTest, CancellingARequestStopsItsRetries) {
  cloud.on("GET", "/down", [](const Recorded&) { return FakeReply{503, "{}"}; });
  HttpClientOptions o;
  o.retry.max_attempts = 5;
  o.retry.base_delay = 300ms;  // the cancellation lands during the first backoff
  o.retry.max_delay = 300ms;
  o.random = [] { return 0.99; };
  auto created = HttpClient::create(io.get_executor(), o);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto c = std::move(created.value());
  auto ended = sendCancelledAfter(*c, HttpRequest{"GET", cloud.url() + "/down", {}, {}}, 100ms);
  EXPECT_NE(ended.error, nullptr);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(cloud.count("GET", "/down"), 1) << "a retry went out after the cancellation";
  EXPECT_EQ(c->stats().retries, 1u);
}

TEST_F(HttpClientTest, ACancelledRequestGivesBackItsConnectionSlot) {
  cloud.on("GET", "/ping", [](const Recorded&) { return FakeReply{200, "{}"}; });
  HttpClientOptions o;
  o.max_connections_per_host = 1;
  o.request_timeout = 500ms;
  o.retry.max_attempts = 1;
  auto c = client(o);
  // Cancelled while it resolves the host, holding the only slot: it ends at its next step.
  auto ended = sendCancelledAfter(*c, HttpRequest{"GET", cloud.url() + "/ping", {}, {}}, 0ms);
  EXPECT_NE(ended.error, nullptr);
  auto res = send(*c, "GET", "/ping");
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpClientTest, InvalidUrlsAreErrors) {
  auto c = client();
  for (const char* url : {"ftp://x/y", "not a url", "http:///nohost"}) {
    auto res = runTask(io, c->send(HttpRequest{"GET", url, {}, {}}));
    ASSERT_FALSE(res.ok()) << url;
    EXPECT_EQ(res.error().code, ErrorCode::BadRequest) << url;
  }
}

TEST(HttpClientTls, VerifiesCertificatesUnlessToldOtherwise) {
  auto dir = std::filesystem::temp_directory_path() / ("magnumd-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto cert = magnumd::testing::makeSelfSignedCert(dir.string());
  auto tls = net::makeServerTlsContext(cert.cert_file, cert.key_file);
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  FakeOpenStack cloud(*tls);
  cloud.requireTokens = false;
  cloud.on("GET", "/secure", [](const Recorded&) { return FakeReply{200, R"({"tls": true})"}; });
  boost::asio::io_context io;
  auto get = [&](HttpClientOptions o) {
    auto c = HttpClient::create(io.get_executor(), o);
    EXPECT_TRUE(c.ok());
    return runTask(io, (*c)->send(HttpRequest{"GET", cloud.url() + "/secure", {}, {}}));
  };

  HttpClientOptions trusted;
  trusted.tls.ca_file = cert.cert_file;
  trusted.tls.failure_hint = "check the CA bundle: cacert / OS_CACERT";
  auto ok = get(trusted);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->body, R"({"tls": true})");

  HttpClientOptions system_bundle;  // our CA is not in it
  system_bundle.tls.failure_hint = "check the CA bundle: cacert / OS_CACERT";
  auto rejected = get(system_bundle);
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.error().message.find("TLS handshake"), std::string::npos) << rejected.error().message;
  EXPECT_NE(rejected.error().message.find("cacert"), std::string::npos);

  HttpClientOptions insecure;
  insecure.tls.insecure = true;
  EXPECT_TRUE(get(insecure).ok());

  HttpClientOptions missing;
  missing.tls.ca_file = (dir / "absent.pem").string();
  auto bad = HttpClient::create(io.get_executor(), missing);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("absent.pem"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// Streamed responses (watches) against the project's own Beast server, which writes chunked
// bodies the way magnumd's watch endpoint does.
namespace bhttp = boost::beast::http;
using Steady = std::chrono::steady_clock;

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Writes the chunks, then keeps the stream open for `hold`, sending a blank line every 20 ms
// (or nothing at all when `silent`) so that a vanished client is noticed.
asio::awaitable<void> produce(net::ChunkWriter& w, std::vector<std::string> chunks,
                              std::chrono::milliseconds hold, bool silent) {
  for (auto& c : chunks) {
    if (!co_await w.write(c)) co_return;
    co_await pause(5ms);
  }
  auto end = Steady::now() + hold;
  while (Steady::now() < end && !w.stopping()) {
    if (!silent && !co_await w.write("\n")) co_return;
    co_await pause(20ms);
  }
}

net::Response text(bhttp::status status, std::string body) {
  net::Response res{status, 11};
  res.set(bhttp::field::content_type, "text/plain");
  res.body() = std::move(body);
  return res;
}

asio::awaitable<net::Reply> streamRoutes(net::Request req, net::PeerInfo) {
  std::string target(req.target());
  if (target == "/hello") co_return text(bhttp::status::ok, "hello");
  if (target == "/missing") co_return text(bhttp::status::not_found, R"({"kind":"Status"})");
  std::vector<std::string> chunks;
  auto hold = 0ms;
  bool silent = false;
  if (target == "/stream") {
    chunks = {"{\"a\":1}\n{\"b\"", ":2}\n", "{\"c\":3}\r\n", "\n", "tail-without-newline"};
  } else if (target == "/stream-hold") {
    chunks = {"first\n"};
    hold = 10s;
  } else if (target == "/stream-silent") {
    chunks = {"first\n"};
    hold = 10s;
    silent = true;
  } else if (target == "/stream-long-line") {
    chunks = {std::string(5000, 'y')};
  } else {
    co_return text(bhttp::status::not_found, "no route");
  }
  net::StreamingResponse stream;
  stream.head = net::Response{bhttp::status::ok, 11};
  stream.head.set(bhttp::field::content_type, "application/json");
  stream.produce = [chunks, hold, silent](net::ChunkWriter& w) {
    return produce(w, chunks, hold, silent);
  };
  co_return stream;
}

class StreamServer {
 public:
  explicit StreamServer(std::shared_ptr<asio::ssl::context> tls = nullptr) {
    net::ServerOptions options;
    options.tls = std::move(tls);
    server_ = std::make_unique<net::HttpServer>(io_, options, streamRoutes);
    auto started = server_->start();
    EXPECT_TRUE(started.ok()) << started.error().message;
    thread_ = std::thread([this] { io_.run(); });
  }
  ~StreamServer() {
    server_->stop();
    io_.stop();
    thread_.join();
  }
  std::string url(const std::string& scheme = "http", const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(server_->port());
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

class HttpStreamTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpClient> client(HttpClientOptions options = {}) {
    options.retry.max_attempts = 1;
    auto c = HttpClient::create(io.get_executor(), std::move(options));
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(c.value());
  }
  util::Result<HttpResponse> stream(HttpClient& c, const std::string& path,
                                    std::vector<std::string>* lines, StreamOptions options = {},
                                    bool stop_after_first = false) {
    LineHandler on_line = [lines, stop_after_first](std::string_view line) {
      if (lines) lines->emplace_back(line);
      return !stop_after_first;
    };
    return runTask(io, c.stream(HttpRequest{"GET", server.url() + path, {}, {}}, on_line, options));
  }
  util::Result<HttpResponse> send(HttpClient& c, const std::string& path) {
    return runTask(io, c.send(HttpRequest{"GET", server.url() + path, {}, {}}));
  }

  StreamServer server;
  boost::asio::io_context io;
};

TEST_F(HttpStreamTest, DeliversLinesAcrossChunkBoundaries) {
  auto c = client();
  std::vector<std::string> lines;
  auto r = stream(*c, "/stream", &lines);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(*r->header("content-type"), "application/json");
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}",
                                             "tail-without-newline"}));
  // The server closes a connection after a stream; the next request opens another.
  auto next = send(*c, "/hello");
  ASSERT_TRUE(next.ok()) << next.error().message;
}

TEST_F(HttpStreamTest, ErrorResponsesComeBackWhole) {
  auto c = client();
  std::vector<std::string> lines;
  auto r = stream(*c, "/missing", &lines);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, R"({"kind":"Status"})");
  EXPECT_TRUE(lines.empty());
}

TEST_F(HttpStreamTest, EndsWhenTheHandlerSaysSoAndTheClientStaysUsable) {
  auto c = client();
  auto start = Steady::now();
  std::vector<std::string> lines;
  auto r = stream(*c, "/stream-hold", &lines, {}, /*stop_after_first=*/true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(lines, std::vector<std::string>{"first"});
  EXPECT_LT(Steady::now() - start, 2s);
  auto next = send(*c, "/hello");
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->body, "hello");
}

TEST_F(HttpStreamTest, TheDeadlineIsATimeout) {
  auto c = client();
  std::vector<std::string> lines;
  auto start = Steady::now();
  auto r = stream(*c, "/stream-hold", &lines, {Steady::now() + 300ms});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::Timeout);
  EXPECT_NE(r.error().message.find("deadline reached while streaming from"), std::string::npos)
      << r.error().message;
  EXPECT_LT(Steady::now() - start, 2s);
  EXPECT_EQ(lines, std::vector<std::string>{"first"});
}

TEST_F(HttpStreamTest, ASilentServerIsATimeoutAfterTheIdleLimit) {
  auto c = client();
  StreamOptions options;
  options.idle_timeout = 300ms;
  auto start = Steady::now();
  auto r = stream(*c, "/stream-silent", nullptr, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::Timeout);
  EXPECT_EQ(failureKind(r.error()), FailureKind::Timeout);
  EXPECT_LT(Steady::now() - start, 2s);
  // Blank keep-alive lines are silence only to the handler, not to the idle limit.
  auto kept = stream(*c, "/stream-hold", nullptr, {Steady::now() + 800ms, 300ms});
  ASSERT_FALSE(kept.ok());
  EXPECT_NE(kept.error().message.find("deadline reached"), std::string::npos)
      << kept.error().message;
}

TEST_F(HttpStreamTest, RefusesOverlongLines) {
  auto c = client();
  StreamOptions options;
  options.max_line_bytes = 1000;
  auto r = stream(*c, "/stream-long-line", nullptr, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, util::ErrorCode::TooLarge);
}

TEST_F(HttpStreamTest, CancellingAStreamEndsIt) {
  auto c = client();
  asio::cancellation_signal cancel;
  std::exception_ptr ended;
  std::optional<util::Result<HttpResponse>> result;
  LineHandler on_line = [&](std::string_view) {
    asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
    return true;
  };
  auto start = Steady::now();
  asio::co_spawn(
      io,
      testing::storeResult(
          c->stream(HttpRequest{"GET", server.url() + "/stream-hold", {}, {}}, on_line), &result),
      asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) { ended = e; }));
  io.run();
  // Ended by the cancellation, as an exception or as an error, and at once.
  EXPECT_TRUE(ended != nullptr || (result.has_value() && !result->ok()));
  EXPECT_LT(Steady::now() - start, 2s);
}

TEST(BlockingHttpClient, SendsAndStreamsOnAKeptAliveConnection) {
  StreamServer server;
  HttpClientOptions options;
  options.retry.max_attempts = 1;
  auto created = BlockingHttpClient::create(options);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto& c = **created;
  auto hello = c.send(HttpRequest{"GET", server.url() + "/hello", {}, {}});
  ASSERT_TRUE(hello.ok()) << hello.error().message;
  EXPECT_EQ(hello->body, "hello");
  std::vector<std::string> lines;
  auto streamed =
      c.stream(HttpRequest{"GET", server.url() + "/stream", {}, {}}, [&](std::string_view line) {
        lines.emplace_back(line);
        return true;
      });
  ASSERT_TRUE(streamed.ok()) << streamed.error().message;
  EXPECT_EQ(lines.size(), 4u);
  auto again = c.send(HttpRequest{"GET", server.url() + "/hello", {}, {}});
  ASSERT_TRUE(again.ok()) << again.error().message;
  // The stream rode on the first request's connection; the server closes it after a stream.
  EXPECT_EQ(c.stats().connections_reused, 1u);
  EXPECT_EQ(c.stats().connections_opened, 2u);
}

// HTTPS with the trusted CA from a file (magnumctl's --ca-file, clouds.yaml's cacert): requests
// and streams, by IP address or by DNS name; a name the certificate lacks is refused. (Trust
// and identity in memory, and host name checks in detail: http_tls_test.cc.)
class HttpsFileCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("magnumd-https-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    cert_ = magnumd::testing::makeSelfSignedCert(dir_.string(), "IP:127.0.0.1,DNS:localhost");
    auto tls = net::makeServerTlsContext(cert_.cert_file, cert_.key_file);
    ASSERT_TRUE(tls.ok()) << tls.error().message;
    server_ = std::make_unique<StreamServer>(*tls);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<BlockingHttpClient> client(HttpClientOptions options) {
    options.retry.max_attempts = 1;
    options.tls.failure_hint = "give the CA with --ca-file";
    auto c = BlockingHttpClient::create(options);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(c.value());
  }
  std::filesystem::path dir_;
  magnumd::testing::TestCert cert_;
  std::unique_ptr<StreamServer> server_;
};

TEST_F(HttpsFileCaTest, StreamsByIpAddressAndByName) {
  HttpClientOptions options;
  options.tls.ca_file = cert_.cert_file;
  auto c = client(options);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    std::vector<std::string> lines;
    auto r = c->stream(HttpRequest{"GET", server_->url("https", host) + "/stream", {}, {}},
                       [&](std::string_view line) {
                         lines.emplace_back(line);
                         return true;
                       });
    ASSERT_TRUE(r.ok()) << host << ": " << r.error().message;
    EXPECT_EQ(lines.size(), 4u) << host;
  }
}

TEST_F(HttpsFileCaTest, ANameTheCertificateLacksIsRefusedWithoutTheCaHint) {
  auto other_dir = dir_ / "other";
  std::filesystem::create_directories(other_dir);
  auto other = magnumd::testing::makeSelfSignedCert(other_dir.string(), "DNS:other.example");
  auto tls = net::makeServerTlsContext(other.cert_file, other.key_file);
  ASSERT_TRUE(tls.ok());
  StreamServer other_server(*tls);
  HttpClientOptions options;
  options.tls.ca_file = other.cert_file;
  auto c = client(options);
  auto r = c->send(HttpRequest{"GET", other_server.url("https") + "/hello", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(failureKind(r.error()), FailureKind::Tls);
  EXPECT_NE(r.error().message.find("not valid for 127.0.0.1"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().message.find("--ca-file"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace magnumd::drivers::http
