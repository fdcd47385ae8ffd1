// Heat v1 client over an authenticated Session (service type "orchestration").
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

#include "drivers/cloud_driver.h"
#include "drivers/openstack/session.h"

namespace magnumd::drivers::openstack {

struct HeatOptions {
  int page_size = 500;   // stacks and events per list request
  int max_pages = 1000;  // a loop guard against a server that never ends its pages
};

struct EventQuery {
  int nested_depth = 0;
  std::string resource_status;  // "FAILED", "COMPLETE", ... ("" = all)
  std::string resource_name;
  size_t max_events = 1000;     // newest first, at most this many
};

class HeatClient {
 public:
  explicit HeatClient(Session& session, HeatOptions options = {});

  Task<StackRef> create(StackCreate request);
  StatusTask patch(StackRef stack, StackPatch patch);
  StatusTask remove(StackRef stack);
  Task<Stack> get(StackRef stack, bool resolve_outputs);
  Task<std::vector<Stack>> list(StackFilter filter);
  Task<Page<Stack>> listPage(StackFilter filter, PageRequest page);
  Task<std::vector<StackResource>> resources(StackRef stack, int nested_depth);
  Task<std::vector<StackEvent>> events(StackRef stack, EventQuery query);
  Task<StackOutput> output(StackRef stack, std::string key);
  // On the stack that owns the resource (for a ResourceGroup member: the group's nested stack).
  StatusTask markUnhealthy(StackRef owner, std::string resource_name, bool unhealthy,
                           std::string reason);

 private:
  Session& session_;
  HeatOptions options_;
};

// "/stacks/{name}/{id}", or "/stacks/{name_or_id}" when only one is known (Heat redirects).
std::string stackPath(const StackRef& stack);

}  // namespace magnumd::drivers::openstack
