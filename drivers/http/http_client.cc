#include "drivers/http/http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <random>

#include "drivers/http/async_notifier.h"
#include "util/log.h"

namespace magnumd::drivers::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using util::ErrorCode;
using util::makeError;
using Millis = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr char kLog[] = "http-client";

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (beast::iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::string HttpResponse::requestId() const {
  if (const auto* id = header("x-openstack-request-id")) return *id;
  if (const auto* id = header("x-compute-request-id")) return *id;
  return "";
}

// One TLS client configuration. OpenSSL allows an SSL_CTX to be shared by connections on any
// thread once it is configured, which is why the context is mutable behind a const handle.
class TlsContext {
 public:
  TlsContext(uint64_t id, std::string hint, bool insecure)
      : id(id), ctx(asio::ssl::context::tls_client), failure_hint(std::move(hint)), insecure(insecure) {
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1);
    // An encrypted key must fail to load, never prompt on a terminal.
    ctx.set_password_callback([](size_t, asio::ssl::context::password_purpose) { return std::string(); });
    ctx.set_verify_mode(insecure ? asio::ssl::verify_none : asio::ssl::verify_peer);
  }

  const uint64_t id;  // pool key part; never reused, unlike an address
  mutable asio::ssl::context ctx;
  const std::string failure_hint;
  const bool insecure;
};

namespace {

std::atomic<uint64_t> next_tls_context_id{1};

// Failure kinds travel in the Error's causes under this field, so that send() keeps returning a
// plain util::Error.
constexpr char kFailureField[] = "transport";

util::Error withKind(util::Error error, FailureKind kind) {
  error.causes.push_back({kFailureField, std::string(failureKindName(kind))});
  return error;
}

struct Target {
  bool tls = false;
  std::string host;         // for resolving, SNI and verification (no brackets)
  std::string port;
  std::string host_header;  // host[:port] as written in the URL
  std::string path;         // path and query
  std::string key;          // pool key: scheme://host:port, plus the TLS context's id
  std::string origin;       // scheme://host:port, for messages
  std::shared_ptr<const TlsContext> context;  // https only
};

util::Result<Target> parseTarget(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return makeError(ErrorCode::BadRequest, fmt::format("invalid URL \"{}\": {}", url,
                                                        parsed.error().message()));
  }
  Target t;
  const auto scheme = parsed->scheme();
  if (beast::iequals(scheme, "https")) {
    t.tls = true;
  } else if (!beast::iequals(scheme, "http")) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("URL \"{}\": scheme must be http or https", url));
  }
  if (parsed->host_type() == boost::urls::host_type::ipv6) {
    t.host = parsed->host_ipv6_address().to_string();
  } else {
    t.host = parsed->host();
  }
  if (t.host.empty()) return makeError(ErrorCode::BadRequest, fmt::format("URL \"{}\" has no host", url));
  t.port = parsed->has_port() ? std::string(parsed->port()) : (t.tls ? "443" : "80");
  t.host_header = parsed->encoded_host_and_port();
  t.path = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) t.path += "?" + std::string(parsed->encoded_query());
  t.origin = fmt::format("{}://{}:{}", t.tls ? "https" : "http", t.host, t.port);
  t.key = t.origin;
  return t;
}

bool isIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

struct Connection {
  std::shared_ptr<const TlsContext> context;  // outlives the stream that uses it
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  SteadyClock::time_point idle_since;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // An idle keep-alive connection the server already closed reads as EOF (or has stray bytes):
  // never reuse it, or a non-idempotent request could fail for nothing.
  bool peerClosed() {
    if (buffer.size() > 0) return true;
    char byte;
    ssize_t n = ::recv(lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0) return true;
    return errno != EAGAIN && errno != EWOULDBLOCK;
  }
};
using ConnectionPtr = std::unique_ptr<Connection>;

struct HostPool {
  size_t open = 0;  // idle + leased
  std::vector<ConnectionPtr> idle;
};

// A transport failure, and whether trying again could help.
struct Attempt {
  util::Result<HttpResponse> result;
  bool retryable = false;
};

struct Connected {
  util::Result<ConnectionPtr> conn;
  bool retryable = false;
};

bool isTlsError(const boost::system::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() ||
         ec.category() == asio::ssl::error::get_stream_category();
}

