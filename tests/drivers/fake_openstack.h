// A tiny programmable OpenStack for driver tests: Keystone at /identity/v3 issuing tokens with
// a catalog pointing back at this server, plus per-test routes for Heat, Nova and Glance paths.
// Runs on its own thread so the client under test runs on the test's io_context.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_server.h"
#include "util/time.h"

namespace magnumd::drivers::testing {

struct Recorded {
  std::string method;
  std::string path;   // without the query
  std::string query;  // without '?'
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct FakeReply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};
};

class FakeOpenStack {
 public:
  using Route = std::function<FakeReply(const Recorded&)>;

  explicit FakeOpenStack(std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~FakeOpenStack();

  std::string url() const;  // http(s)://127.0.0.1:PORT
  std::string authUrl() const { return url() + "/identity/v3"; }

  // Exact path match, or prefix match when `path` ends with '*'. Later routes win.
  void on(std::string method, std::string path, Route route);

  // Keystone behaviour.
  void setPassword(std::string password);
  void setTokenLifetime(std::chrono::seconds lifetime);
  void setClock(const util::Clock* clock);      // token expiry relative to this clock
  void revokeAllTokens();                       // services answer 401 until re-auth
  bool requireTokens = true;                    // services check X-Auth-Token
  std::string project_id = "p-1234";

  std::vector<Recorded> requests() const;
  int count(const std::string& method, const std::string& path_prefix) const;
  void clearRequests();

 private:
  FakeReply handle(const Recorded& r);
  FakeReply keystone(const Recorded& r);

  boost::asio::io_context io_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  bool tls_ = false;

  mutable std::mutex mutex_;
  std::vector<std::pair<std::pair<std::string, std::string>, Route>> routes_;
  std::vector<Recorded> requests_;
  std::string password_ = "secret";
  std::chrono::seconds lifetime_{3600};
  const util::Clock* clock_ = nullptr;
  util::RealClock real_clock_;
  std::vector<std::string> valid_tokens_;
  int next_token_ = 1;
};

}  // namespace magnumd::drivers::testing
