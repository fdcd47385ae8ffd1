// Load generator for magnumd's REST API over loopback. Starts the given magnumd binary on a free
// port with a temporary data directory, then measures with concurrent keep-alive clients:
// GET one, LIST 100, create, update (merge patch) — req/s, p50, p99 — plus watch fan-out
// delivery latency (write acknowledged ... event seen by each of N watchers) and RSS.
//
//   api_bench --magnumd build/cmd/magnumd [--duration 5] [--connections 32] [--watchers 1000]
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using asio::use_awaitable;

namespace {

constexpr const char* kToken = "bench-admin-token-0001";
const std::string kBase = "/apis/container-infra/v1/namespaces/";

struct Stats {
  std::vector<double> latencies_ms;
  size_t errors = 0;
  void merge(const Stats& o) {
    latencies_ms.insert(latencies_ms.end(), o.latencies_ms.begin(), o.latencies_ms.end());
    errors += o.errors;
  }
  double percentile(double p) {
    if (latencies_ms.empty()) return 0;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    size_t i = std::min(latencies_ms.size() - 1, static_cast<size_t>(p * latencies_ms.size()));
    return latencies_ms[i];
  }
};

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::string clusterBody(const std::string& ns, const std::string& name) {
  return fmt::format(
      R"({{"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{{"name":"{}","namespace":"{}","labels":{{"bench":"yes"}}}},"spec":{{"clusterTemplate":"k8s","masterCount":1,"nodeCount":2}}}})",
      name, ns);
}

std::string templateBody(const std::string& ns) {
  return fmt::format(
      R"({{"apiVersion":"container-infra/v1","kind":"ClusterTemplate","metadata":{{"name":"k8s","namespace":"{}"}},"spec":{{"coe":"kubernetes","image":"fedora-coreos-38","keypair":"k","externalNetwork":"public"}}}})",
      ns);
}

http::request<http::string_body> makeRequest(http::verb verb, std::string target, std::string body = {},
                                             const char* type = "application/json") {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, std::string("Bearer ") + kToken);
  if (!body.empty()) {
    req.set(http::field::content_type, type);
    req.body() = std::move(body);
  }
  req.prepare_payload();
  return req;
}

using MakeRequest = std::function<http::request<http::string_body>(int client, int64_t seq)>;

asio::awaitable<void> client(tcp::endpoint endpoint, MakeRequest make, int id, Clock::time_point until,
                             Stats& stats) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(endpoint, use_awaitable);
  beast::flat_buffer buffer;
  for (int64_t seq = 0; Clock::now() < until; ++seq) {
    auto req = make(id, seq);
    auto begun = Clock::now();
    co_await http::async_write(stream, req, use_awaitable);
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, use_awaitable);
    stats.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begun).count());
    if (res.result_int() >= 300) ++stats.errors;
  }
}

