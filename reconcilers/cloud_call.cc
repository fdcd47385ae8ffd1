#include "reconcilers/cloud_call.h"

#include <atomic>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <exception>
#include <future>

namespace magnumd::reconcilers {

namespace asio = boost::asio;

namespace {

// One call in flight. Its coroutine, its completion and its cancellation all run on its own
// strand, so a cancellation never races a step of the call.
struct PendingCall {
  explicit PendingCall(asio::io_context& io) : strand(asio::make_strand(io)) {}

  asio::strand<asio::io_context::executor_type> strand;
  asio::cancellation_signal cancel;
  std::promise<util::Status> promise;
  bool finished = false;               // on the strand
  std::atomic<bool> cancelled{false};  // set on the strand, read by the waiting worker
};

util::Status failure(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return util::makeError(util::ErrorCode::Internal,
                           std::string("cloud call failed: ") + e.what());
  } catch (...) {
    return util::makeError(util::ErrorCode::Internal,
                           "cloud call failed with an unknown exception");
  }
}

}  // namespace

CloudCall::CloudCall(asio::io_context& io, drivers::CloudDriver& cloud,
                     std::chrono::milliseconds timeout, std::chrono::milliseconds cancel_grace)
    : io_(io), cloud_(cloud), timeout_(timeout), cancel_grace_(cancel_grace) {}

util::Status CloudCall::run(drivers::StatusTask task) {
  auto call = std::make_shared<PendingCall>(io_);
  auto future = call->promise.get_future();
  asio::co_spawn(call->strand, std::move(task),
                 asio::bind_cancellation_slot(
                     call->cancel.slot(), [call](std::exception_ptr error, util::Status status) {
                       call->finished = true;
                       call->promise.set_value(error ? failure(error) : std::move(status));
                     }));
  if (future.wait_for(timeout_) == std::future_status::ready) return future.get();

  // The caller gives up: cancel the call (its pending I/O is aborted and its next co_await
  // throws), and wait for it to end, so that nothing it does can happen after the caller moved on.
  asio::post(call->strand, [call] {
    if (call->finished) return;
    call->cancelled = true;
    call->cancel.emit(asio::cancellation_type::terminal);
  });
  if (future.wait_for(cancel_grace_) == std::future_status::ready && !call->cancelled) {
    return future.get();  // it finished before the cancellation reached it: that is what happened
  }
  return util::makeError(
      util::ErrorCode::Timeout,
      "cloud call did not finish within " + std::to_string(timeout_.count()) + " ms; cancelled");
}

}  // namespace magnumd::reconcilers
