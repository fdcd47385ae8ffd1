#include "cloudsim/kube_listeners.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "cloudsim/kube_api.h"
#include "cloudsim/sim.h"
#include "util/log.h"

namespace magnumd::cloudsim {

namespace asio = boost::asio;

// Wakes one watch stream; touched only on that stream's strand.
struct KubeListeners::Waker {
  explicit Waker(asio::any_io_executor ex) : executor(ex), timer(ex) {}
  asio::any_io_executor executor;
  asio::steady_timer timer;
  bool pending = false;
};

namespace {

// The masters as TLS identities: each one's serving certificate (made from its signing CA) and
// the CAs of its ca.crt.
std::vector<ApiServerTls> apiServerTls(const KubeCluster& cluster) {
  std::vector<ApiServerTls> out;
  for (const ApiServerMember& m : cluster.api_servers) {
    auto serving = cluster.serving.find(m.trust.signing);
    if (serving == cluster.serving.end()) continue;  // cannot happen: it joined with its key
    ApiServerTls& tls = out.emplace_back();
    tls.name = m.name;
    tls.serving_cert_pem = serving->second.cert_pem;
    tls.serving_key_pem = serving->second.key_pem;
    for (const std::string& hash : m.trust.trusted) {
      if (auto ca = cluster.ca_pems.find(hash); ca != cluster.ca_pems.end())
        tls.trusted_ca_pems.push_back(ca->second);
    }
  }
  return out;
}

// The listener's one TLS context, and the balancer its certificate callback asks: the balancer
// lives as long as the context (and every connection made from it), whose owner is the server.
struct BalancedContext {
  explicit BalancedContext(std::shared_ptr<ApiServerBalancer> b)
      : balancer(std::move(b)), context(asio::ssl::context::tls_server) {}
  std::shared_ptr<ApiServerBalancer> balancer;  // declared first: destroyed after the context
  asio::ssl::context context;
};

util::Result<std::shared_ptr<asio::ssl::context>> tlsContext(
    const KubeCluster& cluster, std::shared_ptr<ApiServerBalancer> balancer) {
  auto owner = std::make_shared<BalancedContext>(std::move(balancer));
  asio::ssl::context& ctx = owner->context;
  boost::system::error_code ec;
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1,
                  ec);
  // Ask for a client certificate and verify it against the chosen master's CAs, but let anonymous
  // clients through to /healthz, /readyz, /livez and /version as kube-apiserver does.
  if (!ec) ctx.set_verify_mode(asio::ssl::verify_peer, ec);
  if (ec) {
    return util::makeError(util::ErrorCode::Internal, fmt::format("TLS context for stack {}: {}",
                                                                  cluster.stack_id, ec.message()));
  }
  owner->balancer->install(ctx.native_handle());
  return std::shared_ptr<asio::ssl::context>(owner, &owner->context);
}

struct WatchState {
  std::weak_ptr<void> owner;
  std::mutex* mutex;
  Sim* sim;
  KubeListeners* listeners;
  std::string stack_id;
  NodeWatch watch;
};

asio::awaitable<void> streamNodes(WatchState state, std::shared_ptr<KubeListeners::Waker> waker,
                                  net::ChunkWriter& writer) {
  auto deadline = std::chrono::steady_clock::now() + state.watch.timeout;
  uint64_t after = state.watch.after;
  bool initial = state.watch.initial_list;
  bool columns = true;  // a Table stream sends its column definitions once
  auto line = [&](const KubeCluster& cluster, std::string_view type, const KubeNode& node) {
    std::string out =
        watchEventLine(cluster, type, node, state.watch.table, columns, state.sim->clock().now());
    columns = false;
    return out;
  };
  for (;;) {
    std::vector<std::string> lines;
    bool done = false;
    {
      auto owner = state.owner.lock();
      if (!owner) co_return;
      std::lock_guard lock(*state.mutex);
      KubeCluster* cluster = state.sim->kube().byStackId(state.stack_id);
      if (cluster == nullptr || cluster->api_stopped) {
        done = true;
      } else if (initial) {
        for (const auto& [name, node] : cluster->nodes)
          lines.push_back(line(*cluster, "ADDED", node));
        after = cluster->resource_version;
        initial = false;
      } else if (after < cluster->dropped_through) {
        lines.push_back(
            R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version","reason":"Expired","code":410}})"
            "\n");
        done = true;
      } else {
        for (const auto& e : cluster->events) {
          if (e.resource_version > after) lines.push_back(line(*cluster, e.type, e.node));
        }
        after = cluster->resource_version;
      }
    }
    for (auto& line : lines) {
      if (!co_await writer.write(std::move(line))) co_return;
    }
    if (done || writer.stopping() || std::chrono::steady_clock::now() >= deadline) co_return;
    if (waker->pending) {
      waker->pending = false;
      continue;
    }
    waker->timer.expires_at(deadline);
    co_await waker->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    waker->pending = false;
  }
}

asio::awaitable<net::Reply> serveKube(std::weak_ptr<void> owner, std::mutex* mutex, Sim* sim,
                                      KubeListeners* listeners, std::string stack_id,
                                      net::Request req, net::PeerInfo peer) {
  auto alive = owner.lock();
  if (!alive)
    co_return kubeStatus(http::status::service_unavailable, "ServiceUnavailable", "shutting down");
  std::lock_guard lock(*mutex);
  sim->advance();
  KubeCluster* cluster = sim->kube().byStackId(stack_id);
  if (cluster == nullptr || cluster->api_stopped) {
    co_return kubeStatus(http::status::service_unavailable, "ServiceUnavailable",
                         "the API server is stopping");
  }
  auto watch = nodeWatchOf(req);
  if (!watch || !peer.client_certificate) {
    co_return handleKubeApi(sim->kube(), *cluster, req, peer.client_certificate,
                            sim->clock().now());
  }
  net::StreamingResponse stream;
  stream.head = net::Response{http::status::ok, 11};
  stream.head.set(http::field::content_type, "application/json");
  stream.head.set("Cache-Control", "no-cache, private");
  auto waker = std::make_shared<KubeListeners::Waker>(co_await asio::this_coro::executor);
  listeners->registerWaker(stack_id, waker);
  WatchState state{owner, mutex, sim, listeners, stack_id, *watch};
  stream.produce = [state, waker](net::ChunkWriter& writer) {
    return streamNodes(state, waker, writer);
  };
  co_return stream;
}

}  // namespace

