// cloudsim: the OpenStack API simulator as a standalone binary.
//   cloudsim --listen 127.0.0.1:8780 [--users FILE] [--server-build-seconds 2] [--seed 1]
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "cloudsim/cloudsim.h"
#include "util/log.h"

namespace {

using namespace magnumd;

bool splitListen(const std::string& listen, std::string& address, uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  address = listen.substr(0, colon);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  try {
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return !address.empty();
}

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cloudsim: Keystone v3, Heat v1 and Nova v2.1 simulator with fault injection"};
  std::string listen = "127.0.0.1:8780", users, log_level = "info";
  double build = 2.0, jitter = 0.0, delete_seconds = 0.5, reboot = 1.0;
  int64_t token_ttl = 3600, retention = 600;
  uint64_t seed = 0;
  unsigned threads = 1;
  cloudsim::Options options;
  app.add_option("--listen", listen, "ADDRESS:PORT to serve on (port 0: any free port)")->capture_default_str();
  app.add_option("--users", users, "users, projects and application credentials (YAML or JSON)")->check(CLI::ExistingFile);
  app.add_option("--token-ttl", token_ttl, "token lifetime in seconds")->capture_default_str()->check(CLI::Range(1, 864000));
  app.add_option("--server-build-seconds", build, "BUILD -> ACTIVE delay")->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  app.add_option("--jitter", jitter, "extra uniform random build delay, seconds")->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  app.add_option("--delete-seconds", delete_seconds, "DELETE_IN_PROGRESS -> DELETE_COMPLETE delay")->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  app.add_option("--reboot-seconds", reboot, "REBOOT -> ACTIVE delay")->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  app.add_option("--deleted-retention-seconds", retention, "how long deleted stacks and servers stay visible")->capture_default_str()->check(CLI::Range(0, 86400 * 7));
  auto* seed_option = app.add_option("--seed", seed, "seed for ids, jitter and injected errors (default: random)");
  app.add_option("--max-servers", options.sim.max_servers, "server limit")->capture_default_str();
  app.add_option("--max-stacks", options.sim.max_stacks, "stack limit")->capture_default_str();
  std::string kube_ports;
  app.add_option("--kube-api-ports", kube_ports,
                 "START-END: ports of the simulated kube-apiservers on 127.0.0.1 (default: any free)");
  app.add_option("--threads", threads, "io threads")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--log-level", log_level, "debug, info, warn, error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  util::LogLevel level = util::LogLevel::Info;
  if (!util::parseLogLevel(log_level, level)) {
    std::fprintf(stderr, "--log-level %s: not one of debug, info, warn, error\n", log_level.c_str());
    return 2;
  }
  util::setLogLevel(level);
  if (!splitListen(listen, options.address, options.port)) {
    std::fprintf(stderr, "--listen %s: expected ADDRESS:PORT, e.g. 127.0.0.1:8780\n", listen.c_str());
    return 2;
  }
  if (!kube_ports.empty()) {
    unsigned start = 0, end = 0;
    if (std::sscanf(kube_ports.c_str(), "%u-%u", &start, &end) != 2 || start == 0 || end < start ||
        end > 65535) {
      std::fprintf(stderr, "--kube-api-ports %s: expected START-END, e.g. 16443-16543\n", kube_ports.c_str());
      return 2;
    }
    options.sim.kube_api_port_start = static_cast<uint16_t>(start);
    options.sim.kube_api_port_count = static_cast<uint16_t>(std::min(end - start + 1, 65535u));
  }
  options.users_file = users;
  options.sim.seed = seed_option->count() > 0 ? seed : std::random_device{}();
  options.sim.server_build = millis(build);
  options.sim.build_jitter = millis(jitter);
  options.sim.delete_time = millis(delete_seconds);
  options.sim.reboot_time = millis(reboot);
  options.sim.token_ttl = std::chrono::seconds(token_ttl);
  options.sim.deleted_retention = std::chrono::seconds(retention);

  boost::asio::io_context io;
  auto sim = cloudsim::Cloudsim::start(io, options);
  if (!sim.ok()) {
    std::fprintf(stderr, "cloudsim: %s\n", sim.error().message.c_str());
    return 1;
  }
  std::printf("cloudsim listening on %s (auth url %s, seed %llu)\n", (*sim)->url().c_str(),
              (*sim)->authUrl().c_str(), static_cast<unsigned long long>(options.sim.seed));
  std::fflush(stdout);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    (*sim)->stop();
    io.stop();
  });
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}
