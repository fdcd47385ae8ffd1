// Where magnumctl connects, and as whom: its flags, its environment variables and a kubeconfig
// (client-go's clientcmd v1 Config, e.g. the DATA_DIR/kubeconfig `magnumd --dev` writes), so one
// file points both kubectl and magnumctl at magnumd.
//
// Each setting is taken from the first of these that gives it:
//   server     --server, MAGNUMD_URL, the context's cluster.server, http://127.0.0.1:9511
//   token      --token, MAGNUMD_TOKEN, the context's user.token (or user.tokenFile)
//   namespace  -n, MAGNUMD_NAMESPACE, the context's namespace, "default"
//   CA         --ca-file, the cluster's certificate-authority-data (or certificate-authority)
//   insecure   --insecure-skip-tls-verify, the cluster's insecure-skip-tls-verify
// The kubeconfig is --kubeconfig FILE, else the files of $KUBECONFIG (a colon-separated list,
// merged as client-go does: the first file that sets current-context, or that defines a context,
// cluster or user of a given name, wins; missing files are skipped). Unlike kubectl, magnumctl does
// not fall back to ~/.kube/config: that file usually points at a workload cluster. The context is
// --context NAME, else current-context.
// A kubeconfig's credentials go only to its own server: when --server or MAGNUMD_URL names
// another one, nothing of the kubeconfig is used (no token, CA or namespace).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace magnumd::cli {

inline constexpr std::string_view kDefaultServer = "http://127.0.0.1:9511";

struct KubeconfigCluster {
  std::string server;
  std::string ca_pem;   // certificate-authority-data, decoded
  std::string ca_file;  // certificate-authority, relative to the kubeconfig's directory
  bool insecure = false;
};

struct KubeconfigUser {
  std::string token;
  std::string token_file;  // tokenFile, relative to the kubeconfig's directory
};

struct KubeconfigContext {
  std::string cluster;
  std::string user;
  std::string namespace_;
};

// One kubeconfig file. Entries magnumctl cannot use (client certificates, exec plugins) are
// ignored; a user without a token simply authenticates with none.
struct Kubeconfig {
  std::string path;
  std::string current_context;
  std::map<std::string, KubeconfigContext> contexts;
  std::map<std::string, KubeconfigCluster> clusters;
  std::map<std::string, KubeconfigUser> users;
};

// Parses a kubeconfig's YAML (or JSON). Errors are BadRequest naming the file and the entry.
util::Result<Kubeconfig> parseKubeconfig(std::string_view text, const std::string& path);

// The settings one context selects across `files` (in $KUBECONFIG order). nullopt when no context
// is selected (no --context and no current-context); NotFound when the named context, or the
// cluster it names, is defined nowhere.
struct KubeconfigSelection {
  std::string file;  // the file that defined the context
  std::string context;
  KubeconfigCluster cluster;
  KubeconfigUser user;  // empty when the context names no user, or one defined nowhere
  std::string namespace_;
};
util::Result<std::optional<KubeconfigSelection>> selectContext(const std::vector<Kubeconfig>& files,
                                                               const std::string& context);

// What magnumctl was given: flags (nullopt or empty: not given) and environment variables.
struct ConnectionInputs {
  std::optional<std::string> server_flag, token_flag, namespace_flag;
  std::string ca_file_flag;
  bool insecure_flag = false;
  std::string kubeconfig_flag;  // --kubeconfig
  std::string context_flag;     // --context
  std::optional<std::string> url_env, token_env, namespace_env, kubeconfig_env;
};

struct Connection {
  std::string server{kDefaultServer};
  std::string token;
  std::string namespace_ = "default";
  std::string ca_file;
  std::string ca_pem;
  bool insecure = false;
  std::string kubeconfig;  // "FILE (context NAME)" the settings came from; empty: none used
};

// Resolves the connection as the header comment says, reading the kubeconfig files (and a
// tokenFile) it needs. Errors name the file, the context or the flag.
util::Result<Connection> resolveConnection(const ConnectionInputs& inputs);

}  // namespace magnumd::cli
