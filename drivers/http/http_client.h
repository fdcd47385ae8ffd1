// The project's one outbound HTTP/1.1 client, for the OpenStack APIs, each cluster's Kubernetes
// API and magnumctl (through BlockingHttpClient): async on the caller's executor (Beast
// underneath, kept out of this header), TLS with verification on by default, a bounded keep-alive
// pool per host, connect and per-attempt deadlines, a response size limit, retries with backoff
// for idempotent requests only, and streamed responses read line by line (watches).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/http/retry_policy.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::drivers::http {

struct Header {
  std::string name;
  std::string value;
};

// Trust and identity for one TLS peer, held in memory only (never a file): a cluster's CA and
// magnumd's client certificate for that cluster.
struct TlsCredentials {
  std::string ca_pem;           // the only CAs trusted for this peer (one or more certificates)
  std::string client_cert_pem;  // optional: presented when the server asks for a certificate
  std::string client_key_pem;   // the key of client_cert_pem (PKCS#8 or traditional PEM)
};

// A TLS client configuration built once from TlsCredentials; immutable, shared by the requests
// that use it. Connections are pooled per context: one made with a context is never reused for
// a request with another, so a request never rides on someone else's client certificate.
class TlsContext;
using TlsContextPtr = std::shared_ptr<const TlsContext>;

// Fails (BadRequest, naming what is wrong, never echoing key material) when the CA PEM holds no
// certificate, or the client certificate or key cannot be read or do not belong together.
util::Result<TlsContextPtr> makeTlsContext(const TlsCredentials& credentials);

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute http:// or https:// URL
  std::vector<Header> headers;
  std::string body;
  // Overrides the method's idempotency for retries: a Keystone token POST creates nothing a
  // repeat could duplicate, so it may be retried like a GET.
  std::optional<bool> idempotent;
  // https only: trust and identity for this request; null: the client's own (options.tls).
  TlsContextPtr tls;
  // A tighter response limit than the client's max_response_bytes for this request (0: none).
  uint64_t max_response_bytes = 0;
};

struct HttpResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;

  // Case-insensitive; nullptr when absent.
  const std::string* header(std::string_view name) const;
  // x-openstack-request-id (or Nova's x-compute-request-id), "" when absent.
  std::string requestId() const;
};

// The client's own TLS configuration, for requests that bring no TlsContext. The server's
// certificate must chain to a trusted CA and name the URL's host (DNS name, or IP address for an
// IP literal) in its subjectAltName.
struct TlsOptions {
  std::string ca_file;    // PEM bundle; empty (and no ca_pem): the system's default verify paths
  std::string ca_pem;     // PEM bundle in memory, instead of (or beside) ca_file
  bool insecure = false;  // skip certificate and host name verification (only when asked)
  // Appended to certificate verification failures, to say which setting to check
  // ("check the CA bundle: cacert / OS_CACERT").
  std::string failure_hint;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{10000};  // resolve + TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{60000};  // one attempt: write request, read response
  uint64_t max_response_bytes = 64ull * 1024 * 1024;
  size_t max_connections_per_host = 8;  // further requests wait for a free connection
  size_t max_idle_per_host = 4;
  std::chrono::milliseconds idle_keepalive{30000};   // idle connections older than this are closed
  TlsOptions tls;
  RetryOptions retry;
  std::string user_agent = "magnumd";
  // Warn about each request that failed for good. Off for callers that report failures
  // themselves, once per change (the cluster API observer), rather than once per request.
  bool log_failures = true;
  const util::Clock* clock = nullptr;     // for Retry-After dates; null: the real clock
  std::function<double()> random;         // jitter source in [0,1); null: a seeded PRNG
};

struct HttpClientStats {
  uint64_t attempts = 0;
  uint64_t retries = 0;
  uint64_t connections_opened = 0;
  uint64_t connections_reused = 0;
};

// Why send() got no HTTP response, for callers that report it (a refused connection and an
// untrusted certificate are both Unavailable, but an operator fixes them differently).
enum class FailureKind {
  None,      // not a transport failure (a bad URL, say)
  Connect,   // name resolution or TCP connect failed (refused, unreachable)
  Tls,       // TLS handshake or TLS alert: certificate not trusted, wrong host, client cert refused
  Timeout,   // connect or response deadline passed
  TooLarge,  // response over max_response_bytes
  Transport, // connection lost while sending or reading
};
FailureKind failureKind(const util::Error& error);
std::string_view failureKindName(FailureKind kind);  // "connect", "tls", ...

// Receives a streamed body one line at a time; returns false to stop reading.
using LineHandler = std::function<bool(std::string_view line)>;

struct StreamOptions {
  // The stream ends with a Timeout error when this passes; nullopt: no overall deadline.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Longest silence tolerated between two reads (then a Timeout error); zero: request_timeout.
  // Watch streams carry periodic bookmarks, so this can be short enough to notice a dead server.
  std::chrono::milliseconds idle_timeout{0};
  uint64_t max_line_bytes = 16ull * 1024 * 1024;  // a longer line ends the stream (TooLarge)
};

class HttpClient {
 public:
  // Fails when the TLS configuration is unusable (unreadable CA file, no certificate in ca_pem).
  static util::Result<std::unique_ptr<HttpClient>> create(boost::asio::any_io_executor executor,
                                                          HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any HTTP status is a value in the response; transport failures (refused, timeout, TLS,
  // oversized or malformed response) are Errors (Unavailable, Timeout, TooLarge; failureKind()
  // tells which). Idempotent requests are retried on transport failures (never on a TLS
  // verification failure), 429 and retryable 5xx, honouring Retry-After.
  boost::asio::awaitable<util::Result<HttpResponse>> send(HttpRequest request);

  // Each request runs on a strand of its own (callers need none, whatever the number of threads
  // running the executor) and the caller resumes on its own executor.
  //
  // Sends `request` once (never retried: a watch resumes from its last revision instead) and
  // hands a 2xx body to `on_line` (called on the request's strand) as it arrives, split on '\n' (a
  // trailing '\r' and empty lines dropped), instead of collecting it; a last line without '\n' is
  // delivered when the body ends. A non-2xx response comes back whole, as from send(). Returns the
  // status and headers (with an empty body) when the server ends the body or on_line returns false;
  // a Timeout error when the deadline passes or the server stays silent for idle_timeout; transport
  // errors as send() does.
  boost::asio::awaitable<util::Result<HttpResponse>> stream(HttpRequest request,
                                                            LineHandler on_line,
                                                            StreamOptions options = {});

  HttpClientStats stats() const;

  struct Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace magnumd::drivers::http
