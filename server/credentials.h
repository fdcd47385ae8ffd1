// A Cluster's credentials endpoints, the seed's `ca show`, `ca sign` and `cluster config`:
//   GET  .../clusters/{name}/ca            the cluster CA certificate (PEM, or JSON)
//   POST .../clusters/{name}/certificates  a client certificate for a CSR, signed by that CA
//   GET  .../clusters/{name}/kubeconfig    a kubeconfig with a freshly issued certificate and key
// ApiServer has authorized the caller before these run (reading the CA needs read access to the
// cluster; signing and kubeconfigs need write access). Which subjects a caller gets is
// credential_policy.h's business. Key generation and signing run on a small pool of their own,
// never on an I/O thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "secrets/cluster_secrets.h"
#include "server/request_context.h"
#include "store/store.h"
#include "util/metrics.h"

namespace magnumd::server {

// What an audit trail may say about an issued certificate: never the key.
struct IssuedCredential {
  std::string endpoint;  // "certificates" or "kubeconfig"
  std::string caller;    // the token's user
  std::string subject;   // "CN=alice,O=magnumd:members"
  std::string serial;
  std::string not_after;  // RFC 3339
};
// Called after a certificate was issued, on an I/O thread: must not block (record an Event, ...).
using CredentialObserver =
    std::function<void(const api::Object& cluster, const IssuedCredential& issued)>;

class CredentialHandlers {
 public:
  // `secrets` null: every endpoint answers 503.
  CredentialHandlers(store::Store& store, secrets::ClusterSecretStore* secrets,
                     util::MetricsRegistry& registry, CredentialObserver observer = {});
  ~CredentialHandlers();
  // Waits for the key generation and signing in flight; each posts its answer to the executor of
  // the request that asked. Call after the I/O threads stopped and before their context goes:
  // a request offloaded later never finishes.
  void finishOffloadedWork() { pool_.join(); }
  CredentialHandlers(const CredentialHandlers&) = delete;
  CredentialHandlers& operator=(const CredentialHandlers&) = delete;

  // Dispatches on ctx.path.subresource (Ca, Certificates or Kubeconfig).
  boost::asio::awaitable<net::Response> handle(const RequestContext& ctx);

 private:
  boost::asio::awaitable<net::Response> ca(const RequestContext& ctx);
  boost::asio::awaitable<net::Response> sign(const RequestContext& ctx);
  boost::asio::awaitable<net::Response> kubeconfig(const RequestContext& ctx);
  // The cluster named by the path, NotFound as kube-apiserver words it.
  util::Result<api::Object> loadCluster(const RequestContext& ctx) const;
  // Conflict while the cluster cannot have certificates issued (being deleted).
  static util::Status checkIssuable(const api::Object& cluster);
  void issued(const RequestContext& ctx, const api::Object& cluster, std::string_view endpoint,
              const std::string& cert_pem);

  store::Store& store_;
  secrets::ClusterSecretStore* secrets_;
  util::Family<util::Counter>& issued_total_;  // endpoint, role
  CredentialObserver observer_;
  boost::asio::thread_pool pool_;
};

}  // namespace magnumd::server