KubeListeners::KubeListeners(asio::io_context& io, std::mutex& mutex, Sim& sim,
                             std::weak_ptr<void> owner, uint16_t port_start, uint16_t port_count)
    : io_(io),
      mutex_(mutex),
      sim_(sim),
      owner_(std::move(owner)),
      port_start_(port_start),
      port_count_(port_count) {}

KubeListeners::~KubeListeners() { stopAll(); }

void KubeListeners::registerWaker(const std::string& stack_id, std::shared_ptr<Waker> waker) {
  auto& list = wakers_[stack_id];
  std::erase_if(list, [](const std::weak_ptr<Waker>& w) { return w.expired(); });
  list.push_back(waker);
}

util::Result<uint16_t> KubeListeners::bindIn(std::shared_ptr<asio::ssl::context> tls,
                                             const std::string& stack_id, uint16_t preferred,
                                             std::unique_ptr<net::HttpServer>& out) {
  std::vector<uint16_t> candidates;
  if (preferred != 0) candidates.push_back(preferred);
  for (uint16_t i = 0; i < port_count_; ++i) {
    candidates.push_back(static_cast<uint16_t>(port_start_ + (next_ + i) % port_count_));
  }
  if (port_count_ == 0 && preferred == 0) candidates.push_back(0);
  std::string last_error = "the port range is empty";
  for (uint16_t port : candidates) {
    net::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = port;
    options.tls = tls;
    options.server_name = "kube-apiserver";
    options.body_limit = 1024 * 1024;
    auto server = std::make_unique<net::HttpServer>(
        io_, options,
        [owner = owner_, mutex = &mutex_, sim = &sim_, self = this, stack_id](net::Request req,
                                                                              net::PeerInfo peer) {
          return serveKube(owner, mutex, sim, self, stack_id, std::move(req), std::move(peer));
        },
        [](http::status status, std::string message) {
          return kubeStatus(status, "BadRequest", message);
        });
    auto started = server->start();
    if (started.ok()) {
      if (port_count_ > 0 && port != preferred)
        next_ = static_cast<uint16_t>((port - port_start_ + 1) % port_count_);
      uint16_t bound = server->port();
      out = std::move(server);
      return bound;
    }
    last_error = started.error().message;
  }
  return util::makeError(util::ErrorCode::Unavailable, fmt::format("no free port: {}", last_error));
}

util::Result<uint16_t> KubeListeners::startListener(const KubeCluster& cluster) {
  auto balancer = std::make_shared<ApiServerBalancer>();
  RETURN_IF_ERROR(balancer->update(apiServerTls(cluster)));
  ASSIGN_OR_RETURN(auto tls, tlsContext(cluster, balancer));
  std::unique_ptr<net::HttpServer> server;
  ASSIGN_OR_RETURN(uint16_t port, bindIn(tls, cluster.stack_id, cluster.port, server));
  servers_[cluster.stack_id] = {std::move(server), std::move(balancer)};
  return port;
}

void KubeListeners::apiServersChanged(const KubeCluster& cluster) {
  auto it = servers_.find(cluster.stack_id);
  if (it == servers_.end()) return;  // stopped: startListener reads them
  if (auto updated = it->second.balancer->update(apiServerTls(cluster)); !updated.ok()) {
    LOG_WARN("cloudsim", "stack {}: the API keeps its previous masters: {}", cluster.stack_id,
             updated.error().message);
  }
}

void KubeListeners::stopListener(const KubeCluster& cluster) {
  auto it = servers_.find(cluster.stack_id);
  if (it != servers_.end()) {
    it->second.server->stop();
    servers_.erase(it);
  }
  wake(cluster.stack_id);
}

void KubeListeners::nodesChanged(const KubeCluster& cluster) { wake(cluster.stack_id); }

void KubeListeners::wake(const std::string& stack_id) {
  auto it = wakers_.find(stack_id);
  if (it == wakers_.end()) return;
  for (auto& weak : it->second) {
    if (auto waker = weak.lock()) {
      asio::post(waker->executor, [waker] {
        waker->pending = true;
        waker->timer.cancel();
      });
    }
  }
  std::erase_if(it->second, [](const std::weak_ptr<Waker>& w) { return w.expired(); });
  if (it->second.empty()) wakers_.erase(it);
}

void KubeListeners::stopAll() {
  for (auto& [id, listener] : servers_) listener.server->stop();
  servers_.clear();
  for (auto& [id, list] : wakers_) {
    for (auto& weak : list) {
      if (auto waker = weak.lock()) asio::post(waker->executor, [waker] { waker->timer.cancel(); });
    }
  }
  wakers_.clear();
}

}  // namespace magnumd::cloudsim
