// The listener's connection cap: at max_connections the server stops accepting, so the next
// client waits (in the listen backlog) and is served as soon as an open connection closes. And the
// deadlines docs/api.md promises: a request within read_timeout of its first byte, a TLS
// handshake within read_timeout of connecting.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <optional>
#include <thread>

#include "net/http_server.h"
#include "tests/support/tls_cert.h"

namespace magnumd::net {
namespace {

using tcp = asio::ip::tcp;

class ConnectionLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.max_connections = 2;
    server_ = std::make_unique<HttpServer>(
        io_, options, [](Request request, PeerInfo) -> asio::awaitable<Reply> {
          Response response{http::status::ok, request.version()};
          response.body() = "served " + std::string(request.target());
          co_return response;
        });
    ASSERT_TRUE(server_->start().ok());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // A client connection: TCP connects even while the server does not accept (the backlog).
  std::unique_ptr<tcp::socket> connect() {
    auto socket = std::make_unique<tcp::socket>(client_io_);
    socket->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    return socket;
  }
  static void send(tcp::socket& socket, const std::string& target) {
    Request request{http::verb::get, target, 11};
    request.set(http::field::host, "127.0.0.1");
    http::write(socket, request);
  }
  // True when the socket has something to read within `wait`.
  static bool readable(tcp::socket& socket, std::chrono::milliseconds wait) {
    pollfd fd{socket.native_handle(), POLLIN, 0};
    return ::poll(&fd, 1, static_cast<int>(wait.count())) == 1;
  }
  static std::string receive(tcp::socket& socket) {
    beast::flat_buffer buffer;
    Response response;
    http::read(socket, buffer, response);
    return response.body();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  asio::io_context client_io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(ConnectionLimitTest, TheConnectionBeyondTheCapWaitsAndIsServedWhenOneCloses) {
  auto first = connect();
  auto second = connect();
  send(*first, "/1");
  send(*second, "/2");
  EXPECT_EQ(receive(*first), "served /1");
  EXPECT_EQ(receive(*second), "served /2");
  EXPECT_EQ(server_->openConnections(), 2u);

  auto third = connect();
  send(*third, "/3");
  EXPECT_FALSE(readable(*third, std::chrono::milliseconds(300)))
      << "a third connection was served while two were open";
  EXPECT_EQ(server_->openConnections(), 2u);

  first->close();
  ASSERT_TRUE(readable(*third, std::chrono::seconds(5)));
  EXPECT_EQ(receive(*third), "served /3");
  // The kept-alive connections still work, and the cap still holds.
  send(*second, "/2-again");
  EXPECT_EQ(receive(*second), "served /2-again");
  EXPECT_EQ(server_->openConnections(), 2u);
}

// The read deadline covers the whole request from its first byte: headers trickled one byte at a
// time (slowloris) are cut off after read_timeout, not after the much longer idle_timeout.
TEST(RequestDeadline, HeadersTrickledByteByByteAreCutOffReadTimeoutAfterTheFirstByte) {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  ServerOptions options;
  options.read_timeout = std::chrono::milliseconds(400);
  options.idle_timeout = std::chrono::seconds(20);
  HttpServer server(io, options, [](Request request, PeerInfo) -> asio::awaitable<Reply> {
    co_return Response{http::status::ok, request.version()};
  });
  ASSERT_TRUE(server.start().ok());
  std::thread thread([&] { io.run(); });

  asio::io_context client_io;
  tcp::socket socket(client_io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  const std::string header = "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  const auto first_byte = std::chrono::steady_clock::now();
  bool closed = false;
  for (size_t i = 0; i < 40 && !closed; ++i) {  // 40 bytes over 4 s, never a complete request
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(i < header.size() ? header.substr(i, 1) : std::string("a")), ec);
    pollfd fd{socket.native_handle(), POLLIN, 0};
    if (ec || ::poll(&fd, 1, 100) == 1) closed = true;  // readable here means EOF: nothing was sent
  }
  const auto held = std::chrono::steady_clock::now() - first_byte;
  EXPECT_TRUE(closed) << "the connection was still open after 4 s";
  EXPECT_LT(held, std::chrono::seconds(2)) << "the deadline did not count from the first byte";
  server.stop();
  work.reset();
  io.stop();
  thread.join();
}

// A TLS client must finish its handshake within read_timeout of connecting: one that connects and
// never starts it is cut off then, not after idle_timeout.
TEST(RequestDeadline, ATlsHandshakeNeverStartedIsCutOffAfterReadTimeout) {
  auto dir =
      std::filesystem::temp_directory_path() / ("magnumd-handshake-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto cert = magnumd::testing::makeSelfSignedCert(dir.string());
  auto tls = makeServerTlsContext(cert.cert_file, cert.key_file);
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  ServerOptions options;
  options.tls = *tls;
  options.read_timeout = std::chrono::milliseconds(400);
  options.idle_timeout = std::chrono::seconds(20);
  HttpServer server(io, options, [](Request request, PeerInfo) -> asio::awaitable<Reply> {
    co_return Response{http::status::ok, request.version()};
  });
  ASSERT_TRUE(server.start().ok());
  std::thread thread([&] { io.run(); });

  asio::io_context client_io;
  tcp::socket socket(client_io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  const auto connected = std::chrono::steady_clock::now();
  pollfd fd{socket.native_handle(), POLLIN, 0};
  const bool closed = ::poll(&fd, 1, 4000) == 1;  // readable: EOF, the server never writes first
  EXPECT_TRUE(closed) << "the connection was still open after 4 s";
  EXPECT_LT(std::chrono::steady_clock::now() - connected, std::chrono::seconds(2));
  server.stop();
  work.reset();
  io.stop();
  thread.join();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace magnumd::net