util::Error transportError(const boost::system::error_code& ec, const Target& t,
                           std::string_view phase, Millis timeout, FailureKind kind) {
  if (ec == beast::error::timeout || ec == asio::error::timed_out) {
    return withKind(makeError(ErrorCode::Timeout, fmt::format("{} {} timed out after {}ms", phase,
                                                              t.origin, timeout.count())),
                    FailureKind::Timeout);
  }
  if (isTlsError(ec)) kind = FailureKind::Tls;
  return withKind(makeError(ErrorCode::Unavailable, fmt::format("{} {}: {}", phase, t.origin, ec.message())),
                  kind);
}

// The one place that decides which name the server's certificate must carry: the IP address for
// an IP literal (a cluster's API is often https://192.0.2.7:6443), else the DNS name, with a
// wildcard only as the whole leftmost label. OpenSSL checks it during the handshake, which then
// fails with X509_V_ERR_HOSTNAME_MISMATCH or X509_V_ERR_IP_ADDRESS_MISMATCH. SNI carries DNS
// names only, verified or not.
util::Status requirePeerName(SSL* ssl, const std::string& host, bool verify) {
  const bool ip = isIpLiteral(host);
  if (!ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return makeError(ErrorCode::Unavailable, fmt::format("TLS: cannot send the name \"{}\"", host));
  }
  if (!verify) return {};
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int named = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  if (named != 1) {
    return makeError(ErrorCode::Unavailable, fmt::format("TLS: cannot verify host \"{}\"", host));
  }
  return {};
}

bool isNameMismatch(long verify_result) {
  return verify_result == X509_V_ERR_HOSTNAME_MISMATCH ||
         verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH;
}

// The server's certificate, as OpenSSL judged it: "IP address mismatch" says more than
// "certificate verify failed".
std::string verifyFailure(SSL* ssl, const std::string& host) {
  const long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return "";
  if (isNameMismatch(result)) {
    return fmt::format("{}: the server's certificate is not valid for {}",
                       X509_verify_cert_error_string(result), host);
  }
  return X509_verify_cert_error_string(result);
}

// The deadline of a stream's next write or read: `limit` from now, or the stream's overall
// deadline if sooner.
SteadyClock::time_point nextStepDeadline(const StreamOptions& so, Millis limit) {
  const auto step = SteadyClock::now() + limit;
  return so.deadline ? std::min(step, *so.deadline) : step;
}

// Splits a streamed body into lines for the handler, bounding a line's length.
class LineSplitter {
 public:
  LineSplitter(const LineHandler& on_line, uint64_t max_line) : on_line_(on_line), max_(max_line) {}

  // Returns false when the handler asked to stop; sets `too_long` when a line exceeds the limit.
  bool feed(std::string_view data, bool& too_long) {
    pending_.append(data);
    size_t start = 0;
    for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (!deliver(std::string_view(pending_).substr(start, nl - start))) {
        pending_.clear();
        return false;
      }
    }
    pending_.erase(0, start);
    too_long = pending_.size() > max_;
    return true;
  }
  void finish() {
    if (!pending_.empty()) deliver(pending_);
    pending_.clear();
  }

 private:
  bool deliver(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line.empty() || on_line_(line);
  }
  const LineHandler& on_line_;
  uint64_t max_;
  std::string pending_;
};

// Kept out of the coroutines: GCC 12 mishandles class temporaries in conditional expressions
// inside coroutine bodies.
std::string describeOutcome(const HttpResponse& res) {
  std::string id = res.requestId();
  return fmt::format("{} (request id {})", res.status, id.empty() ? "none" : id);
}

}  // namespace

struct HttpClient::Impl {
  Impl(asio::any_io_executor ex, HttpClientOptions o, std::shared_ptr<const TlsContext> ctx)
      : executor(std::move(ex)), options(std::move(o)), tls(std::move(ctx)),
        rng(std::random_device{}()) {}

  asio::any_io_executor executor;
  HttpClientOptions options;
  std::shared_ptr<const TlsContext> tls;  // for requests that bring none
  util::RealClock real_clock;

  std::mutex mutex;  // guards pools, rng
  std::map<std::string, HostPool> pools;
  AsyncNotifier notifier;
  std::mt19937_64 rng;

  std::atomic<uint64_t> attempts{0}, retries{0}, opened{0}, reused{0};

