// The cloud half's command-line flags (CloudOptions), apart from its wiring.
#include <CLI/CLI.hpp>

#include "cmd/cloud_wiring.h"
#include "util/time.h"

namespace magnumd::cmd {

void addCloudFlags(CLI::App& app, CloudOptions& o) {
  app.add_flag("--controllers,!--no-controllers", o.enabled,
               "serve the API only: no observer, no reconcilers");
  app.add_option("--os-cloud", o.os_cloud,
                 "clouds.yaml entry to manage (default: OS_CLOUD, then OS_* variables)");
  app.add_option("--sync-interval", o.sync_interval_seconds, "seconds between cloud observations")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  app.add_option(
         "--sweep-pages", o.sweep_pages,
         "pages of the background stack and server sweep fetched per sync period (0: no sweep)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  app.add_option("--workers", o.workers, "concurrent Cluster reconciles")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--orphan-grace", o.orphan_grace_seconds,
                 "seconds before a magnumd stack whose Cluster is gone is deleted")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0 * 30));
  app.add_option(
         "--failed-retry", o.failed_retry_seconds,
         "seconds before a failed stack is tried again (doubling per attempt, up to 10 min)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--api-probe-interval", o.api_probe_interval_seconds,
                 "seconds between two looks at each Kubernetes cluster's own API (version, "
                 "readiness, nodes)")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  app.add_option("--renew-before", o.renew_before,
                 "renew certificates this long before they expire: a CA by a rotation, the "
                 "masters' (valid a year from their boot) by replacing the masters; 1h to 180d")
      ->capture_default_str()
      ->check([](const std::string& text) -> std::string {
        auto parsed = util::parseDuration(text);
        if (!parsed.ok()) return "a duration such as 30d, 720h or 90m";
        if (*parsed < std::chrono::hours(1) || *parsed > std::chrono::hours(24 * 180))
          return "between 1h and 180d (below the masters' one-year certificates)";
        return "";
      });
  app.add_option("--api-probes", o.api_probes,
                 "looks at cluster APIs in flight at once, over all clusters")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--dev-cloud-port", o.dev_cloud_port,
                 "--dev: port of the embedded cloudsim (0: any free port)")
      ->capture_default_str();
  app.add_option("--dev-server-build-seconds", o.dev_server_build_seconds,
                 "--dev: how long simulated servers take to build")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
}

}  // namespace magnumd::cmd
