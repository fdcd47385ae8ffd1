#include "pki/x509_builder.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <memory>

#include "pki/openssl_error.h"

namespace magnumd::pki {
namespace {

using util::ErrorCode;

bool isPrintableUtf8(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) return false;
  }
  return true;
}

util::Status checkNameValue(std::string_view value, std::string_view what, std::string_view field) {
  if (value.empty()) {
    return util::makeError(ErrorCode::Invalid,
                           std::string(what) + ": subject " + std::string(field) + " is empty");
  }
  if (value.size() > kMaxNameLength || !isPrintableUtf8(value)) {
    return util::makeError(ErrorCode::Invalid,
                           std::string(what) + ": subject " + std::string(field) + " \"" +
                               std::string(value.substr(0, kMaxNameLength)) +
                               "\" must be 1-64 characters without control characters");
  }
  return {};
}

bool isDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '*' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

util::Result<X509Ptr> newCertificate(util::SystemTime not_before, util::SystemTime not_after) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return opensslError(ErrorCode::Internal, "allocating a certificate");
  }
  // 128 random bits with the top bit clear: positive, 16 bytes of DER, as CAPI and kubeadm do.
  std::array<unsigned char, 16> serial{};
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) {
    return opensslError(ErrorCode::Internal, "drawing a random serial number");
  }
  serial[0] &= 0x7F;
  serial[15] |= 0x01;  // never zero
  std::unique_ptr<BIGNUM, OpensslDeleter<BN_free>> bn(
      BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return opensslError(ErrorCode::Internal, "setting the serial number");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                    std::chrono::system_clock::to_time_t(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                    std::chrono::system_clock::to_time_t(not_after)) == nullptr) {
    return opensslError(ErrorCode::Internal, "setting the validity period");
  }
  return cert;
}

util::Result<X509NamePtr> makeSubject(std::string_view common_name,
                                      const std::vector<std::string>& organizations,
                                      std::string_view what) {
  RETURN_IF_ERROR(checkNameValue(common_name, what, "CN"));
  if (organizations.size() > kMaxOrganizations) {
    return util::makeError(ErrorCode::Invalid,
                           std::string(what) + ": " + std::to_string(organizations.size()) +
                               " subject O values; at most " + std::to_string(kMaxOrganizations) +
                               " are allowed");
  }
  X509NamePtr name(X509_NAME_new());
  if (!name) return opensslError(ErrorCode::Internal, "allocating a subject name");
  auto add = [&](const char* field, std::string_view value) {
    return X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  for (const auto& organization : organizations) {
    RETURN_IF_ERROR(checkNameValue(organization, what, "O"));
    if (!add("O", organization)) return opensslError(ErrorCode::Invalid, "subject O");
  }
  if (!add("CN", common_name)) return opensslError(ErrorCode::Invalid, "subject CN");
  return name;
}

util::Status addExtension(X509& cert, X509& issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, &issuer, &cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  bool added = ext != nullptr && X509_add_ext(&cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  if (!added) {
    return opensslError(ErrorCode::Internal,
                        std::string("adding extension ") + OBJ_nid2sn(nid) + " = " + value);
  }
  return {};
}

util::Status addSubjectAltNames(X509& cert, const std::vector<std::string>& dns_names,
                                const std::vector<std::string>& ip_addresses) {
  if (dns_names.empty() && ip_addresses.empty()) return {};
  if (dns_names.size() + ip_addresses.size() > kMaxSubjectAltNames) {
    return util::makeError(
        ErrorCode::Invalid,
        "certificate: " + std::to_string(dns_names.size() + ip_addresses.size()) +
            " subject alternative names; at most " + std::to_string(kMaxSubjectAltNames) +
            " are allowed");
  }
  std::unique_ptr<GENERAL_NAMES, OpensslDeleter<GENERAL_NAMES_free>> names(
      sk_GENERAL_NAME_new_null());
  if (!names) return opensslError(ErrorCode::Internal, "allocating subject alternative names");
  for (const auto& dns : dns_names) {
    if (!isDnsName(dns)) {
      return util::makeError(ErrorCode::Invalid,
                             "certificate: DNS name \"" + dns.substr(0, 253) +
                                 "\" must be 1-253 characters of letters, digits, '-', '.', '*'");
    }
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (text == nullptr || name == nullptr ||
        ASN1_STRING_set(text, dns.data(), static_cast<int>(dns.size())) != 1) {
      ASN1_IA5STRING_free(text);
      GENERAL_NAME_free(name);
      return opensslError(ErrorCode::Internal, "adding a DNS subject alternative name");
    }
    GENERAL_NAME_set0_value(name, GEN_DNS, text);
    if (sk_GENERAL_NAME_push(names.get(), name) == 0) {
      GENERAL_NAME_free(name);
      return opensslError(ErrorCode::Internal, "adding a DNS subject alternative name");
    }
  }
  for (const auto& ip : ip_addresses) {
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
    if (octets == nullptr) {
      clearOpensslErrors();
      return util::makeError(ErrorCode::Invalid, "certificate: IP address \"" + ip.substr(0, 64) +
                                                     "\" is not an IPv4 or IPv6 address");
    }
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (name == nullptr) {
      ASN1_OCTET_STRING_free(octets);
      return opensslError(ErrorCode::Internal, "adding an IP subject alternative name");
    }
    GENERAL_NAME_set0_value(name, GEN_IPADD, octets);
    if (sk_GENERAL_NAME_push(names.get(), name) == 0) {
      GENERAL_NAME_free(name);
      return opensslError(ErrorCode::Internal, "adding an IP subject alternative name");
    }
  }
  if (X509_add1_ext_i2d(&cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_REPLACE) != 1) {
    return opensslError(ErrorCode::Internal, "adding subject alternative names");
  }
  return {};
}

util::Status signWith(X509& cert, EVP_PKEY& issuer_key) {
  if (X509_sign(&cert, &issuer_key, EVP_sha256()) <= 0) {
    return opensslError(ErrorCode::Internal, "signing a certificate");
  }
  return {};
}

util::SystemTime toSystemTime(const ASN1_TIME& time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(&time, &tm) != 1) {
    clearOpensslErrors();
    return util::SystemTime{};
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::vector<std::string> nameEntries(const X509_NAME* name, int nid) {
  std::vector<std::string> values;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length >= 0) {
      values.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
    }
    OPENSSL_free(utf8);
  }
  clearOpensslErrors();
  return values;
}

}  // namespace magnumd::pki
