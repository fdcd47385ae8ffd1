// Embedding API of cloudsim, the OpenStack simulator (Keystone v3 at /identity/v3, Heat v1 at
// /heat-api/v1/{project_id}, Nova v2.1 at /compute/v2.1, fault injection at /sim/v1), on one
// port of the caller's io_context. `magnumd --dev` starts one; the `cloudsim` binary is a thin
// main around it.
//
//   auto sim = magnumd::cloudsim::Cloudsim::start(io, {.port = 0});
//   if (!sim.ok()) ...;
//   std::string auth_url = (*sim)->authUrl();   // http://127.0.0.1:PORT/identity/v3
//   write (*sim)->cloudsYaml("magnumd-dev") to DATA_DIR/clouds.yaml
//
// Thread-safe: the simulator's state sits behind one mutex (held for a whole request), so the
// io_context may run on any number of threads; an embedder gives it an io_context of its own
// rather than threads that serve something else. Progress (servers finishing their build, ...) is
// driven by a timer on the io_context; nothing polls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cloudsim/sim_config.h"
#include "util/result.h"

namespace boost::asio {
class io_context;
}

namespace magnumd::util {
class Clock;
}

namespace magnumd::cloudsim {

struct Options {
  std::string address = "127.0.0.1";
  uint16_t port = 0;                      // 0: any free port, see Cloudsim::port()
  std::string users_file;                 // YAML or JSON (cloudsim/README.md); empty: defaults
  SimConfig sim;                          // delays, seed, limits
  uint64_t body_limit = 2 * 1024 * 1024;  // request bodies (Heat templates are <= 512 KiB)
  const util::Clock* clock = nullptr;     // null: the real clock
};

class Cloudsim {
 public:
  // Loads users, binds and starts serving. Errors (bad users file, port in use) are values.
  static util::Result<std::unique_ptr<Cloudsim>> start(boost::asio::io_context& io, Options options);
  ~Cloudsim();
  Cloudsim(const Cloudsim&) = delete;
  Cloudsim& operator=(const Cloudsim&) = delete;

  uint16_t port() const;
  std::string url() const;      // http://ADDRESS:PORT
  std::string authUrl() const;  // http://ADDRESS:PORT/identity/v3
  // clouds.yaml text with one cloud using the demo user (or the first user of --users).
  std::string cloudsYaml(std::string_view cloud_name) const;
  // Stops accepting connections and the progress timer. Safe from any thread; idempotent.
  void stop();

  struct Impl;

 private:
  explicit Cloudsim(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace magnumd::cloudsim
