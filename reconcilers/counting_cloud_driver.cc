#include "reconcilers/counting_cloud_driver.h"

namespace magnumd::reconcilers {

namespace {

struct VerbInfo {
  const char* service;
  const char* verb;
};

constexpr std::array<VerbInfo, CountingCloudDriver::kVerbs> kVerbInfo{{
    {"identity", "project_id"},
    {"orchestration", "create_stack"},
    {"orchestration", "patch_stack"},
    {"orchestration", "delete_stack"},
    {"orchestration", "list_stacks"},
    {"orchestration", "get_stack"},
    {"orchestration", "list_resources"},
    {"orchestration", "list_events"},
    {"orchestration", "explain_failure"},
    {"orchestration", "mark_unhealthy"},
    {"compute", "list_servers"},
    {"compute", "get_server"},
    {"compute", "delete_server"},
}};

}  // namespace

CountingCloudDriver::CountingCloudDriver(drivers::CloudDriver& inner, util::MetricsRegistry* registry)
    : inner_(inner) {
  if (registry != nullptr) {
    family_ = &registry->counter("magnumd_cloud_calls_total",
                                 "Cloud API operations by service, verb and result (ok|error).",
                                 {"service", "verb", "result"});
  }
}

uint64_t CountingCloudDriver::total() const {
  uint64_t sum = 0;
  for (const auto& c : counts_) sum += c.load();
  return sum;
}

uint64_t CountingCloudDriver::mutations() const {
  return calls(kCreateStack) + calls(kPatchStack) + calls(kDeleteStack) + calls(kMarkUnhealthy) +
         calls(kDeleteServer);
}

void CountingCloudDriver::count(Verb verb, bool ok) {
  counts_[verb].fetch_add(1);
  if (family_ != nullptr) {
    family_->with({kVerbInfo[verb].service, kVerbInfo[verb].verb, ok ? "ok" : "error"}).inc();
  }
}

template <typename T>
boost::asio::awaitable<T> CountingCloudDriver::counted(Verb verb, boost::asio::awaitable<T> call) {
  auto r = co_await std::move(call);
  count(verb, r.ok());
  co_return r;
}

// The inner call's parameters are moved into its own coroutine frame before it runs.
drivers::Task<std::string> CountingCloudDriver::projectId() {
  return counted(kProjectId, inner_.projectId());
}

drivers::Task<drivers::StackRef> CountingCloudDriver::createStack(drivers::StackCreate request) {
  return counted(kCreateStack, inner_.createStack(std::move(request)));
}

drivers::StatusTask CountingCloudDriver::patchStack(drivers::StackRef stack, drivers::StackPatch patch) {
  return counted(kPatchStack, inner_.patchStack(std::move(stack), std::move(patch)));
}

drivers::StatusTask CountingCloudDriver::deleteStack(drivers::StackRef stack) {
  return counted(kDeleteStack, inner_.deleteStack(std::move(stack)));
}

drivers::Task<std::vector<drivers::Stack>> CountingCloudDriver::listStacks(drivers::StackFilter filter) {
  return counted(kListStacks, inner_.listStacks(std::move(filter)));
}

drivers::Task<drivers::Page<drivers::Stack>> CountingCloudDriver::listStacksPage(
    drivers::StackFilter filter, drivers::PageRequest page) {
  return counted(kListStacks, inner_.listStacksPage(std::move(filter), std::move(page)));
}

drivers::Task<drivers::Stack> CountingCloudDriver::getStack(drivers::StackRef stack, bool resolve_outputs) {
  return counted(kGetStack, inner_.getStack(std::move(stack), resolve_outputs));
}

drivers::Task<std::vector<drivers::StackResource>> CountingCloudDriver::listResources(
    drivers::StackRef stack, int nested_depth) {
  return counted(kListResources, inner_.listResources(std::move(stack), nested_depth));
}

drivers::Task<std::vector<drivers::StackEvent>> CountingCloudDriver::listEvents(drivers::StackRef stack,
                                                                               int nested_depth) {
  return counted(kListEvents, inner_.listEvents(std::move(stack), nested_depth));
}

drivers::Task<std::string> CountingCloudDriver::explainFailure(drivers::StackRef stack) {
  return counted(kExplainFailure, inner_.explainFailure(std::move(stack)));
}

drivers::StatusTask CountingCloudDriver::markUnhealthy(drivers::StackRef stack, std::string resource,
                                                       std::string reason) {
  return counted(kMarkUnhealthy,
                 inner_.markUnhealthy(std::move(stack), std::move(resource), std::move(reason)));
}

drivers::Task<std::vector<drivers::Server>> CountingCloudDriver::listServers(drivers::ServerQuery query) {
  return counted(kListServers, inner_.listServers(std::move(query)));
}

drivers::Task<drivers::Page<drivers::Server>> CountingCloudDriver::listServersPage(
    drivers::ServerQuery query, drivers::PageRequest page) {
  return counted(kListServers, inner_.listServersPage(std::move(query), std::move(page)));
}

drivers::Task<drivers::Server> CountingCloudDriver::getServer(std::string id) {
  return counted(kGetServer, inner_.getServer(std::move(id)));
}

drivers::StatusTask CountingCloudDriver::deleteServer(std::string id) {
  return counted(kDeleteServer, inner_.deleteServer(std::move(id)));
}

}  // namespace magnumd::reconcilers
