#include "drivers/openstack/session.h"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

#include "drivers/openstack/errors.h"
#include "util/log.h"

namespace magnumd::drivers::openstack {

using util::ErrorCode;
using util::makeError;
namespace asio = boost::asio;
constexpr char kLog[] = "keystone";

// Ends a flight even when the authenticating coroutine is destroyed mid-way, so waiters never
// hang on a flight nobody finishes.
struct FlightGuard {
  Session& session;
  bool done = false;
  ~FlightGuard() {
    if (done) return;
    std::lock_guard lock(session.mutex_);
    session.authenticating_ = false;
    session.completed_flights_++;
    session.last_error_ = makeError(ErrorCode::Unavailable, "authentication was cancelled");
    session.notifier_.notifyAll();
  }
};

namespace {

// Outside the coroutines on purpose (GCC 12 and conditional temporaries in coroutine bodies).
std::string describeIdentity(const CloudConfig& c) {
  if (c.isApplicationCredential()) {
    return fmt::format("application credential \"{}\"", c.application_credential_id.empty()
                                                              ? c.application_credential_name
                                                              : c.application_credential_id);
  }
  return fmt::format("user \"{}\"", c.user_id.empty() ? c.username : c.user_id);
}

// Requests are assembled outside the coroutines: GCC 12 mishandles initializer lists and
// braced temporaries inside coroutine bodies.
http::HttpRequest tokenRequest(const CloudConfig& config, const std::string& url) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body = authRequestBody(config);
  req.idempotent = true;  // issuing a token twice creates nothing a caller could trip over
  return req;
}

http::HttpRequest serviceRequest(const std::string& method, const std::string& url,
                                 const std::vector<http::Header>& headers, const std::string& body,
                                 const std::string& token) {
  http::HttpRequest req;
  req.method = method;
  req.url = url;
  req.headers = headers;
  req.headers.push_back(http::Header{"X-Auth-Token", token});
  req.headers.push_back(http::Header{"Accept", "application/json"});
  if (!body.empty()) req.headers.push_back(http::Header{"Content-Type", "application/json"});
  req.body = body;
  return req;
}

}  // namespace

Session::Session(http::HttpClient& http, CloudConfig config, const util::Clock& clock,
                 SessionOptions options)
    : http_(http), config_(std::move(config)), clock_(clock), options_(options) {}

bool Session::usable(const Token& /*token*/) const {
  return !renew_at_ || clock_.now() < *renew_at_;
}

asio::awaitable<util::Result<Token>> Session::token() {
  std::unique_lock lock(mutex_);
  std::optional<uint64_t> waited_since;
  for (;;) {
    if (token_ && usable(*token_)) co_return *token_;
    if (waited_since && completed_flights_ > *waited_since && !authenticating_) {
      co_return last_error_;  // the flight we waited for failed: share its error, no storm
    }
    if (!authenticating_) break;
    if (!waited_since) waited_since = completed_flights_;
    // The flight always ends with notifyAll() (FlightGuard sees to it, even when cancelled).
    co_await notifier_.wait(lock, std::chrono::steady_clock::time_point::max());
  }
  authenticating_ = true;
  lock.unlock();
  FlightGuard guard{*this};
  auto result = co_await authenticate();
  lock.lock();
  guard.done = true;
  authenticating_ = false;
  completed_flights_++;
  if (result.ok()) {
    token_ = result.value();
    renew_at_.reset();
    if (token_->expires_at) {
      const auto now = clock_.now();
      const auto lifetime = *token_->expires_at > now ? *token_->expires_at - now
                                                      : util::SystemTime::duration::zero();
      const util::SystemTime::duration margin =
          std::min<util::SystemTime::duration>(options_.renew_before, lifetime / 2);
      renew_at_ = *token_->expires_at - margin;
    }
  } else {
    token_.reset();
    last_error_ = result.error();
  }
  notifier_.notifyAll();
  co_return result;
}

void Session::invalidate(const std::string& token_id) {
  std::lock_guard lock(mutex_);
  if (token_ && token_->id == token_id) token_.reset();
}

asio::awaitable<util::Result<Token>> Session::authenticate() {
  authentications_++;
  const std::string url = config_.auth_url + "/auth/tokens";
  auto sent = co_await http_.send(tokenRequest(config_, url));
  if (!sent.ok()) {
    auto error = sent.takeError();
    error.message = fmt::format("authenticating at {}: {}", url, error.message);
    co_return error;
  }
  const http::HttpResponse& res = sent.value();
  const std::string who = describeIdentity(config_);
  if (res.status == 401) {
    co_return errorFromResponse(res, fmt::format("keystone at {} rejected {} ({})", config_.auth_url,
                                                 who, config_.source));
  }
  if (res.status != 201 && res.status != 200) {
    co_return errorFromResponse(res, fmt::format("authenticating {} at {}", who, config_.auth_url));
  }
  const std::string* subject = res.header("X-Subject-Token");
  if (subject == nullptr || subject->empty()) {
    co_return malformedResponse("keystone token", "no X-Subject-Token header");
  }
  auto token = parseTokenResponse(res.body, *subject);
  if (token.ok()) {
    LOG_DEBUG(kLog, "authenticated {} for project {} (request id {})", who, token->project_id,
              res.requestId());
  }
  co_return token;
}

