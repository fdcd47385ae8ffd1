// A throwaway self-signed certificate for 127.0.0.1 (PEM files in a temp dir) for TLS tests.
#pragma once

#include <string>

namespace magnumd::drivers::testing {

struct TestCert {
  std::string cert_file;
  std::string key_file;
};

// Writes cert.pem and key.pem with subjectAltName IP:127.0.0.1 into `dir`.
TestCert makeSelfSignedCert(const std::string& dir);

}  // namespace magnumd::drivers::testing
