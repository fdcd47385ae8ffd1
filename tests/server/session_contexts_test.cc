// Connections are dealt in turn to the session contexts, each run by one thread, and every
// request of a connection is handled on its context's thread: a coroutine never resumes on
// another thread (what Clang 16's optimised coroutines get wrong, cmd/daemon.cc).
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "net/http_server.h"

namespace magnumd::net {
namespace {

using tcp = asio::ip::tcp;

std::string threadName() {
  std::ostringstream id;
  id << std::this_thread::get_id();
  return id.str();
}

TEST(SessionContextsTest, EachConnectionStaysOnTheThreadOfTheContextItWasDealt) {
  asio::io_context accept_io;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  ServerOptions options;
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>());
    work.push_back(asio::make_work_guard(*contexts.back()));
    options.session_contexts.push_back(contexts.back().get());
  }
  auto accept_work = asio::make_work_guard(accept_io);
  // The handler answers with the thread it started on and the one it resumed on after a
  // suspension (a post to its own executor, as the store's answers are).
  HttpServer server(accept_io, options, [](Request request, PeerInfo) -> asio::awaitable<Reply> {
    std::string before = threadName();
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    Response response{http::status::ok, request.version()};
    response.body() = before + " " + threadName();
    co_return response;
  });
  ASSERT_TRUE(server.start().ok());
  std::vector<std::thread> threads;
  threads.emplace_back([&] { accept_io.run(); });
  for (auto& context : contexts) threads.emplace_back([&context] { context->run(); });

  asio::io_context client_io;
  std::map<std::string, int> connections_per_thread;
  for (int connection = 0; connection < 6; ++connection) {
    tcp::socket socket(client_io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
    std::set<std::string> seen;
    for (int request = 0; request < 5; ++request) {
      Request req{http::verb::get, "/", 11};
      req.set(http::field::host, "127.0.0.1");
      http::write(socket, req);
      beast::flat_buffer buffer;
      Response res;
      http::read(socket, buffer, res);
      std::istringstream body(res.body());
      std::string before, after;
      body >> before >> after;
      EXPECT_EQ(before, after) << "resumed on another thread";
      seen.insert(before);
    }
    EXPECT_EQ(seen.size(), 1u) << "one connection's requests ran on several threads";
    ++connections_per_thread[*seen.begin()];
  }
  // Six connections over three contexts, in turn: two each.
  EXPECT_EQ(connections_per_thread.size(), 3u);
  for (const auto& [thread, count] : connections_per_thread) EXPECT_EQ(count, 2) << thread;

  // The contexts run dry rather than being stopped: a stopped accepting context would keep the
  // cancelled accept, whose socket belongs to a session context destroyed before it.
  server.stop();
  accept_work.reset();
  work.clear();
  for (auto& thread : threads) thread.join();
}

}  // namespace
}  // namespace magnumd::net
