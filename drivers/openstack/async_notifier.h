// Lets coroutines wait for a change of state guarded by a caller's mutex (a free pooled
// connection, a finished authentication). Waits are sliced: a wake-up lost to a race costs at
// most one slice, never a hang, and the waiter always re-checks its condition.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

namespace magnumd::drivers::openstack {

class AsyncNotifier {
 public:
  // `lock` must hold the mutex guarding the state; it is released while waiting and held again
  // on return.
  boost::asio::awaitable<void> wait(std::unique_lock<std::mutex>& lock,
                                    std::chrono::milliseconds slice) {
    auto timer = std::make_shared<boost::asio::steady_timer>(
        co_await boost::asio::this_coro::executor, slice);
    std::erase_if(waiters_, [](const auto& w) { return w.expired(); });
    waiters_.push_back(timer);
    lock.unlock();
    co_await timer->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    lock.lock();
  }

  // Call with the same mutex held.
  void notifyAll() {
    for (auto& weak : waiters_) {
      if (auto timer = weak.lock()) {
        boost::asio::post(timer->get_executor(), [timer] { timer->cancel(); });
      }
    }
    waiters_.clear();
  }

 private:
  std::vector<std::weak_ptr<boost::asio::steady_timer>> waiters_;
};

}  // namespace magnumd::drivers::openstack
