// magnumctl's commands. Each returns the process exit code and writes only to the streams in its
// Context, so they run the same under main() and in tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "util/time.h"

namespace magnumd::cli {

struct Context {
  ApiClient& api;
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  std::string ns = "default";
  bool ns_explicit = false;  // -n given: a manifest naming another namespace is an error
  const util::Clock& clock;
};

struct ApplyOptions {
  std::vector<std::string> files;
};
int runApply(Context& ctx, const ApplyOptions& options);

struct GetOptions {
  std::string kind;
  std::vector<std::string> names;
  std::string output;  // "", wide, yaml, json, name
  std::string selector;
  bool all_namespaces = false;
  bool watch = false;
  bool show_managed_fields = false;  // yaml/json keep metadata.managedFields (kubectl's flag)
};
int runGet(Context& ctx, const GetOptions& options);

struct DescribeOptions {
  std::string kind;
  std::vector<std::string> names;
  std::string selector;
};
int runDescribe(Context& ctx, const DescribeOptions& options);

struct DeleteOptions {
  std::string kind;
  std::vector<std::string> names;
  std::vector<std::string> files;
  bool wait = false;
  std::string timeout = "5m";
};
int runDelete(Context& ctx, const DeleteOptions& options);

struct WaitOptions {
  std::string kind;
  std::vector<std::string> names;
  std::string for_condition;  // "delete" or "condition=Ready[=True]"
  std::string timeout = "30s";
};
int runWait(Context& ctx, const WaitOptions& options);

int runVersion(Context& ctx, bool client_only);

// `explain KIND[.FIELD...]`: the schema's types and descriptions in kubectl explain's layout;
// needs no server.
struct ExplainOptions {
  std::string target;
  bool recursive = false;
};
int runExplain(std::ostream& out, std::ostream& err, const ExplainOptions& options);

// `ca show CLUSTER`: the cluster CA certificate, PEM on stdout (openstack coe ca show).
struct CaShowOptions {
  std::string cluster;
};
int runCaShow(Context& ctx, const CaShowOptions& options);

// `ca rotate CLUSTER`: raises spec.caGeneration by one (openstack coe ca rotate).
struct CaRotateOptions {
  std::string cluster;
};
int runCaRotate(Context& ctx, const CaRotateOptions& options);

// `ca sign CLUSTER --csr FILE`: the signed client certificate, PEM on stdout (openstack coe ca
// sign). FILE "-" reads stdin.
struct CaSignOptions {
  std::string cluster;
  std::string csr_file;
  std::string duration;  // "" = the server's default (a year); e.g. 24h
};
int runCaSign(Context& ctx, const CaSignOptions& options);

// `config CLUSTER [--dir DIR] [--force]` (openstack coe cluster config): Kubernetes clusters get
// DIR/config (a kubeconfig, mode 0600) and `export KUBECONFIG=DIR/config`; swarm clusters get
// DIR/ca.pem, cert.pem, key.pem and the DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY exports.
// Existing files are kept unless `force`. Only the export lines go to stdout, for eval.
struct ConfigOptions {
  std::string cluster;
  std::string dir = ".";
  bool force = false;
  std::string duration;  // as CaSignOptions::duration
  std::string shell;     // $SHELL: a csh prints setenv lines instead of export
};
int runConfig(Context& ctx, const ConfigOptions& options);

// `upgrade cluster NAME --template T [--max-batch-size N] [--nodegroup NG]` (openstack coe
// cluster upgrade): merge-patches the cluster's spec.clusterTemplate (and
// spec.rolloutStrategy.maxBatchSize), or brings node group NG to its cluster's template; prints
// what it changed and how to follow the rollout.
struct UpgradeOptions {
  std::string kind;  // "cluster"
  std::string cluster;
  std::string cluster_template;
  std::optional<int64_t> max_batch_size;
  std::string nodegroup;  // "": the whole cluster
};
int runUpgrade(Context& ctx, const UpgradeOptions& options);

// `stats [-A]` (openstack coe stats list): clusters and nodes per project, with its quotas.
struct StatsOptions {
  bool all_namespaces = false;
};
int runStats(Context& ctx, const StatsOptions& options);

// What `wait --for` asks for, parsed.
struct WaitTarget {
  bool deletion = false;
  std::string condition;  // type, compared case-insensitively
  std::string status = "True";
};
util::Result<WaitTarget> parseWaitFor(std::string_view text);
// True when the object satisfies a condition target; a condition whose observedGeneration is
// below the object's generation does not (kubectl wait's rule).
bool conditionMet(const util::Json& object, const WaitTarget& target);

}  // namespace magnumd::cli
