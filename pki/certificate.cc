#include "pki/certificate.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>

#include "pki/encoding.h"
#include "pki/key.h"
#include "pki/openssl_error.h"
#include "pki/x509_builder.h"

namespace magnumd::pki {
namespace {

using util::ErrorCode;

std::string nameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    clearOpensslErrors();
    return {};
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

void readSubjectAltNames(X509& cert, CertificateInfo& info) {
  std::unique_ptr<GENERAL_NAMES, OpensslDeleter<GENERAL_NAMES_free>> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                  static_cast<size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      int length = ASN1_STRING_length(ip);
      char text[INET6_ADDRSTRLEN] = {};
      int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : 0;
      if (family != 0 && inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text)) {
        info.ip_addresses.emplace_back(text);
      }
    }
  }
}

}  // namespace

util::Result<X509Ptr> parseCertificatePem(std::string_view pem) {
  clearOpensslErrors();
  if (pem.size() > kMaxPemBytes) {
    return util::makeError(ErrorCode::TooLarge, "certificate: " + std::to_string(pem.size()) +
                                                    " bytes of PEM; at most " +
                                                    std::to_string(kMaxPemBytes) + " are read");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return opensslError(ErrorCode::BadRequest, "certificate: not a PEM certificate");
  return cert;
}

util::Result<std::vector<X509Ptr>> parseCertificateBundlePem(std::string_view pem) {
  clearOpensslErrors();
  if (pem.size() > kMaxPemBytes) {
    return util::makeError(ErrorCode::TooLarge,
                           "certificate bundle: " + std::to_string(pem.size()) +
                               " bytes of PEM; at most " + std::to_string(kMaxPemBytes) +
                               " are read");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return opensslError(ErrorCode::Internal, "certificate bundle: reading PEM");
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  // The loop ends at the end of the text (no further BEGIN line) or at a block that is broken.
  unsigned long last = ERR_peek_last_error();
  if (last == 0 ||
      (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    clearOpensslErrors();
    if (certs.empty()) {
      return util::makeError(ErrorCode::BadRequest, "certificate bundle: no PEM certificate");
    }
    return certs;
  }
  return opensslError(ErrorCode::BadRequest, "certificate bundle: certificate " +
                                                 std::to_string(certs.size() + 1) +
                                                 " is not a valid PEM certificate");
}

util::Result<std::string> certificateToPem(X509& cert) {
  clearOpensslErrors();
  BioPtr bio(BIO_new(BIO_s_mem()));
  char* data = nullptr;
  long size = 0;
  if (!bio || PEM_write_bio_X509(bio.get(), &cert) != 1 ||
      (size = BIO_get_mem_data(bio.get(), &data)) <= 0) {
    return opensslError(ErrorCode::Internal, "encoding a certificate as PEM");
  }
  return std::string(data, static_cast<size_t>(size));
}

util::Result<CertificateInfo> inspectCertificate(std::string_view pem) {
  ASSIGN_OR_RETURN(X509Ptr cert, parseCertificatePem(pem));
  CertificateInfo info;
  info.subject = nameToString(X509_get_subject_name(cert.get()));
  info.issuer = nameToString(X509_get_issuer_name(cert.get()));
  auto common_names = nameEntries(X509_get_subject_name(cert.get()), NID_commonName);
  if (!common_names.empty()) info.common_name = common_names.front();
  info.organizations = nameEntries(X509_get_subject_name(cert.get()), NID_organizationName);
  readSubjectAltNames(*cert, info);
  info.not_before = toSystemTime(*X509_get0_notBefore(cert.get()));
  info.not_after = toSystemTime(*X509_get0_notAfter(cert.get()));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  info.serial =
      hexLower({ASN1_STRING_get0_data(serial), static_cast<size_t>(ASN1_STRING_length(serial))});
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest.data(), &length) != 1) {
    return opensslError(ErrorCode::Internal, "computing a certificate fingerprint");
  }
  info.sha256_fingerprint = hexColonUpper({digest.data(), length});
  info.is_ca = X509_check_ca(cert.get()) != 0;
  return info;
}

std::string caCertHash(X509& ca) {
  unsigned char* der = nullptr;
  int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(&ca), &der);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(der, length > 0 ? static_cast<size_t>(length) : 0, digest.data());
  OPENSSL_free(der);
  return "sha256:" + hexLower(digest);
}

util::Result<std::string> caCertHash(std::string_view ca_pem) {
  ASSIGN_OR_RETURN(X509Ptr ca, parseCertificatePem(ca_pem));
  return caCertHash(*ca);
}

util::Result<std::vector<std::string>> caCertHashes(std::string_view bundle_pem) {
  ASSIGN_OR_RETURN(auto certs, parseCertificateBundlePem(bundle_pem));
  std::vector<std::string> out;
  for (auto& cert : certs) out.push_back(caCertHash(*cert));
  return out;
}

util::Status verifyChain(std::string_view leaf_pem, std::string_view ca_pem, util::SystemTime at,
                         std::optional<ExtendedKeyUsage> purpose) {
  ASSIGN_OR_RETURN(X509Ptr leaf, parseCertificatePem(leaf_pem));
  ASSIGN_OR_RETURN(X509Ptr ca, parseCertificatePem(ca_pem));
  X509StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_add_cert(store.get(), ca.get()) != 1) {
    return opensslError(ErrorCode::Internal, "setting up chain verification");
  }
  // A store context verifies once; each purpose gets its own. 0 checks the chain only.
  std::vector<int> purposes;
  if (purpose == ExtendedKeyUsage::ServerAuth || purpose == ExtendedKeyUsage::ServerAndClientAuth) {
    purposes.push_back(X509_PURPOSE_SSL_SERVER);
  }
  if (purpose == ExtendedKeyUsage::ClientAuth || purpose == ExtendedKeyUsage::ServerAndClientAuth) {
    purposes.push_back(X509_PURPOSE_SSL_CLIENT);
  }
  if (purposes.empty()) purposes.push_back(0);
  for (int p : purposes) {
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) != 1) {
      return opensslError(ErrorCode::Internal, "setting up chain verification");
    }
    X509_STORE_CTX_set_time(ctx.get(), 0, std::chrono::system_clock::to_time_t(at));
    if (p != 0) X509_STORE_CTX_set_purpose(ctx.get(), p);
    bool verified = X509_verify_cert(ctx.get()) == 1;
    int result = X509_STORE_CTX_get_error(ctx.get());
    clearOpensslErrors();
    if (!verified) {
      return util::makeError(
          ErrorCode::Invalid,
          std::string("certificate chain does not verify: ") +
              X509_verify_cert_error_string(result != X509_V_OK ? result : X509_V_ERR_UNSPECIFIED));
    }
  }
  return {};
}

}  // namespace magnumd::pki
