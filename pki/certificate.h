// Certificates in and out of PEM, and what operators and kubeadm need to know about them:
// fingerprint, validity, subject, the caCertHashes pin, and whether a chain verifies.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/openssl_ptr.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::pki {

// What a leaf certificate may be used for (extendedKeyUsage).
enum class ExtendedKeyUsage { ServerAuth, ClientAuth, ServerAndClientAuth };

// The first certificate of `pem`.
util::Result<X509Ptr> parseCertificatePem(std::string_view pem);
// Every certificate of a PEM bundle, in order (a ca.crt during CA rotation holds two). Text
// between blocks and blocks of other types are skipped, as Go's pem.Decode does; a bundle without
// a certificate, or a CERTIFICATE block that does not parse, is an error naming which one.
util::Result<std::vector<X509Ptr>> parseCertificateBundlePem(std::string_view pem);
util::Result<std::string> certificateToPem(X509& cert);

struct CertificateInfo {
  std::string subject;  // RFC 2253: "CN=admin,O=system:masters"
  std::string issuer;
  std::string common_name;
  std::vector<std::string> organizations;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  util::SystemTime not_before;
  util::SystemTime not_after;
  std::string serial;              // lowercase hex
  std::string sha256_fingerprint;  // "AB:CD:...", as `openssl x509 -fingerprint -sha256`
  bool is_ca = false;
};

util::Result<CertificateInfo> inspectCertificate(std::string_view pem);

// kubeadm's discovery pin: "sha256:" + lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
util::Result<std::string> caCertHash(std::string_view ca_pem);
std::string caCertHash(X509& ca);
// The pin of every certificate of a bundle (a CA rotation's trust bundle), in order.
util::Result<std::vector<std::string>> caCertHashes(std::string_view bundle_pem);

// Verifies `leaf_pem` against the single trusted `ca_pem` at time `at` (X509_verify_cert), and if
// `purpose` is set that the leaf may be used for it. The error names OpenSSL's reason.
util::Status verifyChain(std::string_view leaf_pem, std::string_view ca_pem, util::SystemTime at,
                         std::optional<ExtendedKeyUsage> purpose = std::nullopt);

}  // namespace magnumd::pki
