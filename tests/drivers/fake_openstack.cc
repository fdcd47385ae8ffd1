#include "tests/drivers/fake_openstack.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace magnumd::drivers::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string keystoneError(int code, const std::string& title, const std::string& message) {
  return fmt::format(R"({{"error": {{"code": {}, "title": "{}", "message": "{}"}}}})", code, title,
                     message);
}

}  // namespace

FakeOpenStack::FakeOpenStack(std::shared_ptr<asio::ssl::context> tls) : tls_(tls != nullptr) {
  net::ServerOptions options;
  options.tls = std::move(tls);
  options.body_limit = 16 * 1024 * 1024;
  server_ = std::make_unique<net::HttpServer>(
      io_, options, [this](net::Request req, net::PeerInfo) -> asio::awaitable<net::Reply> {
        Recorded r;
        r.method = std::string(req.method_string());
        std::string target(req.target());
        auto q = target.find('?');
        r.path = target.substr(0, q);
        if (q != std::string::npos) r.query = target.substr(q + 1);
        r.body = req.body();
        for (const auto& f : req) r.headers[lower(std::string(f.name_string()))] = std::string(f.value());
        FakeReply reply = handle(r);
        if (reply.delay.count() > 0) {
          asio::steady_timer timer(co_await asio::this_coro::executor, reply.delay);
          co_await timer.async_wait(asio::use_awaitable);
        }
        net::Response res{static_cast<http::status>(reply.status), 11};
        res.set(http::field::content_type, "application/json");
        res.set("x-openstack-request-id", fmt::format("req-{}", r.method));
        for (const auto& [k, v] : reply.headers) res.set(k, v);
        res.body() = std::move(reply.body);
        co_return res;
      });
  auto started = server_->start();
  if (!started.ok()) throw std::runtime_error(started.error().message);
  thread_ = std::thread([this] { io_.run(); });
}

FakeOpenStack::~FakeOpenStack() {
  server_->stop();
  io_.stop();
  thread_.join();
}

std::string FakeOpenStack::url() const {
  return fmt::format("{}://127.0.0.1:{}", tls_ ? "https" : "http", server_->port());
}

void FakeOpenStack::on(std::string method, std::string path, Route route) {
  std::lock_guard lock(mutex_);
  routes_.push_back({{std::move(method), std::move(path)}, std::move(route)});
}

void FakeOpenStack::setPassword(std::string password) {
  std::lock_guard lock(mutex_);
  password_ = std::move(password);
}

void FakeOpenStack::setTokenLifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(mutex_);
  lifetime_ = lifetime;
}

void FakeOpenStack::setClock(const util::Clock* clock) {
  std::lock_guard lock(mutex_);
  clock_ = clock;
}

void FakeOpenStack::revokeAllTokens() {
  std::lock_guard lock(mutex_);
  valid_tokens_.clear();
}

std::vector<Recorded> FakeOpenStack::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

int FakeOpenStack::count(const std::string& method, const std::string& path_prefix) const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(std::count_if(requests_.begin(), requests_.end(), [&](const Recorded& r) {
    return r.method == method && r.path.starts_with(path_prefix);
  }));
}

void FakeOpenStack::clearRequests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

FakeReply FakeOpenStack::keystone(const Recorded& r) {
  // Called with mutex_ held.
  if (r.body.find(fmt::format("\"password\":\"{}\"", password_)) == std::string::npos &&
      r.body.find("\"secret\":\"appcred-secret\"") == std::string::npos) {
    return {401, keystoneError(401, "Unauthorized", "The request you have made requires authentication."),
            {{"WWW-Authenticate", fmt::format("Keystone uri=\"{}/identity\"", url())}}};
  }
  const std::string token = fmt::format("tok-{}", next_token_++);
  valid_tokens_.push_back(token);
  const auto now = clock_ ? clock_->now() : real_clock_.now();
  const std::string base = url();
  std::string body = fmt::format(
      R"({{"token": {{"methods": ["password"], "expires_at": "{}", "issued_at": "{}",
  "user": {{"id": "u-1", "name": "demo", "domain": {{"id": "default", "name": "Default"}}}},
  "project": {{"id": "{}", "name": "demo", "domain": {{"id": "default", "name": "Default"}}}},
  "roles": [{{"id": "r1", "name": "member"}}], "unknown_future_field": {{"x": 1}},
  "catalog": [
    {{"type": "identity", "name": "keystone", "endpoints": [
      {{"interface": "public", "region_id": "RegionOne", "region": "RegionOne", "url": "{}/identity"}}]}},
    {{"type": "orchestration", "name": "heat", "endpoints": [
      {{"interface": "internal", "region_id": "RegionOne", "url": "{}/internal-heat/v1/$(project_id)s"}},
      {{"interface": "public", "region_id": "RegionTwo", "url": "{}/heat-two/v1/%(tenant_id)s"}},
      {{"interface": "public", "region_id": "RegionOne", "url": "{}/heat-api/v1/$(project_id)s/"}}]}},
    {{"type": "compute", "name": "nova", "endpoints": [
      {{"interface": "public", "region_id": "RegionOne", "url": "{}/compute/v2.1"}}]}},
    {{"type": "image", "name": "glance", "endpoints": [
      {{"interface": "public", "region_id": "RegionOne", "url": "{}/image"}}]}}
  ]}}}})",
      util::formatRfc3339(now + lifetime_), util::formatRfc3339(now), project_id, base, base, base,
      base, base, base);
  return {201, body, {{"X-Subject-Token", token}}};
}

FakeReply FakeOpenStack::handle(const Recorded& r) {
  Route route;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(r);
    if (r.method == "POST" && r.path == "/identity/v3/auth/tokens") return keystone(r);
    if (requireTokens && !r.path.starts_with("/identity")) {
      auto it = r.headers.find("x-auth-token");
      if (it == r.headers.end() ||
          std::find(valid_tokens_.begin(), valid_tokens_.end(), it->second) == valid_tokens_.end()) {
        return {401, keystoneError(401, "Unauthorized", "The request you have made requires authentication.")};
      }
    }
    for (auto it = routes_.rbegin(); it != routes_.rend(); ++it) {
      const auto& [method, path] = it->first;
      if (method != r.method) continue;
      bool prefix = !path.empty() && path.back() == '*';
      if (prefix ? r.path.starts_with(path.substr(0, path.size() - 1)) : r.path == path) {
        route = it->second;
        break;
      }
    }
  }
  if (!route) {
    return {404, R"({"itemNotFound": {"code": 404, "message": "no route in the fake"}})"};
  }
  return route(r);
}

}  // namespace magnumd::drivers::testing
