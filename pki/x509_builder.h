// Pieces shared by the CA, leaf and CSR signers (internal to pki/): every certificate magnumd
// issues is built from these, so serials, validity and names follow one set of rules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pki/openssl_ptr.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::pki {

// X.520 upper bounds (ub-common-name, ub-organization-name); more O values than anyone needs.
inline constexpr size_t kMaxNameLength = 64;
inline constexpr size_t kMaxOrganizations = 16;
inline constexpr size_t kMaxSubjectAltNames = 128;

// A new X509 v3 with a random positive 128-bit serial and the given validity.
util::Result<X509Ptr> newCertificate(util::SystemTime not_before, util::SystemTime not_after);

// CN plus one O per organization, UTF-8. `what` prefixes errors ("CSR", "certificate").
util::Result<X509NamePtr> makeSubject(std::string_view common_name,
                                      const std::vector<std::string>& organizations,
                                      std::string_view what);

// One extension in openssl.cnf syntax ("critical,CA:TRUE,pathlen:0"). Only constant values are
// passed here; names from users go through addSubjectAltNames, which cannot be injected into.
util::Status addExtension(X509& cert, X509& issuer, int nid, const char* value);

util::Status addSubjectAltNames(X509& cert, const std::vector<std::string>& dns_names,
                                const std::vector<std::string>& ip_addresses);

// SHA-256 signature by the issuer's key.
util::Status signWith(X509& cert, EVP_PKEY& issuer_key);

util::SystemTime toSystemTime(const ASN1_TIME& time);

// The UTF-8 values of every `nid` entry (NID_commonName, NID_organizationName) in `name`.
std::vector<std::string> nameEntries(const X509_NAME* name, int nid);

}  // namespace magnumd::pki
