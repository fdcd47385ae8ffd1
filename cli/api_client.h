// magnumd's REST API as magnumctl sees it: paths per kind, JSON bodies, Kubernetes Status errors
// decoded into ApiError, paginated lists merged, watch streams decoded into events.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/object.h"
#include "drivers/http/blocking_client.h"
#include "util/json.h"
#include "util/result.h"

namespace magnumd::cli {

// magnumd's address as given to --server / MAGNUMD_URL.
struct ServerUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6 literals
  uint16_t port = 0;   // explicit or the scheme's default
  std::string path;    // base path without a trailing slash ("" for the root)

  std::string text() const;  // scheme://host:port/path, IPv6 literals in brackets
};

// Parses "http[s]://host[:port][/base/path]". Errors are BadRequest naming the URL and what is
// wrong with it (missing scheme, unsupported scheme, bad port, user info, query or fragment).
util::Result<ServerUrl> parseServerUrl(std::string_view text);

struct ApiClientOptions {
  std::string server = "http://127.0.0.1:9511";
  std::string token;
  std::string ca_file;  // PEM bundle; empty: the system's trusted CAs
  std::string ca_pem;   // PEM bundle in memory (a kubeconfig's certificate-authority-data)
  bool insecure_skip_tls_verify = false;
  std::chrono::milliseconds request_timeout{30000};  // one request; for watches, idle time
  std::string user_agent = "magnumctl";
};

struct ApiError {
  int http_status = 0;  // 0: no response from the server (transport failure)
  std::string reason;   // Status.reason ("NotFound", "Invalid", ...) or the transport failure kind
  std::string message;
  std::vector<util::Cause> causes;
  std::string hint;  // what the user can do about it, when magnumctl knows
};

// Result<T> for API calls; same shape as util::Result so ASSIGN_OR_RETURN works with it.
template <typename T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  ApiResult(ApiError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const ApiError& error() const { return std::get<1>(v_); }
  ApiError&& takeError() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, ApiError> v_;
};

// Decodes a non-2xx response: a Kubernetes Status object when the body is one, else the body text.
ApiError errorFromResponse(int http_status, std::string_view body);
// Decodes a Status object (an ERROR watch event's payload).
ApiError errorFromStatus(const util::Json& status);
// "Error from server (Invalid): <context: ><message>\n  * field: message\n..." or
// "error: <message>" for transport failures; hint on its own line.
std::string formatError(const ApiError& error, std::string_view context = {});

std::string collectionPath(api::Kind kind, std::string_view ns);  // ns "" = all namespaces
std::string objectPath(api::Kind kind, std::string_view ns, std::string_view name);

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK
  const util::Json& object;
};
// Return false to end the watch.
using WatchHandler = std::function<bool(const WatchEvent& event)>;

struct WatchRequest {
  api::Kind kind = api::Kind::Cluster;
  std::string ns;  // "" = all namespaces
  std::string label_selector;
  std::string resource_version;  // "" = synthetic ADDED events first
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct WatchEnd {
  bool ended_by_handler = false;      // false: the server ended the stream
  std::string last_resource_version;  // of the last event received (bookmarks included)
};

struct ListOptions {
  std::string label_selector;
  int64_t page_size = 500;
  bool single_page = false;  // just the first page (e.g. to learn the current resourceVersion)
};

class ApiClient {
 public:
  // Checks the server URL and loads the CA file up front, so that configuration mistakes surface
  // before the first request.
  static util::Result<std::unique_ptr<ApiClient>> create(ApiClientOptions options);

  ApiResult<util::JsonDoc> get(api::Kind kind, std::string_view ns, std::string_view name);
  // Follows `continue` until the last page; returns {"metadata":{"resourceVersion"},"items":[...]}
  // with the first page's resourceVersion (a consistent snapshot, as Kubernetes serves it).
  ApiResult<util::JsonDoc> list(api::Kind kind, std::string_view ns, const ListOptions& options);
  ApiResult<util::JsonDoc> create(api::Kind kind, std::string_view ns, const std::string& body);
  ApiResult<util::JsonDoc> mergePatch(api::Kind kind, std::string_view ns, std::string_view name,
                                      const std::string& patch);
  ApiResult<util::JsonDoc> remove(api::Kind kind, std::string_view ns, std::string_view name);
  ApiResult<util::JsonDoc> getRaw(const std::string& path);
  // A request whose answer is a document rather than JSON (PEM, a kubeconfig): its body on 2xx,
  // a decoded Status error otherwise.
  ApiResult<std::string> callText(std::string method, std::string target, std::string accept,
                                  std::string body = {}, std::string content_type = {});
  // Streams events until the server ends the stream, the handler returns false or the deadline
  // passes (an error with reason "Timeout"). An ERROR event becomes an error (410 Expired...).
  ApiResult<WatchEnd> watch(const WatchRequest& request, const WatchHandler& handler);

  const std::string& serverUrl() const { return server_url_; }

 private:
  ApiClient(std::unique_ptr<drivers::http::BlockingHttpClient> http, std::string server_url,
            std::string token);

  ApiResult<util::JsonDoc> call(std::string method, std::string target, std::string body = {},
                                std::string content_type = {});
  ApiError transportError(const util::Error& error) const;
  ApiError withHint(ApiError error) const;
  drivers::http::HttpRequest request(std::string method, std::string target,
                                     std::string content_type = {},
                                     std::string accept = "application/json") const;

  std::unique_ptr<drivers::http::BlockingHttpClient> http_;
  std::string server_url_;  // requests go to server_url_ + path
  std::string token_;
};

}  // namespace magnumd::cli
