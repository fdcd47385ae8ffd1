// Lets coroutines wait for a change of state guarded by a caller's mutex (a free pooled
// connection, a finished authentication) without polling: each waiter parks on its own
// one-slot channel, which notifyAll() fills. A notification sent before the waiter started
// waiting stays in the channel, so it is never lost; the waiter re-checks its condition anyway.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

namespace magnumd::drivers::http {

class AsyncNotifier {
 public:
  AsyncNotifier();
  ~AsyncNotifier();
  AsyncNotifier(const AsyncNotifier&) = delete;
  AsyncNotifier& operator=(const AsyncNotifier&) = delete;

  // Waits for notifyAll() or `deadline`, whichever comes first (and ends early when the calling
  // coroutine is cancelled). `lock` must hold the mutex guarding the state: the wait is
  // registered under it, released while waiting and held again on return.
  boost::asio::awaitable<void> wait(std::unique_lock<std::mutex>& lock,
                                    std::chrono::steady_clock::time_point deadline);

  // Wakes every waiter registered so far. Call with the same mutex held.
  void notifyAll();

  struct Waiter;

 private:
  std::vector<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace magnumd::drivers::http
