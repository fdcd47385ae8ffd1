// Keystone tokens (X-Auth-Token) as API credentials, as keystonemiddleware's auth_token does it
// for Magnum: each token is validated with Keystone (GET /v3/auth/tokens, by a KeystoneValidator
// the composition root provides) and the answer is cached until the token expires or for at most
// `cache_ttl`, so a revoked token stops working within that time. Concurrent requests with the
// same uncached token share one validation. The cache holds token digests, never tokens, and is
// bounded (oldest entries go first).
//
// Keystone's roles on the token's project map to magnumd's roles, the highest one winning:
//   admin  -> admin, in every namespace (Magnum's all_tenants: `admin_api` is role:admin)
//   member -> member, in the namespace named by the project id
//   healer -> healer, in the namespace named by the project id (magnum-auto-healer's user)
//   reader -> reader, in the namespace named by the project id
// The token's role names stay with the identity, for Magnum's policy rules (magnum_policy.h).
// A token with none of these, or scoped to no project, is refused with 403.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/auth.h"
#include "util/metrics.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::server {

// What Keystone says about a valid token.
struct KeystoneToken {
  std::string user_id;
  std::string user_name;
  std::string project_id;  // empty: not scoped to a project
  std::string project_name;
  std::vector<std::string> roles;              // role names
  std::optional<util::SystemTime> expires_at;  // nullopt: never expires
};

class KeystoneValidator {
 public:
  virtual ~KeystoneValidator() = default;
  // nullopt when Keystone does not know the token (unknown, expired or revoked: its 404); an
  // error (Unavailable, naming Keystone and why) when Keystone could not be asked or failed.
  virtual boost::asio::awaitable<util::Result<std::optional<KeystoneToken>>> validate(
      std::string token) = 0;
};

// The magnumd identity of a token Keystone vouches for; Forbidden when its roles or scope give
// it nothing in magnumd.
util::Result<Identity> identityFromKeystone(const KeystoneToken& token);

struct KeystoneAuthOptions {
  std::chrono::seconds cache_ttl{60};  // revocation takes effect within this
  size_t cache_size = 10000;           // tokens remembered; the oldest is forgotten first
};

class KeystoneAuthenticator {
 public:
  KeystoneAuthenticator(KeystoneValidator& validator, const util::Clock& clock,
                        KeystoneAuthOptions options, util::MetricsRegistry* metrics = nullptr);
  ~KeystoneAuthenticator();

  // The identity for an X-Auth-Token value: Unauthorized when Keystone does not know it,
  // Forbidden when it grants nothing here, Unavailable when Keystone cannot be asked.
  boost::asio::awaitable<util::Result<Identity>> authenticate(std::string token);

  size_t cached() const;
  uint64_t validations() const;  // calls made to Keystone

 private:
  struct Entry {
    util::Result<Identity> outcome;
    util::SystemTime until;
    uint64_t generation;
  };
  struct Flight;

  void remember(const std::string& digest, const util::Result<Identity>& outcome,
                util::SystemTime until);
  void count(const char* result);

  KeystoneValidator& validator_;
  const util::Clock& clock_;
  const KeystoneAuthOptions options_;
  util::Family<util::Counter>* results_ = nullptr;

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> cache_;        // sha256(token) -> outcome
  std::deque<std::pair<std::string, uint64_t>> order_;  // insertion order, for eviction
  uint64_t generation_ = 0;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  uint64_t validations_ = 0;
};

}  // namespace magnumd::server
