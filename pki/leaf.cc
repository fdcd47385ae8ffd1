#include "pki/leaf.h"

#include <openssl/x509v3.h>

#include <algorithm>

#include "pki/openssl_error.h"
#include "pki/x509_builder.h"

namespace magnumd::pki {
namespace {

using util::ErrorCode;

const char* extendedKeyUsageValue(ExtendedKeyUsage usage) {
  switch (usage) {
    case ExtendedKeyUsage::ServerAuth:
      return "serverAuth";
    case ExtendedKeyUsage::ClientAuth:
      return "clientAuth";
    case ExtendedKeyUsage::ServerAndClientAuth:
      return "serverAuth,clientAuth";
  }
  return "clientAuth";
}

}  // namespace

util::Result<std::string> signLeaf(const LoadedCa& ca, const LeafSpec& spec,
                                   EVP_PKEY& subject_key) {
  if (spec.validity <= std::chrono::seconds::zero() || spec.validity > kMaxValidity) {
    return util::makeError(ErrorCode::Invalid, "certificate: validity of " +
                                                   std::to_string(spec.validity.count()) +
                                                   "s must be more than 0 and at most 100 years");
  }
  if (spec.usage != ExtendedKeyUsage::ClientAuth && spec.dns_names.empty() &&
      spec.ip_addresses.empty()) {
    return util::makeError(ErrorCode::Invalid,
                           "certificate " + spec.common_name +
                               ": a serving certificate needs at least one DNS name or IP address");
  }
  ASSIGN_OR_RETURN(X509NamePtr subject,
                   makeSubject(spec.common_name, spec.organizations, "certificate"));
  util::SystemTime now = spec.now.value_or(std::chrono::system_clock::now());
  util::SystemTime ca_not_before = toSystemTime(*X509_get0_notBefore(ca.cert.get()));
  util::SystemTime ca_not_after = toSystemTime(*X509_get0_notAfter(ca.cert.get()));
  if (now >= ca_not_after) {
    return util::makeError(ErrorCode::Invalid, "certificate: the CA expired at " +
                                                   util::formatRfc3339(ca_not_after) +
                                                   "; rotate the CA before signing");
  }
  util::SystemTime not_before = std::max(now - kClockSkewAllowance, ca_not_before);
  util::SystemTime not_after = std::min(now + spec.validity, ca_not_after);
  ASSIGN_OR_RETURN(X509Ptr cert, newCertificate(not_before, not_after));
  if (X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get())) != 1 ||
      X509_set_pubkey(cert.get(), &subject_key) != 1) {
    return opensslError(ErrorCode::Internal, "building a certificate for " + spec.common_name);
  }
  // RSA key exchange in TLS 1.2 needs keyEncipherment; ECDSA keys only sign.
  bool rsa = EVP_PKEY_get_base_id(&subject_key) == EVP_PKEY_RSA;
  RETURN_IF_ERROR(addExtension(*cert, *ca.cert, NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(addExtension(
      *cert, *ca.cert, NID_key_usage,
      rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"));
  RETURN_IF_ERROR(
      addExtension(*cert, *ca.cert, NID_ext_key_usage, extendedKeyUsageValue(spec.usage)));
  RETURN_IF_ERROR(addExtension(*cert, *ca.cert, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(addExtension(*cert, *ca.cert, NID_authority_key_identifier, "keyid:always"));
  RETURN_IF_ERROR(addSubjectAltNames(*cert, spec.dns_names, spec.ip_addresses));
  RETURN_IF_ERROR(signWith(*cert, *ca.key));
  return certificateToPem(*cert);
}

util::Result<std::string> signLeaf(const CertificateAuthority& ca, const LeafSpec& spec,
                                   EVP_PKEY& subject_key) {
  ASSIGN_OR_RETURN(LoadedCa loaded, loadCertificateAuthority(ca));
  return signLeaf(loaded, spec, subject_key);
}

util::Result<IssuedCertificate> issueLeaf(const CertificateAuthority& ca, const LeafSpec& spec,
                                          KeyAlgorithm algorithm) {
  ASSIGN_OR_RETURN(LoadedCa loaded, loadCertificateAuthority(ca));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, generateKey(algorithm));
  IssuedCertificate issued;
  ASSIGN_OR_RETURN(issued.cert_pem, signLeaf(loaded, spec, *key));
  ASSIGN_OR_RETURN(issued.key_pem, privateKeyToPem(*key));
  return issued;
}

}  // namespace magnumd::pki
