#include "tests/cloudsim/plain_http.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace magnumd::cloudsim::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

PlainReply plainRequest(uint16_t port, http::verb verb, const std::string& target,
                        const std::string& body, const std::string& token) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set("X-Auth-Token", token);
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return {static_cast<int>(res.result_int()), res.body(), std::string(res["X-Subject-Token"])};
}

}  // namespace magnumd::cloudsim::testing
