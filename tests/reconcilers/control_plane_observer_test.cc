// The per-cluster API observer: change detection, the concurrency bound, magnumd's identity
// (issued once from the cluster CA, reused, renewed), and a real probe over mutual TLS.
#include "reconcilers/control_plane_observer.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <mutex>
#include <set>

#include "tests/support/fake_clock.h"
#include "tests/drivers/run_task.h"
#include "tests/support/tls_server.h"

namespace magnumd::reconcilers {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using drivers::kube::ApiObservation;
using drivers::testing::runTask;
using magnumd::testing::TestPki;

ApiObservation reachable(int ready_nodes) {
  ApiObservation o;
  o.reachable = true;
  o.git_version = "v1.32.4";
  o.ready = true;
  o.nodes_listed = true;
  for (int i = 0; i < ready_nodes; ++i) o.nodes.push_back({"node-" + std::to_string(i), "True"});
  return o;
}

// Answers per URL; counts calls and concurrency; optionally slow.
class ScriptedProber final : public drivers::kube::ApiProber {
 public:
  asio::awaitable<ApiObservation> observe(std::string url,
                                          drivers::http::TlsContextPtr tls) override {
    {
      std::lock_guard lock(mutex);
      calls.push_back(url);
      contexts.insert(tls);
      peak = std::max(peak, ++in_flight);
    }
    if (delay.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
    std::lock_guard lock(mutex);
    --in_flight;
    auto it = answers.find(url);
    co_return it != answers.end() ? it->second : ApiObservation{};
  }

  std::mutex mutex;
  std::map<std::string, ApiObservation> answers;
  std::vector<std::string> calls;
  // Held, not only their addresses: a context freed and another allocated at the same address
  // would count once.
  std::set<drivers::http::TlsContextPtr> contexts;
  int in_flight = 0, peak = 0;
  std::chrono::milliseconds delay{0};
};

class ControlPlaneObserverTest : public ::testing::Test {
 protected:
  ControlPlaneObserverTest() : pki(TestPki::make("kubernetes", clock.now())) {}

  std::unique_ptr<ControlPlaneObserver> observer(ControlPlaneObserverOptions options = {}) {
    return std::make_unique<ControlPlaneObserver>(prober, clock, options,
                                                  [this](const std::string& uid) {
                                                    std::lock_guard lock(mutex);
                                                    changed.push_back(uid);
                                                  });
  }
  ControlPlaneTarget target(const std::string& url) { return {url, "demo/" + url, pki.ca}; }
  std::vector<std::string> takeChanged() {
    std::lock_guard lock(mutex);
    return std::exchange(changed, {});
  }

