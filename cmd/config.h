// magnumd's settings: defaults, then a YAML config file (--config), then command-line flags.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "store/leader_election.h"
#include "util/result.h"

namespace CLI {
class App;
}  // namespace CLI

namespace magnumd::cmd {

struct DaemonConfig {
  std::string listen = "127.0.0.1:9511";
  std::string data_dir = "./magnumd-data";
  bool dev = false;
  // --dev serves HTTPS with a CA and certificate it makes in the data dir, unless this is set
  // (or --tls-cert names the operator's own).
  bool dev_plain_http = false;
  std::string token_file;
  // X-Auth-Token validated with the cloud's Keystone (server/keystone_auth.h); --dev turns it on
  // when its embedded cloudsim runs.
  bool keystone_auth = false;
  std::chrono::seconds keystone_cache_ttl{60};  // a revoked token works at most this long
  size_t keystone_cache_size = 10000;           // validated tokens remembered
  // Overrides of Magnum's policy rules for the /v1 API (server/magnum_policy.h); "": defaults.
  std::string policy_file;
  // Key-encryption key for the cluster secrets (pki/kek.h); --dev creates DATA_DIR/encryption.key.
  std::string encryption_key_file;
  // How long a cluster's join token is valid (kubeadm's bootstrapTokens ttl); magnumd renews it
  // in the cluster at half its lifetime.
  std::string join_token_ttl = "24h";
  std::string tls_cert;
  std::string tls_key;
  std::string log_level = "info";
  unsigned io_threads = 0;  // 0: one per core
  std::chrono::milliseconds watch_bookmark_interval{30000};
  std::chrono::milliseconds shutdown_timeout{10000};  // drain deadline for open requests
  // Resource limits; see docs/api.md, "Limits".
  int64_t store_quota_bytes = int64_t{2} << 30;  // etcd's default backend quota; 0: none
  int64_t max_objects_per_namespace = 10000;     // of each kind; 0: none
  size_t max_connections = 0;                    // 0: what the file-descriptor limit allows
  size_t max_watches_per_user = 100;
  // Per-project quotas without a Quota object; 0: no limit (Magnum's max_clusters_per_project
  // is 20).
  int64_t max_clusters_per_project = 0;
  int64_t max_nodes_per_project = 0;
  // Where objects live: "sqlite" (DATA_DIR/magnumd.db, one process) or "etcd" (a cluster under
  // etcd_prefix, store/etcd_store.h).
  std::string store = "sqlite";
  std::vector<std::string> etcd_endpoints;  // "https://10.0.0.5:2379", ...
  std::string etcd_prefix = "/magnumd";
  std::string etcd_ca, etcd_cert, etcd_key;  // TLS to etcd (PEM files)
  // Leader election among the replicas on one etcd (store/leader_election.h): this replica's
  // name in the leader key ("" = HOSTNAME:PORT of --listen) and client-go's timing.
  std::string replica_id;
  std::string leader_lease_duration = "15s";
  std::string leader_renew_deadline = "10s";
  std::string leader_retry_period = "2s";
};

struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
// "127.0.0.1:9511", "[::1]:9511", ":9511" (all interfaces). Errors name the flag and value.
util::Result<ListenAddress> parseListen(const std::string& text);

// Applies a YAML config file to `app`'s options after the command line was parsed: every key is
// a flag's name without the dashes (listen, data-dir, os-cloud, sync-interval, ...), and an
// option the command line already set keeps its value (flags win). Unknown keys, lists and
// values the option rejects are errors naming the file and the key.
util::Status applyConfigFile(const std::string& path, CLI::App& app);

// The connection cap for --max-connections `requested` under a file-descriptor limit of
// `descriptors` (0: unlimited). 256 descriptors stay free of connections, for the store, the
// cloud clients and logs (half the descriptors under a limit below 512), so the listener stops
// accepting before accept() and the store run out of them. `requested` 0 asks for all the
// limit allows; a larger request is lowered to that, and `warning` says so.
struct ConnectionCap {
  size_t connections = 0;
  std::string warning;
};
ConnectionCap connectionCap(size_t requested, uint64_t descriptors);

// The --leader-* durations, parsed; errors name the flag.
util::Result<store::ElectionTiming> electionTiming(const DaemonConfig& config);

// Consistency checks that do not touch the filesystem: TLS needs both files, production needs
// a token file or Keystone authentication, --dev-plain-http needs --dev and no --tls-cert, the log
// level exists, the listen address parses.
util::Status validateConfig(const DaemonConfig& config);

}  // namespace magnumd::cmd
