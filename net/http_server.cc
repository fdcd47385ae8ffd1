#include "net/http_server.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <map>
#include <mutex>
#include <tuple>

#include "util/log.h"

namespace magnumd::net {

using tcp = asio::ip::tcp;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

struct HttpServer::State {
  State(asio::io_context& io, ServerOptions o, Handler h, ErrorFormatter f)
      : io(io),
        options(std::move(o)),
        handler(std::move(h)),
        error_formatter(std::move(f)),
        accept_strand(asio::make_strand(io)),
        acceptor(accept_strand),
        slot_freed(accept_strand) {}

  asio::io_context& io;
  ServerOptions options;
  Handler handler;
  ErrorFormatter error_formatter;
  // The accept loop, the acceptor and slot_freed live on accept_strand.
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;
  asio::steady_timer slot_freed;  // cancelled when a connection closes at max_connections
  std::atomic<bool> stopping{false};
  std::atomic<size_t> open_connections{0};

  size_t next_context = 0;  // accept_strand's: the session context the next connection gets

  asio::io_context& sessionContext() {
    if (options.session_contexts.empty()) return io;
    return *options.session_contexts[next_context++ % options.session_contexts.size()];
  }

  std::mutex mutex;
  uint64_t next_session_id = 0;
  std::map<uint64_t, std::function<void()>> cancellers;  // wake idle sessions on stop

  Response errorResponse(http::status status, std::string message) const {
    return error_formatter ? error_formatter(status, std::move(message))
                           : plainError(status, std::move(message));
  }
};

namespace {

template <typename Stream>
beast::tcp_stream& lowest(Stream& stream) {
  return beast::get_lowest_layer(stream);
}

template <typename Stream>
class ChunkWriterImpl final : public ChunkWriter {
 public:
  ChunkWriterImpl(Stream& stream, const HttpServer::State& state) : stream_(stream), state_(state) {}

  asio::awaitable<bool> write(std::string data) override {
    if (!ok_) co_return false;
    if (data.empty()) co_return true;
    lowest(stream_).expires_after(state_.options.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk(asio::buffer(data)), kTuple);
    if (ec) ok_ = false;
    co_return ok_;
  }
  bool stopping() const override { return state_.stopping.load(); }
  bool ok() const { return ok_; }

 private:
  Stream& stream_;
  const HttpServer::State& state_;
  bool ok_ = true;
};

template <typename Stream>
asio::awaitable<bool> writeResponse(Stream& stream, const HttpServer::State& state, Response res,
                                    bool keep_alive) {
  res.keep_alive(keep_alive);
  if (res.find(http::field::server) == res.end()) res.set(http::field::server, state.options.server_name);
  res.prepare_payload();
  lowest(stream).expires_after(state.options.write_timeout);
  auto [ec, n] = co_await http::async_write(stream, res, kTuple);
  co_return !ec;
}

template <typename Stream>
asio::awaitable<void> writeStreaming(Stream& stream, const HttpServer::State& state,
                                     StreamingResponse reply, unsigned version) {
  http::response<http::empty_body> head{reply.head.result(), version};
  for (const auto& field : reply.head.base()) head.set(field.name_string(), field.value());
  if (head.find(http::field::server) == head.end()) head.set(http::field::server, state.options.server_name);
  head.keep_alive(false);
  head.chunked(true);
  http::response_serializer<http::empty_body> serializer{head};
  lowest(stream).expires_after(state.options.write_timeout);
  auto [ec, n] = co_await http::async_write_header(stream, serializer, kTuple);
  if (ec) co_return;
  ChunkWriterImpl<Stream> writer(stream, state);
  co_await reply.produce(writer);
  if (writer.ok()) {
    lowest(stream).expires_after(state.options.write_timeout);
    co_await asio::async_write(stream, http::make_chunk_last(), kTuple);
  }
}

// Reads one request. Returns false when the connection should close without a reply.
template <typename Stream>
asio::awaitable<bool> serveOne(Stream& stream, beast::flat_buffer& buffer,
                               HttpServer::State& state, const PeerInfo& peer) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(state.options.header_limit);
  parser.body_limit(state.options.body_limit);

  // A keep-alive connection may wait idle_timeout for the next request; once its first byte is
  // here, the whole request (headers and body) must arrive within read_timeout, so a client that
  // trickles headers cannot hold a connection longer than one that trickles a body.
  lowest(stream).expires_after(state.options.idle_timeout);
  if (buffer.size() == 0) {
    auto [fec, fn] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
    if (fec) co_return false;
    buffer.commit(fn);
  }
  const auto request_deadline = std::chrono::steady_clock::now() + state.options.read_timeout;
  lowest(stream).expires_at(request_deadline);
  auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
  if (hec == http::error::header_limit) {
    co_await writeResponse(stream, state,
                           state.errorResponse(http::status::request_header_fields_too_large,
                                               "request headers exceed the size limit"),
                           false);
    co_return false;
  }
  if (hec == http::error::body_limit) {
    co_await writeResponse(stream, state,
                           state.errorResponse(http::status::payload_too_large,
                                               fmt::format("request body exceeds {} bytes",
                                                           state.options.body_limit)),
                           false);
    co_return false;
  }
  if (hec) {
    if (hec != http::error::end_of_stream && hec != asio::error::operation_aborted &&
        hec != beast::error::timeout && hec != asio::error::eof &&
        hec != asio::error::connection_reset) {
      co_await writeResponse(stream, state,
                             state.errorResponse(http::status::bad_request,
                                                 fmt::format("malformed request: {}", hec.message())),
                             false);
    }
    co_return false;
  }

