// magnumd on SQLite, magnumd on etcd and etcd's own API, in one run, driven by one client program
// (bench_http.h: keep-alive HTTP/1.1 clients as Beast coroutines on one client thread). One etcd
// 3.4 member serves both magnumd on etcd (under its --etcd-prefix) and the direct requests (keys
// under /direct/); every data directory is in --dir, on the disk under test. Each scenario runs
// against the three targets in turn:
//  - GET one of 100 clusters; LIST those 100, without a limit and with limit=100. etcd stores,
//  under its keys, the exact
//    bytes magnumd on SQLite answers for each cluster, so every target returns the same objects;
//    etcd is asked with POST /v3/kv/range (one key; a prefix, without and with limit 100).
//  - durable create at 1, 16 and 64 writers, as create_bench (etcd: a create-only transaction).
//  - watch delivery: --watchers streams follow one namespace (etcd: one key prefix); one object in
//    it is written --events times, 20 ms apart, and each event's arrival on each stream is
//    compared with the write's acknowledgement (joined by revision), then with its send.
//  - watch capacity: the same streams while --writers clients write for --duration seconds:
//    events delivered per second to all streams, and whether every one arrived.
// Server CPU is given per process: magnumd's, and etcd's (also the work it does for magnumd).
//
//   store_compare_bench --magnumd build-bench/cmd/magnumd --etcd /usr/bin/etcd --dir /var/tmp/scb
//                       [--duration 5] [--connections 64] [--watchers 100] [--events 50]
//                       [--writers 16] [--io-threads 1]
#include <CLI/CLI.hpp>
#include <map>

#include "bench/api/targets.h"
#include "bench/api/watch_streams.h"

using namespace bench;
namespace fs = std::filesystem;

namespace {

const std::string kBase = "/apis/container-infra/v1/namespaces/";

http::request<http::string_body> api(http::verb verb, std::string target, std::string body = {},
                                     const char* type = "application/json") {
  return makeRequest(verb, std::move(target), kToken, std::move(body), type);
}

http::request<http::string_body> gateway(const char* method, std::string body) {
  return makeRequest(http::verb::post, std::string("/v3/") + method, "", std::move(body));
}

std::string watchedName(int i) { return fmt::format("w{:03}", i); }

// One of the three things compared: how each scenario's request reads for it.
struct Target {
  std::string name;
  tcp::endpoint endpoint;
  pid_t magnumd_pid = -1, etcd_pid = -1;  // -1: not part of this target
  bool direct = false;                    // etcd's own API rather than magnumd's

