// HTTP plumbing shared by the simulated services: parsed request, query strings, JSON replies and
// each service's error body.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudsim/identity.h"
#include "net/http_server.h"
#include "util/json.h"
#include "util/url.h"

namespace magnumd::cloudsim {

using net::Request;
using net::Response;
namespace http = net::http;

class Query {
 public:
  explicit Query(std::string_view raw);
  std::optional<std::string> get(std::string_view key) const;
  std::vector<std::string> all(std::string_view key) const;  // repeated and comma-joined values kept apart
  bool has(std::string_view key) const { return get(key).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }
  std::string raw() const { return raw_; }

 private:
  std::string raw_;
  std::vector<std::pair<std::string, std::string>> items_;
};


struct Call {
  const Request& req;
  std::string method;
  std::vector<std::string> seg;  // decoded path segments below the service root
  Query query;
  std::string base;              // "http://HOST" as the client addressed us
  const Token* token = nullptr;
  std::string route;             // route pattern for /sim/v1/stats, set by the service
  std::string header(std::string_view name) const;
};

Response jsonReply(http::status status, const util::Json& body);
Response jsonText(http::status status, std::string body);
Response emptyReply(http::status status);

// {"error": {"code", "title", "message"}}: Keystone, and keystonemiddleware for every service.
Response keystoneError(http::status status, std::string_view message, std::string_view base = {});
// {"code", "title", "explanation", "error": {"type", "message", "traceback"}}
Response heatError(http::status status, std::string_view type, std::string_view message);
// {"itemNotFound": {"code", "message"}} with the root key chosen by status.
Response novaError(http::status status, std::string_view message);

http::status statusOf(util::ErrorCode code);
const char* titleOf(http::status status);

// Parses a JSON request body; an empty body is an empty object.
util::Result<util::JsonDoc> parseBody(const Call& call);

}  // namespace magnumd::cloudsim
