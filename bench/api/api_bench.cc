// Load generator for magnumd's REST API over loopback. In one run, with one client program:
//  1. magnumd serving the API only (--no-controllers: no observer, no reconcilers) with 100
//     clusters: GET one against ceiling_server answering a body of the same size, then GET one
//     from magnumd; LIST 100, create (durable), update (merge patch); watch fan-out delivery
//     latency and RSS.
//  2. unless --clusters 0: magnumd --dev (controllers on, its embedded cloudsim) once --clusters
//     clusters were created and (within --settle seconds) became CREATE_COMPLETE: GET one, against
//     ceiling_server again with a body of that size.
//
//   api_bench --magnumd build/cmd/magnumd --ceiling build/bench/api/ceiling_server
//             [--duration 5] [--connections 64] [--watchers 1000] [--events 50] [--clusters 1000]
//             [--io-threads 1]
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include "bench/api/bench_http.h"

using namespace bench;
namespace fs = std::filesystem;

namespace {

constexpr const char* kToken = "bench-admin-token-0001";
const std::string kBase = "/apis/container-infra/v1/namespaces/";

http::request<http::string_body> request(http::verb verb, std::string target, std::string body = {},
                                         const char* type = "application/json") {
  return makeRequest(verb, std::move(target), kToken, std::move(body), type);
}

// One watcher: reads the raw chunked stream and records, for every event carrying the writer's
// "bench-sent" annotation, the time since that write was sent.
asio::awaitable<void> watcher(tcp::endpoint endpoint, std::string target, int expected, Stats& stats,
                              int& connected) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(endpoint, use_awaitable);
  auto req = request(http::verb::get, target);
  co_await http::async_write(stream, req, use_awaitable);
  ++connected;
  std::string pending;
  char buf[16384];
  int seen = 0;
  const std::string marker = R"("bench-sent":")";
  stream.expires_after(std::chrono::seconds(60));
  while (seen < expected) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), asio::as_tuple(use_awaitable));
    if (ec) break;
    int64_t received = nowNs();
    pending.append(buf, n);
    size_t pos;
    while ((pos = pending.find(marker)) != std::string::npos) {
      size_t end = pending.find('"', pos + marker.size());
      if (end == std::string::npos) break;
      int64_t sent = std::stoll(pending.substr(pos + marker.size(), end - pos - marker.size()));
      stats.latencies_ms.push_back(static_cast<double>(received - sent) / 1e6);
      ++seen;
      pending.erase(0, end);
    }
    if (pending.size() > 1 << 20) pending.erase(0, pending.size() - 4096);
  }
}

struct Magnumd {
  std::unique_ptr<Process> process;
  tcp::endpoint endpoint;
};

// magnumd on a free loopback port with its data in `dir`; nullopt if it did not become ready.
std::optional<Magnumd> startMagnumd(const std::string& binary, const fs::path& dir,
                                    bool controllers, int watchers, int io_threads) {
  fs::create_directories(dir);
  std::ofstream(dir / "tokens.csv") << kToken << ",bench,*,admin\n";
  // Production magnumd needs an encryption key file (mode 0600): a fixed one is fine here.
  fs::path key = dir / "encryption.key";
  std::ofstream(key) << "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n";
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  uint16_t port = freePort();
  std::vector<std::string> argv = {binary, "--listen", fmt::format("127.0.0.1:{}", port),
                                   "--data-dir", (dir / "data").string(), "--token-file",
                                   (dir / "tokens.csv").string(), "--encryption-key-file",
                                   key.string(), "--log-level", "warn",
                                   // Every watcher uses the one bench token.
                                   "--max-watches-per-user", std::to_string(watchers + 10),
                                   "--io-threads", std::to_string(io_threads),
                                   // The create scenario makes more than the default 10,000.
                                   "--max-objects-per-namespace", "0"};
  if (controllers) {
    // The embedded cloudsim builds servers at once, as bench/controller/scale_run.py's does.
    for (const char* a : {"--dev", "--dev-plain-http", "--dev-server-build-seconds", "0"})
      argv.push_back(a);
  } else {
    argv.push_back("--no-controllers");
  }
  Magnumd m{std::make_unique<Process>(argv, (dir / "magnumd.log").string()),
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)};
  if (!m.process->waitReady(m.endpoint, "/readyz")) return std::nullopt;
  return m;
}

