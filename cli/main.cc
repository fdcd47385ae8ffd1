// magnumctl: a kubectl-like command line for magnumd's REST API. Wiring only: flags to options,
// options to a client, then one command from commands.h.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/duration.h"
#include "cli/kubeconfig.h"

namespace {

using namespace magnumd;  // NOLINT(google-build-using-namespace)

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

struct Globals {
  std::string server;
  std::string token;
  std::string ns;
  bool insecure = false;
  std::string ca_file;
  std::string kubeconfig;
  std::string context;
  std::string request_timeout = "30s";
};

struct GlobalOptions {
  CLI::Option* server;
  CLI::Option* token;
  CLI::Option* ns;
};

GlobalOptions addGlobals(CLI::App& app, Globals& g) {
  GlobalOptions o{};
  o.server = app.add_option("-s,--server", g.server,
                            "magnumd's URL (env MAGNUMD_URL; else the kubeconfig's; else "
                            "http://127.0.0.1:9511)");
  o.token = app.add_option("--token", g.token,
                           "bearer token (env MAGNUMD_TOKEN; else the kubeconfig's)");
  o.ns = app.add_option("-n,--namespace", g.ns,
                        "namespace (env MAGNUMD_NAMESPACE; else the kubeconfig context's; else "
                        "default)");
  app.add_option("--kubeconfig", g.kubeconfig,
                 "kubeconfig to read the server, CA, token and namespace from (default: "
                 "$KUBECONFIG)");
  app.add_option("--context", g.context,
                 "the kubeconfig context to use (default: current-context)");
  app.add_flag("--insecure-skip-tls-verify", g.insecure,
               "do not verify the server's certificate (HTTPS only; insecure)");
  app.add_option("--ca-file", g.ca_file, "PEM file of CAs to trust instead of the system's");
  app.add_option("--request-timeout", g.request_timeout,
                 "time limit for one request, e.g. 30s, 2m (0: none)")
      ->capture_default_str();
  return o;
}

// Flags, then environment variables, then the kubeconfig (cli/kubeconfig.h has the order).
util::Result<cli::Connection> connection(const Globals& g, const GlobalOptions& o) {
  cli::ConnectionInputs in;
  if (o.server->count() > 0) in.server_flag = g.server;
  if (o.token->count() > 0) in.token_flag = g.token;
  if (o.ns->count() > 0) in.namespace_flag = g.ns;
  in.ca_file_flag = g.ca_file;
  in.insecure_flag = g.insecure;
  in.kubeconfig_flag = g.kubeconfig;
  in.context_flag = g.context;
  in.url_env = env("MAGNUMD_URL");
  in.token_env = env("MAGNUMD_TOKEN");
  in.namespace_env = env("MAGNUMD_NAMESPACE");
  in.kubeconfig_env = env("KUBECONFIG");
  return cli::resolveConnection(in);
}

util::Result<std::unique_ptr<cli::ApiClient>> makeClient(const cli::Connection& c,
                                                         const std::string& request_timeout) {
  ASSIGN_OR_RETURN(auto timeout, cli::parseDuration(request_timeout));
  if (timeout.count() == 0) timeout = std::chrono::hours(24 * 365);
  cli::ApiClientOptions options;
  options.server = c.server;
  options.token = c.token;
  options.request_timeout = timeout;
  options.insecure_skip_tls_verify = c.insecure;
  options.ca_file = c.ca_file;
  options.ca_pem = c.ca_pem;
  options.user_agent = "magnumctl/" MAGNUMD_VERSION;
  return cli::ApiClient::create(std::move(options));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "magnumctl controls magnumd: container clusters on OpenStack, declared as "
      "ClusterTemplate, Cluster and NodeGroup objects.\nKINDs: clustertemplates (ct), "
      "clusters (cl), nodegroups (ng), events (ev). `magnumctl explain KIND` describes their "
      "fields.",
      "magnumctl"};
  app.fallthrough();
  app.require_subcommand(1);
  Globals g;
  GlobalOptions globals = addGlobals(app, g);

  cli::ApplyOptions apply;
  auto* apply_cmd =
      app.add_subcommand("apply", "create or update objects from files (YAML or JSON)");
  apply_cmd->add_option("-f,--filename", apply.files, "file, directory or - for stdin")->required();

