// A CloudDriver decorator that counts every call by service, verb and result, for /metrics
// (`magnumd_cloud_calls_total`) and for tests that assert how many cloud calls a pass made.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "drivers/cloud_driver.h"
#include "util/metrics.h"

namespace magnumd::reconcilers {

class CountingCloudDriver final : public drivers::CloudDriver {
 public:
  enum Verb {
    kProjectId, kCreateStack, kPatchStack, kDeleteStack, kListStacks, kGetStack, kListResources,
    kListEvents, kExplainFailure, kMarkUnhealthy, kListServers, kGetServer, kDeleteServer, kVerbs
  };
  // `registry` may be null (tests); the inner driver must outlive the decorator.
  CountingCloudDriver(drivers::CloudDriver& inner, util::MetricsRegistry* registry);
  // Another project's driver counted in the same metric family as `sibling`'s.
  CountingCloudDriver(drivers::CloudDriver& inner, const CountingCloudDriver& sibling)
      : inner_(inner), family_(sibling.family_) {}

  uint64_t calls(Verb verb) const { return counts_[verb].load(); }
  uint64_t total() const;
  // Calls that change something in the cloud (create, patch, delete, mark unhealthy).
  uint64_t mutations() const;

  drivers::Task<std::string> projectId() override;
  drivers::Task<drivers::StackRef> createStack(drivers::StackCreate request) override;
  drivers::StatusTask patchStack(drivers::StackRef stack, drivers::StackPatch patch) override;
  drivers::StatusTask deleteStack(drivers::StackRef stack) override;
  drivers::Task<std::vector<drivers::Stack>> listStacks(drivers::StackFilter filter) override;
  drivers::Task<drivers::Page<drivers::Stack>> listStacksPage(drivers::StackFilter filter,
                                                             drivers::PageRequest page) override;
  drivers::Task<drivers::Stack> getStack(drivers::StackRef stack, bool resolve_outputs) override;
  drivers::Task<std::vector<drivers::StackResource>> listResources(drivers::StackRef stack,
                                                                   int nested_depth) override;
  drivers::Task<std::vector<drivers::StackEvent>> listEvents(drivers::StackRef stack,
                                                             int nested_depth) override;
  drivers::Task<std::string> explainFailure(drivers::StackRef stack) override;
  drivers::StatusTask markUnhealthy(drivers::StackRef stack, std::string resource,
                                    std::string reason) override;
  drivers::Task<std::vector<drivers::Server>> listServers(drivers::ServerQuery query) override;
  drivers::Task<drivers::Page<drivers::Server>> listServersPage(drivers::ServerQuery query,
                                                               drivers::PageRequest page) override;
  drivers::Task<drivers::Server> getServer(std::string id) override;
  drivers::StatusTask deleteServer(std::string id) override;

 private:
  // Awaits the inner call and counts its outcome (page requests count as list calls).
  template <typename T>
  boost::asio::awaitable<T> counted(Verb verb, boost::asio::awaitable<T> call);
  void count(Verb verb, bool ok);

  drivers::CloudDriver& inner_;
  util::Family<util::Counter>* family_ = nullptr;
  std::array<std::atomic<uint64_t>, kVerbs> counts_{};
};

}  // namespace magnumd::reconcilers