  magnumd::testing::FakeClock clock;
  TestPki pki;
  ScriptedProber prober;
  asio::io_context io;
  std::mutex mutex;
  std::vector<std::string> changed;
};

TEST_F(ControlPlaneObserverTest, NamesAClusterOnlyWhenWhatItSawChanged) {
  auto o = observer();
  prober.answers["https://a:6443"] = reachable(2);
  prober.answers["https://b:6443"] = reachable(3);
  ASSERT_TRUE(o->track("uid-a", target("https://a:6443")).ok());
  ASSERT_TRUE(o->track("uid-b", target("https://b:6443")).ok());
  EXPECT_FALSE(o->observation("uid-a").has_value());  // not probed yet

  runTask(io, o->probeAll());
  auto first = takeChanged();
  std::sort(first.begin(), first.end());
  EXPECT_EQ(first, (std::vector<std::string>{"uid-a", "uid-b"}));
  ASSERT_TRUE(o->observation("uid-b").has_value());
  EXPECT_EQ(o->observation("uid-b")->nodes.size(), 3u);

  runTask(io, o->probeAll());  // the same answers: nobody is named
  EXPECT_TRUE(takeChanged().empty());

  prober.answers["https://a:6443"].nodes[1].ready = "False";
  runTask(io, o->probeAll());
  EXPECT_EQ(takeChanged(), std::vector<std::string>{"uid-a"});
  EXPECT_EQ(o->observation("uid-a")->nodes[1].ready, "False");

  prober.answers.erase("https://b:6443");  // now unreachable
  // One lost answer is not reported (failure_threshold 2): b still shows what it showed.
  runTask(io, o->probeAll());
  EXPECT_TRUE(takeChanged().empty());
  EXPECT_TRUE(o->observation("uid-b")->reachable);
  EXPECT_EQ(o->stats().debounced, 1u);
  runTask(io, o->probeAll());
  EXPECT_EQ(takeChanged(), std::vector<std::string>{"uid-b"});
  EXPECT_FALSE(o->observation("uid-b")->reachable);
  auto stats = o->stats();
  EXPECT_EQ(stats.tracked, 2u);
  EXPECT_EQ(stats.unreachable, 1u);
  EXPECT_EQ(stats.probes, 10u);
  EXPECT_EQ(stats.changes, 4u);

  o->untrack("uid-b");
  EXPECT_FALSE(o->observation("uid-b").has_value());
  runTask(io, o->probeAll());
  EXPECT_EQ(o->stats().probes, 11u);
}

TEST_F(ControlPlaneObserverTest, NeverMoreProbesInFlightThanTheBound) {
  ControlPlaneObserverOptions options;
  options.max_concurrent = 3;
  auto o = observer(options);
  prober.delay = 30ms;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        o->track("uid-" + std::to_string(i), target("https://c" + std::to_string(i) + ":6443"))
            .ok());
  }
  runTask(io, o->probeAll());
  EXPECT_EQ(prober.calls.size(), 10u);
  EXPECT_EQ(prober.peak, 3);
  EXPECT_EQ(o->stats().peak_in_flight, 3u);
  EXPECT_EQ(o->stats().in_flight, 0u);
  EXPECT_EQ(takeChanged().size(), 10u);
}

TEST_F(ControlPlaneObserverTest, TheIdentityIsIssuedOnceAndReusedUntilItNeedsRenewal) {
  ControlPlaneObserverOptions options;
  options.identity_validity = std::chrono::hours(24);
  auto o = observer(options);
  prober.answers["https://a:6443"] = reachable(1);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(o->track("uid-a", target("https://a:6443")).ok());
    runTask(io, o->probeAll());
  }
  EXPECT_EQ(o->stats().identities_issued, 1u);
  EXPECT_EQ(prober.contexts.size(), 1u);  // one TLS context, so one keep-alive connection
  takeChanged();

  // Two thirds into its life the observer asks for a pass, once; that pass's track() renews it
  // and keeps what was observed.
  clock.advance(std::chrono::hours(17));
  runTask(io, o->probeAll());
  EXPECT_EQ(takeChanged(), std::vector<std::string>{"uid-a"});
  runTask(io, o->probeAll());
  EXPECT_TRUE(takeChanged().empty());
  ASSERT_TRUE(o->track("uid-a", target("https://a:6443")).ok());
  EXPECT_EQ(o->stats().identities_issued, 2u);
  EXPECT_TRUE(o->observation("uid-a").has_value());
  runTask(io, o->probeAll());
  EXPECT_EQ(prober.contexts.size(), 2u);

  // A new CA (a step of a CA rotation): a new identity at once, and the same API is looked at
  // again at once, but what was seen of it stays until then (health does not flap).
  pki = TestPki::make("kubernetes", clock.now());
  ASSERT_TRUE(o->track("uid-a", target("https://a:6443")).ok());
  EXPECT_EQ(o->stats().identities_issued, 3u);
  EXPECT_TRUE(o->observation("uid-a").has_value());
  runTask(io, o->probeAll());
  EXPECT_EQ(prober.contexts.size(), 3u);

  // A new address is another API: nothing observed of it yet.
  ASSERT_TRUE(o->track("uid-a", target("https://b:6443")).ok());
  EXPECT_FALSE(o->observation("uid-a").has_value());
}