  const auto& header = parser.get();
  auto expect = header[http::field::expect];
  if (beast::iequals(expect, "100-continue")) {
    http::response<http::empty_body> cont{http::status::continue_, header.version()};
    lowest(stream).expires_after(state.options.write_timeout);
    auto [cec, cn] = co_await http::async_write(stream, cont, kTuple);
    if (cec) co_return false;
  }

  // A request without a body (every GET) is complete with its header: no second read, and no
  // second deadline to arm.
  beast::error_code bec;
  if (!parser.is_done()) {
    lowest(stream).expires_at(request_deadline);
    std::tie(bec, std::ignore) = co_await http::async_read(stream, buffer, parser, kTuple);
  }
  if (bec == http::error::body_limit) {
    co_await writeResponse(stream, state,
                           state.errorResponse(http::status::payload_too_large,
                                               fmt::format("request body exceeds {} bytes",
                                                           state.options.body_limit)),
                           false);
    co_return false;
  }
  if (bec) {
    if (bec != beast::error::timeout && bec != asio::error::operation_aborted &&
        bec != http::error::end_of_stream) {
      co_await writeResponse(stream, state,
                             state.errorResponse(http::status::bad_request,
                                                 fmt::format("malformed request: {}", bec.message())),
                             false);
    }
    co_return false;
  }

  Request request = parser.release();
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive() && !state.stopping.load();
  Reply reply;
  try {
    reply = co_await state.handler(std::move(request), peer);
  } catch (const std::exception& e) {
    LOG_ERROR("http", "handler failed: {}", e.what());
    reply = state.errorResponse(http::status::internal_server_error, "internal error");
  }

  if (auto* streaming = std::get_if<StreamingResponse>(&reply)) {
    co_await writeStreaming(stream, state, std::move(*streaming), version);
    co_return false;
  }
  auto& res = std::get<Response>(reply);
  res.version(version);
  bool written = co_await writeResponse(stream, state, std::move(res), keep_alive);
  co_return written && keep_alive && !state.stopping.load();
}

// An accepted connection's place under max_connections, taken in the accept loop (so the loop
// never accepts past the cap) and given back when the session ends, or when its coroutine is
// destroyed without having run. Giving back a place at the cap wakes the accept loop.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::shared_ptr<HttpServer::State> state) : state_(std::move(state)) {
    state_->open_connections++;
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept = default;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (!state_) return;
    size_t before = state_->open_connections--;
    const size_t cap = state_->options.max_connections;
    if (cap > 0 && before >= cap) {
      asio::post(state_->accept_strand, [state = state_] { state->slot_freed.cancel(); });
    }
  }

 private:
  std::shared_ptr<HttpServer::State> state_;
};

// Registers a session so stop() can wake it. `cancel` runs on the session's strand and only while
// the session is alive (the guard dies on that same strand).
class SessionGuard {
 public:
  template <typename Executor>
  SessionGuard(HttpServer::State& state, Executor executor, std::function<void()> cancel)
      : state_(state), alive_(std::make_shared<bool>(true)) {
    std::lock_guard lock(state_.mutex);
    id_ = state_.next_session_id++;
    state_.cancellers.emplace(id_, [executor, alive = alive_, cancel = std::move(cancel)] {
      asio::post(executor, [alive, cancel] {
        if (*alive) cancel();
      });
    });
  }
  ~SessionGuard() {
    *alive_ = false;
    {
      std::lock_guard lock(state_.mutex);
      state_.cancellers.erase(id_);
    }
  }
  SessionGuard(const SessionGuard&) = delete;
  SessionGuard& operator=(const SessionGuard&) = delete;

 private:
  HttpServer::State& state_;
  std::shared_ptr<bool> alive_;
  uint64_t id_ = 0;
};

template <typename Stream>
asio::awaitable<void> serveConnection(Stream& stream, HttpServer::State& state, PeerInfo peer) {
  beast::flat_buffer buffer;
  while (!state.stopping.load()) {
    if (!co_await serveOne(stream, buffer, state, peer)) break;
  }
}

