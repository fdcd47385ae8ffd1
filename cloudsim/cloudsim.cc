#include "cloudsim/cloudsim.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "cloudsim/kube_listeners.h"
#include "cloudsim/sim.h"
#include "util/log.h"
#include "util/yaml.h"

namespace magnumd::cloudsim {

namespace asio = boost::asio;

struct Cloudsim::Impl : std::enable_shared_from_this<Cloudsim::Impl> {
  Impl(asio::io_context& io, Options o, const util::Clock& c)
      : io(io), options(std::move(o)), clock(c), sim(options.sim, c), strand(asio::make_strand(io)),
        timer(strand) {}

  asio::io_context& io;
  Options options;
  const util::Clock& clock;
  std::mutex mutex;
  Sim sim;
  std::unique_ptr<net::HttpServer> server;
  std::unique_ptr<KubeListeners> kube;  // after sim: destroyed first
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  std::optional<SystemTime> armed;  // guarded by mutex
  bool stopped = false;             // guarded by mutex
  std::string first_user = "demo", first_project = "demo", first_password = "password";

  // Arms the progress timer for the simulator's next due work if that is earlier than what is
  // armed already.
  void rearm() {
    std::optional<SystemTime> next;
    {
      std::lock_guard lock(mutex);
      next = sim.nextDue();
      if (stopped || !next || (armed && *armed <= *next)) return;
      armed = next;
    }
    asio::post(strand, [weak = weak_from_this(), due = *next] {
      auto self = weak.lock();
      if (!self) return;
      auto wait = std::max(due - self->clock.now(), SystemTime::duration::zero());
      self->timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
      self->timer.async_wait(asio::bind_executor(self->strand, [weak](boost::system::error_code ec) {
        auto me = weak.lock();
        if (ec || !me) return;
        {
          std::lock_guard lock(me->mutex);
          me->armed.reset();
          if (me->stopped) return;
          me->sim.advance();
        }
        me->rearm();
      }));
    });
  }
};

namespace {

asio::awaitable<net::Reply> serve(std::weak_ptr<Cloudsim::Impl> weak, net::Request req, net::PeerInfo peer) {
  auto impl = weak.lock();
  if (!impl) co_return keystoneError(http::status::service_unavailable, "cloudsim is shutting down");
  std::chrono::milliseconds latency;
  {
    std::lock_guard lock(impl->mutex);
    latency = impl->sim.latencyFor(req);
  }
  if (latency.count() > 0) {
    asio::steady_timer pause(co_await asio::this_coro::executor, latency);
    co_await pause.async_wait(asio::use_awaitable);
  }
  Response res;
  {
    std::lock_guard lock(impl->mutex);
    res = impl->sim.handle(req, peer.tls);
  }
  impl->rearm();
  LOG_DEBUG("cloudsim", "{} {} -> {}", std::string(req.method_string()), std::string(req.target()), res.result_int());
  co_return res;
}

util::Result<util::JsonDoc> readUsersFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::makeError(util::ErrorCode::BadRequest, fmt::format("--users {}: cannot open the file", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > 1024 * 1024) return util::makeError(util::ErrorCode::BadRequest, fmt::format("--users {}: larger than 1 MiB", path));
  if (util::looksLikeYaml(text)) {
    auto docs = util::parseYamlDocuments(text);
    if (!docs.ok()) return util::makeError(util::ErrorCode::BadRequest, fmt::format("--users {}: {}", path, docs.error().message));
    if (docs->empty()) return util::makeError(util::ErrorCode::BadRequest, fmt::format("--users {}: empty file", path));
    return std::move(docs->front());
  }
  auto doc = util::parseJson(text);
  if (!doc.ok()) return util::makeError(util::ErrorCode::BadRequest, fmt::format("--users {}: {}", path, doc.error().message));
  return doc;
}

}  // namespace

Cloudsim::Cloudsim(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Cloudsim::~Cloudsim() { stop(); }

util::Result<std::unique_ptr<Cloudsim>> Cloudsim::start(asio::io_context& io, Options options) {
  static const util::RealClock kRealClock;
  const util::Clock& clock = options.clock ? *options.clock : kRealClock;
  auto impl = std::make_shared<Impl>(io, options, clock);
  if (!options.users_file.empty()) {
    ASSIGN_OR_RETURN(util::JsonDoc doc, readUsersFile(options.users_file));
    auto loaded = impl->sim.loadUsers(doc);
    if (!loaded.ok()) {
      return util::makeError(util::ErrorCode::BadRequest, fmt::format("--users {}: {}", options.users_file, loaded.error().message));
    }
    const User& u = impl->sim.identity().user(0);
    impl->first_user = u.name;
    impl->first_password = u.password;
    impl->first_project = u.default_project == kNone ? "" : impl->sim.identity().project(u.default_project).name;
  }
  impl->kube = std::make_unique<KubeListeners>(io, impl->mutex, impl->sim, std::weak_ptr<void>(impl),
                                               options.sim.kube_api_port_start,
                                               options.sim.kube_api_port_count);
  impl->sim.kube().setListenerHost(impl->kube.get());
  impl->sim.advance();  // loads the default users when no file was given
  net::ServerOptions server_options;
  server_options.address = options.address;
  server_options.port = options.port;
  server_options.body_limit = options.body_limit;
  server_options.header_limit = 32 * 1024;
  server_options.server_name = "cloudsim";
  std::weak_ptr<Impl> weak = impl;
  impl->server = std::make_unique<net::HttpServer>(
      io, server_options,
      [weak](net::Request req, net::PeerInfo peer) { return serve(weak, std::move(req), std::move(peer)); },
      [](http::status status, std::string message) { return keystoneError(status, message); });
  RETURN_IF_ERROR(impl->server->start());
  LOG_INFO("cloudsim", "listening on {}:{}", options.address, impl->server->port());
  return std::unique_ptr<Cloudsim>(new Cloudsim(std::move(impl)));
}

uint16_t Cloudsim::port() const { return impl_->server->port(); }

std::string Cloudsim::url() const {
  const std::string& address = impl_->options.address;
  bool v6 = address.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", address, v6 ? "]" : "", port());
}

std::string Cloudsim::authUrl() const { return url() + "/identity/v3"; }

std::string Cloudsim::cloudsYaml(std::string_view cloud_name) const {
  return fmt::format(
      "clouds:\n"
      "  {}:\n"
      "    auth:\n"
      "      auth_url: {}\n"
      "      username: \"{}\"\n"
      "      password: \"{}\"\n"
      "      project_name: \"{}\"\n"
      "      user_domain_name: Default\n"
      "      project_domain_name: Default\n"
      "    region_name: RegionOne\n"
      "    interface: public\n"
      "    identity_api_version: 3\n",
      cloud_name, authUrl(), impl_->first_user, impl_->first_password, impl_->first_project);
}

void Cloudsim::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->kube->stopAll();
  }
  impl_->server->stop();
  asio::post(impl_->strand, [impl = impl_] { impl->timer.cancel(); });
}

}  // namespace magnumd::cloudsim
