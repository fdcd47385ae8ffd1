// Scale of cloudsim, in process (the request handler, no sockets): fills it with STACKS stacks of
// a ResourceGroup of SERVERS_PER_STACK servers through the Heat API, lets every server become
// ACTIVE, and reports RSS and the time of paginated listings.
//   cloudsim_bench [stacks=10000] [servers_per_stack=10]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "cloudsim/sim.h"
#include "tests/support/fake_clock.h"

namespace {

using namespace magnumd;
using namespace magnumd::cloudsim;
using Steady = std::chrono::steady_clock;

struct ManualClock : magnumd::testing::FakeClock {
  ManualClock() : FakeClock(std::chrono::system_clock::now()) {}
};

long rssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

net::Response call(Sim& sim, net::http::verb verb, const std::string& target, const std::string& token,
                   const std::string& body = "") {
  net::Request req{verb, target, 11};
  req.set(net::http::field::host, "127.0.0.1:8780");
  if (!token.empty()) req.set("X-Auth-Token", token);
  req.body() = body;
  req.prepare_payload();
  return sim.handle(req);
}

double millisSince(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

std::string nextTarget(const util::Json& links) {
  if (!links.IsArray() || links.Empty()) return "";
  std::string href = links[0]["href"].GetString();
  return href.substr(href.find("/", href.find("//") + 2));
}

// Pages through a collection; returns {pages, items}.
std::pair<int, size_t> pageThrough(Sim& sim, std::string target, const std::string& token,
                                   const char* items_key, const char* links_key) {
  int pages = 0;
  size_t items = 0;
  while (!target.empty()) {
    auto res = call(sim, net::http::verb::get, target, token);
    auto doc = util::parseJson(res.body());
    if (!doc.ok() || res.result_int() != 200) {
      std::fprintf(stderr, "GET %s -> %d %s\n", target.c_str(), res.result_int(), res.body().substr(0, 200).c_str());
      std::exit(1);
    }
    pages++;
    items += (*doc)[items_key].Size();
    target = doc->HasMember(links_key) ? nextTarget((*doc)[links_key]) : "";
  }
  return {pages, items};
}

}  // namespace

int main(int argc, char** argv) {
  int stacks = argc > 1 ? std::atoi(argv[1]) : 10000;
  int per_stack = argc > 2 ? std::atoi(argv[2]) : 10;
  ManualClock clock;
  SimConfig config;
  config.seed = 1;
  config.server_build = std::chrono::milliseconds(1000);
  config.max_events_per_stack = 100;
  Sim sim(config, clock);
  sim.advance();
  long rss_start = rssKiB();

  auto login = call(sim, net::http::verb::post, "/identity/v3/auth/tokens", "",
                    R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"demo","domain":{"name":"Default"},"password":"password"}}},"scope":{"project":{"name":"demo","domain":{"id":"default"}}}}})");
  std::string token(login["X-Subject-Token"]);
  auto token_doc = util::parseJson(login.body());
  std::string project = (*token_doc)["token"]["project"]["id"].GetString();
  std::string heat = "/heat-api/v1/" + project;
  std::string tmpl = R"({"heat_template_version":"2018-08-31","parameters":{"count":{"type":"number"}},"resources":{"workers":{"type":"OS::Heat::ResourceGroup","properties":{"count":{"get_param":"count"},"resource_def":{"type":"OS::Nova::Server","properties":{"name":"node-%index%","flavor":"m1.small","image":"fedora-coreos","metadata":{"magnum_cluster":"bench"},"tags":["magnumd"]}}}}},"outputs":{"ids":{"value":{"get_attr":["workers","refs"]}}}})";

  auto start = Steady::now();
  for (int i = 0; i < stacks; ++i) {
    auto res = call(sim, net::http::verb::post, heat + "/stacks", token,
                    fmt::format(R"({{"stack_name":"bench-{}","template":{},"parameters":{{"count":{}}},"tags":"cluster-{}"}})",
                                i, tmpl, per_stack, i));
    if (res.result_int() != 201) {
      std::fprintf(stderr, "create %d -> %d %s\n", i, res.result_int(), res.body().c_str());
      return 1;
    }
  }
  double fill_ms = millisSince(start);
  clock.advance(std::chrono::seconds(2));
  start = Steady::now();
  sim.advance();
  double build_ms = millisSince(start);
  long rss_full = rssKiB();

  auto check = util::parseJson(call(sim, net::http::verb::get, heat + "/stacks?limit=1&status=CREATE_COMPLETE&with_count=true", token).body());
  uint64_t complete = (*check)["count"].GetUint64();

  std::printf("cloudsim scale (in process, request handler without sockets)\n\n");
  std::printf("| measure | value |\n|---|---|\n");
  std::printf("| stacks x servers per stack | %d x %d |\n", stacks, per_stack);
  std::printf("| live servers | %zu |\n", sim.nova().liveCount());
  std::printf("| stacks CREATE_COMPLETE | %llu |\n", static_cast<unsigned long long>(complete));
  std::printf("| fill time (stack creates through the Heat API) | %.0f ms |\n", fill_ms);
  std::printf("| BUILD -> ACTIVE of every server (one advance) | %.0f ms |\n", build_ms);
  std::printf("| RSS before fill | %.1f MiB |\n", rss_start / 1024.0);
  std::printf("| RSS with all stacks and servers | %.1f MiB |\n", rss_full / 1024.0);

  for (int limit : {100, 1000}) {
    start = Steady::now();
    auto [pages, items] = pageThrough(sim, heat + "/stacks?limit=" + std::to_string(limit), token, "stacks", "links");
    std::printf("| list all %zu stacks, limit=%d (%d pages) | %.1f ms |\n", items, limit, pages, millisSince(start));
  }
  start = Steady::now();
  auto one = call(sim, net::http::verb::get, heat + "/stacks", token);
  std::printf("| list all stacks in one response (%.1f MiB) | %.1f ms |\n", one.body().size() / 1048576.0, millisSince(start));
  start = Steady::now();
  auto [pages, items] = pageThrough(sim, "/compute/v2.1/servers/detail?limit=1000", token, "servers", "servers_links");
  std::printf("| servers/detail, all %zu servers, limit=1000 (%d pages) | %.1f ms |\n", items, pages, millisSince(start));
  clock.advance(std::chrono::seconds(10));
  std::string since = util::formatRfc3339(clock.now());
  start = Steady::now();
  auto changed = call(sim, net::http::verb::get, "/compute/v2.1/servers/detail?changes-since=" + since, token);
  std::printf("| servers/detail?changes-since (nothing changed) | %.2f ms |\n", millisSince(start));
  start = Steady::now();
  call(sim, net::http::verb::get, heat + "/stacks/bench-" + std::to_string(stacks / 2), token);
  auto stack_doc = util::parseJson(call(sim, net::http::verb::get, heat + "/stacks?name=bench-" + std::to_string(stacks / 2), token).body());
  std::printf("| stack lookup by name (302 + filtered list) | %.2f ms |\n", millisSince(start));
  std::printf("| RSS at the end | %.1f MiB |\n", rssKiB() / 1024.0);
  (void)changed;
  (void)stack_doc;
  return 0;
}