// GET `target` from magnumd, then from ceiling_server answering that same body: two rows of the
// table, the ceiling first.
void compareGet(const std::string& ceiling, const fs::path& dir, const Magnumd& m,
                const std::string& label, int connections, int io_threads,
                std::chrono::seconds secs, const MakeRequest& make) {
  std::string body;
  syncRequest(m.endpoint, make(0, 0), &body);
  const fs::path body_file = dir / "ceiling-body.json";
  std::ofstream(body_file, std::ios::binary) << body;
  uint16_t port = freePort();
  {
    Process server({ceiling, "--listen", fmt::format("127.0.0.1:{}", port), "--body-file",
                    body_file.string(), "--threads", std::to_string(io_threads)});
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    if (!server.waitReady(endpoint, "/")) {
      fmt::print(stderr, "ceiling_server did not start\n");
      std::exit(1);
    }
    measureRow(fmt::format("ceiling_server, fixed {}-byte body", body.size()), server.pid(),
               endpoint, connections, secs, make);
  }
  measureRow(fmt::format("{}: GET one ({} bytes)", label, body.size()), m.process->pid(),
             m.endpoint, connections, secs, make);
}

// Clusters of namespace `ns` whose phase is CREATE_COMPLETE, listed in pages of 500.
int completeClusters(tcp::endpoint endpoint, const std::string& ns) {
  int complete = 0;
  std::string token;
  for (;;) {
    std::string body;
    std::string target =
        kBase + ns + "/clusters?limit=500" + (token.empty() ? "" : "&continue=" + token);
    if (syncRequest(endpoint, request(http::verb::get, target), &body) != 200) return -1;
    for (size_t at = 0; (at = body.find(R"("phase":"CREATE_COMPLETE")", at)) != std::string::npos;
         ++at) {
      ++complete;
    }
    const std::string marker = R"("continue":")";
    auto pos = body.find(marker);
    if (pos == std::string::npos) return complete;
    token =
        body.substr(pos + marker.size(), body.find('"', pos + marker.size()) - pos - marker.size());
  }
}