  cli::GetOptions get;
  auto* get_cmd = app.add_subcommand("get", "list objects or show some by name");
  get_cmd->add_option("kind", get.kind, "clustertemplates|clusters|nodegroups|events")->required();
  get_cmd->add_option("names", get.names, "object names");
  get_cmd->add_option("-o,--output", get.output, "yaml, json, wide or name");
  get_cmd->add_option("-l,--selector", get.selector, "label selector, e.g. env=prod,tier!=db");
  get_cmd->add_flag("-A,--all-namespaces", get.all_namespaces, "list across all namespaces");
  get_cmd->add_flag("-w,--watch", get.watch, "after listing, print each change as it happens");
  get_cmd->add_flag("--show-managed-fields", get.show_managed_fields,
                    "with -o yaml or json, keep metadata.managedFields");

  cli::DescribeOptions describe;
  auto* describe_cmd =
      app.add_subcommand("describe", "show an object's details, conditions and events");
  describe_cmd->add_option("kind", describe.kind)->required();
  describe_cmd->add_option("names", describe.names);
  describe_cmd->add_option("-l,--selector", describe.selector);

  cli::DeleteOptions del;
  auto* delete_cmd =
      app.add_subcommand("delete", "delete objects by name or by the files that declare them");
  delete_cmd->add_option("kind", del.kind);
  delete_cmd->add_option("names", del.names);
  delete_cmd->add_option("-f,--filename", del.files, "file, directory or - for stdin");
  delete_cmd->add_flag("--wait", del.wait, "wait until the objects are gone");
  delete_cmd->add_option("--timeout", del.timeout, "how long --wait waits")->capture_default_str();

  cli::WaitOptions wait;
  auto* wait_cmd =
      app.add_subcommand("wait", "wait for a condition on objects, or for their deletion");
  wait_cmd->add_option("kind", wait.kind)->required();
  wait_cmd->add_option("names", wait.names)->required();
  wait_cmd->add_option("--for", wait.for_condition, "condition=Ready[=True] or delete")->required();
  wait_cmd->add_option("--timeout", wait.timeout, "e.g. 30s, 5m, 1h")->capture_default_str();

  auto* ca_cmd = app.add_subcommand("ca", "a cluster's certificate authority");
  ca_cmd->require_subcommand(1);
  cli::CaShowOptions ca_show;
  auto* ca_show_cmd =
      ca_cmd->add_subcommand("show", "print the cluster's CA certificate (PEM), e.g. > ca.pem");
  ca_show_cmd->add_option("cluster", ca_show.cluster, "cluster name")->required();
  cli::CaRotateOptions ca_rotate;
  auto* ca_rotate_cmd = ca_cmd->add_subcommand(
      "rotate", "replace the cluster's CAs with new ones, node by node (spec.caGeneration + 1)");
  ca_rotate_cmd->add_option("cluster", ca_rotate.cluster, "cluster name")->required();
  cli::CaSignOptions ca_sign;
  std::string csr_positional;
  auto* ca_sign_cmd = ca_cmd->add_subcommand(
      "sign", "sign a client certificate request with the cluster's CA; prints the certificate");
  ca_sign_cmd->add_option("cluster", ca_sign.cluster, "cluster name")->required();
  ca_sign_cmd->add_option("csr", csr_positional, "the CSR file (or use --csr)");
  ca_sign_cmd->add_option("--csr", ca_sign.csr_file, "the PEM CSR file, - for stdin");
  ca_sign_cmd->add_option("--duration", ca_sign.duration,
                          "how long the certificate is valid, 10m to 8760h (default: a year)");

  cli::ConfigOptions config;
  if (const char* shell = std::getenv("SHELL")) config.shell = shell;
  auto* config_cmd = app.add_subcommand(
      "config", "write a cluster's client configuration (kubeconfig, or swarm TLS files) and "
                "print the environment to use it");
  config_cmd->add_option("cluster", config.cluster, "cluster name")->required();
  config_cmd->add_option("--dir", config.dir, "directory to save the configuration in")
      ->capture_default_str();
  config_cmd->add_flag("--force", config.force, "overwrite existing files");
  config_cmd->add_option("--duration", config.duration,
                         "how long the client certificate is valid, 10m to 8760h (default: a "
                         "year)");

