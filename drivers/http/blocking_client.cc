#include "drivers/http/blocking_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>

namespace magnumd::drivers::http {

namespace asio = boost::asio;

namespace {

// co_spawn hands a coroutine's value to its completion handler only for default-constructible
// types, which Result is not.
asio::awaitable<void> storeResult(asio::awaitable<util::Result<HttpResponse>> task,
                                  std::optional<util::Result<HttpResponse>>* out) {
  out->emplace(co_await std::move(task));
}

}  // namespace

struct BlockingHttpClient::Impl {
  asio::io_context io{1};
  std::unique_ptr<HttpClient> client;  // declared after io: its connections close first

  util::Result<HttpResponse> run(asio::awaitable<util::Result<HttpResponse>> task) {
    std::optional<util::Result<HttpResponse>> out;
    std::exception_ptr failure;
    asio::co_spawn(io, storeResult(std::move(task), &out),
                   [&failure](std::exception_ptr e) { failure = e; });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*out);
  }
};

util::Result<std::unique_ptr<BlockingHttpClient>> BlockingHttpClient::create(
    HttpClientOptions options) {
  auto impl = std::make_unique<Impl>();
  ASSIGN_OR_RETURN(impl->client, HttpClient::create(impl->io.get_executor(), std::move(options)));
  return std::unique_ptr<BlockingHttpClient>(new BlockingHttpClient(std::move(impl)));
}

BlockingHttpClient::BlockingHttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlockingHttpClient::~BlockingHttpClient() = default;

util::Result<HttpResponse> BlockingHttpClient::send(HttpRequest request) {
  return impl_->run(impl_->client->send(std::move(request)));
}

util::Result<HttpResponse> BlockingHttpClient::stream(HttpRequest request, LineHandler on_line,
                                                      StreamOptions options) {
  return impl_->run(
      impl_->client->stream(std::move(request), std::move(on_line), std::move(options)));
}

HttpClientStats BlockingHttpClient::stats() const { return impl_->client->stats(); }

}  // namespace magnumd::drivers::http