void withControllers(const std::string& binary, const std::string& ceiling, const fs::path& dir,
                     int clusters, int settle, int connections, int io_threads,
                     std::chrono::seconds secs) {
  auto m = startMagnumd(binary, dir, true, 0, io_threads);
  if (!m) {
    fmt::print(stderr, "magnumd --dev did not become ready; see {}\n",
               (dir / "magnumd.log").string());
    std::exit(1);
  }
  syncRequest(m->endpoint,
              request(http::verb::post, kBase + "scale/clustertemplates", templateBody("scale")));
  constexpr int kCreators = 10;
  auto begun = Clock::now();
  auto created = runClients(
      m->endpoint, kCreators, std::chrono::seconds(600),
      [](int c, int64_t s) {
        return request(http::verb::post, kBase + "scale/clusters",
                       clusterBody("scale", fmt::format("s{:05}", s * kCreators + c)));
      },
      {}, (clusters + kCreators - 1) / kCreators);
  int complete = 0;
  auto settle_by = Clock::now() + std::chrono::seconds(settle);
  while ((complete = completeClusters(m->endpoint, "scale")) < clusters &&
         Clock::now() < settle_by) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  fmt::print(
      "\nmagnumd --dev, controllers on: {} clusters created ({} errors), {} CREATE_COMPLETE "
      "{:.0f} s after the first create; then:\n\n",
      created.latencies_ms.size(), created.errors, complete,
      std::chrono::duration<double>(Clock::now() - begun).count());
  printHeader();
  compareGet(ceiling, dir, *m, fmt::format("magnumd, controllers, {} clusters", clusters),
             connections, io_threads, secs, [clusters](int c, int64_t s) {
               return request(http::verb::get, kBase + fmt::format("scale/clusters/s{:05}",
                                                                   (c * 7919 + s) % clusters));
             });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"magnumd API benchmark"};
  std::string magnumd, ceiling;
  int duration = 5, connections = 64, watchers = 1000, events = 50, clusters = 1000, settle = 300;
  int io_threads = 1;
  app.add_option("--magnumd", magnumd, "path to the magnumd binary")->required();
  app.add_option("--ceiling", ceiling, "path to bench/api/ceiling_server")->required();
  app.add_option("--duration", duration, "seconds per request scenario");
  app.add_option("--connections", connections, "concurrent keep-alive clients (<= 100)");
  app.add_option("--watchers", watchers, "watch streams for the fan-out test");
  app.add_option("--events", events, "writes observed by every watcher");
  app.add_option("--clusters", clusters, "clusters for the controllers-on scenario (0: skip it)");
  app.add_option("--settle", settle, "seconds to wait for those clusters to be CREATE_COMPLETE");
  app.add_option("--io-threads", io_threads,
                 "magnumd's --io-threads and ceiling_server's --threads (see docs/benchmarks.md on "
                 "why 1 is the default with Clang 16)");
  CLI11_PARSE(app, argc, argv);
  connections = std::clamp(connections, 1, 100);

  auto dir = fs::temp_directory_path() / fmt::format("magnumd-bench-{}", getpid());
  auto m = startMagnumd(magnumd, dir / "api-only", false, watchers, io_threads);
  if (!m) {
    fmt::print(stderr, "magnumd did not become ready\n");
    return 1;
  }
  const pid_t pid = m->process->pid();
  const tcp::endpoint endpoint = m->endpoint;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  long idle_rss = rssKiB(pid);

  for (const char* ns : {"bench", "bench-create", "bench-watch"}) {
    syncRequest(endpoint,
                request(http::verb::post, kBase + ns + "/clustertemplates", templateBody(ns)));
  }
  for (int i = 0; i < 100; ++i) {
    syncRequest(endpoint, request(http::verb::post, kBase + "bench/clusters",
                                  clusterBody("bench", fmt::format("c{:03}", i))));
  }
  syncRequest(endpoint, request(http::verb::post, kBase + "bench-watch/clusters",
                                clusterBody("bench-watch", "watched")));

  auto secs = std::chrono::seconds(duration);
  fmt::print(
      "magnumd API benchmark: {} keep-alive connections, {} s per scenario, loopback, one "
      "client thread unless a row says two; magnumd and ceiling_server run {} I/O thread(s)\n\n",
      connections, duration, io_threads);
  fmt::print("magnumd --no-controllers (API only), 100 clusters:\n\n");
  printHeader();
  compareGet(ceiling, dir, *m, "magnumd, API only", connections, io_threads, secs,
             [](int c, int64_t s) {
               return request(http::verb::get,
                              kBase + fmt::format("bench/clusters/c{:03}", (c + s) % 100));
             });
  measureRow("magnumd, API only: LIST 100", pid, endpoint, connections, secs,
             [](int, int64_t) { return request(http::verb::get, kBase + "bench/clusters"); });
  // The same reads through Magnum's v1 API (issue 12 §5: it should keep 80 % of the /apis rate).
  // The token is the token file's, as on /apis: no Keystone in this run.
  auto magnum = [](std::string target) {
    auto req = request(http::verb::get, std::move(target));
    req.set("OpenStack-API-Version", "container-infra latest");
    return req;
  };
  measureRow(
      "magnumd, API only: GET one template, /apis", pid, endpoint, connections, secs,
      [](int, int64_t) { return request(http::verb::get, kBase + "bench/clustertemplates/k8s"); });
  // By uuid, as Magnum's clients name objects (the name k8s is in three namespaces here).
  std::string template_body;
  syncRequest(endpoint, request(http::verb::get, kBase + "bench/clustertemplates/k8s"),
              &template_body);
  auto uid_at = template_body.find(R"("uid":")");
  std::string uid = template_body.substr(uid_at + 7, 36);
  measureRow("magnumd, API only: GET one template, Magnum /v1", pid, endpoint, connections, secs,
             [&](int, int64_t) { return magnum("/v1/clustertemplates/" + uid); });
  measureRow("magnumd, API only: LIST 100 clusters, Magnum /v1", pid, endpoint, connections, secs,
             [&](int, int64_t) { return magnum("/v1/clusters?limit=100"); });
  // Magnum's list view carries each cluster's labels (1.5 times the bytes of /apis), and one
  // client thread reading them is what limits both list rows above; with two client threads the
  // server is the limit.
  measureRow(
      "LIST 100, /apis, 2 client threads", pid, endpoint, connections, secs,
      [](int, int64_t) { return request(http::verb::get, kBase + "bench/clusters"); }, 2);
  measureRow(
      "LIST 100 clusters, Magnum /v1, 2 client threads", pid, endpoint, connections, secs,
      [&](int, int64_t) { return magnum("/v1/clusters?limit=100"); }, 2);
  measureRow("magnumd, API only: create (durable)", pid, endpoint, connections, secs,
             [](int c, int64_t s) {
               return request(http::verb::post, kBase + "bench-create/clusters",
                              clusterBody("bench-create", fmt::format("x{}-{}", c, s)));
             });
  measureRow("magnumd, API only: update (merge patch)", pid, endpoint, connections, secs,
             [](int c, int64_t s) {
               return request(http::verb::patch,
                              kBase + fmt::format("bench/clusters/c{:03}", c % 100),
                              fmt::format(R"({{"metadata":{{"labels":{{"seq":"{}"}}}}}})", s),
                              "application/merge-patch+json");
             });

  // Watch fan-out.
  std::string list_body;
  syncRequest(endpoint, request(http::verb::get, kBase + "bench-watch/clusters"), &list_body);
  auto rv_at = list_body.find(R"("resourceVersion":")");
  std::string rv = list_body.substr(rv_at + 19, list_body.find('"', rv_at + 19) - rv_at - 19);
  asio::io_context watch_io;
  std::vector<Stats> per_watcher(watchers);
  int connected = 0;
  for (int i = 0; i < watchers; ++i) {
    asio::co_spawn(watch_io,
                   watcher(endpoint, kBase + "bench-watch/clusters?watch=true&resourceVersion=" + rv,
                           events, per_watcher[i], connected),
                   asio::detached);
  }
  std::thread watch_thread([&] { watch_io.run(); });
  auto connect_by = Clock::now() + std::chrono::seconds(30);
  while (connected < watchers && Clock::now() < connect_by) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let every stream reach the server
  long watch_rss = rssKiB(pid);
  Stats writes;
  for (int i = 0; i < events; ++i) {
    auto begun = Clock::now();
    int code = syncRequest(
        endpoint,
        request(http::verb::patch, kBase + "bench-watch/clusters/watched",
                fmt::format(R"({{"metadata":{{"annotations":{{"bench-sent":"{}"}}}}}})", nowNs()),
                "application/merge-patch+json"));
    writes.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begun).count());
    if (code != 200) ++writes.errors;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  watch_thread.join();
  Stats delivery;
  for (auto& s : per_watcher) delivery.merge(s);
  size_t expected = static_cast<size_t>(watchers) * static_cast<size_t>(events);
  fmt::print("\nwatch fan-out: {} watchers x {} writes: {} of {} deliveries, latency p50 {:.2f} ms, "
             "p99 {:.2f} ms, max {:.2f} ms (write p50 {:.2f} ms)\n",
             watchers, events, delivery.latencies_ms.size(), expected, delivery.percentile(0.5),
             delivery.percentile(0.99), delivery.percentile(1.0), writes.percentile(0.5));
  fmt::print("RSS: idle {:.1f} MiB, with {} watchers {:.1f} MiB, after load {:.1f} MiB\n", idle_rss / 1024.0,
             watchers, watch_rss / 1024.0, rssKiB(pid) / 1024.0);
  m.reset();  // stops magnumd

  if (clusters > 0) {
    withControllers(magnumd, ceiling, dir / "controllers", clusters, settle, connections,
                    io_threads, secs);
  }
  fs::remove_all(dir);
  return 0;
}
