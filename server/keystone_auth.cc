#include "server/keystone_auth.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "drivers/http/async_notifier.h"

namespace magnumd::server {

using util::ErrorCode;
using util::makeError;

namespace {

bool hasRole(const KeystoneToken& token, std::string_view role) {
  return std::find(token.roles.begin(), token.roles.end(), role) != token.roles.end();
}

}  // namespace

util::Result<Identity> identityFromKeystone(const KeystoneToken& token) {
  const std::string& user = token.user_name.empty() ? token.user_id : token.user_name;
  if (hasRole(token, "admin")) return Identity{user, "*", Role::Admin, token.roles};
  if (token.project_id.empty()) {
    return makeError(ErrorCode::Forbidden,
                     fmt::format("Keystone user \"{}\": the token is not scoped to a project; "
                                 "magnumd maps a project to the namespace of that id, so ask for a "
                                 "project-scoped token (--os-project-name)",
                                 user));
  }
  if (hasRole(token, "member")) return Identity{user, token.project_id, Role::Member, token.roles};
  // magnum-auto-healer's identity: reads, and writes a cluster's health only.
  if (hasRole(token, "healer")) return Identity{user, token.project_id, Role::Healer, token.roles};
  if (hasRole(token, "reader")) return Identity{user, token.project_id, Role::Reader, token.roles};
  return makeError(
      ErrorCode::Forbidden,
      fmt::format("Keystone user \"{}\" has roles [{}] on project \"{}\" ({}); magnumd "
                  "needs one of admin, member, healer or reader",
                  user, fmt::join(token.roles, ", "), token.project_name, token.project_id));
}

// One validation in progress; later requests for the same token wait for its outcome.
struct KeystoneAuthenticator::Flight {
  std::optional<util::Result<Identity>> outcome;
  drivers::http::AsyncNotifier done;
};

KeystoneAuthenticator::KeystoneAuthenticator(KeystoneValidator& validator, const util::Clock& clock,
                                             KeystoneAuthOptions options,
                                             util::MetricsRegistry* metrics)
    : validator_(validator), clock_(clock), options_(options) {
  if (metrics != nullptr) {
    results_ = &metrics->counter("magnumd_keystone_token_checks_total",
                                 "X-Auth-Token checks by outcome: cached, or a Keystone "
                                 "validation that found the token valid, invalid or forbidden "
                                 "here, or could not reach Keystone (unavailable).",
                                 {"result"});
  }
}

KeystoneAuthenticator::~KeystoneAuthenticator() = default;

void KeystoneAuthenticator::count(const char* result) {
  if (results_ != nullptr) results_->with({result}).inc();
}

size_t KeystoneAuthenticator::cached() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

uint64_t KeystoneAuthenticator::validations() const {
  std::lock_guard lock(mutex_);
  return validations_;
}

void KeystoneAuthenticator::remember(const std::string& digest,
                                     const util::Result<Identity>& outcome,
                                     util::SystemTime until) {
  if (options_.cache_size == 0) return;
  const util::SystemTime now = clock_.now();
  while (cache_.size() >= options_.cache_size && !order_.empty()) {
    auto [oldest, generation] = order_.front();
    order_.pop_front();
    auto it = cache_.find(oldest);
    if (it != cache_.end() && it->second.generation == generation) cache_.erase(it);
  }
  // Stale order entries (their key was refreshed or evicted) are dropped when they surface; keep
  // the queue from growing past twice the cache by sweeping expired entries now and then.
  if (order_.size() > 2 * options_.cache_size) {
    std::erase_if(cache_, [&](const auto& kv) { return kv.second.until <= now; });
    std::deque<std::pair<std::string, uint64_t>> live;
    for (auto& item : order_) {
      auto it = cache_.find(item.first);
      if (it != cache_.end() && it->second.generation == item.second)
        live.push_back(std::move(item));
    }
    order_ = std::move(live);
  }
  const uint64_t generation = ++generation_;
  cache_.insert_or_assign(digest, Entry{outcome, until, generation});
  order_.emplace_back(digest, generation);
}

boost::asio::awaitable<util::Result<Identity>> KeystoneAuthenticator::authenticate(
    std::string token) {
  const std::string digest = tokenDigest(token);
  std::unique_lock lock(mutex_);
  if (auto it = cache_.find(digest); it != cache_.end()) {
    if (clock_.now() < it->second.until) {
      count("cached");
      co_return it->second.outcome;
    }
    cache_.erase(it);
  }
  if (auto it = flights_.find(digest); it != flights_.end()) {
    std::shared_ptr<Flight> flight = it->second;
    while (!flight->outcome) {
      co_await flight->done.wait(lock, std::chrono::steady_clock::time_point::max());
    }
    count("cached");
    co_return *flight->outcome;
  }
  auto flight = std::make_shared<Flight>();
  flights_.emplace(digest, flight);
  ++validations_;
  lock.unlock();

  // Ends the flight even when this coroutine is destroyed mid-way (shutdown), so no waiter hangs.
  struct Landing {
    KeystoneAuthenticator& self;
    const std::string& digest;
    Flight& flight;
    ~Landing() {
      std::lock_guard guard(self.mutex_);
      if (!flight.outcome) {
        flight.outcome =
            makeError(ErrorCode::Unavailable, "Keystone token validation was cancelled");
      }
      self.flights_.erase(digest);
      flight.done.notifyAll();
    }
  } landing{*this, digest, *flight};

  auto answer = co_await validator_.validate(std::move(token));
  const util::SystemTime now = clock_.now();
  util::SystemTime until = now + options_.cache_ttl;
  util::Result<Identity> outcome = makeError(ErrorCode::Internal, "unset");
  const char* result = "valid";
  if (!answer.ok()) {
    result = "unavailable";
    outcome = makeError(ErrorCode::Unavailable, "cannot validate the X-Auth-Token with Keystone: " +
                                                    answer.error().message);
  } else if (!*answer || ((*answer)->expires_at && *(*answer)->expires_at <= now)) {
    result = "invalid";
    outcome = makeError(ErrorCode::Unauthorized,
                        "Unauthorized: Keystone does not accept the X-Auth-Token (unknown, expired "
                        "or revoked)");
  } else {
    if ((*answer)->expires_at) until = std::min(until, *(*answer)->expires_at);
    outcome = identityFromKeystone(**answer);
    if (!outcome.ok()) result = "forbidden";
  }
  count(result);
  lock.lock();
  flight->outcome = outcome;
  // Keystone's own failures are not remembered: the next request asks again.
  if (answer.ok()) remember(digest, outcome, until);
  lock.unlock();
  co_return outcome;
}

}  // namespace magnumd::server
