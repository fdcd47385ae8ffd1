// An HTTPS test server with a PKI made in memory by pki/: a CA, a serving certificate with the
// SANs a test asks for, client certificates, and a server that (optionally) requires a client
// certificate signed by a given CA, as kube-apiserver does. Runs on its own io_context and
// thread, so tests can drive clients on theirs.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/http_server.h"
#include "pki/ca.h"
#include "pki/leaf.h"

namespace magnumd::testing {

struct TestPki {
  pki::CertificateAuthority ca;

  static TestPki make(const std::string& common_name = "kubernetes",
                      std::optional<util::SystemTime> now = std::nullopt);
  pki::IssuedCertificate serving(std::vector<std::string> ips,
                                 std::vector<std::string> dns_names = {}) const;
  pki::IssuedCertificate client(const std::string& common_name,
                                std::vector<std::string> organizations = {}) const;
};

struct TestReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};  // before answering (timeouts)
};

struct TlsServerOptions {
  pki::IssuedCertificate serving;
  std::string client_ca_pem;        // verify client certificates against it; "" accepts any
  bool require_client_cert = true;  // with client_ca_pem: no certificate, no handshake
};

class TlsTestServer {
 public:
  // Sees the request and whether a verified client certificate came with it.
  using Handler = std::function<TestReply(const net::Request&, bool client_certificate)>;

  TlsTestServer(TlsServerOptions options, Handler handler);
  ~TlsTestServer();

  uint16_t port() const { return server_->port(); }
  std::string url() const;  // https://127.0.0.1:PORT
  int requests() const { return requests_.load(); }
  // The subject of the last verified client certificate ("CN=magnumd,O=system:masters").
  std::string lastClientSubject() const;
  void stop();

 private:
  boost::asio::io_context io_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::string client_subject_;
};

}  // namespace magnumd::testing
