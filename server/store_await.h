// Awaiting the Store's asynchronous writes from a coroutine: the store calls back on its own
// thread; the result is posted back to the awaiting coroutine's executor (the connection's
// strand), and a work guard keeps that executor's io_context running meanwhile.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>

#include "store/store.h"

namespace magnumd::server {

// `start(done)` submits the write; `observe(seconds)` records how long the store took.
template <typename Start, typename Observe>
boost::asio::awaitable<util::Result<api::Object>> awaitStore(Start start, Observe observe) {
  namespace asio = boost::asio;
  auto initiate = [start = std::move(start), observe = std::move(observe)](auto handler) mutable {
    using Handler = decltype(handler);
    struct Pending {
      Handler handler;
      asio::executor_work_guard<asio::associated_executor_t<Handler>> work;
    };
    auto executor = asio::get_associated_executor(handler);
    auto pending = std::make_shared<Pending>(Pending{std::move(handler), asio::make_work_guard(executor)});
    auto begun = std::chrono::steady_clock::now();
    start([pending, begun, observe](util::Result<api::Object> result) mutable {
      observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count());
      auto ex = pending->work.get_executor();
      asio::post(ex, [pending, result = std::move(result)]() mutable {
        pending->handler(std::move(result));
        pending->work.reset();
      });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&,
                                          void(util::Result<api::Object>)>(std::move(initiate),
                                                                           asio::use_awaitable);
}

}  // namespace magnumd::server
