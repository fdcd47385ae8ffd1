#include "reconcilers/cloud_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <future>

namespace magnumd::reconcilers {

namespace asio = boost::asio;

CloudCall::CloudCall(asio::io_context& io, drivers::CloudDriver& cloud,
                     std::chrono::milliseconds timeout)
    : io_(io), cloud_(cloud), timeout_(timeout) {}

util::Status CloudCall::run(drivers::StatusTask task) {
  auto promise = std::make_shared<std::promise<util::Status>>();
  auto future = promise->get_future();
  asio::co_spawn(io_, std::move(task), [promise](std::exception_ptr error, util::Status status) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        status = util::makeError(util::ErrorCode::Internal, std::string("cloud call failed: ") + e.what());
      } catch (...) {
        status = util::makeError(util::ErrorCode::Internal, "cloud call failed with an unknown exception");
      }
    }
    promise->set_value(std::move(status));
  });
  if (future.wait_for(timeout_) != std::future_status::ready) {
    return util::makeError(util::ErrorCode::Timeout,
                           "cloud call did not finish within " + std::to_string(timeout_.count()) + " ms");
  }
  return future.get();
}

}  // namespace magnumd::reconcilers
