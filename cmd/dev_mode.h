// --dev conveniences: a generated admin token kept in DATA_DIR/admin.token (mode 0600), a CA and
// a serving certificate for HTTPS on loopback, and DATA_DIR/kubeconfig for kubectl and magnumctl.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"
#include "util/time.h"

namespace magnumd::cmd {

struct DevToken {
  std::string path;
  std::string token;
  bool created = false;
};

// Reads DATA_DIR/admin.token, or creates it with 32 random bytes (hex) and mode 0600.
util::Result<DevToken> ensureAdminToken(const std::string& data_dir);

struct DevTls {
  std::string ca_path;    // DATA_DIR/ca.crt
  std::string cert_path;  // DATA_DIR/tls.crt
  std::string key_path;   // DATA_DIR/tls.key
  std::string ca_pem;
  bool ca_created = false;
  bool cert_issued = false;
};

// The certificate authority DATA_DIR/ca.crt + ca.key, made once and kept, and the serving
// certificate DATA_DIR/tls.crt + tls.key it signs for `hosts` (IP addresses and DNS names). The
// serving certificate is issued again (the CA stays) when it is missing, does not verify against
// the CA, does not match its key, lacks one of `hosts`, or expires within 30 days of `now`. Keys
// are mode 0600 from their creation. Errors name the file; a CA half without the other is one.
util::Result<DevTls> ensureDevTls(const std::string& data_dir,
                                  const std::vector<std::string>& hosts, util::SystemTime now);

// Writes DATA_DIR/kubeconfig (mode 0600: it holds the admin token): cluster "magnumd-dev" at
// `server` (with `ca_pem` inline when set), user "admin" with the token, and the current context
// "magnumd-dev" in namespace demo. Returns the path.
util::Result<std::string> writeDevKubeconfig(const std::string& data_dir, const std::string& server,
                                             const std::string& ca_pem, const std::string& token);

struct DevEndpoint {
  std::string url;         // https://127.0.0.1:9511
  std::string kubeconfig;  // DATA_DIR/kubeconfig
  std::string ca_path;     // empty: plain HTTP (--dev-plain-http) or the operator's own certificate
};

// The lines printed at start-up: how to use the kubeconfig with kubectl and magnumctl, and the
// token with curl.
std::string devInstructions(const DevToken& token, const DevEndpoint& endpoint);

}  // namespace magnumd::cmd
