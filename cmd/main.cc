// magnumd: the declarative control plane for container clusters on OpenStack.
// This file only parses flags and hands them to the Daemon (the composition root).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#ifndef MAGNUMD_API_ONLY
#include "cmd/cloud_wiring.h"
#endif
#include "cmd/audit_wiring.h"
#include "cmd/config.h"
#include "cmd/daemon.h"
#include "cmd/migrate.h"
#include "server/version.h"
#include "util/time.h"

namespace {

using magnumd::cmd::DaemonConfig;

struct Flags {
  std::string config_file;
  double bookmark_seconds = 0;
  double shutdown_seconds = 0;
  int keystone_cache_ttl_seconds = 60;
};

void addFlags(CLI::App& app, DaemonConfig& c, Flags& f) {
  app.add_option("--config", f.config_file,
                 "YAML file of settings named like the flags, without dashes (flags win)");
  app.add_option("--listen", c.listen, "ADDRESS:PORT to serve the API on")->capture_default_str();
  app.add_option("--data-dir", c.data_dir, "directory for the database and dev files")->capture_default_str();
  app.add_flag("--dev", c.dev,
               "development mode: generate DATA_DIR/admin.token (admin), serve HTTPS with a CA "
               "and certificate made in DATA_DIR, write DATA_DIR/kubeconfig, and print how to "
               "use them");
  app.add_flag("--dev-plain-http", c.dev_plain_http,
               "with --dev: serve plain HTTP instead of HTTPS (for scripts; kubectl sends no "
               "token over it)");
  app.add_option("--token-file", c.token_file, "CSV of bearer tokens: token,user,namespace-or-*,role");
  app.add_flag("--keystone-auth", c.keystone_auth,
               "accept Keystone tokens (X-Auth-Token) of the cloud magnumd manages, validated with "
               "its Keystone; a project is a namespace (on by default with --dev)");
  app.add_option("--keystone-cache-ttl", f.keystone_cache_ttl_seconds,
                 "seconds a validated Keystone token is trusted before Keystone is asked again "
                 "(at most until it expires); a revoked token works at most this long")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--keystone-cache-size", c.keystone_cache_size,
                 "validated Keystone tokens remembered; the oldest is forgotten first")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option(
      "--policy-file", c.policy_file,
      "YAML file of Magnum policy rules in oslo.policy's syntax (\"cluster:create\": "
      "\"role:admin\") overriding Magnum's defaults on the /v1 API; a rule that does not "
      "parse stops magnumd");
  app.add_option("--encryption-key-file", c.encryption_key_file,
                 "base64 file of 32 random bytes (mode 0600) that encrypts cluster CA keys and "
                 "join tokens at rest; --dev creates DATA_DIR/encryption.key");
  app.add_option("--join-token-ttl", c.join_token_ttl,
                 "how long a cluster's join token is valid (kubeadm's token ttl, 1m to 7d); "
                 "magnumd renews it in the cluster at half its lifetime")
      ->capture_default_str()
      ->check([](const std::string& text) -> std::string {
        auto parsed = magnumd::util::parseDuration(text);
        if (!parsed.ok()) return "a duration such as 24h, 90m or 7d";
        if (*parsed < std::chrono::minutes(1) || *parsed > std::chrono::hours(24 * 7))
          return "between 1m and 7d";
        return "";
      });
  app.add_option("--tls-cert", c.tls_cert, "PEM certificate chain: serve HTTPS");
  app.add_option("--tls-key", c.tls_key, "PEM private key for --tls-cert");
  app.add_option("--log-level", c.log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--io-threads", c.io_threads, "HTTP I/O threads (0: one per core)")->capture_default_str();
  app.add_option("--watch-bookmark-interval", f.bookmark_seconds,
                 "seconds between BOOKMARK events on idle watches (default 30)");
  app.add_option("--shutdown-timeout", f.shutdown_seconds,
                 "seconds to let open requests finish on SIGTERM (default 10)");
  app.add_option("--store-quota-bytes", c.store_quota_bytes,
                 "bytes of stored objects beyond which creates and growing updates get 503 "
                 "(0: no quota)")
      ->capture_default_str();
  app.add_option("--max-objects-per-namespace", c.max_objects_per_namespace,
                 "objects of one kind in one namespace beyond which creates get 403 (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-connections", c.max_connections,
                 "open HTTP connections; more wait to be accepted (0: the file-descriptor limit "
                 "minus a reserve)")
      ->capture_default_str();
  app.add_option(
         "--max-clusters-per-project", c.max_clusters_per_project,
         "Clusters a project (namespace) may have without a Quota object of its own; 0: no limit")
      ->check(CLI::NonNegativeNumber);
  app.add_option(
         "--max-nodes-per-project", c.max_nodes_per_project,
         "Servers a project's clusters may want without a Quota object of its own; 0: no limit")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-watches-per-user", c.max_watches_per_user,
                 "open watch streams per token user; more get 429")
      ->capture_default_str();
  app.add_option("--store", c.store,
                 "where objects live: sqlite (DATA_DIR/magnumd.db) or etcd (--etcd-endpoints)")
      ->capture_default_str();
  app.add_option("--etcd-endpoints", c.etcd_endpoints,
                 "with --store etcd: the cluster's client URLs, comma-separated "
                 "(http://IP:2379 or https://IP:2379)")
      ->delimiter(',');
  app.add_option("--etcd-prefix", c.etcd_prefix,
                 "with --store etcd: the key prefix of every object")
      ->capture_default_str();
  app.add_option("--etcd-ca", c.etcd_ca,
                 "with --store etcd: PEM CA that signed etcd's certificate");
  app.add_option("--etcd-cert", c.etcd_cert, "with --store etcd: PEM client certificate");
  app.add_option("--etcd-key", c.etcd_key, "with --store etcd: PEM key of --etcd-cert");
  app.add_option("--replica-id", c.replica_id,
                 "with --store etcd: this replica's name in the leader key, shown by `magnumctl "
                 "version` (default: HOSTNAME:PORT)");
  app.add_option("--leader-lease-duration", c.leader_lease_duration,
                 "with --store etcd: TTL of the leader's etcd lease; a dead leader is replaced "
                 "this long after its last renewal (whole seconds)")
      ->capture_default_str();
  app.add_option("--leader-renew-deadline", c.leader_renew_deadline,
                 "with --store etcd: the leader stops acting when it could not renew its lease "
                 "for this long (shorter than the lease duration)")
      ->capture_default_str();
  app.add_option("--leader-retry-period", c.leader_retry_period,
                 "with --store etcd: between two renewals, and two campaigns of a follower")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"magnumd: declarative control plane for container clusters on OpenStack"};
  app.set_version_flag("--version", fmt::format("magnumd {} ({}, built {})",
                                                magnumd::server::buildInfo().version,
                                                magnumd::server::buildInfo().git_commit,
                                                magnumd::server::buildInfo().build_date));
  DaemonConfig flags_config;
  Flags flags;
  addFlags(app, flags_config, flags);
