#include "net/http_client.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <variant>

namespace magnumd::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using util::ErrorCode;
using util::makeError;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr uint32_t kHeaderLimit = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool isIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Errors that mean a reused keep-alive connection had been closed by the server before our
// request reached it: safe to retry once on a fresh connection.
bool isStaleConnection(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

// The outcome of one request/response exchange on an established connection.
struct Exchange {
  std::optional<util::Error> error;
  HttpResponse response;
  bool nothing_received = false;  // failed before the first response byte
  bool reusable = false;          // connection may carry the next request
};

// Splits a byte stream into lines for the streaming callback, bounding a line's length.
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
  bool finish() { return pending_.empty() || deliver(pending_); }

 private:
  bool deliver(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line.empty() || on_line_(line);
  }
  const LineHandler& on_line_;
  uint64_t max_;
  std::string pending_;
};

}  // namespace

util::Result<Url> parseUrl(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return makeError(
        ErrorCode::BadRequest,
        fmt::format("server URL \"{}\": {} (expected http[s]://HOST[:PORT][/PATH])", text, why));
  };
  if (text.find("://") == std::string_view::npos) return bad("missing the scheme");
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) return bad(parsed.error().message());
  const auto& u = *parsed;
  Url url;
  url.scheme = std::string(u.scheme());
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (url.scheme != "http" && url.scheme != "https") return bad("the scheme must be http or https");
  if (u.has_userinfo()) return bad("credentials in the URL are not supported; use --token");
  if (u.has_query() || u.has_fragment()) return bad("a query or fragment is not allowed");
  if (u.host_type() == boost::urls::host_type::ipv6) {
    url.host = u.host_ipv6_address().to_string();
  } else {
    url.host = std::string(u.host());
  }
  if (url.host.empty()) return bad("missing the host");
  url.port = url.scheme == "https" ? 443 : 80;
  if (u.has_port()) {
    std::string_view port = u.port();
    unsigned value = 0;
    bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) value = static_cast<unsigned>(std::stoul(std::string(port)));
    if (!digits || value == 0 || value > 65535) return bad("the port must be 1-65535");
    url.port = static_cast<uint16_t>(value);
  }
  url.path = std::string(u.encoded_path());
  while (!url.path.empty() && url.path.back() == '/') url.path.pop_back();
  return url;
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return "";
}

class HttpClient::Impl {
 public:
  Impl(HttpClientOptions options, Url url, std::shared_ptr<ssl::context> tls)
      : options_(std::move(options)), url_(std::move(url)), tls_(std::move(tls)) {}

  util::Result<HttpResponse> run(const HttpRequest& request, const LineHandler* on_line,
                                 const StreamOptions& stream_options) {
    for (int attempt = 0;; ++attempt) {
      bool reused = connected();
      if (!reused) {
        util::Status connected_ok = runCoroutine(connect());
        if (!connected_ok.ok()) return connected_ok.takeError();
      }
      Exchange ex = runCoroutine(exchangeOnStream(request, on_line, stream_options));
      if (!ex.reusable) close();
      if (!ex.error) return std::move(ex.response);
      if (reused && ex.nothing_received && attempt == 0) continue;
      return std::move(*ex.error);
    }
  }

  void stop() {
    stop_requested_ = true;
    asio::post(io_, [this] {
      if (!streaming_) return;
      boost::system::error_code ignored;
      if (plain_) plain_->socket().cancel(ignored);
      if (secure_) beast::get_lowest_layer(*secure_).socket().cancel(ignored);
    });
  }

  const Url& url() const { return url_; }
  uint64_t connectionsOpened() const { return connections_opened_; }

 private:
  bool connected() const { return plain_.has_value() || secure_.has_value(); }

  void close() {
    boost::system::error_code ignored;
    if (plain_) plain_->socket().close(ignored);
    if (secure_) beast::get_lowest_layer(*secure_).socket().close(ignored);
    plain_.reset();
    secure_.reset();
    buffer_.clear();
  }