  MakeRequest get() const {
    if (direct)
      return [](int c, int64_t s) {
        return gateway("kv/range", etcdRange(fmt::format("/direct/bench/c{:03}", (c + s) % 100)));
      };
    return [](int c, int64_t s) {
      return api(http::verb::get, kBase + fmt::format("bench/clusters/c{:03}", (c + s) % 100));
    };
  }
  // All 100 clusters; `paged`: with limit=100, which magnumd on etcd reads from etcd (a snapshot
  // at one revision, as every page of a paged list), where without a limit it reads its cache.
  MakeRequest list(bool paged) const {
    if (direct) {
      return [paged](int, int64_t) {
        return gateway("kv/range", etcdRange("/direct/bench/", true, paged ? 100 : 0));
      };
    }
    return [paged](int, int64_t) {
      return api(http::verb::get, kBase + (paged ? "bench/clusters?limit=100" : "bench/clusters"));
    };
  }
  MakeRequest create(int writers) const {
    if (direct)
      return [writers](int c, int64_t s) {
        std::string name = fmt::format("x{}-{}-{}", writers, c, s);
        return gateway("kv/txn",
                       etcdCreate("/direct/create/" + name, clusterBody("bench-create", name)));
      };
    return [writers](int c, int64_t s) {
      return api(http::verb::post, kBase + "bench-create/clusters",
                 clusterBody("bench-create", fmt::format("x{}-{}-{}", writers, c, s)));
    };
  }
  // A write of watched object `i`; `value` is what etcd stores for it (magnumd's GET body).
  http::request<http::string_body> write(int i, int64_t seq, const std::string& value) const {
    if (direct) return gateway("kv/put", etcdPut("/direct/watch/" + watchedName(i), value));
    return api(http::verb::patch, kBase + "bench-watch/clusters/" + watchedName(i),
               fmt::format(R"({{"metadata":{{"labels":{{"seq":"{}"}}}}}})", seq),
               "application/merge-patch+json");
  }
  std::string ackRevision() const { return direct ? R"("revision":")" : R"("resourceVersion":")"; }
  WatchFormat watchFormat() const {
    if (direct) return {R"("mod_revision":")", R"("mod_revision":")"};
    return {R"("type":"MODIFIED")", R"("resourceVersion":")"};
  }
  // A watch of every watched object from now on (magnumd: from its list's resourceVersion).
  http::request<http::string_body> watch() const {
    std::string body;
    if (direct) {
      syncRequest(endpoint, gateway("kv/range", etcdRange("/direct/watch/", true, 1)), &body);
      return gateway("watch",
                     fmt::format(R"({{"create_request":{{"key":"{}","range_end":"{}",)"
                                 R"("start_revision":"{}"}}}})",
                                 base64("/direct/watch/"), base64(prefixEnd("/direct/watch/")),
                                 numberAfter(body, R"("revision":")") + 1));
    }
    syncRequest(endpoint, api(http::verb::get, kBase + "bench-watch/clusters"), &body);
    return api(http::verb::get, kBase + "bench-watch/clusters?watch=true&resourceVersion=" +
                                    std::to_string(numberAfter(body, R"("resourceVersion":")")));
  }
  std::pair<double, double> cpu() const {
    return {magnumd_pid > 0 ? cpuSeconds(magnumd_pid) : 0, etcd_pid > 0 ? cpuSeconds(etcd_pid) : 0};
  }
};

std::string perUnit(const Target& t, bool magnumd, double seconds, double units) {
  if ((magnumd ? t.magnumd_pid : t.etcd_pid) <= 0) return "-";
  return units > 0 ? fmt::format("{:.0f} us", seconds / units * 1e6) : "-";
}

void requestHeader() {
  fmt::print(
      "| {:<20} | {:<17} | {:>7} | {:>8} | {:>8} | {:>7} | {:>7} | {:>6} | {:>12} | {:>12} |\n",
      "scenario", "target", "clients", "requests", "per s", "p50 ms", "p99 ms", "errors",
      "magnumd CPU", "etcd CPU");
  fmt::print("|{:-<22}|{:-<19}|{:->9}|{:->10}|{:->10}|{:->9}|{:->9}|{:->8}|{:->14}|{:->14}|\n", "",
             "", "", "", "", "", "", "", "", "");
}

void requestRow(const std::string& scenario, const Target& t, int clients,
                std::chrono::seconds duration, const MakeRequest& make,
                const std::string& must_contain = {}) {
  auto [m0, e0] = t.cpu();
  auto stats = runClients(t.endpoint, clients, duration, make, must_contain);
  auto [m1, e1] = t.cpu();
  double n = static_cast<double>(stats.latencies_ms.size());
  fmt::print(
      "| {:<20} | {:<17} | {:>7} | {:>8} | {:>8.0f} | {:>7.2f} | {:>7.2f} | {:>6} | {:>12} | "
      "{:>12} |\n",
      scenario, t.name, clients, stats.latencies_ms.size(),
      n / static_cast<double>(duration.count()), stats.percentile(0.5), stats.percentile(0.99),
      stats.errors, perUnit(t, true, m1 - m0, n), perUnit(t, false, e1 - e0, n));
  std::fflush(stdout);
}

struct Acked {
  int64_t sent_ns, acked_ns;
};

// `events` writes of watched object 0, 20 ms apart, seen by `watchers` streams.
void watchLatency(const Target& t, int watchers, int events, const std::string& value) {
  WatchStreams streams(t.endpoint, t.watch(), t.watchFormat(), watchers);
  if (!streams.waitOpen()) fmt::print(stderr, "{}: not every watch opened\n", t.name);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::map<int64_t, Acked> writes;  // by revision
  Stats write_latency;
  for (int i = 0; i < events; ++i) {
    std::string body;
    int64_t sent = nowNs();
    int code = syncRequest(t.endpoint, t.write(0, i, value), &body);
    int64_t acked = nowNs();
    write_latency.latencies_ms.push_back(static_cast<double>(acked - sent) / 1e6);
    if (code != 200)
      ++write_latency.errors;
    else
      writes[numberAfter(body, t.ackRevision())] = {sent, acked};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int64_t expected = static_cast<int64_t>(writes.size()) * watchers;
  streams.waitDelivered(expected, std::chrono::seconds(30));
  streams.stop();
  Stats from_ack, from_send;
  for (const auto& stream : streams.deliveries()) {
    for (const auto& d : stream) {
      auto w = writes.find(d.revision);
      if (w == writes.end()) continue;
      from_ack.latencies_ms.push_back(static_cast<double>(d.received_ns - w->second.acked_ns) /
                                      1e6);
      from_send.latencies_ms.push_back(static_cast<double>(d.received_ns - w->second.sent_ns) /
                                       1e6);
    }
  }
  fmt::print(
      "| {:<17} | {:>8} | {:>6} | {:>15} | {:>9.2f} | {:>9.2f} | {:>9.2f} | {:>9.2f} | {:>9.2f} "
      "|\n",
      t.name, watchers, writes.size(),
      fmt::format("{} of {}", from_ack.latencies_ms.size(), expected), from_ack.percentile(0.5),
      from_ack.percentile(0.99), from_ack.percentile(1.0), from_send.percentile(0.5),
      write_latency.percentile(0.5));
  std::fflush(stdout);
}

// `writers` clients write their own watched object for `duration` under `watchers` streams.
void watchCapacity(const Target& t, int watchers, int writers, std::chrono::seconds duration,
                   const std::vector<std::string>& values) {
  WatchStreams streams(t.endpoint, t.watch(), t.watchFormat(), watchers);
  if (!streams.waitOpen()) fmt::print(stderr, "{}: not every watch opened\n", t.name);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto [m0, e0] = t.cpu();
  const int64_t begun = nowNs();
  auto stats = runClients(t.endpoint, writers, duration, [&t, &values](int c, int64_t s) {
    return t.write(c + 1, s, values[static_cast<size_t>(c + 1)]);
  });
  const int64_t written = nowNs();
  const int64_t acked = static_cast<int64_t>(stats.latencies_ms.size() - stats.errors);
  const int64_t last = streams.waitDelivered(acked * watchers, std::chrono::seconds(60));
  auto [m1, e1] = t.cpu();
  const double delivered = static_cast<double>(streams.delivered());
  const double span = static_cast<double>(std::max(last, written) - begun) / 1e9;
  fmt::print(
      "| {:<17} | {:>8} | {:>7} | {:>8} | {:>7.0f} | {:>19} | {:>12.0f} | {:>8.2f} | {:>7} | "
      "{:>11} "
      "| {:>11} |\n",
      t.name, watchers, writers, acked,
      static_cast<double>(acked) / static_cast<double>(duration.count()),
      fmt::format("{} of {}", streams.delivered(), acked * watchers), delivered / span,
      static_cast<double>(std::max<int64_t>(last - written, 0)) / 1e9, streams.ended(),
      perUnit(t, true, m1 - m0, delivered), perUnit(t, false, e1 - e0, delivered));
  std::fflush(stdout);
}

// The same namespaces and objects on a magnumd target; etcd's copies are seeded from magnumd on
// SQLite's answers afterwards.
void seedMagnumd(const Target& t, int watched) {
  for (const char* ns : {"bench", "bench-create", "bench-watch"})
    syncRequest(t.endpoint,
                api(http::verb::post, kBase + ns + "/clustertemplates", templateBody(ns)));
  for (int i = 0; i < 100; ++i)
    syncRequest(t.endpoint, api(http::verb::post, kBase + "bench/clusters",
                                clusterBody("bench", fmt::format("c{:03}", i))));
  for (int i = 0; i < watched; ++i)
    syncRequest(t.endpoint, api(http::verb::post, kBase + "bench-watch/clusters",
                                clusterBody("bench-watch", watchedName(i))));
}

std::string getBody(const Target& t, const std::string& path) {
  std::string body;
  if (syncRequest(t.endpoint, api(http::verb::get, kBase + path), &body) != 200) {
    fmt::print(stderr, "GET {} from {} failed: {}\n", path, t.name, body);
    std::exit(1);
  }
  return body;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"magnumd on SQLite, magnumd on etcd and etcd's API: one client, one run"};
  std::string magnumd, etcd, dir_arg;
  int duration = 5, connections = 64, watchers = 100, events = 50, writers = 16, io_threads = 1;
  app.add_option("--magnumd", magnumd, "path to the magnumd binary (built with etcd)")->required();
  app.add_option("--etcd", etcd, "path to etcd 3.4")->required();
  app.add_option("--dir", dir_arg, "data directory on the disk under test (emptied first)")
      ->required();
  app.add_option("--duration", duration, "seconds per row");
  app.add_option("--connections", connections, "concurrent clients for GET and LIST");
  app.add_option("--watchers", watchers, "watch streams per target");
  app.add_option("--events", events, "writes timed through every watch stream");
  app.add_option("--writers", writers, "concurrent writers for the watch capacity rows");
  app.add_option("--io-threads", io_threads, "magnumd's --io-threads (see docs/benchmarks.md)");
  CLI11_PARSE(app, argc, argv);

  const fs::path dir = fs::absolute(dir_arg);
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto e = startEtcd(etcd, dir / "etcd", (dir / "etcd.log").string());
  // Every stream uses the one bench token, and a magnumd may count the previous scenario's
  // closed streams until it next writes to them.
  const std::string watch_limit = std::to_string(4 * watchers + 10);
  const std::vector<std::string> common = {"--max-watches-per-user", watch_limit, "--io-threads",
                                           std::to_string(io_threads)};
  auto ms = startMagnumd(magnumd, dir / "magnumd-sqlite", common);
  auto with_etcd = common;
  if (e) {
    with_etcd.insert(with_etcd.end(), {"--store", "etcd", "--etcd-endpoints", e->url(),
                                       "--etcd-prefix", "/magnumd-bench"});
  }
  auto me = e ? startMagnumd(magnumd, dir / "magnumd-etcd", with_etcd) : std::nullopt;
  if (!e || !ms || !me) {
    fmt::print(stderr, "etcd or a magnumd did not become ready; logs in {}\n", dir.string());
    return 1;
  }
  const pid_t etcd_pid = e->process->pid();
  const std::vector<Target> targets = {
      {"magnumd on SQLite", ms->endpoint, ms->process->pid(), -1, false},
      {"magnumd on etcd", me->endpoint, me->process->pid(), etcd_pid, false},
      {"etcd API", e->endpoint, -1, etcd_pid, true}};

  const int watched = writers + 1;  // object 0 for the latency rows, one per capacity writer
  seedMagnumd(targets[0], watched);
  seedMagnumd(targets[1], watched);
  std::vector<std::string> watched_values;
  for (int i = 0; i < 100; ++i) {
    auto name = fmt::format("c{:03}", i);
    syncRequest(e->endpoint,
                gateway("kv/put", etcdPut("/direct/bench/" + name,
                                          getBody(targets[0], "bench/clusters/" + name))));
  }
  for (int i = 0; i < watched; ++i) {
    watched_values.push_back(getBody(targets[0], "bench-watch/clusters/" + watchedName(i)));
    syncRequest(e->endpoint, gateway("kv/put", etcdPut("/direct/watch/" + watchedName(i),
                                                       watched_values.back())));
  }

  const auto secs = std::chrono::seconds(duration);
  fmt::print(
      "magnumd on SQLite, magnumd on etcd, etcd's API: {} s per row, loopback, one client thread; "
      "magnumd --no-controllers --io-threads {}; etcd {} (one member, defaults); data in {}; a "
      "cluster object is {} bytes as GET returns it\n\n",
      duration, io_threads, etcd, dir.string(), getBody(targets[0], "bench/clusters/c000").size());
  requestHeader();
  for (const auto& t : targets) requestRow("GET one", t, connections, secs, t.get());
  for (const auto& t : targets) requestRow("LIST 100", t, connections, secs, t.list(false));
  for (const auto& t : targets) {
    requestRow("LIST 100, limit=100", t, connections, secs, t.list(true));
  }
  for (int w : {1, 16, 64}) {
    for (const auto& t : targets) {
      requestRow(fmt::format("create, {} writers", w), t, w, secs, t.create(w),
                 t.direct ? R"("succeeded":true)" : "");
    }
  }

  fmt::print(
      "\nwatch delivery: {} streams, {} writes 20 ms apart; latency from the write's "
      "acknowledgement (its send) to the event read on a stream, joined by revision\n\n",
      watchers, events);
  fmt::print("| {:<17} | {:>8} | {:>6} | {:>15} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} |\n",
             "target", "watchers", "writes", "deliveries", "ack p50", "ack p99", "ack max",
             "send p50", "write p50");
  fmt::print("|{:-<19}|{:->10}|{:->8}|{:->17}|{:->11}|{:->11}|{:->11}|{:->11}|{:->11}|\n", "", "",
             "", "", "", "", "", "", "");
  for (const auto& t : targets) watchLatency(t, watchers, events, watched_values[0]);

  fmt::print(
      "\nwatch capacity: {} streams while {} writers write for {} s; events/s counts deliveries "
      "(all streams) until the last arrived; drain: seconds from the last write to the last "
      "delivery; ended: streams the server closed; CPU per delivery\n\n",
      watchers, writers, duration);
  fmt::print(
      "| {:<17} | {:>8} | {:>7} | {:>8} | {:>7} | {:>19} | {:>12} | {:>8} | {:>7} | {:>11} | "
      "{:>11} |\n",
      "target", "watchers", "writers", "writes", "per s", "deliveries", "events/s", "drain s",
      "ended", "magnumd CPU", "etcd CPU");
  fmt::print(
      "|{:-<19}|{:->10}|{:->9}|{:->10}|{:->9}|{:->21}|{:->14}|{:->10}|{:->9}|{:->13}|{:->13}|\n",
      "", "", "", "", "", "", "", "", "", "", "");
  for (const auto& t : targets) watchCapacity(t, watchers, writers, secs, watched_values);
  return 0;
}
