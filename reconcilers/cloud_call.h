// Bridges the synchronous reconcilers (controller worker threads) to the coroutine-based
// CloudDriver (the daemon's io_context): the task is co_spawned on the io_context and the worker
// waits for its result, bounded by a deadline so a stopped io_context cannot hang a worker.
// A call past its deadline is cancelled (Asio per-operation cancellation: its socket operations
// and timers are aborted, its next co_await throws), so an abandoned call cannot act later.
//
// Never call from an io_context thread: the wait would block the very thread the task needs.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>

#include "drivers/cloud_driver.h"
#include "util/result.h"

namespace boost::asio {
class io_context;
}

namespace magnumd::reconcilers {

class CloudCall {
 public:
  // `timeout` bounds each call end to end; the driver has its own per-request timeouts and
  // retries, so this only fires when the io_context stopped or the driver is wedged. A call past
  // it is cancelled, and `run` waits up to `cancel_grace` more for the call to end.
  CloudCall(boost::asio::io_context& io, drivers::CloudDriver& cloud,
            std::chrono::milliseconds timeout = std::chrono::minutes(3),
            std::chrono::milliseconds cancel_grace = std::chrono::seconds(5));

  drivers::CloudDriver& driver() { return cloud_; }

  util::Status run(drivers::StatusTask task);

  template <typename T>
  util::Result<T> run(drivers::Task<T> task) {
    auto out = std::make_shared<std::optional<util::Result<T>>>();
    auto status = run(capture<T>(std::move(task), out));
    if (!status.ok()) return status.takeError();
    if (!out->has_value()) return util::makeError(util::ErrorCode::Internal, "cloud call lost its result");
    return std::move(**out);
  }

 private:
  template <typename T>
  static drivers::StatusTask capture(drivers::Task<T> task,
                                     std::shared_ptr<std::optional<util::Result<T>>> out) {
    *out = co_await std::move(task);
    co_return util::Status{};
  }

  boost::asio::io_context& io_;
  drivers::CloudDriver& cloud_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds cancel_grace_;
};

}  // namespace magnumd::reconcilers
