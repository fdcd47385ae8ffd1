// A Keystone for server tests: tokens it knows, a switch that makes it unreachable, and a gate
// that holds validations until released (to have several requests wait on one).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <string>
#include <vector>

#include "server/keystone_auth.h"

namespace magnumd::server::testing {

namespace asio = boost::asio;

class FakeKeystone final : public KeystoneValidator {
 public:
  explicit FakeKeystone(asio::any_io_executor executor) : gate_(std::move(executor)) {}

  asio::awaitable<util::Result<std::optional<KeystoneToken>>> validate(std::string token) override {
    ++calls;
    if (hold) {
      gate_.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ignored;
      co_await gate_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (down) co_return util::makeError(util::ErrorCode::Unavailable, "connection refused");
    auto it = tokens.find(token);
    if (it == tokens.end()) co_return std::optional<KeystoneToken>();
    co_return std::optional<KeystoneToken>(it->second);
  }
  void release() { gate_.cancel(); }

  std::map<std::string, KeystoneToken> tokens;
  std::atomic<int> calls{0};
  bool hold = false;
  bool down = false;

 private:
  asio::steady_timer gate_;
};

// A token of `user` (id user-id) on `project` (id project-id) with `roles`.
inline KeystoneToken token(std::string user, std::string project, std::vector<std::string> roles) {
  std::string project_id = project.empty() ? "" : project + "-id";
  return KeystoneToken{user + "-id", user, project_id, project, std::move(roles), std::nullopt};
}

}  // namespace magnumd::server::testing
