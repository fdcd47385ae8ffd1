#include "reconcilers/leader_checked_cloud_driver.h"

#include <fmt/format.h>

#include "util/log.h"

namespace magnumd::reconcilers {

template <typename T>
boost::asio::awaitable<T> LeaderCheckedCloudDriver::checked(std::string action,
                                                            boost::asio::awaitable<T> call) {
  // Awaitables are lazy: the inner call has not started, and is dropped unstarted if refused.
  if (!leading_()) {
    refused_.fetch_add(1);
    LOG_WARN("controllers", "not sent to the cloud: {} (this replica no longer leads)", action);
    co_return util::makeError(
        util::ErrorCode::Unavailable,
        fmt::format("{}: not sent, this replica is no longer the leader", action));
  }
  co_return co_await std::move(call);
}

drivers::Task<drivers::StackRef> LeaderCheckedCloudDriver::createStack(
    drivers::StackCreate request) {
  std::string action = "create stack " + request.name;
  return checked(std::move(action), inner_.createStack(std::move(request)));
}

drivers::StatusTask LeaderCheckedCloudDriver::patchStack(drivers::StackRef stack,
                                                         drivers::StackPatch patch) {
  return checked("patch stack", inner_.patchStack(std::move(stack), std::move(patch)));
}

drivers::StatusTask LeaderCheckedCloudDriver::deleteStack(drivers::StackRef stack) {
  return checked("delete stack", inner_.deleteStack(std::move(stack)));
}

drivers::StatusTask LeaderCheckedCloudDriver::markUnhealthy(drivers::StackRef stack,
                                                            std::string resource,
                                                            std::string reason) {
  return checked("mark a resource unhealthy",
                 inner_.markUnhealthy(std::move(stack), std::move(resource), std::move(reason)));
}

drivers::StatusTask LeaderCheckedCloudDriver::deleteServer(std::string id) {
  return checked("delete server", inner_.deleteServer(std::move(id)));
}

}  // namespace magnumd::reconcilers
