// What a Keystone token-validation miss costs magnumd (issue 12 §5). One cloudsim process is the
// cloud and its Keystone; magnumd runs with --keystone-auth against it (--os-cloud, its service
// user demo), and every request is Magnum's GET of one cluster template (/v1) with X-Auth-Token:
//  (a) one token, validated once and then answered from magnumd's token cache;
//  (b) a new token on every request, issued by Keystone beforehand, so each is a cache miss and
//      costs magnumd a GET /v3/auth/tokens (with its own service token) before it answers;
// beside (c) the same GET with a token-file bearer token, which involves no Keystone at all.
// Rows show magnumd's CPU per request; the note under the table shows cloudsim's (Keystone's side
// of each miss), which is not magnumd's cost but is the cloud's.
//
//   keystone_bench --magnumd build/cmd/magnumd --cloudsim build/cloudsim/cloudsim
//                  [--duration 5] [--connections 16] [--miss-tokens 20000]
#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <optional>

#include "bench/api/bench_http.h"

using namespace bench;
namespace fs = std::filesystem;

namespace {

constexpr const char* kFileToken = "bench-admin-token-0001";

struct Server {
  std::unique_ptr<Process> process;
  tcp::endpoint endpoint;
};

tcp::endpoint loopback(uint16_t port) {
  return tcp::endpoint(asio::ip::make_address("127.0.0.1"), port);
}

std::optional<Server> startCloudsim(const std::string& binary, const fs::path& dir) {
  uint16_t port = freePort();
  Server s{std::make_unique<Process>(
               std::vector<std::string>{binary, "--listen", fmt::format("127.0.0.1:{}", port),
                                        "--seed", "7", "--log-level", "warn"},
               (dir / "cloudsim.log").string()),
           loopback(port)};
  if (!s.process->waitReady(s.endpoint, "/identity/v3")) return std::nullopt;
  return s;
}

// magnumd with Keystone auth against cloudsim as its cloud (controllers on: the Keystone
// validator is the cloud component's), and a token file for the bench's own setup requests.
std::optional<Server> startMagnumd(const std::string& binary, const fs::path& dir,
                                   uint16_t cloud_port) {
  std::ofstream(dir / "tokens.csv") << kFileToken << ",bench,*,admin\n";
  fs::path key = dir / "encryption.key";
  std::ofstream(key) << "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n";
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  std::ofstream(dir / "clouds.yaml") << fmt::format(
      "clouds:\n  bench:\n    auth:\n      auth_url: http://127.0.0.1:{}/identity/v3\n"
      "      username: demo\n      password: password\n      project_name: demo\n"
      "      user_domain_name: Default\n      project_domain_name: Default\n"
      "    region_name: RegionOne\n    interface: public\n    identity_api_version: 3\n",
      cloud_port);
  uint16_t port = freePort();
  std::vector<std::string> argv = {binary,
                                   "--listen",
                                   fmt::format("127.0.0.1:{}", port),
                                   "--data-dir",
                                   (dir / "data").string(),
                                   "--token-file",
                                   (dir / "tokens.csv").string(),
                                   "--encryption-key-file",
                                   key.string(),
                                   "--keystone-auth",
                                   "--os-cloud",
                                   "bench",
                                   "--log-level",
                                   "warn"};
  Server m{std::make_unique<Process>(
               argv, (dir / "magnumd.log").string(),
               std::vector<std::string>{"OS_CLIENT_CONFIG_FILE=" + (dir / "clouds.yaml").string()}),
           loopback(port)};
  if (!m.process->waitReady(m.endpoint, "/readyz")) return std::nullopt;
  return m;
}

// `count` tokens for demo in its project, over one keep-alive connection; also the project id.
std::vector<std::string> issueTokens(tcp::endpoint keystone, size_t count, std::string* project) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(keystone);
  beast::flat_buffer buffer;
  const std::string body =
      R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"demo",)"
      R"("domain":{"name":"Default"},"password":"password"}}},"scope":{"project":{"name":"demo",)"
      R"("domain":{"name":"Default"}}}}})";
  std::vector<std::string> tokens;
  tokens.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto req = makeRequest(http::verb::post, "/identity/v3/auth/tokens?nocatalog", "", body);
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (res.result_int() != 201) {
      throw std::runtime_error(fmt::format("token issue: {} {}", res.result_int(), res.body()));
    }
    tokens.emplace_back(res["X-Subject-Token"]);
    if (project != nullptr && project->empty()) {
      auto at = res.body().find(R"("project":{"id":")");
      if (at != std::string::npos) *project = res.body().substr(at + 17, 32);
    }
  }
  return tokens;
}

http::request<http::string_body> magnumGet(const std::string& target, const std::string& token) {
  auto req = makeRequest(http::verb::get, target, "");
  req.set("X-Auth-Token", token);
  req.set("OpenStack-API-Version", "container-infra latest");
  return req;
}