  const util::Clock& clock() const { return options.clock ? *options.clock : real_clock; }

  double random01() {
    if (options.random) return options.random();
    std::lock_guard lock(mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

  // A pooled connection, or nullptr with a reserved slot for a new one.
  asio::awaitable<util::Result<ConnectionPtr>> acquire(const Target& t,
                                                       SteadyClock::time_point deadline) {
    std::unique_lock lock(mutex);
    for (;;) {
      auto& pool = pools[t.key];
      while (!pool.idle.empty()) {
        ConnectionPtr c = std::move(pool.idle.back());
        pool.idle.pop_back();
        if (SteadyClock::now() - c->idle_since < options.idle_keepalive && !c->peerClosed()) {
          reused++;
          co_return c;
        }
        pool.open--;
      }
      if (pool.open < std::max<size_t>(1, options.max_connections_per_host)) {
        pool.open++;
        co_return ConnectionPtr();
      }
      if (SteadyClock::now() >= deadline) {
        co_return withKind(makeError(ErrorCode::Timeout,
                                     fmt::format("no free connection to {} within {}ms ({} in use)", t.origin,
                                                 options.request_timeout.count(), pool.open)),
                           FailureKind::Timeout);
      }
      co_await notifier.wait(lock, deadline);  // a released connection wakes it
    }
  }

  void release(const Target& t, ConnectionPtr c, bool reusable) {
    std::lock_guard lock(mutex);
    auto it = pools.find(t.key);
    auto& pool = it->second;
    if (c && reusable && pool.idle.size() < options.max_idle_per_host) {
      c->idle_since = SteadyClock::now();
      pool.idle.push_back(std::move(c));
    } else {
      pool.open--;
    }
    // Keys carry TLS context ids, which come and go with clusters: drop a pool once it is empty.
    if (pool.open == 0) pools.erase(it);
    notifier.notifyAll();
  }

  asio::awaitable<Connected> connect(const Target& t) {
    const auto start = SteadyClock::now();
    auto resolver = std::make_shared<tcp::resolver>(executor);
    auto timer = std::make_shared<asio::steady_timer>(executor, options.connect_timeout);
    timer->async_wait([resolver](boost::system::error_code ec) {
      if (!ec) resolver->cancel();
    });
    auto [rec, endpoints] = co_await resolver->async_resolve(t.host, t.port, kTuple);
    timer->cancel();
    if (rec) {
      if (rec == asio::error::operation_aborted) rec = asio::error::timed_out;
      co_return Connected{transportError(rec, t, "resolving", options.connect_timeout, FailureKind::Connect), true};
    }
    auto conn = std::make_unique<Connection>();
    auto remaining = options.connect_timeout - std::chrono::duration_cast<Millis>(SteadyClock::now() - start);
    if (t.tls) {
      conn->context = t.context;
      conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, conn->context->ctx);
    } else {
      conn->plain = std::make_unique<beast::tcp_stream>(executor);
    }
    conn->lowest().expires_after(std::max(remaining, Millis(1)));
    auto [cec, ep] = co_await conn->lowest().async_connect(endpoints, kTuple);
    if (cec) {
      co_return Connected{transportError(cec, t, "connecting to", options.connect_timeout, FailureKind::Connect), true};
    }
    boost::system::error_code ignored;
    conn->lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (t.tls) {
      SSL* ssl = conn->tls->native_handle();
      if (auto named = requirePeerName(ssl, t.host, !t.context->insecure); !named.ok()) {
        co_return Connected{withKind(named.takeError(), FailureKind::Tls), false};
      }
      auto [hec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::client, kTuple);
      if (hec) {
        // A certificate problem will not fix itself: fail at once, saying what OpenSSL found.
        co_return Connected{handshakeError(hec, ssl, t), !isTlsError(hec)};
      }
    }
    opened++;
    co_return Connected{std::move(conn), false};
  }

  // Kept out of the coroutine (GCC 12 and class temporaries in coroutine bodies).
  util::Error handshakeError(const boost::system::error_code& ec, SSL* ssl, const Target& t) {
    auto err =
        transportError(ec, t, "TLS handshake with", options.connect_timeout, FailureKind::Tls);
    if (!isTlsError(ec)) return err;
    if (auto why = verifyFailure(ssl, t.host); !why.empty())
      err.message += fmt::format(" ({})", why);
    // The hint says where the trusted CAs come from: no help when the name is what is wrong.
    if (!isNameMismatch(SSL_get_verify_result(ssl)) && !t.context->failure_hint.empty()) {
      err.message += " (" + t.context->failure_hint + ")";
    }
    return err;
  }

  // What a streamed request adds to an attempt.
  struct Streaming {
    const LineHandler& on_line;
    const StreamOptions& options;
  };

  util::Error streamError(const boost::system::error_code& ec, const Target& t,
                          std::string_view phase, const StreamOptions& so, Millis idle) const {
    if ((ec == beast::error::timeout || ec == asio::error::timed_out) && so.deadline &&
        SteadyClock::now() >= *so.deadline) {
      return withKind(makeError(ErrorCode::Timeout,
                                fmt::format("deadline reached while streaming from {}", t.origin)),
                      FailureKind::Timeout);
    }
    if (ec == bhttp::error::header_limit) {
      return withKind(makeError(ErrorCode::TooLarge,
                                fmt::format("response headers from {} too large", t.origin)),
                      FailureKind::TooLarge);
    }
    return transportError(ec, t, phase, idle, FailureKind::Transport);
  }

  // Like exchange(), but a 2xx body goes to the line handler as it arrives, each read bounded by
  // the idle limit and the stream's deadline; any other body is collected, up to `limit`.
  template <typename Stream>
  asio::awaitable<Attempt> exchangeStreaming(Stream& stream, Connection& c, const Target& t,
                                             bhttp::request<bhttp::string_body>& req,
                                             uint64_t limit, const Streaming& s, bool& keep_alive) {
    const StreamOptions& so = s.options;
    const Millis idle = so.idle_timeout.count() > 0 ? so.idle_timeout : options.request_timeout;
    c.lowest().expires_at(nextStepDeadline(so, options.request_timeout));
    auto [wec, wn] = co_await bhttp::async_write(stream, req, kTuple);
    if (wec)
      co_return Attempt{streamError(wec, t, "sending to", so, options.request_timeout), false};
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(boost::none);
    c.lowest().expires_at(nextStepDeadline(so, idle));
    auto [hec, hn] = co_await bhttp::async_read_header(stream, c.buffer, parser, kTuple);
    if (hec) co_return Attempt{streamError(hec, t, "reading from", so, idle), false};
    HttpResponse out;
    out.status = static_cast<int>(parser.get().result_int());
    for (const auto& field : parser.get()) {
      out.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    std::optional<LineSplitter> lines;
    if (out.status / 100 == 2) lines.emplace(s.on_line, so.max_line_bytes);
    std::vector<char> chunk(64 * 1024);
    std::optional<util::Error> failure;
    bool stopped = false;
    while (!parser.is_done() && !stopped && !failure) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      c.lowest().expires_at(nextStepDeadline(so, idle));
      auto [ec, n] = co_await bhttp::async_read_some(stream, c.buffer, parser, kTuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        failure = streamError(ec, t, "reading from", so, idle);
        break;
      }
      const std::string_view got(chunk.data(), chunk.size() - parser.get().body().size);
      if (!lines) {
        if (out.body.size() + got.size() > limit) {
          failure =
              withKind(makeError(ErrorCode::TooLarge,
                                 fmt::format("response from {} exceeds {} bytes", t.origin, limit)),
                       FailureKind::TooLarge);
          break;
        }
        out.body.append(got);
        continue;
      }
      bool too_long = false;
      stopped = !lines->feed(got, too_long);
      if (too_long) {
        failure = withKind(
            makeError(ErrorCode::TooLarge, fmt::format("a line streamed from {} exceeds {} bytes",
                                                       t.origin, so.max_line_bytes)),
            FailureKind::TooLarge);
      }
    }
    if (failure) co_return Attempt{std::move(*failure), false};
    if (lines && parser.is_done()) lines->finish();
    keep_alive = parser.is_done() && parser.keep_alive();
    co_return Attempt{std::move(out), false};
  }

  template <typename Stream>
  asio::awaitable<Attempt> exchange(Stream& stream, Connection& c, const Target& t,
                                    bhttp::request<bhttp::string_body>& req, uint64_t limit,
                                    bool& keep_alive) {
    c.lowest().expires_after(options.request_timeout);
    auto [wec, wn] = co_await bhttp::async_write(stream, req, kTuple);
    if (wec) {
      co_return Attempt{transportError(wec, t, "sending to", options.request_timeout, FailureKind::Transport),
                        !isTlsError(wec)};
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(limit);
    if (req.method() == bhttp::verb::head) parser.skip(true);
    auto [rec, rn] = co_await bhttp::async_read(stream, c.buffer, parser, kTuple);
    if (rec == bhttp::error::body_limit) {
      co_return Attempt{withKind(makeError(ErrorCode::TooLarge,
                                           fmt::format("response from {} exceeds {} bytes", t.origin, limit)),
                                 FailureKind::TooLarge),
                        false};
    }
    // A TLS alert here (TLS 1.3 servers refuse a client certificate after the handshake) will
    // not go away by asking again.
    if (rec) {
      co_return Attempt{transportError(rec, t, "reading from", options.request_timeout, FailureKind::Transport),
                        !isTlsError(rec)};
    }
    auto res = parser.release();
    keep_alive = res.keep_alive();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) out.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    out.body = std::move(res.body());
    co_return Attempt{std::move(out), false};
  }

  // A pool slot (and its connection, if any) held by one attempt. Returned when the attempt
  // ends in any way: a cancelled attempt ends with an exception at its next co_await, and its
  // connection, in an unknown state, is closed rather than pooled.
  struct Lease {
    Impl& impl;
    const Target& target;
    ConnectionPtr conn;
    bool reusable = false;
    ~Lease() { impl.release(target, std::move(conn), reusable); }
  };

  // One request on one connection; `streaming` null: the body is collected.
  asio::awaitable<Attempt> attemptOnce(const HttpRequest& request, const Target& t,
                                       const Streaming* streaming) {
    const auto deadline = SteadyClock::now() + options.request_timeout;
    auto acquired = co_await acquire(t, deadline);
    if (!acquired.ok()) co_return Attempt{acquired.takeError(), true};
    Lease lease{*this, t, std::move(acquired.value())};
    if (!lease.conn) {
      auto connected = co_await connect(t);
      if (!connected.conn.ok()) co_return Attempt{connected.conn.takeError(), connected.retryable};
      lease.conn = std::move(connected.conn.value());
    }
    bhttp::request<bhttp::string_body> req;
    auto verb = bhttp::string_to_verb(request.method);
    if (verb == bhttp::verb::unknown) req.method_string(request.method); else req.method(verb);
    req.target(t.path);
    req.version(11);
    req.set(bhttp::field::host, t.host_header);
    req.set(bhttp::field::user_agent, options.user_agent);
    for (const auto& h : request.headers) req.set(h.name, h.value);
    req.body() = request.body;
    req.prepare_payload();
    req.keep_alive(true);
    bool keep_alive = false;
    // Two statements on purpose: GCC 12 miscompiles co_await inside a conditional expression
    // (the result's temporaries are destroyed twice).
    std::optional<Attempt> result;
    Connection& conn = *lease.conn;
    uint64_t limit = options.max_response_bytes;
    if (request.max_response_bytes > 0) limit = std::min(limit, request.max_response_bytes);
    if (streaming && conn.tls) {
      result.emplace(
          co_await exchangeStreaming(*conn.tls, conn, t, req, limit, *streaming, keep_alive));
    } else if (streaming) {
      result.emplace(
          co_await exchangeStreaming(*conn.plain, conn, t, req, limit, *streaming, keep_alive));
    } else if (conn.tls) {
      result.emplace(co_await exchange(*conn.tls, conn, t, req, limit, keep_alive));
    } else {
      result.emplace(co_await exchange(*conn.plain, conn, t, req, limit, keep_alive));
    }
    lease.reusable = result->result.ok() && keep_alive;
    co_return std::move(*result);
  }
  // The request's URL, with the TLS context it uses (and the pool that context selects).
  util::Result<Target> targetOf(const HttpRequest& request) const {
    ASSIGN_OR_RETURN(Target t, parseTarget(request.url));
    if (t.tls) {
      t.context = request.tls ? request.tls : tls;
      if (request.tls) t.key += fmt::format("#tls{}", request.tls->id);
    }
    return t;
  }

  void logFailure(const HttpRequest& request, int attempts_made,
                  const util::Result<HttpResponse>& result) const {
    const bool failed =
        !result.ok() || (result.value().status >= 400 && result.value().status != 404);
    if (!failed || !options.log_failures) return;
    LOG_WARN(kLog, "{} {} failed after {} attempt(s): {}", request.method, request.url,
             attempts_made, result.ok() ? describeOutcome(result.value()) : result.error().message);
  }

  asio::awaitable<util::Result<HttpResponse>> stream(HttpRequest request, LineHandler on_line,
                                                     StreamOptions so) {
    CO_ASSIGN_OR_RETURN(const Target t, targetOf(request));
    const Streaming streaming{on_line, so};
    Attempt result = co_await attemptOnce(request, t, &streaming);
    attempts++;
    logFailure(request, 1, result.result);
    co_return std::move(result.result);
  }

  asio::awaitable<util::Result<HttpResponse>> send(HttpRequest request) {
    CO_ASSIGN_OR_RETURN(const Target t, targetOf(request));
    const bool idempotent = request.idempotent.value_or(isIdempotent(request.method));
    const int max_attempts = std::max(1, options.retry.max_attempts);
    for (int attempt = 1;; ++attempt) {
      const auto start = SteadyClock::now();
      Attempt result = co_await attemptOnce(request, t, nullptr);
      attempts++;
      const auto took = std::chrono::duration_cast<Millis>(SteadyClock::now() - start).count();
      bool retry = result.retryable;
      std::optional<Millis> retry_after;
      std::string outcome;
      if (result.result.ok()) {
        const auto& res = result.result.value();
        retry = isRetryableStatus(res.status);
        if (const auto* value = res.header("Retry-After")) {
          retry_after = parseRetryAfter(*value, clock().now());
        }
        outcome = describeOutcome(res);
      } else {
        outcome = result.result.error().message;
      }
      LOG_DEBUG(kLog, "{} {} -> {} in {}ms", request.method, request.url, outcome, took);
      if (!retry || !idempotent || attempt >= max_attempts) {
        logFailure(request, attempt, result.result);
        co_return std::move(result.result);
      }
      retries++;
      const Millis delay = retryDelay(attempt, options.retry, random01(), retry_after);
      LOG_DEBUG(kLog, "retrying {} {} in {}ms (attempt {} of {})", request.method, request.url,
                delay.count(), attempt + 1, max_attempts);
      asio::steady_timer timer(co_await asio::this_coro::executor, delay);
      co_await timer.async_wait(kTuple);
    }
  }
};

util::Result<std::unique_ptr<HttpClient>> HttpClient::create(asio::any_io_executor executor,
                                                             HttpClientOptions options) {
  auto ctx = std::make_shared<TlsContext>(0, options.tls.failure_hint, options.tls.insecure);
  boost::system::error_code ec;
  if (!options.tls.insecure) {
    if (!options.tls.ca_file.empty()) {
      ctx->ctx.load_verify_file(options.tls.ca_file, ec);
      if (ec) {
        std::string hint =
            options.tls.failure_hint.empty() ? "" : " (" + options.tls.failure_hint + ")";
        return makeError(ErrorCode::BadRequest,
                         fmt::format("CA bundle \"{}\" cannot be loaded: {}{}", options.tls.ca_file,
                                     ec.message(), hint));
      }
    }
    if (!options.tls.ca_pem.empty()) {
      ctx->ctx.add_certificate_authority(asio::buffer(options.tls.ca_pem), ec);
      if (ec) {
        return makeError(ErrorCode::BadRequest,
                         fmt::format("CA bundle in memory: no usable certificate: {}", ec.message()));
      }
    }
    if (options.tls.ca_file.empty() && options.tls.ca_pem.empty()) {
      ctx->ctx.set_default_verify_paths(ec);
      if (ec) {
        return makeError(ErrorCode::Internal,
                         fmt::format("cannot load the system CA bundle: {}", ec.message()));
      }
    }
  }
  return std::unique_ptr<HttpClient>(new HttpClient(
      std::make_unique<Impl>(std::move(executor), std::move(options), std::move(ctx))));
}

util::Result<TlsContextPtr> makeTlsContext(const TlsCredentials& credentials) {
  auto ctx = std::make_shared<TlsContext>(next_tls_context_id++, "", false);
  boost::system::error_code ec;
  if (credentials.ca_pem.empty()) {
    return makeError(ErrorCode::BadRequest, "TLS: a CA certificate (PEM) is required");
  }
  ctx->ctx.add_certificate_authority(asio::buffer(credentials.ca_pem), ec);
  if (ec) {
    return makeError(ErrorCode::BadRequest, fmt::format("TLS: the CA PEM holds no usable certificate: {}", ec.message()));
  }
  if (credentials.client_cert_pem.empty() != credentials.client_key_pem.empty()) {
    return makeError(ErrorCode::BadRequest, "TLS: a client certificate needs its key, and a key its certificate");
  }
  if (!credentials.client_cert_pem.empty()) {
    ctx->ctx.use_certificate_chain(asio::buffer(credentials.client_cert_pem), ec);
    if (ec) {
      return makeError(ErrorCode::BadRequest, fmt::format("TLS: cannot read the client certificate: {}", ec.message()));
    }
    ctx->ctx.use_private_key(asio::buffer(credentials.client_key_pem), asio::ssl::context::pem, ec);
    if (ec) {
      // The message names OpenSSL's reason only: never a byte of the key.
      return makeError(ErrorCode::BadRequest, fmt::format("TLS: cannot read the client key: {}", ec.message()));
    }
    if (SSL_CTX_check_private_key(ctx->ctx.native_handle()) != 1) {
      ERR_clear_error();
      return makeError(ErrorCode::BadRequest, "TLS: the client key does not belong to the client certificate");
    }
  }
  return TlsContextPtr(std::move(ctx));
}

FailureKind failureKind(const util::Error& error) {
  for (const auto& cause : error.causes) {
    if (cause.field != kFailureField) continue;
    for (auto kind : {FailureKind::Connect, FailureKind::Tls, FailureKind::Timeout, FailureKind::TooLarge,
                      FailureKind::Transport}) {
      if (cause.message == failureKindName(kind)) return kind;
    }
  }
  return FailureKind::None;
}

std::string_view failureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::None: return "none";
    case FailureKind::Connect: return "connect";
    case FailureKind::Tls: return "tls";
    case FailureKind::Timeout: return "timeout";
    case FailureKind::TooLarge: return "too-large";
    case FailureKind::Transport: return "transport";
  }
  return "none";
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

