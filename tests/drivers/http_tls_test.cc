// The outbound client's TLS with trust and identity held in memory: a cluster's CA and a client
// certificate, verified host names and IP addresses, failures a caller can tell apart, and
// connections that are never shared between identities.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "drivers/http/http_client.h"
#include "tests/drivers/run_task.h"
#include "tests/support/tls_server.h"

namespace magnumd::drivers::http {
namespace {

using namespace std::chrono_literals;
using magnumd::testing::TestPki;
using magnumd::testing::TestReply;
using magnumd::testing::TlsServerOptions;
using magnumd::testing::TlsTestServer;
using testing::runTask;

class HttpTlsTest : public ::testing::Test {
 protected:
  HttpTlsTest() : pki(TestPki::make()), client_cert(pki.client("magnumd", {"system:masters"})) {}

  // A server like kube-apiserver: serving cert from the cluster CA, client certs required.
  std::unique_ptr<TlsTestServer> server(std::vector<std::string> ips = {"127.0.0.1"},
                                        std::vector<std::string> dns = {}, bool require = true) {
    TlsServerOptions o;
    o.serving = pki.serving(std::move(ips), std::move(dns));
    o.client_ca_pem = pki.ca.cert_pem;
    o.require_client_cert = require;
    return std::make_unique<TlsTestServer>(o, [](const net::Request&, bool client_cert) {
      return TestReply{200, client_cert ? R"({"client":"verified"})" : R"({"client":"anonymous"})"};
    });
  }

  TlsContextPtr context(TlsCredentials credentials) {
    auto made = makeTlsContext(credentials);
    EXPECT_TRUE(made.ok()) << made.error().message;
    return made.ok() ? *made : nullptr;
  }
  TlsContextPtr clusterContext() {
    return context({pki.ca.cert_pem, client_cert.cert_pem, client_cert.key_pem});
  }

  std::unique_ptr<HttpClient> client(HttpClientOptions options = {}) {
    options.retry.max_attempts = 1;
    options.connect_timeout = 2s;
    options.request_timeout = 2s;
    auto c = HttpClient::create(io.get_executor(), std::move(options));
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(c.value());
  }

  util::Result<HttpResponse> get(HttpClient& c, const std::string& url, TlsContextPtr tls) {
    HttpRequest request{"GET", url, {}, {}};
    request.tls = std::move(tls);
    return runTask(io, c.send(std::move(request)));
  }

  boost::asio::io_context io;
  TestPki pki;
  pki::IssuedCertificate client_cert;
};

TEST_F(HttpTlsTest, TrustsTheCaInMemoryAndPresentsTheClientCertificate) {
  auto s = server();
  auto c = client();
  auto res = get(*c, s->url() + "/version", clusterContext());
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"client":"verified"})");
}

TEST_F(HttpTlsTest, AServerFromAnotherCaIsATlsFailureNamingTheReason) {
  auto s = server();
  auto other = TestPki::make("someone-else");
  auto c = client();
  auto res = get(*c, s->url() + "/version",
                 context({other.ca.cert_pem, client_cert.cert_pem, client_cert.key_pem}));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(failureKind(res.error()), FailureKind::Tls);
  EXPECT_NE(res.error().message.find("TLS handshake with " + s->url()), std::string::npos)
      << res.error().message;
  // OpenSSL's own verdict, beyond "certificate verify failed".
  const auto& message = res.error().message;
  EXPECT_TRUE(message.find("(self-signed certificate in certificate chain)") != std::string::npos ||
              message.find("(unable to get local issuer certificate)") != std::string::npos)
      << message;
  EXPECT_EQ(s->requests(), 0);
}

TEST_F(HttpTlsTest, WithoutAClientCertificateTheServerRefusesTheConnection) {
  auto s = server();
  auto c = client();
  auto res = get(*c, s->url() + "/version", context({pki.ca.cert_pem, "", ""}));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(failureKind(res.error()), FailureKind::Tls) << res.error().message;
  EXPECT_EQ(s->requests(), 0);
}

TEST_F(HttpTlsTest, AClientCertificateFromAnotherCaIsRefused) {
  auto s = server();
  auto other = TestPki::make("someone-else");
  auto stranger = other.client("magnumd", {"system:masters"});
  auto c = client();
  auto res = get(*c, s->url() + "/version",
                 context({pki.ca.cert_pem, stranger.cert_pem, stranger.key_pem}));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(failureKind(res.error()), FailureKind::Tls) << res.error().message;
  EXPECT_EQ(s->requests(), 0);
}

