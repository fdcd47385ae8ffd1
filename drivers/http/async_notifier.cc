#include "drivers/http/async_notifier.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace magnumd::drivers::http {

namespace asio = boost::asio;

// Thread-safe: notifyAll() may run on any thread while the waiter's coroutine runs on another.
struct AsyncNotifier::Waiter {
  explicit Waiter(const asio::any_io_executor& executor) : wake(executor, 1) {}
  asio::experimental::concurrent_channel<void(boost::system::error_code)> wake;
};

AsyncNotifier::AsyncNotifier() = default;
AsyncNotifier::~AsyncNotifier() = default;

asio::awaitable<void> AsyncNotifier::wait(std::unique_lock<std::mutex>& lock,
                                          std::chrono::steady_clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
  auto executor = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<Waiter>(executor);
  waiters_.push_back(waiter);
  lock.unlock();
  asio::steady_timer timer(executor, deadline);
  // Whichever ends first cancels the other; a cancellation of this coroutine ends both.
  co_await (waiter->wake.async_receive(kTuple) || timer.async_wait(kTuple));
  lock.lock();
  std::erase(waiters_, waiter);  // still registered when the deadline came first
}

void AsyncNotifier::notifyAll() {
  for (const auto& waiter : waiters_) waiter->wake.try_send(boost::system::error_code{});
  waiters_.clear();
}

}  // namespace magnumd::drivers::http
