// Leaf certificates signed by a CA: the apiserver's serving certificate (serverAuth with DNS and IP
// SANs), client certificates for magnumd itself and for kubeconfigs (clientAuth, CN = user,
// O = groups), and etcd's server+client certificates.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pki/ca.h"
#include "pki/certificate.h"
#include "pki/key.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::pki {

struct LeafSpec {
  std::string common_name;                 // required; a user name for client certificates
  std::vector<std::string> organizations;  // groups, for client certificates
  ExtendedKeyUsage usage = ExtendedKeyUsage::ClientAuth;
  std::vector<std::string> dns_names;                    // subjectAltName, for serving certificates
  std::vector<std::string> ip_addresses;                 // IPv4 or IPv6 text
  std::chrono::seconds validity = kDefaultLeafValidity;  // cut to the CA's own notAfter
  std::optional<util::SystemTime> now;                   // default: the system clock
};

// Signs `subject_key`'s public half. basicConstraints CA:FALSE, keyUsage digitalSignature (plus
// keyEncipherment for RSA keys), extendedKeyUsage per `spec.usage`, subject and authority key
// identifiers. An expired CA is an error; a leaf never outlives its CA.
util::Result<std::string> signLeaf(const LoadedCa& ca, const LeafSpec& spec, EVP_PKEY& subject_key);
util::Result<std::string> signLeaf(const CertificateAuthority& ca, const LeafSpec& spec,
                                   EVP_PKEY& subject_key);

struct IssuedCertificate {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, plaintext
};

// Generates the leaf's key, then signs it.
util::Result<IssuedCertificate> issueLeaf(const CertificateAuthority& ca, const LeafSpec& spec,
                                          KeyAlgorithm algorithm = KeyAlgorithm::EcdsaP256);

}  // namespace magnumd::pki
