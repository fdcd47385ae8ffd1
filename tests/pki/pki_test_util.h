// Helpers for pki/ tests: CSRs built the way a user's tool would, a temporary directory, and the
// openssl CLI as an independent judge of what the library produces.
#pragma once

#include <string>
#include <vector>

#include "pki/openssl_ptr.h"

namespace magnumd::pki::testing {

// A PEM CSR for `key` with subject O=... CN=..., signed by `signer` (defaults to `key`; a different
// signer makes a CSR whose signature does not verify). `san_dns` adds a requested SAN extension.
std::string makeCsrPem(EVP_PKEY& key, const std::string& common_name,
                       const std::vector<std::string>& organizations = {},
                       EVP_PKEY* signer = nullptr, const std::string& san_dns = "");

EvpPkeyPtr makeRsaKey(int bits);
EvpPkeyPtr makeEcKey(const char* curve);

// A fresh directory under $TMPDIR, removed with everything in it when this goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void writeFile(const std::string& path, const std::string& content);

// Runs `command` with /bin/sh and returns its stdout; fails the test if it exits non-zero.
std::string run(const std::string& command);
// True if `command` exits 0 (its output is discarded).
bool succeeds(const std::string& command);

}  // namespace magnumd::pki::testing
