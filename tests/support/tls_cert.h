// A throwaway self-signed certificate (PEM files in a test's temp dir) for TLS tests of the HTTP
// server and of both HTTP clients (magnumctl's and the OpenStack driver's).
#pragma once

#include <string>

namespace magnumd::testing {

struct TestCert {
  std::string cert_file;
  std::string key_file;
};

// Writes cert.pem and key.pem into `dir`: a CA:TRUE certificate for `names` (subjectAltName
// syntax), so clients can trust it directly as their CA file.
TestCert makeSelfSignedCert(const std::string& dir,
                            const char* names = "IP:127.0.0.1,DNS:localhost");

}  // namespace magnumd::testing
