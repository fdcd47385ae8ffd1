#include "cmd/dev_mode.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "pki/ca.h"
#include "pki/certificate.h"
#include "pki/key.h"
#include "pki/leaf.h"
#include "server/kubeconfig.h"
#include "util/file.h"
#include "util/log.h"

namespace magnumd::cmd {

using util::ErrorCode;
using util::makeError;

namespace {

util::Result<std::string> randomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return makeError(ErrorCode::Internal, "cannot generate a random token (RAND_bytes failed)");
  }
  std::string hex;
  for (unsigned char c : raw) hex += fmt::format("{:02x}", c);
  return hex;
}

constexpr std::chrono::hours kRenewBefore{24 * 30};

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

util::Result<std::string> readPem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return makeError(ErrorCode::Unavailable,
                     fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > pki::kMaxPemBytes) {
    return makeError(ErrorCode::BadRequest, fmt::format("{}: larger than a PEM file can be", path));
  }
  return text.str();
}

// The canonical text of an IP address ("::1" for "0:0:0:0:0:0:0:1"), or nullopt for a name.
std::optional<std::string> canonicalIp(const std::string& text) {
  unsigned char raw[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (::inet_pton(family, text.c_str(), raw) == 1 &&
        ::inet_ntop(family, raw, out, sizeof(out)) != nullptr) {
      return std::string(out);
    }
  }
  return std::nullopt;
}

// The CA at DATA_DIR/ca.crt + ca.key: loaded, or made when neither exists. The certificate is
// written first, so an interrupted creation leaves a lone certificate (replaced next time), never
// a lone key.
util::Result<pki::CertificateAuthority> ensureCa(const std::string& data_dir, DevTls& out,
                                                 util::SystemTime now) {
  const std::string key_path = data_dir + "/ca.key";
  pki::CertificateAuthority ca;
  if (exists(key_path)) {
    if (!exists(out.ca_path)) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("{} exists without {}: restore the certificate, or delete the "
                                   "key to have a new CA made",
                                   key_path, out.ca_path));
    }
    ASSIGN_OR_RETURN(ca.cert_pem, readPem(out.ca_path));
    ASSIGN_OR_RETURN(ca.key_pem, readPem(key_path));
    if (auto loaded = pki::loadCertificateAuthority(ca); !loaded.ok()) {
      return makeError(loaded.error().code,
                       fmt::format("{} and {}: {}; delete both to have a new CA made (clients then "
                                   "need the new {}/kubeconfig)",
                                   out.ca_path, key_path, loaded.error().message, data_dir));
    }
    return ca;
  }
  pki::CaOptions options;
  options.now = now;
  ASSIGN_OR_RETURN(ca, pki::makeCertificateAuthority("magnumd-dev-ca", options));
  RETURN_IF_ERROR(util::writeSecretFile(out.ca_path, ca.cert_pem));
  RETURN_IF_ERROR(util::writeSecretFile(key_path, ca.key_pem, util::SecretFileMode::CreateOnly));
  out.ca_created = true;
  return ca;
}

bool servingCertificateFits(const DevTls& tls, const std::vector<std::string>& hosts,
                            util::SystemTime now) {
  if (!exists(tls.cert_path) || !exists(tls.key_path)) return false;
  auto cert_pem = readPem(tls.cert_path);
  auto key_pem = readPem(tls.key_path);
  if (!cert_pem.ok() || !key_pem.ok()) return false;
  if (!pki::verifyChain(*cert_pem, tls.ca_pem, now, pki::ExtendedKeyUsage::ServerAuth).ok()) {
    return false;
  }
  auto info = pki::inspectCertificate(*cert_pem);
  if (!info.ok() || info->not_after - now < kRenewBefore) return false;
  for (const auto& host : hosts) {
    auto ip = canonicalIp(host);
    const auto& names = info->dns_names;
    bool covered = ip ? std::any_of(info->ip_addresses.begin(), info->ip_addresses.end(),
                                    [&](const std::string& a) { return canonicalIp(a) == ip; })
                      : std::find(names.begin(), names.end(), host) != names.end();
    if (!covered) return false;
  }
  auto cert = pki::parseCertificatePem(*cert_pem);
  auto key = pki::parsePrivateKeyPem(*key_pem);
  return cert.ok() && key.ok() && X509_check_private_key(cert->get(), key->get()) == 1;
}

}  // namespace