  template <typename T>
  T runCoroutine(asio::awaitable<T> work) {
    std::optional<T> out;
    std::exception_ptr failure;
    io_.restart();
    asio::co_spawn(io_, std::move(work), [&](std::exception_ptr e, T value) {
      failure = e;
      if (!e) out.emplace(std::move(value));
    });
    io_.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*out);
  }

  std::string where() const { return fmt::format("{}://{}:{}", url_.scheme, url_.host, url_.port); }

  util::Error transportError(std::string_view stage, const boost::system::error_code& ec) const {
    ErrorCode code = ec == beast::error::timeout ? ErrorCode::Timeout : ErrorCode::Unavailable;
    return makeError(code, fmt::format("{} {}: {}", stage, where(),
                                       ec == beast::error::timeout ? "timed out" : ec.message()));
  }

  // OpenSSL checks the name itself (not a verify callback), so a mismatch has its own error code.
  void configureVerification(TlsStream& stream) const {
    SSL* ssl = stream.native_handle();
    if (options_.insecure_skip_tls_verify) {
      stream.set_verify_mode(ssl::verify_none);
      if (!isIpLiteral(url_.host)) SSL_set_tlsext_host_name(ssl, url_.host.c_str());
      return;
    }
    stream.set_verify_mode(ssl::verify_peer);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (isIpLiteral(url_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, url_.host.c_str());
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), 0);
    }
  }

  util::Error handshakeError(TlsStream& stream, const boost::system::error_code& ec) const {
    long verify = SSL_get_verify_result(stream.native_handle());
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      return makeError(ErrorCode::Unavailable,
                       fmt::format("TLS handshake with {}: the server's certificate is not valid "
                                   "for {} ({})",
                                   where(), url_.host, X509_verify_cert_error_string(verify)));
    }
    if (verify != X509_V_OK) {
      return makeError(
          ErrorCode::Unavailable,
          fmt::format("TLS handshake with {}: certificate verify failed: {} (trust its CA with "
                      "--ca-file, or skip verification with --insecure-skip-tls-verify)",
                      where(), X509_verify_cert_error_string(verify)));
    }
    return transportError("TLS handshake with", ec);
  }

  asio::awaitable<util::Status> connect() {
    tcp::resolver resolver(io_);
    asio::steady_timer resolve_deadline(io_, options_.connect_timeout);
    resolve_deadline.async_wait([&resolver](boost::system::error_code ec) {
      if (!ec) resolver.cancel();
    });
    auto [rec, endpoints] =
        co_await resolver.async_resolve(url_.host, std::to_string(url_.port), kTuple);
    resolve_deadline.cancel();
    if (rec) {
      co_return makeError(
          ErrorCode::Unavailable,
          fmt::format("resolving {}: {}", url_.host,
                      rec == asio::error::operation_aborted ? "timed out" : rec.message()));
    }
    beast::tcp_stream tcp_stream(io_);
    tcp_stream.expires_after(options_.connect_timeout);
    auto [cec, endpoint] = co_await tcp_stream.async_connect(endpoints, kTuple);
    if (cec) co_return transportError("connecting to", cec);
    ++connections_opened_;
    tcp_stream.socket().set_option(tcp::no_delay(true));
    if (!tls_) {
      plain_.emplace(std::move(tcp_stream));
      co_return util::Status{};
    }
    TlsStream stream(std::move(tcp_stream), *tls_);
    configureVerification(stream);
    beast::get_lowest_layer(stream).expires_after(options_.connect_timeout);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple);
    if (hec) co_return handshakeError(stream, hec);
    secure_.emplace(std::move(stream));
    co_return util::Status{};
  }

  asio::awaitable<Exchange> exchangeOnStream(const HttpRequest& request, const LineHandler* on_line,
                                             const StreamOptions& stream_options) {
    if (plain_) co_return co_await exchange(*plain_, request, on_line, stream_options);
    co_return co_await exchange(*secure_, request, on_line, stream_options);
  }

  http::request<http::string_body> buildRequest(const HttpRequest& r) const {
    http::request<http::string_body> req;
    req.method_string(r.method);
    req.target(url_.path + r.target);
    req.version(11);
    bool default_port =
        (url_.scheme == "http" && url_.port == 80) || (url_.scheme == "https" && url_.port == 443);
    std::string host = url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    req.set(http::field::host, default_port ? host : fmt::format("{}:{}", host, url_.port));
    req.set(http::field::user_agent, options_.user_agent);
    for (const auto& [name, value] : r.headers) req.set(name, value);
    req.body() = r.body;
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  template <typename Stream>
  void armDeadline(Stream& stream, const StreamOptions& so) {
    auto& lowest = beast::get_lowest_layer(stream);
    auto silence = so.idle_timeout.count() > 0 ? so.idle_timeout : options_.read_timeout;
    auto idle = std::chrono::steady_clock::now() + silence;
    lowest.expires_at(so.deadline ? std::min(idle, *so.deadline) : idle);
  }

  util::Error readError(const boost::system::error_code& ec, const StreamOptions& so) const {
    if (ec == beast::error::timeout && so.deadline &&
        std::chrono::steady_clock::now() >= *so.deadline) {
      return makeError(ErrorCode::Timeout, "deadline reached while streaming from " + where());
    }
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      return makeError(ErrorCode::TooLarge, fmt::format("response from {} too large", where()));
    }
    return transportError("reading response from", ec);
  }

  template <typename Stream>
  asio::awaitable<Exchange> exchange(Stream& stream, const HttpRequest& request,
                                     const LineHandler* on_line, const StreamOptions& so) {
    Exchange ex;
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(options_.read_timeout);
    auto req = buildRequest(request);
    auto [wec, written] = co_await http::async_write(stream, req, kTuple);
    if (wec) {
      ex.error = transportError("sending request to", wec);
      ex.nothing_received = isStaleConnection(wec);
      co_return ex;
    }
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(boost::none);
    if (on_line) armDeadline(stream, so);
    auto [hec, head_bytes] = co_await http::async_read_header(stream, buffer_, parser, kTuple);
    if (hec) {
      ex.error = readError(hec, so);
      ex.nothing_received = isStaleConnection(hec) && buffer_.size() == 0;
      co_return ex;
    }
    auto& head = parser.get();
    ex.response.status = static_cast<int>(head.result_int());
    for (const auto& field : head) {
      ex.response.headers.emplace_back(std::string(field.name_string()),
                                       std::string(field.value()));
    }
    bool streaming = on_line != nullptr && ex.response.status / 100 == 2;
    co_await readBody(stream, parser, streaming ? on_line : nullptr, so, ex);
    co_return ex;
  }

  template <typename Stream>
  asio::awaitable<void> readBody(Stream& stream, http::response_parser<http::buffer_body>& parser,
                                 const LineHandler* on_line, const StreamOptions& so,
                                 Exchange& ex) {
    std::optional<LineSplitter> lines;
    if (on_line) lines.emplace(*on_line, options_.max_line_bytes);
    stop_requested_ = false;
    streaming_ = on_line != nullptr;
    std::vector<char> chunk(kReadChunk);
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      if (on_line) armDeadline(stream, so);
      auto [ec, n] = co_await http::async_read_some(stream, buffer_, parser, kTuple);
      if (ec == http::error::need_buffer) ec = {};
      size_t got = chunk.size() - parser.get().body().size;
      if (stop_requested_ && on_line) break;  // a stop() ends the stream quietly
      if (ec) {
        ex.error = readError(ec, so);
        break;
      }
      if (!lines) {
        if (ex.response.body.size() + got > options_.max_response_bytes) {
          ex.error = makeError(ErrorCode::TooLarge,
                               fmt::format("response from {} exceeds the {} byte limit", where(),
                                           options_.max_response_bytes));
          break;
        }
        ex.response.body.append(chunk.data(), got);
        continue;
      }
      bool too_long = false;
      if (!lines->feed(std::string_view(chunk.data(), got), too_long)) break;
      if (too_long) {
        ex.error =
            makeError(ErrorCode::TooLarge, fmt::format("a streamed line from {} exceeds {} bytes",
                                                       where(), options_.max_line_bytes));
        break;
      }
    }
    streaming_ = false;
    if (parser.is_done() && lines) lines->finish();
    ex.reusable = !ex.error && parser.is_done() && parser.keep_alive();
    co_return;
  }

  HttpClientOptions options_;
  Url url_;
  std::shared_ptr<ssl::context> tls_;
  asio::io_context io_{1};
  std::optional<PlainStream> plain_;
  std::optional<TlsStream> secure_;
  beast::flat_buffer buffer_;
  std::atomic<bool> stop_requested_{false};
  bool streaming_ = false;  // touched only on the io_context's thread
  uint64_t connections_opened_ = 0;
};

