// Certificate authorities the way kubeadm lays them out: cluster CA (CN kubernetes), etcd CA
// (CN etcd-ca), front-proxy CA (CN front-proxy-ca), and the service-account signing key pair.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "pki/key.h"
#include "pki/openssl_ptr.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::pki {

// kubeadm v1beta4 defaults: caCertificateValidityPeriod 87600h, certificateValidityPeriod 8760h.
inline constexpr std::chrono::hours kDefaultCaValidity{87600};
inline constexpr std::chrono::hours kDefaultLeafValidity{8760};
inline constexpr std::chrono::hours kMaxValidity{24 * 365 * 100};
// NotBefore is set this far in the past (as Cluster API does) so a node whose clock runs a little
// behind still accepts a certificate issued a moment ago.
inline constexpr std::chrono::minutes kClockSkewAllowance{5};

// PEM pair. `key_pem` is the plaintext PKCS#8 key: wrap it before it is stored.
struct CertificateAuthority {
  std::string cert_pem;
  std::string key_pem;
};

struct CaOptions {
  KeyAlgorithm algorithm = KeyAlgorithm::EcdsaP256;
  std::chrono::seconds validity = kDefaultCaValidity;
  std::optional<util::SystemTime> now;  // default: the system clock
};

// Self-signed: basicConstraints critical CA:TRUE pathlen:0; keyUsage critical digitalSignature,
// keyCertSign, cRLSign; subjectKeyIdentifier; random 128-bit serial.
util::Result<CertificateAuthority> makeCertificateAuthority(std::string_view common_name,
                                                            const CaOptions& options = {});

// A CA parsed for signing: the certificate is a CA and the key is its key.
struct LoadedCa {
  X509Ptr cert;
  EvpPkeyPtr key;
};
util::Result<LoadedCa> loadCertificateAuthority(const CertificateAuthority& ca);

struct KeyPair {
  std::string private_key_pem;  // PKCS#8; wrap before storing
  std::string public_key_pem;   // SubjectPublicKeyInfo
};

// Everything kubeadm init needs to find in /etc/kubernetes/pki so that it creates no CA itself.
struct ClusterPki {
  CertificateAuthority cluster_ca;      // ca.crt / ca.key
  CertificateAuthority etcd_ca;         // etcd/ca.crt / etcd/ca.key
  CertificateAuthority front_proxy_ca;  // front-proxy-ca.crt / front-proxy-ca.key
  KeyPair service_account;              // sa.key / sa.pub
};

// Four keys of `options.algorithm` (an RSA-2048 set costs about a hundred times a P-256 set).
util::Result<ClusterPki> makeClusterPki(const CaOptions& options = {});

}  // namespace magnumd::pki