  cli::UpgradeOptions upgrade;
  auto* upgrade_cmd = app.add_subcommand(
      "upgrade", "roll a cluster (or one node group) onto another ClusterTemplate, node by node");
  upgrade_cmd->add_option("kind", upgrade.kind, "cluster")->required();
  upgrade_cmd->add_option("name", upgrade.cluster, "the cluster's name")->required();
  upgrade_cmd
      ->add_option("--template", upgrade.cluster_template,
                   "the ClusterTemplate to move to (name, or namespace/name)")
      ->required();
  int64_t max_batch_size = 0;
  auto* max_batch_size_opt =
      upgrade_cmd->add_option("--max-batch-size", max_batch_size,
                              "new worker nodes at a time (spec.rolloutStrategy.maxBatchSize; "
                              "default: maxSurge 1)");
  max_batch_size_opt->check(CLI::Range(1, 100));
  upgrade_cmd->add_option("--nodegroup", upgrade.nodegroup,
                          "upgrade only this node group (to its cluster's template)");

  cli::ExplainOptions explain;
  auto* explain_cmd = app.add_subcommand(
      "explain", "describe a kind or a field, e.g. cluster.spec.nodeCount (no server needed)");
  explain_cmd->add_option("target", explain.target, "KIND[.FIELD...]")->required();
  explain_cmd->add_flag("--recursive", explain.recursive, "list the fields of fields too");

  cli::StatsOptions stats;
  auto* stats_cmd = app.add_subcommand(
      "stats", "clusters and the servers they want per project, beside its quotas");
  stats_cmd->add_flag("-A,--all-namespaces", stats.all_namespaces, "every project");

  bool client_only = false;
  auto* version_cmd = app.add_subcommand("version", "print the client's and the server's version");
  version_cmd->add_flag("--client", client_only, "only the client's");

  CLI11_PARSE(app, argc, argv);

  if (delete_cmd->parsed() && del.files.empty() && (del.kind.empty() || del.names.empty())) {
    std::cerr << "error: delete needs KIND NAME... or -f FILE\n";
    return 1;
  }
  if (ca_sign_cmd->parsed()) {
    if (!csr_positional.empty() && !ca_sign.csr_file.empty()) {
      std::cerr << "error: ca sign takes the CSR file once: as an argument or with --csr\n";
      return 1;
    }
    if (ca_sign.csr_file.empty()) ca_sign.csr_file = csr_positional;
    if (ca_sign.csr_file.empty()) {
      std::cerr << "error: ca sign needs the CSR: --csr FILE (- for stdin)\n";
      return 1;
    }
  }
  if (explain_cmd->parsed()) return cli::runExplain(std::cout, std::cerr, explain);
  auto conn = connection(g, globals);
  if (!conn.ok()) {
    std::cerr << "error: " << conn.error().message << "\n";
    return 1;
  }
  auto client = makeClient(*conn, g.request_timeout);
  if (!client.ok()) {
    std::cerr << "error: " << client.error().message
              << (conn->kubeconfig.empty() ? "" : "\n  (from kubeconfig " + conn->kubeconfig + ")")
              << "\n";
    return 1;
  }
  util::RealClock clock;
  cli::Context ctx{**client, std::cout, std::cerr, std::cin, conn->namespace_,
                   globals.ns->count() > 0, clock};
  if (apply_cmd->parsed()) return cli::runApply(ctx, apply);
  if (get_cmd->parsed()) return cli::runGet(ctx, get);
  if (describe_cmd->parsed()) return cli::runDescribe(ctx, describe);
  if (delete_cmd->parsed()) return cli::runDelete(ctx, del);
  if (wait_cmd->parsed()) return cli::runWait(ctx, wait);
  if (version_cmd->parsed()) return cli::runVersion(ctx, client_only);
  if (ca_show_cmd->parsed()) return cli::runCaShow(ctx, ca_show);
  if (ca_sign_cmd->parsed()) return cli::runCaSign(ctx, ca_sign);
  if (ca_rotate_cmd->parsed()) return cli::runCaRotate(ctx, ca_rotate);
  if (config_cmd->parsed()) return cli::runConfig(ctx, config);
  if (stats_cmd->parsed()) return cli::runStats(ctx, stats);
  if (upgrade_cmd->parsed()) {
    if (max_batch_size_opt->count() > 0) upgrade.max_batch_size = max_batch_size;
    return cli::runUpgrade(ctx, upgrade);
  }
  return 1;
}