TEST_F(ControlPlaneObserverTest, AClusterWhoseCaCannotSignIsNotProbed) {
  auto o = observer();
  ControlPlaneTarget broken{"https://a:6443", "demo/a", {pki.ca.cert_pem, "not a key"}};
  auto tracked = o->track("uid-a", broken);
  ASSERT_FALSE(tracked.ok());
  EXPECT_NE(tracked.error().message.find("cannot issue magnumd's client certificate"),
            std::string::npos)
      << tracked.error().message;
  EXPECT_EQ(tracked.error().message.find("not a key"), std::string::npos);
  runTask(io, o->probeAll());
  EXPECT_TRUE(prober.calls.empty());
}

TEST_F(ControlPlaneObserverTest, AnAnswerForAClusterRetargetedMeanwhileIsDropped) {
  auto o = observer();
  prober.delay = 50ms;
  prober.answers["https://old:6443"] = reachable(1);
  ASSERT_TRUE(o->track("uid-a", target("https://old:6443")).ok());
  asio::co_spawn(io, o->probeAll(), asio::detached);
  io.run_for(10ms);  // the probe of the old address is in flight
  ASSERT_TRUE(o->track("uid-a", target("https://new:6443")).ok());
  io.restart();
  io.run();
  EXPECT_FALSE(o->observation("uid-a").has_value());
  EXPECT_TRUE(takeChanged().empty());
}

TEST_F(ControlPlaneObserverTest, RunProbesEachClusterOncePerIntervalUntilStopped) {
  ControlPlaneObserverOptions options;
  options.interval = 40ms;
  options.jitter = 0;
  options.tick = 5ms;
  util::RealClock real;
  ControlPlaneObserver o(prober, real, options, [](const std::string&) {});
  pki = TestPki::make();
  prober.answers["https://a:6443"] = reachable(1);
  ASSERT_TRUE(o.track("uid-a", target("https://a:6443")).ok());
  asio::co_spawn(io, o.run(), asio::detached);
  io.run_for(190ms);
  o.stop();
  io.run();  // run() returns once drained
  // Probed at once, then every 40 ms: about 5 times in 190 ms, never a flood.
  EXPECT_GE(prober.calls.size(), 2u);
  EXPECT_LE(prober.calls.size(), 6u);
}

// The real thing: the identity the observer issues is accepted by an API server that trusts
// only client certificates from the cluster CA, and it says who magnumd is.
TEST(ControlPlaneObserverTls, ProbesWithAClientCertificateFromTheClusterCa) {
  util::RealClock clock;
  auto pki = TestPki::make();
  magnumd::testing::TlsServerOptions server_options;
  server_options.serving = pki.serving({"127.0.0.1"});
  server_options.client_ca_pem = pki.ca.cert_pem;
  magnumd::testing::TlsTestServer server(
      server_options, [](const net::Request& req, bool client_cert) {
        std::string target(req.target());
        if (!client_cert) return magnumd::testing::TestReply{401, "{}"};
        if (target == "/version")
          return magnumd::testing::TestReply{200, R"({"gitVersion":"v1.31.2"})"};
        if (target == "/readyz") return magnumd::testing::TestReply{200, "ok", "text/plain"};
        return magnumd::testing::TestReply{200, R"({"items":[]})"};
      });
  asio::io_context io;
  drivers::http::HttpClientOptions http_options;
  http_options.retry.max_attempts = 1;
  auto http = std::move(drivers::http::HttpClient::create(io.get_executor(), http_options).value());
  drivers::kube::KubeClient kube(*http);
  std::vector<std::string> changed;
  ControlPlaneObserver o(kube, clock, {}, [&](const std::string& uid) { changed.push_back(uid); });
  ASSERT_TRUE(o.track("uid-a", {server.url(), "demo/a", pki.ca}).ok());
  runTask(io, o.probeAll());
  auto seen = o.observation("uid-a");
  ASSERT_TRUE(seen.has_value());
  EXPECT_TRUE(seen->reachable) << seen->error;
  EXPECT_EQ(seen->git_version, "v1.31.2");
  EXPECT_TRUE(seen->nodes_listed);
  EXPECT_EQ(server.lastClientSubject(), "/O=system:masters/CN=magnumd");
  EXPECT_EQ(changed, std::vector<std::string>{"uid-a"});
}

}  // namespace
}  // namespace magnumd::reconcilers
