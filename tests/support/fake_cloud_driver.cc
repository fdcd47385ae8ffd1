#include "tests/support/fake_cloud_driver.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <type_traits>

namespace magnumd::drivers {

using util::ErrorCode;
using util::makeError;
using Op = FakeCloudDriver::Op;

namespace {

bool hasAllTags(const std::vector<std::string>& have, const std::vector<std::string>& want) {
  return std::all_of(want.begin(), want.end(), [&](const std::string& t) {
    return std::find(have.begin(), have.end(), t) != have.end();
  });
}

// Heat's status filter accepts "FAILED", "CREATE_FAILED", ...
bool statusMatches(const Stack& s, const std::vector<std::string>& statuses) {
  if (statuses.empty()) return true;
  return std::any_of(statuses.begin(), statuses.end(),
                     [&](const std::string& f) { return f == s.status || f == s.state(); });
}

Stack summaryOf(const Stack& stack) {
  Stack summary = stack;
  summary.parameters.clear();
  summary.outputs.clear();
  return summary;
}

util::Error markerNotFound(const std::string& marker) {
  return makeError(ErrorCode::BadRequest, fmt::format("marker [{}] not found", marker));
}

// One page of a map keyed by id, after `marker`: what `pick` returns for each entry, at most
// `page.limit` (1,000 by default). `pick` returns the listed form of an entry, or nullopt.
template <typename V, typename Pick>
auto pageAfter(const std::map<std::string, V>& items, const PageRequest& page, Pick pick)
    -> util::Result<Page<typename std::invoke_result_t<Pick, const V&>::value_type>> {
  Page<typename std::invoke_result_t<Pick, const V&>::value_type> out;
  auto it = items.begin();
  if (!page.marker.empty()) {
    it = items.find(page.marker);
    if (it == items.end()) return markerNotFound(page.marker);
    ++it;
  }
  const size_t limit = page.limit > 0 ? static_cast<size_t>(page.limit) : 1000;
  for (; it != items.end() && out.items.size() < limit; ++it) {
    if (auto item = pick(it->second)) out.items.push_back(std::move(*item));
  }
  if (out.items.size() == limit) out.next_marker = std::prev(it)->first;  // the last one returned
  return out;
}

std::string withState(const std::string& status, std::string_view state) {
  auto pos = status.find('_');
  return (pos == std::string::npos ? status : status.substr(0, pos)) + "_" + std::string(state);
}

}  // namespace

const char* FakeCloudDriver::opName(Op op) {
  switch (op) {
    case Op::ProjectId: return "projectId";
    case Op::CreateStack: return "createStack";
    case Op::PatchStack: return "patchStack";
    case Op::DeleteStack: return "deleteStack";
    case Op::ListStacks: return "listStacks";
    case Op::GetStack: return "getStack";
    case Op::ListResources: return "listResources";
    case Op::ListEvents: return "listEvents";
    case Op::ExplainFailure: return "explainFailure";
    case Op::MarkUnhealthy: return "markUnhealthy";
    case Op::ListServers: return "listServers";
    case Op::ListStacksPage: return "listStacksPage";
    case Op::ListServersPage: return "listServersPage";
    case Op::GetServer: return "getServer";
    case Op::DeleteServer: return "deleteServer";
  }
  return "unknown";
}

FakeCloudDriver::FakeCloudDriver(std::string project_id, const util::Clock* clock)
    : project_id_(std::move(project_id)), clock_(clock) {}

util::SystemTime FakeCloudDriver::now() const { return clock_ ? clock_->now() : real_clock_.now(); }

std::optional<util::Error> FakeCloudDriver::takeFault(Op op) {
  calls_[op]++;
  if (auto it = next_faults_.find(op); it != next_faults_.end() && !it->second.empty()) {
    util::Error e = it->second.front();
    it->second.erase(it->second.begin());
    return e;
  }
  if (auto it = always_faults_.find(op); it != always_faults_.end()) return it->second;
  return std::nullopt;
}

FakeCloudDriver::FakeStack* FakeCloudDriver::find(const StackRef& ref) {
  if (!ref.id.empty()) {
    auto it = stacks_.find(ref.id);
    if (it == stacks_.end() || (!ref.name.empty() && it->second.stack.ref.name != ref.name)) return nullptr;
    return &it->second;
  }
  for (auto& [id, s] : stacks_) {
    if (!s.deleted && s.stack.ref.name == ref.name) return &s;
  }
  return nullptr;
}

Task<std::string> FakeCloudDriver::projectId() {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::ProjectId)) co_return *f;
  co_return project_id_;
}

