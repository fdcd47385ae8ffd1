#include "tests/support/tls_server.h"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace magnumd::testing {

namespace asio = boost::asio;

namespace {

template <typename T>
T orThrow(util::Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.error().message);
  return std::move(r.value());
}

// Parameters by value: the coroutine outlives the handler call that starts it.
asio::awaitable<net::Reply> answer(TestReply reply, unsigned version) {
  if (reply.delay.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor, reply.delay);
    co_await timer.async_wait(asio::use_awaitable);
  }
  net::Response res{static_cast<boost::beast::http::status>(reply.status), version};
  res.set(boost::beast::http::field::content_type, reply.content_type);
  res.body() = std::move(reply.body);
  res.prepare_payload();
  co_return res;
}

}  // namespace

TestPki TestPki::make(const std::string& common_name, std::optional<util::SystemTime> now) {
  pki::CaOptions options;
  options.now = now;
  return TestPki{orThrow(pki::makeCertificateAuthority(common_name, options))};
}

pki::IssuedCertificate TestPki::serving(std::vector<std::string> ips,
                                        std::vector<std::string> dns_names) const {
  pki::LeafSpec spec;
  spec.common_name = "kube-apiserver";
  spec.usage = pki::ExtendedKeyUsage::ServerAuth;
  spec.ip_addresses = std::move(ips);
  spec.dns_names = std::move(dns_names);
  spec.validity = std::chrono::hours(24);
  return orThrow(pki::issueLeaf(ca, spec));
}

pki::IssuedCertificate TestPki::client(const std::string& common_name,
                                       std::vector<std::string> organizations) const {
  pki::LeafSpec spec;
  spec.common_name = common_name;
  spec.organizations = std::move(organizations);
  spec.usage = pki::ExtendedKeyUsage::ClientAuth;
  spec.validity = std::chrono::hours(24);
  return orThrow(pki::issueLeaf(ca, spec));
}

TlsTestServer::TlsTestServer(TlsServerOptions options, Handler handler) {
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  tls->use_certificate_chain(asio::buffer(options.serving.cert_pem));
  tls->use_private_key(asio::buffer(options.serving.key_pem), asio::ssl::context::pem);
  if (!options.client_ca_pem.empty()) {
    tls->add_certificate_authority(asio::buffer(options.client_ca_pem));
    auto mode = asio::ssl::verify_peer;
    if (options.require_client_cert) mode |= asio::ssl::verify_fail_if_no_peer_cert;
    tls->set_verify_mode(mode);
    tls->set_verify_callback([this](bool preverified, asio::ssl::verify_context& ctx) {
      X509_STORE_CTX* store = ctx.native_handle();
      if (preverified && X509_STORE_CTX_get_error_depth(store) == 0) {
        X509_NAME* name = X509_get_subject_name(X509_STORE_CTX_get_current_cert(store));
        char* line = X509_NAME_oneline(name, nullptr, 0);
        std::lock_guard lock(mutex_);
        client_subject_ = line ? line : "";
        OPENSSL_free(line);
      }
      return preverified;
    });
  }
  net::ServerOptions server_options;
  server_options.tls = tls;
  auto handle = [this, handler = std::move(handler)](net::Request req, net::PeerInfo peer) {
    requests_++;
    return answer(handler(req, peer.client_certificate), req.version());
  };
  server_ = std::make_unique<net::HttpServer>(io_, server_options, handle);
  auto started = server_->start();
  if (!started.ok()) throw std::runtime_error(started.error().message);
  thread_ = std::thread([this] { io_.run(); });
}

TlsTestServer::~TlsTestServer() { stop(); }

void TlsTestServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  io_.stop();
  thread_.join();
}

std::string TlsTestServer::lastClientSubject() const {
  std::lock_guard lock(mutex_);
  return client_subject_;
}

std::string TlsTestServer::url() const { return fmt::format("https://127.0.0.1:{}", port()); }

}  // namespace magnumd::testing
