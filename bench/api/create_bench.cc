// Durable creates through magnumd's REST API against etcd 3.4's, in one run, with one client
// program (bench_http.h): for 1, 16 and 64 concurrent writers, `--duration` seconds of creates
// against magnumd, then against etcd. Each create stores the same Cluster JSON: magnumd gets it as
// the body of a POST (answered 201 once fsynced: WAL, synchronous=FULL); etcd gets it as the value
// of a create-only transaction on its HTTP/JSON gateway (POST /v3/kv/txn: put if the key's
// create_revision is 0; answered once the raft log entry is fsynced). Both keep their data in
// --dir, which must be on the disk under test (not tmpfs). The last two columns are the server's
// CPU time per create and the bench's own (the client shares the machine's cores with the server).
//
//   create_bench --magnumd build/cmd/magnumd --etcd /usr/bin/etcd --dir /var/tmp/cb [--duration 5]
//                [--io-threads 0]
//
// magnumd runs with its own default of one I/O thread per core (--io-threads 0), as etcd runs
// with its defaults; --io-threads 1 gives the rows docs/benchmarks.md recorded before.
#include <CLI/CLI.hpp>
#include <filesystem>

#include "bench/api/targets.h"

using namespace bench;
namespace fs = std::filesystem;

namespace {

const std::string kClusters = "/apis/container-infra/v1/namespaces/bench/clusters";

double measure(const char* server, pid_t pid, tcp::endpoint endpoint, int writers,
               std::chrono::seconds secs, const MakeRequest& make,
               const std::string& must_contain) {
  double cpu0 = cpuSeconds(pid), client0 = cpuSeconds(getpid());
  auto stats = runClients(endpoint, writers, secs, make, must_contain);
  double cpu = cpuSeconds(pid) - cpu0, client = cpuSeconds(getpid()) - client0;
  double n = static_cast<double>(stats.latencies_ms.size());
  double rate = n / static_cast<double>(secs.count());
  auto per = [n](double seconds) { return n > 0 ? seconds / n * 1e6 : 0.0; };
  fmt::print(
      "| {:<8} | {:>7} | {:>8} | {:>8.0f} | {:>7.2f} | {:>7.2f} | {:>6} | {:>13.0f} | {:>13.0f} "
      "|\n",
      server, writers, stats.latencies_ms.size(), rate, stats.percentile(0.5),
      stats.percentile(0.99), stats.errors, per(cpu), per(client));
  std::fflush(stdout);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"durable creates: magnumd against etcd, same client"};
  std::string magnumd, etcd, dir_arg;
  int duration = 5, io_threads = 0;
  app.add_option("--magnumd", magnumd, "path to the magnumd binary")->required();
  app.add_option("--etcd", etcd, "path to etcd 3.4")->required();
  app.add_option("--dir", dir_arg, "data directory on the disk under test (emptied first)")
      ->required();
  app.add_option("--duration", duration, "seconds per server and concurrency level");
  app.add_option("--io-threads", io_threads,
                 "magnumd's --io-threads (0, its default: one per core)");
  CLI11_PARSE(app, argc, argv);

  const fs::path dir = fs::absolute(dir_arg);
  fs::remove_all(dir);
  auto m = startMagnumd(magnumd, dir / "magnumd", {"--io-threads", std::to_string(io_threads)});
  auto e = startEtcd(etcd, dir / "etcd", (dir / "etcd.log").string());
  if (!m || !e) {
    fmt::print(stderr, "magnumd or etcd did not become ready; logs in {}\n", dir.string());
    return 1;
  }
  const tcp::endpoint m_end = m->endpoint, e_end = e->endpoint;
  syncRequest(m_end, makeRequest(http::verb::post,
                                 "/apis/container-infra/v1/namespaces/bench/clustertemplates",
                                 kToken, templateBody("bench")));

  const auto secs = std::chrono::seconds(duration);
  fmt::print(
      "durable creates, {} s per row, loopback, one client thread; magnumd --no-controllers "
      "--io-threads {} (0: one per core), etcd {} (defaults); object: the {}-byte Cluster JSON; "
      "data in {}\n\n",
      duration, io_threads, etcd, clusterBody("bench", "x0-00-0").size(), dir.string());
  fmt::print("| {:<8} | {:>7} | {:>8} | {:>8} | {:>7} | {:>7} | {:>6} | {:>13} | {:>13} |\n",
             "server", "writers", "creates", "per s", "p50 ms", "p99 ms", "errors", "CPU us/create",
             "client us/cr.");
  fmt::print("|{:-<10}|{:->9}|{:->10}|{:->10}|{:->9}|{:->9}|{:->8}|{:->15}|{:->15}|\n", "", "", "",
             "", "", "", "", "", "");
  std::vector<std::pair<int, double>> ratios;
  for (int writers : {1, 16, 64}) {
    double mr =
        measure("magnumd", m->process->pid(), m_end, writers, secs,
                [writers](int c, int64_t s) {
                  return makeRequest(http::verb::post, kClusters, kToken,
                                     clusterBody("bench", fmt::format("x{}-{}-{}", writers, c, s)));
                },
                {});
    double er = measure(
        "etcd", e->process->pid(), e_end, writers, secs,
        [writers](int c, int64_t s) {
          std::string name = fmt::format("x{}-{}-{}", writers, c, s);
          return makeRequest(
              http::verb::post, "/v3/kv/txn", "",
              etcdCreate("/registry/clusters/bench/" + name, clusterBody("bench", name)));
        },
        R"("succeeded":true)");
    ratios.emplace_back(writers, er > 0 ? mr / er : 0);
  }
  fmt::print("\nmagnumd / etcd, creates per second:");
  for (auto [writers, ratio] : ratios) fmt::print(" {:.2f}x with {} writers;", ratio, writers);
  fmt::print("\n");
  return 0;
}