asio::awaitable<util::Result<std::string>> Session::endpoint(std::string service_type) {
  CO_ASSIGN_OR_RETURN(auto token, co_await this->token());
  co_return selectEndpoint(token.catalog, service_type, config_.interface, config_.region_name,
                           token.project_id);
}

asio::awaitable<util::Result<std::string>> Session::projectId() {
  CO_ASSIGN_OR_RETURN(auto token, co_await this->token());
  if (token.project_id.empty()) {
    co_return makeError(ErrorCode::BadRequest,
                        fmt::format("{}: the token is not scoped to a project", config_.source));
  }
  co_return token.project_id;
}

namespace {

std::vector<http::Header> subjectHeader(const std::string& subject) {
  return {http::Header{"X-Subject-Token", subject}};
}

std::string resolveLocation(const std::string& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  auto parsed = boost::urls::parse_uri(base);
  if (!parsed) return location;
  boost::urls::url url(*parsed);
  auto ref = boost::urls::parse_uri_reference(location);
  if (!ref) return location;
  boost::urls::url out;
  if (boost::urls::resolve(url, *ref, out)) return std::string(out.buffer());
  return location;
}

}  // namespace

asio::awaitable<util::Result<http::HttpResponse>> Session::request(
    std::string service_type, std::string method, std::string path, std::string body,
    std::vector<http::Header> headers) {
  for (int auth_try = 0;; ++auth_try) {
    CO_ASSIGN_OR_RETURN(auto token, co_await this->token());
    std::string url = path;
    if (path.find("://") == std::string::npos) {
      CO_ASSIGN_OR_RETURN(url, selectEndpoint(token.catalog, service_type, config_.interface,
                                              config_.region_name, token.project_id));
      url += path;
    }
    http::HttpRequest req = serviceRequest(method, url, headers, body, token.id);
    util::Result<http::HttpResponse> res = co_await http_.send(req);
    for (int hop = 0; res.ok() && hop < options_.max_redirects; ++hop) {
      const int s = res->status;
      const auto* location = res->header("Location");
      if ((s != 301 && s != 302 && s != 303 && s != 307 && s != 308) || location == nullptr ||
          (method != "GET" && method != "HEAD")) {
        break;
      }
      req.url = resolveLocation(req.url, *location);
      res = co_await http_.send(req);
    }
    if (res.ok() && res->status == 401 && auth_try == 0) {
      LOG_INFO(kLog, "{} {} answered 401 (request id {}); authenticating again", method, url,
               res->requestId());
      invalidate(token.id);
      continue;
    }
    co_return res;
  }
}

asio::awaitable<util::Result<std::optional<Token>>> Session::validateToken(std::string subject) {
  // The subject token travels only in its header: never in the URL, so never in a log line.
  std::vector<http::Header> headers = subjectHeader(subject);
  const std::string url = config_.auth_url + "/auth/tokens?nocatalog";
  CO_ASSIGN_OR_RETURN(auto res, co_await request("identity", "GET", url, "", std::move(headers)));
  if (res.status == 404) co_return std::optional<Token>();
  if (res.status != 200) {
    auto error = errorFromResponse(res, fmt::format("validating a token at {}", config_.auth_url));
    // However Keystone failed, the caller's token is neither valid nor invalid: Keystone could
    // not say, which the API reports as 503 rather than 401.
    error.code = ErrorCode::Unavailable;
    co_return error;
  }
  CO_ASSIGN_OR_RETURN(auto token, parseTokenResponse(res.body, ""));
  co_return std::optional<Token>(std::move(token));
}

asio::awaitable<util::Result<std::vector<ProjectRef>>> Session::availableProjects() {
  const std::string url = config_.auth_url + "/auth/projects";
  CO_ASSIGN_OR_RETURN(auto res, co_await request("identity", "GET", url));
  if (res.status != 200) {
    co_return errorFromResponse(
        res, fmt::format("listing the projects of {} at {}",
                         config_.username.empty() ? config_.user_id : config_.username,
                         config_.auth_url));
  }
  co_return parseProjectsResponse(res.body);
}

}  // namespace magnumd::drivers::openstack