Task<StackRef> FakeCloudDriver::createStack(StackCreate request) {
  StackRef ref;
  {
    std::lock_guard lock(mutex_);
    if (auto f = takeFault(Op::CreateStack)) co_return *f;
    if (find(StackRef{request.name, ""}) != nullptr) {
      co_return makeError(ErrorCode::Conflict,
                          fmt::format("creating stack \"{}\": The Stack ({}) already exists.",
                                      request.name, request.name));
    }
    ref = {request.name, fmt::format("fake-stack-{}", next_id_++)};
    FakeStack s;
    s.stack.ref = ref;
    s.stack.status = auto_complete_ ? "CREATE_COMPLETE" : "CREATE_IN_PROGRESS";
    s.stack.status_reason = "Stack CREATE started";
    s.stack.tags = request.tags;
    s.stack.parameters = request.parameters;
    s.stack.timeout_mins = request.timeout_mins;
    s.stack.created = now();
    s.template_text = std::move(request.template_text);
    s.files = std::move(request.files);
    stacks_.emplace(ref.id, std::move(s));
  }
  if (on_change_) on_change_(*this, ref.id);
  co_return ref;
}

StatusTask FakeCloudDriver::patchStack(StackRef ref, StackPatch patch) {
  {
    std::lock_guard lock(mutex_);
    if (auto f = takeFault(Op::PatchStack)) co_return *f;
    FakeStack* s = find(ref);
    if (s == nullptr || s->deleted) {
      co_return makeError(ErrorCode::NotFound, fmt::format("The Stack ({}) could not be found.", ref.name));
    }
    if (s->stack.action() == "DELETE") {
      co_return makeError(ErrorCode::BadRequest, fmt::format("Updating a stack when it is deleting "
                                                             "is not supported (stack {})", ref.name));
    }
    for (const auto& [k, v] : patch.parameters) s->stack.parameters[k] = v;
    for (const auto& k : patch.clear_parameters) s->stack.parameters.erase(k);
    if (patch.template_text) s->template_text = *patch.template_text;
    for (const auto& [k, v] : patch.files) s->files[k] = v;
    if (patch.tags) s->stack.tags = *patch.tags;
    if (patch.timeout_mins) s->stack.timeout_mins = patch.timeout_mins;
    s->stack.status = auto_complete_ ? "UPDATE_COMPLETE" : "UPDATE_IN_PROGRESS";
    s->stack.status_reason = "Stack UPDATE started";
    s->stack.updated = now();
    s->patches.push_back(std::move(patch));
    ref = s->stack.ref;
  }
  if (on_change_) on_change_(*this, ref.id);
  co_return util::Status();
}

StatusTask FakeCloudDriver::deleteStack(StackRef ref) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::DeleteStack)) co_return *f;
  FakeStack* s = find(ref);
  if (s == nullptr || s->deleted) {
    co_return makeError(ErrorCode::NotFound, fmt::format("The Stack ({}) could not be found.",
                                                         ref.name.empty() ? ref.id : ref.name));
  }
  s->stack.status = auto_complete_ ? "DELETE_COMPLETE" : "DELETE_IN_PROGRESS";
  s->stack.status_reason = "Stack DELETE started";
  s->deleted = auto_complete_;
  co_return util::Status();
}

Task<std::vector<Stack>> FakeCloudDriver::listStacks(StackFilter filter) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::ListStacks)) co_return *f;
  std::vector<Stack> out;
  for (const auto& [id, s] : stacks_) {
    if (stackListed(s, filter)) out.push_back(summaryOf(s.stack));
  }
  co_return out;
}

bool FakeCloudDriver::stackListed(const FakeStack& s, const StackFilter& filter) const {
  return !s.deleted && hasAllTags(s.stack.tags, filter.tags) && statusMatches(s.stack, filter.statuses);
}

Task<Page<Stack>> FakeCloudDriver::listStacksPage(StackFilter filter, PageRequest page) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::ListStacksPage)) co_return *f;
  co_return pageAfter(stacks_, page, [&](const FakeStack& s) {
    return stackListed(s, filter) ? std::optional(summaryOf(s.stack)) : std::nullopt;
  });
}