asio::awaitable<void> plainSession(tcp::socket socket, std::shared_ptr<HttpServer::State> state,
                                   [[maybe_unused]] ConnectionSlot slot) {
  beast::tcp_stream stream(std::move(socket));
  PeerInfo peer;
  boost::system::error_code ec;
  auto endpoint = beast::get_lowest_layer(stream).socket().remote_endpoint(ec);
  if (!ec) peer.address = endpoint.address().to_string();
  auto executor = stream.get_executor();
  SessionGuard guard(*state, executor, [&stream] { stream.socket().cancel(); });
  co_await serveConnection(stream, *state, std::move(peer));
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> tlsSession(tcp::socket socket, std::shared_ptr<HttpServer::State> state,
                                 [[maybe_unused]] ConnectionSlot slot) {
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)),
                                              *state->options.tls);
  PeerInfo peer;
  peer.tls = true;
  boost::system::error_code ec;
  auto endpoint = beast::get_lowest_layer(stream).socket().remote_endpoint(ec);
  if (!ec) peer.address = endpoint.address().to_string();
  auto executor = stream.get_executor();
  SessionGuard guard(*state, executor,
                     [&stream] { beast::get_lowest_layer(stream).socket().cancel(); });
  beast::get_lowest_layer(stream).expires_after(state->options.read_timeout);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
  if (hec) co_return;
  peer.client_certificate = SSL_get0_peer_certificate(stream.native_handle()) != nullptr;
  co_await serveConnection(stream, *state, std::move(peer));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(kTuple);
}

// Runs on accept_strand. At max_connections it waits for a connection to close; when accept
// fails (EMFILE, ENFILE, ENOBUFS: out of descriptors or memory) it backs off, 10 ms doubling to
// 1 s, instead of retrying at once.
asio::awaitable<void> acceptLoop(std::shared_ptr<HttpServer::State> state) {
  constexpr auto kMinBackoff = std::chrono::milliseconds(10);
  constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);
  auto backoff = kMinBackoff;
  const size_t cap = state->options.max_connections;
  auto next_cap_log = std::chrono::steady_clock::time_point::min();
  for (;;) {
    while (cap > 0 && state->open_connections.load() >= cap && !state->stopping.load()) {
      if (auto now = std::chrono::steady_clock::now(); now >= next_cap_log) {
        LOG_WARN("http",
                 "{} connections open (the limit, --max-connections): new clients wait "
                 "until one closes",
                 cap);
        next_cap_log = now + std::chrono::minutes(1);
      }
      state->slot_freed.expires_at(std::chrono::steady_clock::time_point::max());
      co_await state->slot_freed.async_wait(kTuple);
    }
    auto [ec, socket] =
        co_await state->acceptor.async_accept(asio::make_strand(state->sessionContext()), kTuple);
    if (state->stopping.load() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      if (backoff == kMinBackoff) {
        LOG_WARN("http",
                 "accept failed: {}; retrying with backoff (raise the file-descriptor "
                 "limit, or lower --max-connections)",
                 ec.message());
      }
      asio::steady_timer pause(state->accept_strand, backoff);
      co_await pause.async_wait(kTuple);
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    backoff = kMinBackoff;
    ConnectionSlot slot(state);
    socket.set_option(tcp::no_delay(true), ec);
    auto executor = socket.get_executor();
    auto on_done = [](const std::exception_ptr& e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        LOG_WARN("http", "connection ended with exception: {}", ex.what());
      }
    };
    if (state->options.tls) {
      asio::co_spawn(executor, tlsSession(std::move(socket), state, std::move(slot)), on_done);
    } else {
      asio::co_spawn(executor, plainSession(std::move(socket), state, std::move(slot)), on_done);
    }
  }
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, ServerOptions options, Handler handler,
                       ErrorFormatter error_formatter)
    : state_(std::make_shared<State>(io, std::move(options), std::move(handler),
                                     std::move(error_formatter))),
      open_connections_(state_->open_connections) {}

HttpServer::~HttpServer() { stop(); }

util::Status HttpServer::start() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(state_->options.address, ec);
  if (ec) {
    return util::makeError(util::ErrorCode::BadRequest,
                           fmt::format("listen address \"{}\" is not an IP address", state_->options.address));
  }
  tcp::endpoint endpoint(address, state_->options.port);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return util::makeError(util::ErrorCode::Unavailable,
                           fmt::format("cannot listen on {}:{}: {}", state_->options.address,
                                       state_->options.port, ec.message()));
  }
  bound_port_ = acceptor.local_endpoint().port();
  asio::co_spawn(state_->accept_strand, acceptLoop(state_), asio::detached);
  return {};
}

void HttpServer::stop() {
  if (state_->stopping.exchange(true)) return;
  asio::post(state_->accept_strand, [state = state_] {
    boost::system::error_code ec;
    state->acceptor.close(ec);
    state->slot_freed.cancel();
  });
  std::lock_guard lock(state_->mutex);
  for (auto& [id, cancel] : state_->cancellers) cancel();
}

Response plainError(http::status status, std::string message) {
  Response res{status, 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(message) + "\n";
  return res;
}

util::Result<std::shared_ptr<asio::ssl::context>> makeServerTlsContext(const std::string& cert_file,
                                                                      const std::string& key_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return util::makeError(util::ErrorCode::BadRequest,
                           fmt::format("--tls-cert {}: {}", cert_file, ec.message()));
  }
  ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return util::makeError(util::ErrorCode::BadRequest,
                           fmt::format("--tls-key {}: {}", key_file, ec.message()));
  }
  return ctx;
}

}  // namespace magnumd::net