util::Result<DevTls> ensureDevTls(const std::string& data_dir,
                                  const std::vector<std::string>& hosts, util::SystemTime now) {
  DevTls out;
  out.ca_path = data_dir + "/ca.crt";
  out.cert_path = data_dir + "/tls.crt";
  out.key_path = data_dir + "/tls.key";
  ASSIGN_OR_RETURN(pki::CertificateAuthority ca, ensureCa(data_dir, out, now));
  out.ca_pem = ca.cert_pem;
  if (servingCertificateFits(out, hosts, now)) return out;
  pki::LeafSpec spec;
  spec.common_name = "magnumd";
  spec.usage = pki::ExtendedKeyUsage::ServerAuth;
  spec.now = now;
  for (const auto& host : hosts) {
    if (auto ip = canonicalIp(host)) {
      spec.ip_addresses.push_back(*ip);
    } else {
      spec.dns_names.push_back(host);
    }
  }
  ASSIGN_OR_RETURN(pki::IssuedCertificate leaf, pki::issueLeaf(ca, spec));
  // Key first: an interruption leaves a certificate that does not match, issued again next time.
  RETURN_IF_ERROR(util::writeSecretFile(out.key_path, leaf.key_pem));
  RETURN_IF_ERROR(util::writeSecretFile(out.cert_path, leaf.cert_pem));
  out.cert_issued = true;
  return out;
}

util::Result<std::string> writeDevKubeconfig(const std::string& data_dir, const std::string& server,
                                             const std::string& ca_pem, const std::string& token) {
  server::KubeconfigParams params;
  params.cluster_name = "magnumd-dev";
  params.server = server;
  params.ca_pem = ca_pem;
  params.user = "admin";
  params.token = token;
  params.context = "magnumd-dev";
  params.namespace_ = "demo";
  std::string path = data_dir + "/kubeconfig";
  RETURN_IF_ERROR(util::writeSecretFile(path, server::renderKubeconfig(params)));
  return path;
}

util::Result<DevToken> ensureAdminToken(const std::string& data_dir) {
  DevToken out;
  out.path = data_dir + "/admin.token";
  if (::access(out.path.c_str(), F_OK) == 0) {
    std::ifstream existing(out.path);
    if (!existing) {
      return makeError(ErrorCode::Unavailable,
                       fmt::format("cannot read {}: {}", out.path, std::strerror(errno)));
    }
    std::stringstream text;
    text << existing.rdbuf();
    out.token = text.str();
    while (!out.token.empty() && std::isspace(static_cast<unsigned char>(out.token.back()))) {
      out.token.pop_back();
    }
    if (out.token.size() < 16) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("{}: holds no usable token (fewer than 16 characters); delete "
                                   "it to have a new one generated",
                                   out.path));
    }
    struct stat st {};
    if (::stat(out.path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      LOG_WARN("magnumd", "{} is readable by other users (mode {:o}); chmod 600 it",
               out.path, st.st_mode & 0777);
    }
    return out;
  }
  ASSIGN_OR_RETURN(out.token, randomHex(32));
  RETURN_IF_ERROR(util::writeSecretFile(out.path, out.token + "\n"));
  out.created = true;
  return out;
}

std::string devInstructions(const DevToken& token, const DevEndpoint& endpoint) {
  if (endpoint.ca_path.empty()) {
    return fmt::format(
        "development mode: an admin token is in {path}{created}\n"
        "  export MAGNUMD_URL={url}\n"
        "  export MAGNUMD_TOKEN=$(cat {path})\n"
        "  magnumctl get clusters -A\n"
        "  curl -H \"Authorization: Bearer $MAGNUMD_TOKEN\" "
        "$MAGNUMD_URL/apis/container-infra/v1/clusters\n"
        "  export KUBECONFIG={kubeconfig}   # the same for magnumctl{kubectl}\n",
        fmt::arg("path", token.path), fmt::arg("created", token.created ? " (new)" : ""),
        fmt::arg("url", endpoint.url), fmt::arg("kubeconfig", endpoint.kubeconfig),
        fmt::arg("kubectl", endpoint.url.rfind("https:", 0) == 0
                                ? " and kubectl"
                                : "; kubectl sends tokens only over HTTPS"));
  }
  return fmt::format(
      "development mode: the API is {url} (HTTPS, CA {ca}); {kubeconfig} points kubectl and "
      "magnumctl at it as admin, in namespace demo\n"
      "  export KUBECONFIG={kubeconfig}\n"
      "  kubectl get clusters -A\n"
      "  magnumctl get clusters -A\n"
      "  export MAGNUMD_TOKEN=$(cat {path})   # the admin token{created}, for curl\n"
      "  curl --cacert {ca} -H \"Authorization: Bearer $MAGNUMD_TOKEN\" "
      "{url}/apis/container-infra/v1/clusters\n",
      fmt::arg("path", token.path), fmt::arg("created", token.created ? " (new)" : ""),
      fmt::arg("url", endpoint.url), fmt::arg("kubeconfig", endpoint.kubeconfig),
      fmt::arg("ca", endpoint.ca_path));
}

}  // namespace magnumd::cmd