namespace {

util::Result<std::shared_ptr<ssl::context>> makeClientTlsContext(const HttpClientOptions& o) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (!o.ca_file.empty()) {
    ctx->load_verify_file(o.ca_file, ec);
    if (ec) {
      return makeError(
          ErrorCode::BadRequest,
          fmt::format("CA file {}: {} (expected PEM certificates)", o.ca_file, ec.message()));
    }
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return makeError(ErrorCode::Internal,
                       fmt::format("loading the system's trusted CAs: {}", ec.message()));
    }
  }
  return ctx;
}

}  // namespace

util::Result<std::unique_ptr<HttpClient>> HttpClient::create(HttpClientOptions options) {
  ASSIGN_OR_RETURN(Url url, parseUrl(options.base_url));
  std::shared_ptr<ssl::context> tls;
  if (url.scheme == "https") {
    ASSIGN_OR_RETURN(tls, makeClientTlsContext(options));
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(url), std::move(tls));
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

util::Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  return impl_->run(request, nullptr, {});
}

util::Result<HttpResponse> HttpClient::stream(const HttpRequest& request,
                                              const LineHandler& on_line, StreamOptions options) {
  return impl_->run(request, &on_line, options);
}

void HttpClient::stop() { impl_->stop(); }
const Url& HttpClient::url() const { return impl_->url(); }
uint64_t HttpClient::connectionsOpened() const { return impl_->connectionsOpened(); }

}  // namespace magnumd::net
