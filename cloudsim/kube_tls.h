// The load balancer in front of a simulated cluster's masters, at the TLS layer: each accepted
// connection is served by the next running master in turn, with that master's serving certificate
// (signed by its signing CA) and that master's trust store for client certificates. One
// SSL_CTX per listener; its certificate callback picks the master per connection from an
// immutable snapshot, swapped under a small mutex when the masters change, so a handshake never
// waits for the simulator's mutex.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pki/openssl_ptr.h"
#include "util/result.h"

namespace magnumd::cloudsim {

// One kube-apiserver as a TLS peer sees it.
struct ApiServerTls {
  std::string name;  // its node, for logs
  std::string serving_cert_pem;
  std::string serving_key_pem;               // never logged
  std::vector<std::string> trusted_ca_pems;  // verifies client certificates
};

class ApiServerBalancer {
 public:
  ApiServerBalancer() = default;
  ApiServerBalancer(const ApiServerBalancer&) = delete;
  ApiServerBalancer& operator=(const ApiServerBalancer&) = delete;

  // Makes `ctx` ask this balancer for each connection's identity. The balancer must outlive the
  // context (and every SSL made from it).
  void install(SSL_CTX* ctx);
  // Parses the masters' identities and swaps them in; connections from now on use them, in
  // order, round robin. An empty list keeps the current masters (a load balancer keeps its last
  // members rather than refusing every connection).
  util::Status update(const std::vector<ApiServerTls>& masters);
  size_t size() const;

 private:
  struct Backend {
    std::string name;
    pki::X509Ptr cert;
    pki::EvpPkeyPtr key;
    pki::X509StorePtr trust;
  };
  using Snapshot = std::vector<Backend>;
  static int selectIdentity(SSL* ssl, void* self);

  mutable std::mutex mutex_;  // guards snapshot_ (the pointer, not what it points to)
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<uint64_t> next_{0};
};

}  // namespace magnumd::cloudsim
