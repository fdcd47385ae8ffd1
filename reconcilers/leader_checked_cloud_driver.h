// A CloudDriver decorator for the elected leader (store/leader_election.h): every call that
// changes the cloud (create, patch and delete a stack, mark a resource unhealthy, delete a
// server) first checks that this replica still leads, right before it is sent, and is refused
// (Unavailable, nothing sent) once the term may have ended. Reads pass. The cloud has no
// transaction to carry a fencing token, so this check, made within renew_deadline of the last
// renewal, is what keeps a paused or partitioned leader from acting beside its successor.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "drivers/cloud_driver.h"

namespace magnumd::reconcilers {

class LeaderCheckedCloudDriver final : public drivers::CloudDriver {
 public:
  // The inner driver must outlive the decorator; `leading` is called from the I/O threads.
  LeaderCheckedCloudDriver(drivers::CloudDriver& inner, std::function<bool()> leading)
      : inner_(inner), leading_(std::move(leading)) {}

  uint64_t refused() const { return refused_.load(); }

  drivers::Task<std::string> projectId() override { return inner_.projectId(); }
  drivers::Task<drivers::StackRef> createStack(drivers::StackCreate request) override;
  drivers::StatusTask patchStack(drivers::StackRef stack, drivers::StackPatch patch) override;
  drivers::StatusTask deleteStack(drivers::StackRef stack) override;
  drivers::Task<std::vector<drivers::Stack>> listStacks(drivers::StackFilter filter) override {
    return inner_.listStacks(std::move(filter));
  }
  drivers::Task<drivers::Page<drivers::Stack>> listStacksPage(drivers::StackFilter filter,
                                                             drivers::PageRequest page) override {
    return inner_.listStacksPage(std::move(filter), std::move(page));
  }
  drivers::Task<drivers::Stack> getStack(drivers::StackRef stack, bool resolve_outputs) override {
    return inner_.getStack(std::move(stack), resolve_outputs);
  }
  drivers::Task<std::vector<drivers::StackResource>> listResources(drivers::StackRef stack,
                                                                   int nested_depth) override {
    return inner_.listResources(std::move(stack), nested_depth);
  }
  drivers::Task<std::vector<drivers::StackEvent>> listEvents(drivers::StackRef stack,
                                                             int nested_depth) override {
    return inner_.listEvents(std::move(stack), nested_depth);
  }
  drivers::Task<std::string> explainFailure(drivers::StackRef stack) override {
    return inner_.explainFailure(std::move(stack));
  }
  drivers::StatusTask markUnhealthy(drivers::StackRef stack, std::string resource,
                                    std::string reason) override;
  drivers::Task<std::vector<drivers::Server>> listServers(drivers::ServerQuery query) override {
    return inner_.listServers(std::move(query));
  }
  drivers::Task<drivers::Page<drivers::Server>> listServersPage(
      drivers::ServerQuery query, drivers::PageRequest page) override {
    return inner_.listServersPage(std::move(query), std::move(page));
  }
  drivers::Task<drivers::Server> getServer(std::string id) override {
    return inner_.getServer(std::move(id));
  }
  drivers::StatusTask deleteServer(std::string id) override;

 private:
  // Awaits the inner call only if this replica still leads when the call is awaited.
  template <typename T>
  boost::asio::awaitable<T> checked(std::string action, boost::asio::awaitable<T> call);

  drivers::CloudDriver& inner_;
  std::function<bool()> leading_;
  std::atomic<uint64_t> refused_{0};
};

}  // namespace magnumd::reconcilers
