// One clean async HTTP/1.1 server (Boost.Beast, C++20 coroutines), shared by magnumd's API and
// cloudsim. Request handling is a function from request to reply, so handlers are testable
// without sockets. Every read and write has a deadline; every parser a header and body limit.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "util/result.h"

namespace magnumd::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Writes chunks of a streaming (chunked) response. write() returns false once the peer is gone
// or the write deadline passed; the producer must then return.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  virtual asio::awaitable<bool> write(std::string data) = 0;
  // True once the server is shutting down: producers finish promptly.
  virtual bool stopping() const = 0;
};

// A response whose body is produced over time (watch streams). `head` carries status and headers;
// its body is ignored. `produce` runs on the connection's strand and returns when the stream ends.
struct StreamingResponse {
  Response head;
  std::function<asio::awaitable<void>(ChunkWriter&)> produce;
};

using Reply = std::variant<Response, StreamingResponse>;

struct PeerInfo {
  std::string address;
  bool tls = false;
  // The client presented a certificate during the TLS handshake. Only meaningful when the TLS
  // context verifies peers (asio::ssl::verify_peer): then an untrusted certificate fails the
  // handshake, so a presented certificate is a verified one.
  bool client_certificate = false;
};

using Handler = std::function<asio::awaitable<Reply>(Request, PeerInfo)>;
// Formats errors the transport produces itself (413 body too large, 400 malformed, 431 headers).
using ErrorFormatter = std::function<Response(http::status status, std::string message)>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port; port() tells which
  uint32_t header_limit = 16 * 1024;
  uint64_t body_limit = 1024 * 1024;
  std::chrono::milliseconds read_timeout{30000};   // whole request, once its first byte arrived
  std::chrono::milliseconds write_timeout{30000};  // each write
  std::chrono::milliseconds idle_timeout{75000};   // keep-alive wait for the next request
  std::shared_ptr<asio::ssl::context> tls;         // null: plain HTTP
  // Open connections at most; 0: no cap. At the cap the server stops accepting, so further
  // clients wait in the listen backlog, and resumes as soon as a connection closes.
  size_t max_connections = 0;
  std::string server_name = "magnumd";
  // The contexts connections run on, in turn; empty: the server's own. Each must be run by
  // exactly one thread, so a connection's coroutines never resume on another thread than the
  // one they suspended on (which Clang 16's optimised coroutines get wrong).
  std::vector<asio::io_context*> session_contexts;
};

class HttpServer {
 public:
  HttpServer(asio::io_context& io, ServerOptions options, Handler handler,
             ErrorFormatter error_formatter = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Errors (address in use, bad address) are values.
  util::Status start();
  uint16_t port() const { return bound_port_; }

  // Stops accepting; open connections finish their current request and close; streams see
  // stopping() and end. Safe from any thread.
  void stop();
  size_t openConnections() const { return open_connections_.load(); }

  struct State;  // shared with sessions, outlives the server object if sessions linger

 private:
  std::shared_ptr<State> state_;
  uint16_t bound_port_ = 0;
  std::atomic<size_t>& open_connections_;
};

// A plain-text error response formatter (used when none is given).
Response plainError(http::status status, std::string message);

// Builds a TLS server context from PEM files; errors name the file.
util::Result<std::shared_ptr<asio::ssl::context>> makeServerTlsContext(const std::string& cert_file,
                                                                      const std::string& key_file);

}  // namespace magnumd::net
