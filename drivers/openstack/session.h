// An authenticated Keystone session shared by the Heat and Nova clients: one cached token,
// renewed before it expires and once after a 401, with concurrent callers sharing one
// authentication (single flight).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "drivers/http/async_notifier.h"
#include "drivers/http/http_client.h"
#include "drivers/openstack/cloud_config.h"
#include "drivers/openstack/keystone.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::drivers::openstack {

struct SessionOptions {
  // Renew when less than this is left (at most half the token's lifetime).
  std::chrono::seconds renew_before{300};
  int max_redirects = 3;
};

class Session {
 public:
  Session(http::HttpClient& http, CloudConfig config, const util::Clock& clock,
          SessionOptions options = {});

  // A valid token; authenticates when there is none or it is about to expire.
  boost::asio::awaitable<util::Result<Token>> token();
  // Drops the cached token if it is still `token_id` (a 401 said it is no longer valid).
  void invalidate(const std::string& token_id);

  boost::asio::awaitable<util::Result<std::string>> endpoint(std::string service_type);
  boost::asio::awaitable<util::Result<std::string>> projectId();

  // A request to a service from the catalog. `path` is appended to the endpoint ("/stacks?x=y"),
  // or used as is when it is an absolute URL. Adds X-Auth-Token and JSON headers, follows
  // redirects of GET and HEAD, re-authenticates and retries once on 401. Any HTTP status is a
  // value; transport failures are Errors.
  boost::asio::awaitable<util::Result<http::HttpResponse>> request(
      std::string service_type, std::string method, std::string path, std::string body = {},
      std::vector<http::Header> headers = {});

  // GET /v3/auth/tokens as a service validating a user's token: `subject` in X-Subject-Token,
  // this session's token as the caller's (renewed once on 401). nullopt when Keystone answers 404
  // (unknown, expired or revoked); errors when it cannot be reached or refuses the service.
  boost::asio::awaitable<util::Result<std::optional<Token>>> validateToken(std::string subject);

  // GET /v3/auth/projects: the projects this session's user may scope a token to (those it has
  // a role on).
  boost::asio::awaitable<util::Result<std::vector<ProjectRef>>> availableProjects();

  const CloudConfig& config() const { return config_; }
  uint64_t authentications() const { return authentications_.load(); }

 private:
  boost::asio::awaitable<util::Result<Token>> authenticate();
  bool usable(const Token& token) const;

  http::HttpClient& http_;
  const CloudConfig config_;
  const util::Clock& clock_;
  const SessionOptions options_;

  std::mutex mutex_;
  std::optional<Token> token_;
  std::optional<util::SystemTime> renew_at_;
  bool authenticating_ = false;
  uint64_t completed_flights_ = 0;
  util::Error last_error_;
  http::AsyncNotifier notifier_;
  std::atomic<uint64_t> authentications_{0};

  friend struct FlightGuard;
};

}  // namespace magnumd::drivers::openstack