Stats runClients(tcp::endpoint endpoint, int connections, std::chrono::seconds duration, MakeRequest make) {
  asio::io_context io;
  std::vector<Stats> stats(connections);
  auto until = Clock::now() + duration;
  for (int i = 0; i < connections; ++i) {
    asio::co_spawn(io, client(endpoint, make, i, until, stats[i]), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
  io.run();
  Stats all;
  for (auto& s : stats) all.merge(s);
  return all;
}

// One watcher: reads the raw chunked stream and records, for every event carrying the writer's
// "bench-sent" annotation, the time since that write was sent.
asio::awaitable<void> watcher(tcp::endpoint endpoint, std::string target, int expected, Stats& stats,
                              int& connected) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(endpoint, use_awaitable);
  auto req = makeRequest(http::verb::get, target);
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

long rssKiB(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

int syncRequest(tcp::endpoint endpoint, http::request<http::string_body> req, std::string* body = nullptr) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  stream.connect(endpoint, ec);
  if (ec) return -1;
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec) return -1;
  if (body) *body = res.body();
  return res.result_int();
}

void printRow(const std::string& name, Stats& s, double seconds) {
  fmt::print("| {:<22} | {:>9} | {:>10.0f} | {:>8.2f} | {:>8.2f} | {:>6} |\n", name, s.latencies_ms.size(),
             static_cast<double>(s.latencies_ms.size()) / seconds, s.percentile(0.5), s.percentile(0.99),
             s.errors);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"magnumd API benchmark"};
  std::string magnumd;
  int duration = 5, connections = 32, watchers = 1000, events = 100;
  app.add_option("--magnumd", magnumd, "path to the magnumd binary")->required();
  app.add_option("--duration", duration, "seconds per request scenario");
  app.add_option("--connections", connections, "concurrent keep-alive clients (<= 100)");
  app.add_option("--watchers", watchers, "watch streams for the fan-out test");
  app.add_option("--events", events, "writes observed by every watcher");
  CLI11_PARSE(app, argc, argv);
  connections = std::clamp(connections, 1, 100);

  auto dir = std::filesystem::temp_directory_path() / fmt::format("magnumd-bench-{}", getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokens.csv") << kToken << ",bench,*,admin\n";
  // Production magnumd needs an encryption key file (mode 0600): a fixed one is fine here.
  std::filesystem::path key = dir / "encryption.key";
  std::ofstream(key) << "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n";
  std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  uint16_t port;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  pid_t pid = fork();
  if (pid == 0) {
    std::string listen = fmt::format("127.0.0.1:{}", port);
    std::string data = (dir / "data").string(), tokens = (dir / "tokens.csv").string();
    std::string key_file = key.string();
    // Every watcher uses the one bench token.
    std::string watches = std::to_string(watchers + 10);
    execl(magnumd.c_str(), magnumd.c_str(), "--listen", listen.c_str(), "--data-dir", data.c_str(),
          "--token-file", tokens.c_str(), "--encryption-key-file", key_file.c_str(),
          "--log-level", "warn", "--max-watches-per-user",
          watches.c_str(), nullptr);
    _exit(127);
  }
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  auto ready_by = Clock::now() + std::chrono::seconds(30);
  while (syncRequest(endpoint, makeRequest(http::verb::get, "/healthz")) != 200) {
    if (Clock::now() > ready_by) {
      fmt::print(stderr, "magnumd did not become ready\n");
      kill(pid, SIGKILL);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  long idle_rss = rssKiB(pid);

  for (const char* ns : {"bench", "bench-create", "bench-watch"}) {
    syncRequest(endpoint, makeRequest(http::verb::post, kBase + ns + "/clustertemplates", templateBody(ns)));
  }
  for (int i = 0; i < 100; ++i) {
    syncRequest(endpoint, makeRequest(http::verb::post, kBase + "bench/clusters",
                                      clusterBody("bench", fmt::format("c{:03}", i))));
  }
  syncRequest(endpoint, makeRequest(http::verb::post, kBase + "bench-watch/clusters",
                                    clusterBody("bench-watch", "watched")));

  auto secs = std::chrono::seconds(duration);
  fmt::print("magnumd API benchmark: {} keep-alive connections, {} s per scenario, loopback\n\n",
             connections, duration);
  fmt::print("| {:<22} | {:>9} | {:>10} | {:>8} | {:>8} | {:>6} |\n", "scenario", "requests", "req/s",
             "p50 ms", "p99 ms", "errors");
  fmt::print("|{:-<24}|{:->11}|{:->12}|{:->10}|{:->10}|{:->8}|\n", "", "", "", "", "", "");
  auto get = runClients(endpoint, connections, secs, [](int c, int64_t s) {
    return makeRequest(http::verb::get, kBase + fmt::format("bench/clusters/c{:03}", (c + s) % 100));
  });
  printRow("GET one", get, duration);
  auto list = runClients(endpoint, connections, secs, [](int, int64_t) {
    return makeRequest(http::verb::get, kBase + "bench/clusters");
  });
  printRow("LIST 100", list, duration);
  auto create = runClients(endpoint, connections, secs, [](int c, int64_t s) {
    return makeRequest(http::verb::post, kBase + "bench-create/clusters",
                       clusterBody("bench-create", fmt::format("x{}-{}", c, s)));
  });
  printRow("create (durable)", create, duration);
  auto update = runClients(endpoint, connections, secs, [](int c, int64_t s) {
    return makeRequest(http::verb::patch, kBase + fmt::format("bench/clusters/c{:03}", c),
                       fmt::format(R"({{"metadata":{{"labels":{{"seq":"{}"}}}}}})", s),
                       "application/merge-patch+json");
  });
  printRow("update (merge patch)", update, duration);

  // Watch fan-out.
  std::string list_body;
  syncRequest(endpoint, makeRequest(http::verb::get, kBase + "bench-watch/clusters"), &list_body);
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
    int code = syncRequest(endpoint, makeRequest(http::verb::patch, kBase + "bench-watch/clusters/watched",
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
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::filesystem::remove_all(dir);
  return 0;
}
