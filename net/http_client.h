// A small blocking HTTP/1.1 client (Boost.Beast underneath, hidden behind this header) for
// command-line tools: plain HTTP or HTTPS with certificate and host name verification, connect and
// read deadlines, a response size limit, keep-alive reuse of one connection, and a streaming mode
// that hands a chunked body to a callback line by line (watch streams).
//
// Not thread-safe: one request at a time. Only stop() may be called from another thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace magnumd::net {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6 literals
  uint16_t port = 0;   // explicit or the scheme's default
  std::string path;    // base path without a trailing slash ("" for the root)
};

// Parses "http[s]://host[:port][/base/path]". Errors are BadRequest naming the URL and what is
// wrong with it (missing scheme, unsupported scheme, bad port, user info, query or fragment).
util::Result<Url> parseUrl(std::string_view text);

struct HttpClientOptions {
  std::string base_url = "http://127.0.0.1:9511";
  std::chrono::milliseconds connect_timeout{10000};
  // Deadline for a whole non-streaming exchange once connected; for streams, the longest silence
  // between two reads.
  std::chrono::milliseconds read_timeout{30000};
  uint64_t max_response_bytes = 64ull * 1024 * 1024;
  uint64_t max_line_bytes = 16ull * 1024 * 1024;  // streaming mode
  bool insecure_skip_tls_verify = false;
  std::string ca_file;  // PEM bundle; empty: the system's default trust store
  std::string user_agent = "magnumd-http-client";
};

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // path and query, appended to the base URL's path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Case-insensitive header lookup; "" when absent.
  std::string header(std::string_view name) const;
};

// Return false to end the stream early.
using LineHandler = std::function<bool(std::string_view line)>;

struct StreamOptions {
  // Ends the stream (with a Timeout error) when reached; nullopt: no overall deadline.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Longest silence tolerated between two reads; zero: the client's read_timeout. Watch streams
  // get periodic bookmarks, so this can stay short enough to notice a dead server.
  std::chrono::milliseconds idle_timeout{0};
};

class HttpClient {
 public:
  // Parses the base URL and builds the TLS context (loading the CA file) up front, so that
  // configuration mistakes surface before the first request.
  static util::Result<std::unique_ptr<HttpClient>> create(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One exchange. Any HTTP status is a value; errors are transport failures: Unavailable
  // (connect, TLS, connection lost), Timeout, TooLarge (response over the limit).
  util::Result<HttpResponse> send(const HttpRequest& request);

  // Sends the request; a 2xx response body is split on '\n' and each non-empty line (without the
  // newline) passed to `on_line` as it arrives. A non-2xx response is returned whole, like send().
  // Returns when the server ends the body, on_line returns false, the deadline passes (Timeout),
  // or stop() is called (the response is then returned with whatever status it had).
  util::Result<HttpResponse> stream(const HttpRequest& request, const LineHandler& on_line,
                                    StreamOptions options = {});

  // Ends a stream() in progress from another thread; harmless when none is running.
  void stop();

  const Url& url() const;

  // Number of TCP connections opened so far (keep-alive reuse keeps it at 1).
  uint64_t connectionsOpened() const;

  class Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace magnumd::net