namespace {

asio::awaitable<void> storeInto(asio::awaitable<util::Result<HttpResponse>> task,
                                std::shared_ptr<std::optional<util::Result<HttpResponse>>> out) {
  out->emplace(co_await std::move(task));
}

// Runs one request on a strand of its own and resumes the caller on the caller's executor.
// Beast's streams are not thread-safe: a stream's reads and writes and the timer that enforces
// its deadline must complete in one strand. magnumd runs its io_context on several threads and
// not every caller is on a strand (the cluster API probes are not), so without this a deadline
// passing as the answer arrived closed the socket on one thread while the other thread closed it
// too: the reactor's descriptor state was freed twice and the heap corrupted ("malloc():
// unaligned tcache chunk detected" at 1,000 clusters; ThreadSanitizer names the race, see
// AnswersRacingTheirDeadlinesOnManyThreadsEndCleanly). Cancelling the caller cancels the request
// (co_spawn forwards the caller's cancellation to the strand).
asio::awaitable<util::Result<HttpResponse>> onOwnStrand(
    asio::any_io_executor executor, asio::awaitable<util::Result<HttpResponse>> task) {
  auto out = std::make_shared<std::optional<util::Result<HttpResponse>>>();
  co_await asio::co_spawn(asio::make_strand(executor), storeInto(std::move(task), out),
                          asio::use_awaitable);
  co_return std::move(**out);
}

}  // namespace

asio::awaitable<util::Result<HttpResponse>> HttpClient::send(HttpRequest request) {
  return onOwnStrand(impl_->executor, impl_->send(std::move(request)));
}

asio::awaitable<util::Result<HttpResponse>> HttpClient::stream(HttpRequest request,
                                                               LineHandler on_line,
                                                               StreamOptions options) {
  return onOwnStrand(impl_->executor,
                     impl_->stream(std::move(request), std::move(on_line), std::move(options)));
}

HttpClientStats HttpClient::stats() const {
  return {impl_->attempts.load(), impl_->retries.load(), impl_->opened.load(), impl_->reused.load()};
}

}  // namespace magnumd::drivers::http