// One row, timed by the clients' own wall clock (scenario (b) ends when its tokens run out), and
// the CPU both servers spent on it.
struct Measured {
  double magnumd_cpu = 0, cloudsim_cpu = 0;
  size_t requests = 0;
};
Measured row(const std::string& name, const Server& m, const Server& sim, int connections,
             std::chrono::seconds duration, int64_t per_client, MakeRequest make) {
  const double m0 = cpuSeconds(m.process->pid()), s0 = cpuSeconds(sim.process->pid());
  const auto begun = Clock::now();
  auto stats = runClients(m.endpoint, connections, duration, std::move(make), {}, per_client);
  const double seconds = std::chrono::duration<double>(Clock::now() - begun).count();
  Measured out{cpuSeconds(m.process->pid()) - m0, cpuSeconds(sim.process->pid()) - s0,
               stats.latencies_ms.size()};
  printRow(name, stats, seconds, out.magnumd_cpu);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"magnumd Keystone token-validation benchmark"};
  std::string magnumd, cloudsim;
  int seconds = 5, connections = 16;
  size_t miss_tokens = 20000;
  app.add_option("--magnumd", magnumd, "path to the magnumd binary")->required();
  app.add_option("--cloudsim", cloudsim, "path to the cloudsim binary")->required();
  app.add_option("--duration", seconds, "seconds per scenario (b: at most)")->capture_default_str();
  app.add_option("--connections", connections, "keep-alive client connections")
      ->capture_default_str();
  app.add_option("--miss-tokens", miss_tokens,
                 "tokens issued for the miss scenario, one per request")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto dir = fs::temp_directory_path() / fmt::format("magnumd-keystone-bench-{}", getpid());
  fs::create_directories(dir);
  auto sim = startCloudsim(cloudsim, dir);
  if (!sim) {
    fmt::print(stderr, "cloudsim did not become ready; see {}\n", (dir / "cloudsim.log").string());
    return 1;
  }
  auto m = startMagnumd(magnumd, dir, sim->endpoint.port());
  if (!m) {
    fmt::print(stderr, "magnumd did not become ready; see {}\n", (dir / "magnumd.log").string());
    return 1;
  }

  // A template in demo's project namespace, made through /v1 with a Keystone token (admission
  // looks its image and flavors up in cloudsim once).
  std::string project;
  const auto warm = issueTokens(sim->endpoint, 1, &project);
  auto create = makeRequest(http::verb::post, "/v1/clustertemplates", "",
                            R"({"name":"k8s","coe":"kubernetes","image_id":"fedora-coreos-38",)"
                            R"("external_network_id":"public","flavor_id":"m1.small",)"
                            R"("master_flavor_id":"m1.small"})");
  create.set("X-Auth-Token", warm[0]);
  create.set("OpenStack-API-Version", "container-infra latest");
  std::string created;
  if (int code = syncRequest(m->endpoint, create, &created); code != 201) {
    fmt::print(stderr, "template create: {} {}\n", code, created);
    return 1;
  }
  auto uuid_at = created.find(R"("uuid":")");
  const std::string target = "/v1/clustertemplates/" + created.substr(uuid_at + 8, 36);

  fmt::print(stderr, "issuing {} tokens...\n", miss_tokens);
  const auto tokens = issueTokens(sim->endpoint, miss_tokens, nullptr);
  const int64_t per_client = static_cast<int64_t>(miss_tokens) / connections;

  fmt::print(
      "Keystone token validation: Magnum GET of one cluster template (/v1), {} keep-alive "
      "connections, loopback, one client thread; magnumd --keystone-auth against cloudsim's "
      "Keystone (project {})\n\n",
      connections, project);
  printHeader();
  const auto dur = std::chrono::seconds(seconds);
  auto bearer = row("(c) token-file bearer, no Keystone", *m, *sim, connections, dur, -1,
                    [&](int, int64_t) { return makeRequest(http::verb::get, target, kFileToken); });
  auto cached = row("(a) one Keystone token, cached", *m, *sim, connections, dur, -1,
                    [&](int, int64_t) { return magnumGet(target, warm[0]); });
  auto miss = row("(b) a new Keystone token per request (miss)", *m, *sim, connections,
                  std::chrono::seconds(600), per_client, [&](int c, int64_t s) {
                    return magnumGet(target, tokens[static_cast<size_t>(c * per_client + s)]);
                  });
  auto per = [](double cpu, size_t n) { return n > 0 ? cpu / static_cast<double>(n) * 1e6 : 0.0; };
  fmt::print(
      "\ncloudsim (Keystone) CPU per request: (c) {:.1f} us, (a) {:.1f} us, (b) {:.1f} us; "
      "magnumd CPU per miss beyond a cached request: {:.1f} us\n",
      per(bearer.cloudsim_cpu, bearer.requests), per(cached.cloudsim_cpu, cached.requests),
      per(miss.cloudsim_cpu, miss.requests),
      per(miss.magnumd_cpu, miss.requests) - per(cached.magnumd_cpu, cached.requests));
  m.reset();
  sim.reset();
  fs::remove_all(dir);
  return 0;
}
