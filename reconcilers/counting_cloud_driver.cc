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

// Each wrapper awaits the inner call and counts its outcome; parameters by value (coroutines).
drivers::Task<std::string> CountingCloudDriver::projectId() {
  auto r = co_await inner_.projectId();
  count(kProjectId, r.ok());
  co_return r;
}

drivers::Task<drivers::StackRef> CountingCloudDriver::createStack(drivers::StackCreate request) {
  auto r = co_await inner_.createStack(std::move(request));
  count(kCreateStack, r.ok());
  co_return r;
}

drivers::StatusTask CountingCloudDriver::patchStack(drivers::StackRef stack, drivers::StackPatch patch) {
  auto r = co_await inner_.patchStack(std::move(stack), std::move(patch));
  count(kPatchStack, r.ok());
  co_return r;
}

drivers::StatusTask CountingCloudDriver::deleteStack(drivers::StackRef stack) {
  auto r = co_await inner_.deleteStack(std::move(stack));
  count(kDeleteStack, r.ok());
  co_return r;
}

drivers::Task<std::vector<drivers::Stack>> CountingCloudDriver::listStacks(drivers::StackFilter filter) {
  auto r = co_await inner_.listStacks(std::move(filter));
  count(kListStacks, r.ok());
  co_return r;
}

drivers::Task<drivers::Stack> CountingCloudDriver::getStack(drivers::StackRef stack, bool resolve_outputs) {
  auto r = co_await inner_.getStack(std::move(stack), resolve_outputs);
  count(kGetStack, r.ok());
  co_return r;
}

drivers::Task<std::vector<drivers::StackResource>> CountingCloudDriver::listResources(
    drivers::StackRef stack, int nested_depth) {
  auto r = co_await inner_.listResources(std::move(stack), nested_depth);
  count(kListResources, r.ok());
  co_return r;
}

drivers::Task<std::vector<drivers::StackEvent>> CountingCloudDriver::listEvents(drivers::StackRef stack,
                                                                               int nested_depth) {
  auto r = co_await inner_.listEvents(std::move(stack), nested_depth);
  count(kListEvents, r.ok());
  co_return r;
}

drivers::Task<std::string> CountingCloudDriver::explainFailure(drivers::StackRef stack) {
  auto r = co_await inner_.explainFailure(std::move(stack));
  count(kExplainFailure, r.ok());
  co_return r;
}

drivers::StatusTask CountingCloudDriver::markUnhealthy(drivers::StackRef stack, std::string resource,
                                                       std::string reason) {
  auto r = co_await inner_.markUnhealthy(std::move(stack), std::move(resource), std::move(reason));
  count(kMarkUnhealthy, r.ok());
  co_return r;
}

drivers::Task<std::vector<drivers::Server>> CountingCloudDriver::listServers(drivers::ServerQuery query) {
  auto r = co_await inner_.listServers(std::move(query));
  count(kListServers, r.ok());
  co_return r;
}

drivers::Task<drivers::Server> CountingCloudDriver::getServer(std::string id) {
  auto r = co_await inner_.getServer(std::move(id));
  count(kGetServer, r.ok());
  co_return r;
}

drivers::StatusTask CountingCloudDriver::deleteServer(std::string id) {
  auto r = co_await inner_.deleteServer(std::move(id));
  count(kDeleteServer, r.ok());
  co_return r;
}

}  // namespace magnumd::reconcilers