Task<Stack> FakeCloudDriver::getStack(StackRef ref, bool resolve_outputs) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::GetStack)) co_return *f;
  FakeStack* s = find(ref);
  // Heat finds a deleted stack by id (DELETE_COMPLETE) but not by name alone.
  if (s == nullptr || (s->deleted && ref.id.empty())) {
    co_return makeError(ErrorCode::NotFound, fmt::format("The Stack ({}) could not be found.",
                                                         ref.name.empty() ? ref.id : ref.name));
  }
  Stack out = s->stack;
  if (!resolve_outputs || s->deleted) out.outputs.clear();
  co_return out;
}

Task<std::vector<StackResource>> FakeCloudDriver::listResources(StackRef ref, int /*nested_depth*/) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::ListResources)) co_return *f;
  FakeStack* s = find(ref);
  if (s == nullptr) co_return makeError(ErrorCode::NotFound, fmt::format("The Stack ({}) could not be found.", ref.name));
  co_return s->resources;
}

Task<std::vector<StackEvent>> FakeCloudDriver::listEvents(StackRef ref, int /*nested_depth*/) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::ListEvents)) co_return *f;
  FakeStack* s = find(ref);
  if (s == nullptr) co_return makeError(ErrorCode::NotFound, fmt::format("The Stack ({}) could not be found.", ref.name));
  std::vector<StackEvent> out(s->events.rbegin(), s->events.rend());  // newest first, as listed
  co_return out;
}

Task<std::string> FakeCloudDriver::explainFailure(StackRef ref) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::ExplainFailure)) co_return *f;
  FakeStack* s = find(ref);
  if (s == nullptr) co_return makeError(ErrorCode::NotFound, fmt::format("The Stack ({}) could not be found.", ref.name));
  std::vector<StackEvent> failed;
  for (auto it = s->events.rbegin(); it != s->events.rend(); ++it) {
    if (it->status.ends_with("_FAILED")) failed.push_back(*it);
  }
  co_return describeStackFailure(s->stack, s->resources, failed);
}

StatusTask FakeCloudDriver::markUnhealthy(StackRef ref, std::string resource, std::string reason) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::MarkUnhealthy)) co_return *f;
  FakeStack* s = find(ref);
  if (s == nullptr) co_return makeError(ErrorCode::NotFound, fmt::format("The Stack ({}) could not be found.", ref.name));
  for (auto& r : s->resources) {
    if (r.name == resource || (!r.physical_id.empty() && r.physical_id == resource)) {
      r.status = "CHECK_FAILED";
      r.status_reason = reason;
      co_return util::Status();
    }
  }
  co_return makeError(ErrorCode::NotFound,
                      fmt::format("stack \"{}\" has no resource named or with physical id \"{}\"",
                                  ref.name, resource));
}

Task<std::vector<Server>> FakeCloudDriver::listServers(ServerQuery query) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::ListServers)) co_return *f;
  std::vector<Server> out;
  for (const auto& [id, server] : servers_) {
    if (serverListed(server, query)) out.push_back(server);
  }
  co_return out;
}

bool FakeCloudDriver::serverListed(const Server& server, const ServerQuery& query) const {
  if (query.changes_since) {
    if (!server.updated || *server.updated < *query.changes_since) return false;
  } else if (server.status == "DELETED") {
    return false;
  }
  return hasAllTags(server.tags, query.tags);
}

Task<Page<Server>> FakeCloudDriver::listServersPage(ServerQuery query, PageRequest page) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::ListServersPage)) co_return *f;
  co_return pageAfter(servers_, page, [&](const Server& server) {
    return serverListed(server, query) ? std::optional(server) : std::nullopt;
  });
}

Task<Server> FakeCloudDriver::getServer(std::string id) {
  std::lock_guard lock(mutex_);
  if (auto f = takeFault(Op::GetServer)) co_return *f;
  auto it = servers_.find(id);
  if (it == servers_.end() || it->second.status == "DELETED") {
    co_return makeError(ErrorCode::NotFound, fmt::format("Instance {} could not be found.", id));
  }
  co_return it->second;
}

StatusTask FakeCloudDriver::deleteServer(std::string id) {
  {
    std::lock_guard lock(mutex_);
    if (auto f = takeFault(Op::DeleteServer)) co_return *f;
    auto it = servers_.find(id);
    if (it == servers_.end() || it->second.status == "DELETED") {
      co_return makeError(ErrorCode::NotFound, fmt::format("Instance {} could not be found.", id));
    }
  }
  removeServer(id);
  co_return util::Status();
}

// ---- test controls

void FakeCloudDriver::failNext(Op op, util::Error error, int times) {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < times; ++i) next_faults_[op].push_back(error);
}

