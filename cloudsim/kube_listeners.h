// The embedding's side of the simulated kube-apiservers: one TLS listener per cluster on the
// simulator's io_context (a port from --kube-api-ports, or any free one) that serves each
// connection as one of the cluster's running masters in turn (kube_tls.h: that master's serving
// certificate, its CAs for client certificates), and node watches streamed from the cluster's
// event backlog. Every call comes with the simulator's mutex held
// (KubeClusters calls it from inside Sim); request handlers take that mutex themselves.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cloudsim/kube_cluster.h"
#include "cloudsim/kube_tls.h"
#include "net/http_server.h"

namespace magnumd::cloudsim {

class Sim;

class KubeListeners final : public KubeListenerHost {
 public:
  struct Waker;
  // `owner` keeps `mutex` and `sim` alive: handlers lock it before touching either.
  KubeListeners(boost::asio::io_context& io, std::mutex& mutex, Sim& sim, std::weak_ptr<void> owner,
                uint16_t port_start, uint16_t port_count);
  ~KubeListeners() override;

  util::Result<uint16_t> startListener(const KubeCluster& cluster) override;
  void stopListener(const KubeCluster& cluster) override;
  void apiServersChanged(const KubeCluster& cluster) override;
  void nodesChanged(const KubeCluster& cluster) override;
  void stopAll();  // with the mutex held
  void registerWaker(const std::string& stack_id, std::shared_ptr<Waker> waker);

 private:
  util::Result<uint16_t> bindIn(std::shared_ptr<boost::asio::ssl::context> tls,
                                const std::string& stack_id, uint16_t preferred,
                                std::unique_ptr<net::HttpServer>& out);
  void wake(const std::string& stack_id);

  boost::asio::io_context& io_;
  std::mutex& mutex_;
  Sim& sim_;
  std::weak_ptr<void> owner_;
  uint16_t port_start_, port_count_;
  uint16_t next_ = 0;  // round-robin position in the range
  struct Listener {
    std::unique_ptr<net::HttpServer> server;
    std::shared_ptr<ApiServerBalancer> balancer;  // its TLS context's, to update
  };
  std::unordered_map<std::string, Listener> servers_;  // by stack id
  std::unordered_map<std::string, std::vector<std::weak_ptr<Waker>>> wakers_;
};

}  // namespace magnumd::cloudsim
