// What api_bench and create_bench share: one load generator (keep-alive HTTP/1.1 clients as Beast
// coroutines, on one client thread unless a row asks for more), the servers they start and stop,
// and the table rows they print. Every server a run compares is driven by this same client code.
#pragma once

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using asio::use_awaitable;

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

inline int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

inline http::request<http::string_body> makeRequest(http::verb verb, std::string target,
                                                    const std::string& token, std::string body = {},
                                                    const char* type = "application/json") {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(http::field::content_type, type);
    req.body() = std::move(body);
  }
  req.prepare_payload();
  return req;
}

// The objects every bench writes: a ClusterTemplate "k8s" and Clusters of it, the same JSON
// whichever server or API a row measures. The key pair is the one cloudsim gives its demo user,
// magnumd --dev's service user: admission refuses a template whose key pair that user lacks.
inline std::string clusterBody(const std::string& ns, const std::string& name) {
  return fmt::format(
      R"({{"apiVersion":"container-infra/v1","kind":"Cluster","metadata":{{"name":"{}","namespace":"{}","labels":{{"bench":"yes"}}}},"spec":{{"clusterTemplate":"k8s","masterCount":1,"nodeCount":2}}}})",
      name, ns);
}

inline std::string templateBody(const std::string& ns) {
  return fmt::format(
      R"({{"apiVersion":"container-infra/v1","kind":"ClusterTemplate","metadata":{{"name":"k8s","namespace":"{}"}},"spec":{{"coe":"kubernetes","image":"fedora-coreos-38","keypair":"demo-key","externalNetwork":"public","masterLbEnabled":false}}}})",
      ns);
}

using MakeRequest = std::function<http::request<http::string_body>(int client, int64_t seq)>;

// A response >= 300 counts as an error; so does a 200 whose body lacks `must_contain` (etcd's
// gateway answers a failed create-only transaction with 200 and "succeeded" absent).
inline asio::awaitable<void> client(tcp::endpoint endpoint, MakeRequest make, int id,
                                    Clock::time_point until, int64_t limit, Stats& stats,
                                    std::string must_contain) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(endpoint, use_awaitable);
  beast::flat_buffer buffer;
  for (int64_t seq = 0; Clock::now() < until && (limit < 0 || seq < limit); ++seq) {
    auto req = make(id, seq);
    auto begun = Clock::now();
    co_await http::async_write(stream, req, use_awaitable);
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, use_awaitable);
    stats.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - begun).count());
    if (res.result_int() >= 300)
      ++stats.errors;
    else if (!must_contain.empty() && res.body().find(must_contain) == std::string::npos)
      ++stats.errors;
  }
}

// `connections` clients for `duration`, or until each has made `per_client` requests, on
// `threads` client threads (one unless a row says otherwise: a large answer can make one client
// thread, not the server, what limits the rate).
inline Stats runClients(tcp::endpoint endpoint, int connections, std::chrono::seconds duration,
                        MakeRequest make, std::string must_contain = {}, int64_t per_client = -1,
                        int threads = 1) {
  // One io_context per thread, each running its share of the clients: a coroutine always
  // resumes on the thread it started on (Clang 16's optimised coroutines crash otherwise, as
  // cmd/daemon.cc notes), and the clients share nothing but `make`, which is copied.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (int t = 0; t < std::max(threads, 1); ++t)
    ios.push_back(std::make_unique<asio::io_context>());
  std::vector<Stats> stats(connections);
  auto until = Clock::now() + duration;
  for (int i = 0; i < connections; ++i) {
    asio::co_spawn(*ios[i % ios.size()],
                   client(endpoint, make, i, until, per_client, stats[i], must_contain),
                   [](std::exception_ptr e) {
                     if (e) std::rethrow_exception(e);
                   });
  }
  std::vector<std::thread> more;
  for (size_t t = 1; t < ios.size(); ++t) more.emplace_back([&io = *ios[t]] { io.run(); });
  ios[0]->run();
  for (auto& t : more) t.join();
  Stats all;
  for (auto& s : stats) all.merge(s);
  return all;
}

inline int syncRequest(tcp::endpoint endpoint, http::request<http::string_body> req,
                       std::string* body = nullptr) {
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

inline uint16_t freePort() {
  asio::io_context io;
  tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return probe.local_endpoint().port();
}

inline long rssKiB(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// user + system CPU seconds of a process so far (all its threads).
inline double cpuSeconds(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A server process the bench started; stopped with SIGTERM (then waited for) when destroyed.
class Process {
 public:
  // Runs argv[0] with `argv`, stdout and stderr to `log` (when not empty).
  Process(const std::vector<std::string>& argv, const std::string& log = {},
          const std::vector<std::string>& env = {}) {
    pid_ = fork();
    if (pid_ != 0) return;
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // a bench that dies (an exception) takes its servers along
    if (!log.empty()) {
      FILE* f = std::fopen(log.c_str(), "w");
      if (f) {
        dup2(fileno(f), 1);
        dup2(fileno(f), 2);
      }
    }
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  ~Process() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  pid_t pid() const { return pid_; }

  // Until GET `target` answers `code`; false after `limit`.
  bool waitReady(tcp::endpoint endpoint, const std::string& target, int code = 200,
                 std::chrono::seconds limit = std::chrono::seconds(30)) const {
    auto by = Clock::now() + limit;
    while (syncRequest(endpoint, makeRequest(http::verb::get, target, "")) != code) {
      if (Clock::now() > by) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

 private:
  pid_t pid_ = -1;
};

inline void printHeader(const char* first = "scenario") {
  fmt::print("| {:<44} | {:>9} | {:>10} | {:>8} | {:>8} | {:>6} | {:>12} |\n", first, "requests",
             "req/s", "p50 ms", "p99 ms", "errors", "server CPU/req");
  fmt::print("|{:-<46}|{:->11}|{:->12}|{:->10}|{:->10}|{:->8}|{:->16}|\n", "", "", "", "", "", "",
             "");
}

// `cpu_seconds`: the server process's CPU time over the scenario, printed per request (it does
// not depend on what else shares the machine, unlike the rate).
inline double printRow(const std::string& name, Stats& s, double seconds, double cpu_seconds) {
  double n = static_cast<double>(s.latencies_ms.size());
  double rate = n / seconds;
  fmt::print("| {:<44} | {:>9} | {:>10.0f} | {:>8.2f} | {:>8.2f} | {:>6} | {:>11.1f} us |\n", name,
             s.latencies_ms.size(), rate, s.percentile(0.5), s.percentile(0.99), s.errors,
             n > 0 ? cpu_seconds / n * 1e6 : 0.0);
  std::fflush(stdout);
  return rate;
}

// runClients against the server process `pid`, printed as one row.
inline Stats measureRow(const std::string& name, pid_t pid, tcp::endpoint endpoint, int connections,
                        std::chrono::seconds duration, MakeRequest make, int client_threads = 1) {
  double cpu0 = cpuSeconds(pid);
  auto stats = runClients(endpoint, connections, duration, std::move(make), {}, -1, client_threads);
  printRow(name, stats, static_cast<double>(duration.count()), cpuSeconds(pid) - cpu0);
  return stats;
}

}  // namespace bench
