// Signing certificate signing requests from users (POST .../clusters/{name}/certificates, the
// seed's `ca sign`): only client certificates, only for sound keys, with bounded validity.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/ca.h"
#include "pki/openssl_ptr.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::pki {

// A PKCS#10 request with an RSA-8192 key is under 4 KiB of PEM.
inline constexpr size_t kMaxCsrBytes = 16 * 1024;

struct SigningPolicy {
  // O=system:masters bypasses RBAC in Kubernetes; only administrators may obtain it.
  bool allow_system_masters = false;
  // Validity of what is issued; at most kDefaultLeafValidity (one year), and never past the CA.
  std::chrono::seconds validity = kDefaultLeafValidity;
  std::optional<util::SystemTime> now;  // default: the system clock
};

struct CertificateRequest {
  std::string common_name;                 // the user name Kubernetes will see
  std::vector<std::string> organizations;  // its groups
  std::string key;                         // "ECDSA P-256", "RSA 2048 bits"
  EvpPkeyPtr public_key;
};

// A PEM CSR for `key` with subject CN + O, signed with it: what a client (magnumctl, or magnumd
// for its own identity) sends to be signed.
util::Result<std::string> makeCertificateRequest(EVP_PKEY& key, std::string_view common_name,
                                                 const std::vector<std::string>& organizations);

// Parses and checks a PEM CSR: at most kMaxCsrBytes; an ECDSA P-256/P-384 key or RSA of
// 2048-8192 bits; a self-signature that verifies; exactly one non-empty CN. Errors: BadRequest
// when it is not a CSR at all, Invalid when the CSR is unacceptable.
util::Result<CertificateRequest> parseCertificateRequest(std::string_view pem);

// Parses, checks and signs as a clientAuth-only certificate with subject CN + O taken from the
// CSR (nothing else is copied: requested extensions such as SANs or CA:TRUE are ignored).
// O=system:masters without `policy.allow_system_masters` is Forbidden.
util::Result<std::string> signClientCsr(const CertificateAuthority& ca, std::string_view csr_pem,
                                        const SigningPolicy& policy);
// The same for a request parseCertificateRequest() already accepted, so a caller can judge its
// subject first without parsing (and verifying) it twice.
util::Result<std::string> signClientRequest(const CertificateAuthority& ca,
                                            const CertificateRequest& request,
                                            const SigningPolicy& policy);

}  // namespace magnumd::pki