#ifndef MAGNUMD_API_ONLY
  magnumd::cmd::CloudOptions cloud;
  magnumd::cmd::addCloudFlags(app, cloud);
#endif
  magnumd::cmd::AuditOptions audit;
  magnumd::cmd::addAuditFlags(app, audit);
  magnumd::cmd::MigrateOptions migrate;
  CLI::App* migrate_command = magnumd::cmd::addMigrateCommand(app, migrate);
  CLI11_PARSE(app, argc, argv);
  if (migrate_command->parsed()) return magnumd::cmd::runMigrate(migrate);

  // Defaults, then the config file, then every flag given on the command line.
  if (!flags.config_file.empty()) {
    auto status = magnumd::cmd::applyConfigFile(flags.config_file, app);
    if (!status.ok()) {
      fmt::print(stderr, "magnumd: {}\n", status.error().message);
      return 2;
    }
  }
  DaemonConfig config = flags_config;
  auto given = [&](const char* name) { return app.get_option(name)->count() > 0; };
  if (given("--watch-bookmark-interval")) {
    if (flags.bookmark_seconds <= 0) {
      fmt::print(stderr, "magnumd: --watch-bookmark-interval must be positive\n");
      return 2;
    }
    config.watch_bookmark_interval =
        std::chrono::milliseconds(static_cast<int64_t>(flags.bookmark_seconds * 1000));
  }
  if (given("--shutdown-timeout")) {
    if (flags.shutdown_seconds <= 0) {
      fmt::print(stderr, "magnumd: --shutdown-timeout must be positive\n");
      return 2;
    }
    config.shutdown_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(flags.shutdown_seconds * 1000));
  }

  config.keystone_cache_ttl = std::chrono::seconds(flags.keystone_cache_ttl_seconds);

  magnumd::cmd::Daemon daemon(std::move(config));
  // First, so it stops last (outcomes the controllers reach while stopping are still reported)
  // and leads first (it reports outcomes from its lead() on, before the controllers make any).
  daemon.addComponent(magnumd::cmd::makeAuditComponent(audit));
#ifndef MAGNUMD_API_ONLY
  daemon.addComponent(magnumd::cmd::makeCloudComponent(cloud));
#endif
  if (auto status = daemon.start(); !status.ok()) {
    fmt::print(stderr, "magnumd: {}\n", status.error().message);
    return 1;
  }
  daemon.runUntilStopped();
  return daemon.exitCode();
}