void FakeCloudDriver::failAlways(Op op, std::optional<util::Error> error) {
  std::lock_guard lock(mutex_);
  if (error) always_faults_[op] = *error;
  else always_faults_.erase(op);
}

void FakeCloudDriver::setAutoComplete(bool on) {
  std::lock_guard lock(mutex_);
  auto_complete_ = on;
}

void FakeCloudDriver::setOnChange(std::function<void(FakeCloudDriver&, const std::string&)> hook) {
  std::lock_guard lock(mutex_);
  on_change_ = std::move(hook);
}

int FakeCloudDriver::calls(Op op) const {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

int FakeCloudDriver::totalCalls() const {
  std::lock_guard lock(mutex_);
  int total = 0;
  for (const auto& [op, n] : calls_) total += n;
  return total;
}

void FakeCloudDriver::resetCalls() {
  std::lock_guard lock(mutex_);
  calls_.clear();
}

std::optional<FakeCloudDriver::FakeStack> FakeCloudDriver::stack(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = stacks_.find(id);
  if (it == stacks_.end()) return std::nullopt;
  return it->second;
}

std::optional<FakeCloudDriver::FakeStack> FakeCloudDriver::stackByName(const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, s] : stacks_) {
    if (!s.deleted && s.stack.ref.name == name) return s;
  }
  return std::nullopt;
}

std::vector<FakeCloudDriver::FakeStack> FakeCloudDriver::stacks() const {
  std::lock_guard lock(mutex_);
  std::vector<FakeStack> out;
  for (const auto& [id, s] : stacks_) out.push_back(s);
  return out;
}

void FakeCloudDriver::setStackStatus(const std::string& id, std::string status, std::string reason) {
  std::lock_guard lock(mutex_);
  auto it = stacks_.find(id);
  if (it == stacks_.end()) return;
  it->second.stack.status = std::move(status);
  it->second.stack.status_reason = std::move(reason);
  it->second.stack.updated = now();
  it->second.deleted = it->second.stack.status == "DELETE_COMPLETE";
}

void FakeCloudDriver::completeAll() {
  std::lock_guard lock(mutex_);
  for (auto& [id, s] : stacks_) {
    if (!s.stack.inProgress()) continue;
    s.stack.status = withState(s.stack.status, "COMPLETE");
    s.stack.status_reason = fmt::format("Stack {} completed successfully", s.stack.action());
    s.deleted = s.stack.status == "DELETE_COMPLETE";
  }
}

void FakeCloudDriver::setOutput(const std::string& id, std::string key, std::string value_json) {
  std::lock_guard lock(mutex_);
  auto it = stacks_.find(id);
  if (it == stacks_.end()) return;
  auto& outputs = it->second.stack.outputs;
  for (auto& o : outputs) {
    if (o.key == key) {
      o.value_json = std::move(value_json);
      return;
    }
  }
  outputs.push_back(StackOutput{std::move(key), std::move(value_json), "", ""});
}

void FakeCloudDriver::setResources(const std::string& id, std::vector<StackResource> resources) {
  std::lock_guard lock(mutex_);
  if (auto it = stacks_.find(id); it != stacks_.end()) it->second.resources = std::move(resources);
}

void FakeCloudDriver::addEvent(const std::string& id, StackEvent event) {
  std::lock_guard lock(mutex_);
  if (auto it = stacks_.find(id); it != stacks_.end()) it->second.events.push_back(std::move(event));
}

void FakeCloudDriver::removeStack(const std::string& id) {
  std::lock_guard lock(mutex_);
  stacks_.erase(id);
}

void FakeCloudDriver::putServer(Server server) {
  std::lock_guard lock(mutex_);
  server.updated = now();
  if (!server.created) server.created = server.updated;
  servers_[server.id] = std::move(server);
}

void FakeCloudDriver::setServerStatus(const std::string& id, std::string status,
                                      std::optional<ServerFault> fault) {
  std::lock_guard lock(mutex_);
  auto it = servers_.find(id);
  if (it == servers_.end()) return;
  it->second.status = std::move(status);
  it->second.fault = std::move(fault);
  it->second.updated = now();
}

void FakeCloudDriver::removeServer(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = servers_.find(id);
  if (it == servers_.end()) return;
  it->second.status = "DELETED";
  it->second.updated = now();
}

std::vector<Server> FakeCloudDriver::servers() const {
  std::lock_guard lock(mutex_);
  std::vector<Server> out;
  for (const auto& [id, s] : servers_) {
    if (s.status != "DELETED") out.push_back(s);
  }
  return out;
}

}  // namespace magnumd::drivers
