// An in-memory CloudDriver for unit tests of the layers above: stacks and servers of one project,
// with the lifecycle Heat shows (IN_PROGRESS until the test completes it, DELETE_COMPLETE visible
// by id, names unique among live stacks), call counting and fault injection. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "drivers/cloud_driver.h"

namespace magnumd::drivers {

class FakeCloudDriver final : public CloudDriver {
 public:
  enum class Op {
    ProjectId, CreateStack, PatchStack, DeleteStack, ListStacks, GetStack, ListResources,
    ListEvents, ExplainFailure, MarkUnhealthy, ListServers, GetServer, DeleteServer,
    ListStacksPage, ListServersPage,
  };
  static const char* opName(Op op);

  struct FakeStack {
    Stack stack;  // status, reason, tags, parameters, outputs as the driver reports them
    std::string template_text;
    std::map<std::string, std::string> files;
    std::vector<StackResource> resources;
    std::vector<StackEvent> events;  // newest last
    std::vector<StackPatch> patches;  // every PATCH received, in order
    bool deleted = false;             // DELETE_COMPLETE: hidden from lists, visible by id
  };

  explicit FakeCloudDriver(std::string project_id = "fake-project", const util::Clock* clock = nullptr);

  // ---- CloudDriver
  Task<std::string> projectId() override;
  Task<StackRef> createStack(StackCreate request) override;
  StatusTask patchStack(StackRef stack, StackPatch patch) override;
  StatusTask deleteStack(StackRef stack) override;
  Task<std::vector<Stack>> listStacks(StackFilter filter) override;
  Task<Page<Stack>> listStacksPage(StackFilter filter, PageRequest page) override;  // by id
  Task<Stack> getStack(StackRef stack, bool resolve_outputs) override;
  Task<std::vector<StackResource>> listResources(StackRef stack, int nested_depth) override;
  Task<std::vector<StackEvent>> listEvents(StackRef stack, int nested_depth) override;
  Task<std::string> explainFailure(StackRef stack) override;
  StatusTask markUnhealthy(StackRef stack, std::string resource, std::string reason) override;
  Task<std::vector<Server>> listServers(ServerQuery query) override;
  Task<Page<Server>> listServersPage(ServerQuery query, PageRequest page) override;  // by id
  Task<Server> getServer(std::string id) override;
  StatusTask deleteServer(std::string id) override;

  // ---- fault injection: the next `times` calls of `op` fail with `error` (before any effect).
  void failNext(Op op, util::Error error, int times = 1);
  // Every call of `op` fails until cleared with std::nullopt.
  void failAlways(Op op, std::optional<util::Error> error);
  // When true, creates, patches and deletes finish at once (COMPLETE / gone).
  void setAutoComplete(bool on);
  // Called (without the lock) after each successful create or patch, so a test can derive
  // servers, resources or outputs from the parameters, as Heat would.
  void setOnChange(std::function<void(FakeCloudDriver&, const std::string& stack_id)> hook);

  // ---- observation
  int calls(Op op) const;
  int totalCalls() const;
  void resetCalls();

  // ---- the cloud acting on its own
  std::optional<FakeStack> stack(const std::string& id) const;
  std::optional<FakeStack> stackByName(const std::string& name) const;  // live stacks only
  std::vector<FakeStack> stacks() const;                                 // including deleted
  void setStackStatus(const std::string& id, std::string status, std::string reason = {});
  // Every *_IN_PROGRESS stack moves to *_COMPLETE (DELETE_COMPLETE stacks become deleted).
  void completeAll();
  void setOutput(const std::string& id, std::string key, std::string value_json);
  void setResources(const std::string& id, std::vector<StackResource> resources);
  void addEvent(const std::string& id, StackEvent event);
  void removeStack(const std::string& id);  // gone entirely, as after an out-of-band purge

  void putServer(Server server);            // add or replace; `updated` set to now
  void setServerStatus(const std::string& id, std::string status,
                       std::optional<ServerFault> fault = std::nullopt);
  void removeServer(const std::string& id);  // shows as DELETED in changes-since listings
  std::vector<Server> servers() const;       // live servers

 private:
  std::optional<util::Error> takeFault(Op op);  // counts the call too
  bool stackListed(const FakeStack& s, const StackFilter& filter) const;
  bool serverListed(const Server& server, const ServerQuery& query) const;
  FakeStack* find(const StackRef& ref);
  util::SystemTime now() const;

  mutable std::mutex mutex_;
  std::string project_id_;
  const util::Clock* clock_;
  util::RealClock real_clock_;
  bool auto_complete_ = false;
  std::function<void(FakeCloudDriver&, const std::string&)> on_change_;
  std::map<std::string, FakeStack> stacks_;  // by id
  std::map<std::string, Server> servers_;    // by id, including DELETED ones
  std::map<Op, int> calls_;
  std::map<Op, std::vector<util::Error>> next_faults_;
  std::map<Op, util::Error> always_faults_;
  uint64_t next_id_ = 1;
};

}  // namespace magnumd::drivers
