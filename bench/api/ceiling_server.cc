// The ceiling for api_bench's GET: the smallest server written the way Beast's own coroutine
// examples write one (an io_context run by N threads, a strand per connection, keep-alive,
// expires_after on every read and write), answering every request with one fixed JSON body. What
// magnumd does per request beyond this (routing, authentication, the store lookup, encoding the
// object, metrics) is the difference between the two rows api_bench prints.
//
//   ceiling_server --listen 127.0.0.1:PORT --body-file FILE [--threads 2]
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> session(tcp::socket socket, const std::string& body) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    stream.expires_after(std::chrono::seconds(30));
    auto [rec, rn] = co_await http::async_read(stream, buffer, req, kTuple);
    if (rec) break;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-cache, private");
    res.keep_alive(req.keep_alive());
    res.body() = body;
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
    if (wec || !req.keep_alive()) break;
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> acceptLoop(tcp::acceptor& acceptor, const std::string& body) {
  for (;;) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()), kTuple);
    if (ec) co_return;
    auto executor = socket.get_executor();
    asio::co_spawn(executor, session(std::move(socket), body), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fixed-body HTTP server: the ceiling for api_bench's GET"};
  std::string listen, body_file;
  int threads = 2;
  app.add_option("--listen", listen, "127.0.0.1:PORT")->required();
  app.add_option("--body-file", body_file, "the JSON body every request is answered with")
      ->required();
  app.add_option("--threads", threads, "threads running the io_context")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(body_file, std::ios::binary);
  const std::string body{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto colon = listen.rfind(':');
  tcp::endpoint endpoint(asio::ip::make_address(listen.substr(0, colon)),
                         static_cast<uint16_t>(std::stoi(listen.substr(colon + 1))));
  asio::io_context io(threads);
  tcp::acceptor acceptor(io, endpoint);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, auto) { io.stop(); });
  asio::co_spawn(io, acceptLoop(acceptor, body), asio::detached);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}