TEST_F(HttpTlsTest, TheServerCertificateMustNameTheIpAddressConnectedTo) {
  auto s = server({"192.0.2.7"}, {"localhost"});  // a valid chain for another address
  auto c = client();
  auto res = get(*c, s->url() + "/version", clusterContext());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(failureKind(res.error()), FailureKind::Tls);
  EXPECT_NE(res.error().message.find(
                "(IP address mismatch: the server's certificate is not valid for 127.0.0.1)"),
            std::string::npos)
      << res.error().message;
}

TEST_F(HttpTlsTest, TheServerCertificateMustNameTheHostConnectedTo) {
  auto named = server({}, {"localhost"});
  auto c = client();
  auto ok =
      get(*c, "https://localhost:" + std::to_string(named->port()) + "/version", clusterContext());
  ASSERT_TRUE(ok.ok()) << ok.error().message;

  auto other = server({"127.0.0.1"}, {"api.example.org"});
  auto res =
      get(*c, "https://localhost:" + std::to_string(other->port()) + "/version", clusterContext());
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.error().message.find(
                "(hostname mismatch: the server's certificate is not valid for localhost)"),
            std::string::npos)
      << res.error().message;
}

TEST_F(HttpTlsTest, ConnectionsAreReusedPerIdentityAndNeverShared) {
  auto s = server({"127.0.0.1"}, {}, /*require=*/false);
  auto c = client();
  auto mine = clusterContext();
  for (int i = 0; i < 3; ++i) {
    auto res = get(*c, s->url() + "/version", mine);
    ASSERT_TRUE(res.ok()) << res.error().message;
    EXPECT_EQ(res->body, R"({"client":"verified"})");
  }
  EXPECT_EQ(c->stats().connections_opened, 1u);
  // The same server without a client certificate: a new connection, anonymous, even though a
  // verified one is idle in the pool.
  auto anonymous = get(*c, s->url() + "/version", context({pki.ca.cert_pem, "", ""}));
  ASSERT_TRUE(anonymous.ok()) << anonymous.error().message;
  EXPECT_EQ(anonymous->body, R"({"client":"anonymous"})");
  EXPECT_EQ(c->stats().connections_opened, 2u);
}

TEST_F(HttpTlsTest, TheClientsOwnCaMayComeFromMemory) {
  auto s = server({"127.0.0.1"}, {}, /*require=*/false);
  HttpClientOptions o;
  o.tls.ca_pem = pki.ca.cert_pem;
  auto c = client(o);
  auto res = get(*c, s->url() + "/version", nullptr);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->body, R"({"client":"anonymous"})");

  o.tls.ca_pem = "not a certificate";
  auto bad = HttpClient::create(io.get_executor(), o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("CA bundle in memory"), std::string::npos)
      << bad.error().message;
}

TEST_F(HttpTlsTest, UnusableCredentialsAreRefusedWithoutEchoingKeys) {
  EXPECT_FALSE(makeTlsContext({"", "", ""}).ok());
  auto garbage =
      makeTlsContext({"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "", ""});
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find("CA PEM"), std::string::npos) << garbage.error().message;

  auto no_key = makeTlsContext({pki.ca.cert_pem, client_cert.cert_pem, ""});
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.error().message.find("needs its key"), std::string::npos);

  auto another = pki.client("someone");
  auto mismatch = makeTlsContext({pki.ca.cert_pem, client_cert.cert_pem, another.key_pem});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("key values mismatch"), std::string::npos)
      << mismatch.error().message;
  EXPECT_EQ(mismatch.error().message.find("PRIVATE KEY"), std::string::npos);

  auto bad_key =
      makeTlsContext({pki.ca.cert_pem, client_cert.cert_pem,
                      "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"});
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.error().message.find("c2VjcmV0"), std::string::npos) << bad_key.error().message;
}

TEST_F(HttpTlsTest, RefusedAndTimedOutAreTold) {
  // A port nobody listens on: bind one, note it, close it.
  uint16_t port;
  {
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto c = client();
  auto refused =
      get(*c, "https://127.0.0.1:" + std::to_string(port) + "/version", clusterContext());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(failureKind(refused.error()), FailureKind::Connect) << refused.error().message;

  TlsServerOptions o;
  o.serving = pki.serving({"127.0.0.1"});
  o.client_ca_pem = pki.ca.cert_pem;
  TlsTestServer slow(o, [](const net::Request&, bool) {
    return TestReply{200, "{}", "application/json", 3s};
  });
  HttpClientOptions quick;
  auto q = client(quick);
  auto timed_out = get(*q, slow.url() + "/version", clusterContext());
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.error().code, util::ErrorCode::Timeout);
  EXPECT_EQ(failureKind(timed_out.error()), FailureKind::Timeout);
}

}  // namespace
}  // namespace magnumd::drivers::http
