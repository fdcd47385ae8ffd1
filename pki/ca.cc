#include "pki/ca.h"

#include <openssl/x509v3.h>

#include "pki/certificate.h"
#include "pki/openssl_error.h"
#include "pki/x509_builder.h"

namespace magnumd::pki {
namespace {

using util::ErrorCode;

util::Status checkValidity(std::chrono::seconds validity, std::string_view what) {
  if (validity <= std::chrono::seconds::zero() || validity > kMaxValidity) {
    return util::makeError(ErrorCode::Invalid, std::string(what) + ": validity of " +
                                                   std::to_string(validity.count()) +
                                                   "s must be more than 0 and at most 100 years");
  }
  return {};
}

}  // namespace

util::Result<CertificateAuthority> makeCertificateAuthority(std::string_view common_name,
                                                            const CaOptions& options) {
  RETURN_IF_ERROR(checkValidity(options.validity, "CA " + std::string(common_name)));
  ASSIGN_OR_RETURN(X509NamePtr subject, makeSubject(common_name, {}, "CA"));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, generateKey(options.algorithm));
  util::SystemTime now = options.now.value_or(std::chrono::system_clock::now());
  ASSIGN_OR_RETURN(X509Ptr cert, newCertificate(now - kClockSkewAllowance, now + options.validity));
  if (X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(), subject.get()) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return opensslError(ErrorCode::Internal, "building CA " + std::string(common_name));
  }
  RETURN_IF_ERROR(addExtension(*cert, *cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  RETURN_IF_ERROR(
      addExtension(*cert, *cert, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(addExtension(*cert, *cert, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(signWith(*cert, *key));
  CertificateAuthority ca;
  ASSIGN_OR_RETURN(ca.cert_pem, certificateToPem(*cert));
  ASSIGN_OR_RETURN(ca.key_pem, privateKeyToPem(*key));
  return ca;
}

util::Result<LoadedCa> loadCertificateAuthority(const CertificateAuthority& ca) {
  ASSIGN_OR_RETURN(X509Ptr cert, parseCertificatePem(ca.cert_pem));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, parsePrivateKeyPem(ca.key_pem));
  if (X509_check_ca(cert.get()) == 0) {
    return util::makeError(ErrorCode::Invalid, "CA: the certificate is not a CA (no CA:TRUE)");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    clearOpensslErrors();
    return util::makeError(ErrorCode::Invalid,
                           "CA: the private key does not belong to the certificate");
  }
  return LoadedCa{std::move(cert), std::move(key)};
}

util::Result<ClusterPki> makeClusterPki(const CaOptions& options) {
  ClusterPki pki;
  ASSIGN_OR_RETURN(pki.cluster_ca, makeCertificateAuthority("kubernetes", options));
  ASSIGN_OR_RETURN(pki.etcd_ca, makeCertificateAuthority("etcd-ca", options));
  ASSIGN_OR_RETURN(pki.front_proxy_ca, makeCertificateAuthority("front-proxy-ca", options));
  ASSIGN_OR_RETURN(EvpPkeyPtr sa_key, generateKey(options.algorithm));
  ASSIGN_OR_RETURN(pki.service_account.private_key_pem, privateKeyToPem(*sa_key));
  ASSIGN_OR_RETURN(pki.service_account.public_key_pem, publicKeyToPem(*sa_key));
  return pki;
}

}  // namespace magnumd::pki
