#include "cloudsim/kube_tls.h"

#include <fmt/format.h>
#include <openssl/x509_vfy.h>

#include "pki/certificate.h"
#include "pki/key.h"
#include "pki/openssl_error.h"

namespace magnumd::cloudsim {

void ApiServerBalancer::install(SSL_CTX* ctx) { SSL_CTX_set_cert_cb(ctx, &selectIdentity, this); }

util::Status ApiServerBalancer::update(const std::vector<ApiServerTls>& masters) {
  if (masters.empty()) return {};
  auto snapshot = std::make_shared<Snapshot>();
  for (const ApiServerTls& m : masters) {
    auto failed = [&](const util::Error& e) {
      return util::makeError(e.code, fmt::format("kube-apiserver on {}: {}", m.name, e.message));
    };
    Backend b;
    b.name = m.name;
    auto cert = pki::parseCertificatePem(m.serving_cert_pem);
    if (!cert.ok()) return failed(cert.error());
    auto key = pki::parsePrivateKeyPem(m.serving_key_pem);
    if (!key.ok()) return failed(key.error());
    b.cert = std::move(*cert);
    b.key = std::move(*key);
    b.trust.reset(X509_STORE_new());
    if (!b.trust) return pki::opensslError(util::ErrorCode::Internal, "a trust store");
    for (const std::string& pem : m.trusted_ca_pems) {
      auto ca = pki::parseCertificatePem(pem);
      if (!ca.ok()) return failed(ca.error());
      if (X509_STORE_add_cert(b.trust.get(), ca->get()) != 1) {
        return pki::opensslError(util::ErrorCode::Internal,
                                 fmt::format("kube-apiserver on {}: its trust store", m.name));
      }
    }
    snapshot->push_back(std::move(b));
  }
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(snapshot);
  return {};
}

size_t ApiServerBalancer::size() const {
  std::lock_guard lock(mutex_);
  return snapshot_ ? snapshot_->size() : 0;
}

// OpenSSL calls this while it processes the ClientHello, before it asks for the client's
// certificate, so the verify store set here is the one the client certificate meets. A TLS 1.3
// HelloRetryRequest calls it a second time: the master chosen first keeps the connection.
int ApiServerBalancer::selectIdentity(SSL* ssl, void* self_arg) {
  if (SSL_get_certificate(ssl) != nullptr) return 1;
  auto* self = static_cast<ApiServerBalancer*>(self_arg);
  std::shared_ptr<const Snapshot> snapshot;
  {
    std::lock_guard lock(self->mutex_);
    snapshot = self->snapshot_;
  }
  if (!snapshot || snapshot->empty()) return 0;  // no master: the handshake fails
  uint64_t turn = self->next_.fetch_add(1, std::memory_order_relaxed);
  const Backend& b = (*snapshot)[turn % snapshot->size()];
  // Each call takes its own reference, so the snapshot may go as soon as this returns.
  if (SSL_use_certificate(ssl, b.cert.get()) != 1 || SSL_use_PrivateKey(ssl, b.key.get()) != 1 ||
      SSL_clear_chain_certs(ssl) != 1 || SSL_set1_verify_cert_store(ssl, b.trust.get()) != 1) {
    return 0;
  }
  return 1;
}

}  // namespace magnumd::cloudsim
