#include "pki/csr.h"

#include <openssl/pem.h>

#include <algorithm>

#include "pki/key.h"
#include "pki/leaf.h"
#include "pki/openssl_error.h"
#include "pki/x509_builder.h"

namespace magnumd::pki {
namespace {

using util::ErrorCode;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;  // verification cost grows with the cube of the size
constexpr const char* kAcceptedKeys = "ECDSA P-256, ECDSA P-384, or RSA of 2048-8192 bits";
constexpr std::string_view kSystemMasters = "system:masters";

util::Status checkKey(EVP_PKEY& key) {
  std::string description = describeKey(key);
  switch (EVP_PKEY_get_base_id(&key)) {
    case EVP_PKEY_RSA: {
      int bits = EVP_PKEY_get_bits(&key);
      if (bits < kMinRsaBits) {
        return util::makeError(ErrorCode::Invalid,
                               "CSR: RSA key of " + std::to_string(bits) + " bits; at least " +
                                   std::to_string(kMinRsaBits) + " are required");
      }
      if (bits > kMaxRsaBits) {
        return util::makeError(ErrorCode::Invalid,
                               "CSR: RSA key of " + std::to_string(bits) + " bits; at most " +
                                   std::to_string(kMaxRsaBits) + " are accepted");
      }
      return {};
    }
    case EVP_PKEY_EC:
      if (description == "ECDSA P-256" || description == "ECDSA P-384") return {};
      break;
    default:
      break;
  }
  return util::makeError(ErrorCode::Invalid,
                         "CSR: " + description + " key; accepted are " + kAcceptedKeys);
}

util::Status checkPolicy(const SigningPolicy& policy) {
  if (policy.validity <= std::chrono::seconds::zero() || policy.validity > kDefaultLeafValidity) {
    return util::makeError(ErrorCode::Invalid,
                           "signing policy: validity of " +
                               std::to_string(policy.validity.count()) +
                               "s must be more than 0 and at most one year (8760h)");
  }
  return {};
}

}  // namespace

util::Result<std::string> makeCertificateRequest(EVP_PKEY& key, std::string_view common_name,
                                                 const std::vector<std::string>& organizations) {
  clearOpensslErrors();
  ASSIGN_OR_RETURN(X509NamePtr subject, makeSubject(common_name, organizations, "CSR"));
  X509ReqPtr request(X509_REQ_new());
  BioPtr bio(BIO_new(BIO_s_mem()));
  char* data = nullptr;
  long size = 0;
  if (!request || !bio || X509_REQ_set_version(request.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(request.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(request.get(), &key) != 1 ||
      X509_REQ_sign(request.get(), &key, EVP_sha256()) <= 0 ||
      PEM_write_bio_X509_REQ(bio.get(), request.get()) != 1 ||
      (size = BIO_get_mem_data(bio.get(), &data)) <= 0) {
    return opensslError(ErrorCode::Internal, "making a certificate request");
  }
  return std::string(data, static_cast<size_t>(size));
}

util::Result<CertificateRequest> parseCertificateRequest(std::string_view pem) {
  clearOpensslErrors();
  if (pem.size() > kMaxCsrBytes) {
    return util::makeError(ErrorCode::BadRequest,
                           "CSR: " + std::to_string(pem.size()) + " bytes; at most " +
                               std::to_string(kMaxCsrBytes) + " are accepted");
  }
  if (pem.find("-----BEGIN ") == std::string_view::npos) {
    return util::makeError(ErrorCode::BadRequest,
                           "CSR: not PEM (expected -----BEGIN CERTIFICATE REQUEST-----)");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509ReqPtr request(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!request) {
    return opensslError(ErrorCode::BadRequest, "CSR: not a PEM PKCS#10 certificate request");
  }
  CertificateRequest out;
  out.public_key.reset(X509_REQ_get_pubkey(request.get()));
  if (!out.public_key) return opensslError(ErrorCode::Invalid, "CSR: unreadable public key");
  // The key is judged before the signature, so no one makes us verify with a huge RSA key.
  RETURN_IF_ERROR(checkKey(*out.public_key));
  out.key = describeKey(*out.public_key);
  if (X509_REQ_verify(request.get(), out.public_key.get()) != 1) {
    clearOpensslErrors();
    return util::makeError(ErrorCode::Invalid, "CSR: signature does not verify");
  }
  const X509_NAME* subject = X509_REQ_get_subject_name(request.get());
  std::vector<std::string> common_names = nameEntries(subject, NID_commonName);
  if (common_names.size() != 1 || common_names.front().empty()) {
    return util::makeError(ErrorCode::Invalid,
                           "CSR: subject has " + std::to_string(common_names.size()) +
                               (common_names.size() == 1 ? " empty CN" : " CN values") +
                               "; exactly one non-empty CN (the user name) is required");
  }
  out.common_name = std::move(common_names.front());
  out.organizations = nameEntries(subject, NID_organizationName);
  return out;
}

util::Result<std::string> signClientCsr(const CertificateAuthority& ca, std::string_view csr_pem,
                                        const SigningPolicy& policy) {
  RETURN_IF_ERROR(checkPolicy(policy));
  ASSIGN_OR_RETURN(CertificateRequest request, parseCertificateRequest(csr_pem));
  return signClientRequest(ca, request, policy);
}

util::Result<std::string> signClientRequest(const CertificateAuthority& ca,
                                            const CertificateRequest& request,
                                            const SigningPolicy& policy) {
  RETURN_IF_ERROR(checkPolicy(policy));
  if (!request.public_key) {
    return util::makeError(ErrorCode::Invalid, "CSR: no public key to sign");
  }
  bool masters = std::find(request.organizations.begin(), request.organizations.end(),
                           kSystemMasters) != request.organizations.end();
  if (masters && !policy.allow_system_masters) {
    return util::makeError(ErrorCode::Forbidden,
                           "CSR: O=system:masters (unrestricted cluster-admin) is signed only "
                           "for administrators");
  }
  LeafSpec spec;
  spec.common_name = request.common_name;
  spec.organizations = request.organizations;
  spec.usage = ExtendedKeyUsage::ClientAuth;
  spec.validity = policy.validity;
  spec.now = policy.now;
  return signLeaf(ca, spec, *request.public_key);
}

}  // namespace magnumd::pki
