#include "cloudsim/heat_engine.h"

#include <fmt/format.h>

#include <algorithm>

#include "cloudsim/heat_internal.h"

namespace magnumd::cloudsim {

using util::ErrorCode;
using util::Json;
using util::JsonAlloc;
using util::makeError;

std::string_view actionName(Action a) {
  switch (a) {
    case Action::Init: return "INIT";
    case Action::Create: return "CREATE";
    case Action::Update: return "UPDATE";
    case Action::Delete: return "DELETE";
    case Action::Check: return "CHECK";
  }
  return "INIT";
}

std::string_view statusName(Status s) {
  switch (s) {
    case Status::InProgress: return "IN_PROGRESS";
    case Status::Complete: return "COMPLETE";
    case Status::Failed: return "FAILED";
  }
  return "COMPLETE";
}

std::string statusString(Action a, Status s) {
  return fmt::format("{}_{}", actionName(a), statusName(s));
}

std::string eventId(uint64_t seq) {
  return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", 0xe7e47000u + ((seq >> 48) & 0xfff),
                     (seq >> 36) & 0xffff, (seq >> 24) & 0xfff, (seq >> 12) & 0xfff, seq & 0xfff);
}

std::optional<uint64_t> eventSeq(std::string_view id) {
  if (!isUuidLike(id) || id.substr(0, 5) != "e7e47") return std::nullopt;
  auto hex = [&](size_t pos, size_t len) { return std::stoull(std::string(id.substr(pos, len)), nullptr, 16); };
  uint64_t seq = (hex(0, 8) - 0xe7e47000u) << 48 | hex(9, 4) << 36 | hex(15, 3) << 24 |
                 hex(20, 3) << 12 | hex(33, 3);
  return seq;
}

// ---- engine -------------------------------------------------------------------------------------

HeatEngine::HeatEngine(const SimConfig& config, const util::Clock& clock, IdGenerator& ids,
                       Interner& strings, Scheduler& scheduler, NovaStore& nova, Faults& faults)
    : config_(config), clock_(clock), ids_(ids), strings_(strings), scheduler_(scheduler),
      nova_(nova), faults_(faults) {
  nova_.onChange([this](uint32_t slot) { markDirty(slot); });
}

std::string HeatEngine::physicalId(const Resource& r) const {
  switch (r.kind) {
    case Kind::Server:
      return r.server == kNone || nova_.at(r.server).purged ? "" : nova_.at(r.server).id;
    case Kind::Group:
    case Kind::Provider:
      return r.nested ? r.nested->id : "";
    case Kind::Noop:
      return strings_.get(r.physical);
  }
  return "";
}

util::JsonDoc HeatEngine::pseudoParams(const Stack& st) {
  util::JsonDoc p;
  p.SetObject();
  auto& a = p.GetAllocator();
  p.AddMember("OS::stack_name", util::str(st.name, a), a);
  p.AddMember("OS::stack_id", util::str(st.id, a), a);
  p.AddMember("OS::project_id", util::str(strings_.get(st.project), a), a);
  return p;
}

util::Status HeatEngine::resolveParams(Stack& st, const Template& t, util::JsonDoc& out) {
  RETURN_IF_ERROR(checkUserParameters(t, st.user_params));
  util::JsonDoc pseudo = pseudoParams(st);
  ASSIGN_OR_RETURN(out, resolveParameters(t, st.user_params, &st.env_defaults, pseudo));
  return {};
}

void HeatEngine::event(Stack& st, int depth, std::string_view parent, const Resource& r,
                       std::string_view reason) {
  Event e{};
  e.seq = next_event_seq_++;
  e.time = clock_.now();
  e.resource_name = strings_.intern(r.name);
  e.type = r.type;
  e.reason = strings_.intern(reason);
  e.server = r.kind == Kind::Server ? r.server : kNone;
  e.physical = r.kind == Kind::Server ? 0 : strings_.intern(physicalId(r));
  e.parent = strings_.intern(parent);
  e.action = r.action;
  e.status = r.status;
  e.depth = static_cast<uint8_t>(std::min(depth, 255));
  st.events.push_back(e);
  while (st.events.size() > config_.max_events_per_stack) st.events.pop_front();
}

void HeatEngine::stackEvent(Stack& st, std::string_view reason) {
  Event e{};
  e.seq = next_event_seq_++;
  e.time = clock_.now();
  e.resource_name = strings_.intern(st.name);
  e.type = strings_.intern("OS::Heat::Stack");
  e.reason = strings_.intern(reason);
  e.server = kNone;
  e.physical = strings_.intern(st.id);
  e.parent = 0;
  e.action = st.action;
  e.status = st.status;
  e.depth = 0;
  st.events.push_back(e);
  while (st.events.size() > config_.max_events_per_stack) st.events.pop_front();
}

util::Result<uint32_t> HeatEngine::create(StackInput in) {
  if (by_name_.count({in.project, in.name}) > 0) {
    return makeError(ErrorCode::Conflict, fmt::format("The Stack ({}) already exists.", in.name));
  }
  if (by_name_.size() >= config_.max_stacks) {
    return makeError(ErrorCode::Forbidden, fmt::format("You have reached the maximum stacks ({}) per cloudsim", config_.max_stacks));
  }
  auto st = std::make_unique<Stack>();
  st->id = ids_.uuid();
  st->name = in.name;
  st->project = in.project;
  st->user = in.user;
  st->owner = in.owner;
  st->created = clock_.now();
  st->seq = next_stack_seq_++;
  st->user_params = std::move(in.params);
  st->env_defaults = std::move(in.env_defaults);
  st->environment = std::move(in.environment);
  st->files = std::move(in.files);
  st->tags = in.tags.value_or(std::vector<std::string>{});
  st->disable_rollback = in.disable_rollback;
  st->timeout_mins = in.timeout_mins;
  st->body.id = st->id;
  st->body.name = st->name;
  st->body.tmpl = in.tmpl;
  RETURN_IF_ERROR(resolveParams(*st, *in.tmpl, st->body.params));

  auto slot = static_cast<uint32_t>(stacks_.size());
  Ctx ctx{*st, slot, true, {}, {}};
  st->action = Action::Create;
  st->status = Status::InProgress;
  st->reason = "Stack CREATE started";
  stackEvent(*st, st->reason);
  auto status = converge(ctx, st->body, *in.tmpl, st->body.params, 0, "");
  if (!status.ok()) {
    for (uint32_t s : ctx.created_servers) nova_.discard(s);
    return status.takeError();
  }
  by_id_.emplace(st->id, slot);
  by_name_.emplace(std::make_pair(st->project, st->name), slot);
  stacks_.push_back(std::move(st));
  Stack& created = *stacks_.back();
  if (faults_.stack_create.count > 0) {
    faults_.stack_create.count--;
    created.pending_failure = faults_.stack_create.reason.empty() ? "injected failure" : faults_.stack_create.reason;
    scheduleTick(slot, clock_.now() + config_.server_build);
  }
  if (created.timeout_mins) scheduleTick(slot, clock_.now() + std::chrono::minutes(*created.timeout_mins));
  refresh(created);
  return slot;
}

util::Status HeatEngine::update(uint32_t slot, StackInput in) {
  Stack& st = *stacks_[slot];
  if (st.action == Action::Delete) {
    return makeError(ErrorCode::BadRequest, fmt::format("Updating a stack when it is deleting is not supported (stack {} is {}).", st.name, statusString(st.action, st.status)));
  }
  TemplatePtr tmpl = in.tmpl ? in.tmpl : st.body.tmpl;
  // Work on copies so a rejected update leaves the stack as it was.
  util::JsonDoc params, defaults;
  if (in.existing) {
    params.CopyFrom(st.user_params, params.GetAllocator());
    defaults.CopyFrom(st.env_defaults, defaults.GetAllocator());
  } else {
    params.SetObject();
    defaults.SetObject();
  }
  for (const auto& name : in.clear_parameters) {
    params.RemoveMember(name.c_str());
    defaults.RemoveMember(name.c_str());
  }
  auto overlay = [](util::JsonDoc& target, const Json& source) {
    if (!source.IsObject()) return;
    for (const auto& m : source.GetObject()) {
      target.RemoveMember(m.name);
      target.AddMember(Json(m.name, target.GetAllocator()), Json(m.value, target.GetAllocator()), target.GetAllocator());
    }
  };
  overlay(params, in.params);
  overlay(defaults, in.env_defaults);
  RETURN_IF_ERROR(checkUserParameters(*tmpl, params));
  util::JsonDoc pseudo = pseudoParams(st);
  ASSIGN_OR_RETURN(util::JsonDoc resolved, resolveParameters(*tmpl, params, &defaults, pseudo));

  st.user_params = std::move(params);
  st.env_defaults = std::move(defaults);
  if (in.environment.IsObject() && in.environment.MemberCount() > 0) st.environment = std::move(in.environment);
  for (auto& [k, v] : in.files) st.files[k] = v;
  if (in.tags) st.tags = *in.tags;
  if (in.timeout_mins) st.timeout_mins = in.timeout_mins;
  st.body.tmpl = tmpl;
  st.body.params = std::move(resolved);
  st.action = Action::Update;
  st.status = Status::InProgress;
  st.reason = "Stack UPDATE started";
  st.updated = clock_.now();
  st.generation++;
  st.pending_failure.clear();
  stackEvent(st, st.reason);
  if (faults_.stack_update.count > 0) {
    faults_.stack_update.count--;
    st.pending_failure = faults_.stack_update.reason.empty() ? "injected failure" : faults_.stack_update.reason;
    scheduleTick(slot, clock_.now() + config_.server_build);
    return {};
  }
  Ctx ctx{st, slot, false, {}, {}};
  auto status = converge(ctx, st.body, *tmpl, st.body.params, 0, "");
  if (!status.ok()) {
    finish(st, Status::Failed, status.error().message);
    return {};
  }
  if (st.timeout_mins) scheduleTick(slot, clock_.now() + std::chrono::minutes(*st.timeout_mins));
  refresh(st);
  return {};
}

util::Status HeatEngine::remove(uint32_t slot) {
  Stack& st = *stacks_[slot];
  if (st.action == Action::Delete && st.status == Status::Complete) {
    return makeError(ErrorCode::NotFound, fmt::format("The Stack ({}) could not be found.", st.name));
  }
  if (st.action == Action::Delete && st.status == Status::InProgress) return {};
  st.action = Action::Delete;
  st.status = Status::InProgress;
  st.reason = "Stack DELETE started";
  st.generation++;
  st.pending_failure.clear();
  stackEvent(st, st.reason);
  deleteTree(st, st.body, 0, "", false);
  if (faults_.stack_delete.count > 0) {
    faults_.stack_delete.count--;
    st.pending_failure = faults_.stack_delete.reason.empty() ? "injected failure" : faults_.stack_delete.reason;
    scheduleTick(slot, clock_.now() + config_.delete_time);
    return {};
  }
  scheduler_.add(clock_.now() + config_.delete_time, Work::StackDeleteDone, slot, st.generation);
  return {};
}

util::Status HeatEngine::markUnhealthy(uint32_t slot, Body& body, std::string_view name_or_id,
                                       bool unhealthy, std::string_view reason) {
  Stack& st = *stacks_[slot];
  for (auto& r : body.resources) {
    if (r.name != name_or_id && physicalId(r) != name_or_id) continue;
    if (unhealthy) {
      r.unhealthy = true;
      r.action = Action::Check;
      r.status = Status::Failed;
      r.reason = strings_.intern(reason.empty() ? "Marked unhealthy" : reason);
    } else if (r.unhealthy) {
      r.unhealthy = false;
      r.action = Action::Check;
      r.status = Status::Complete;
      r.reason = strings_.intern(reason);
    }
    r.updated = clock_.now();
    event(st, body.id == st.id ? 0 : 1, body.id == st.id ? "" : body.name, r, strings_.get(r.reason));
    return {};
  }
  return makeError(ErrorCode::NotFound, fmt::format("The Resource ({}) could not be found.", name_or_id));
}

void HeatEngine::scheduleTick(uint32_t slot, SystemTime at) {
  scheduler_.add(at, Work::StackTick, slot, stacks_[slot]->generation);
}

void HeatEngine::markDirty(uint32_t slot) {
  if (slot < stacks_.size()) dirty_.insert(slot);
}

void HeatEngine::flushDirty() {
  auto dirty = std::move(dirty_);
  dirty_.clear();
  for (uint32_t slot : dirty) {
    if (stacks_[slot] && !stacks_[slot]->purged) refresh(*stacks_[slot]);
  }
}

void HeatEngine::onScheduled(const Scheduled& s) {
  if (s.target >= stacks_.size() || !stacks_[s.target]) return;
  Stack& st = *stacks_[s.target];
  switch (s.work) {
    case Work::StackTick:
      if (s.generation != st.generation || st.status != Status::InProgress) return;
      if (!st.pending_failure.empty()) {
        std::string reason = std::move(st.pending_failure);
        st.pending_failure.clear();
        finish(st, Status::Failed, fmt::format("Resource {} failed: {}", actionName(st.action), reason));
      } else if (st.timeout_mins && clock_.now() >= (st.action == Action::Create ? st.created : st.updated) +
                                                      std::chrono::minutes(*st.timeout_mins)) {
        finish(st, Status::Failed, fmt::format("{} timed out", actionName(st.action)));
      } else {
        refresh(st);
      }
      break;
    case Work::StackDeleteDone:
      if (s.generation != st.generation || st.action != Action::Delete || st.status != Status::InProgress) return;
      deleteTree(st, st.body, 0, "", true);
      st.body.resources.clear();
      st.deleted = clock_.now();
      by_name_.erase({st.project, st.name});
      finish(st, Status::Complete, "Stack DELETE completed successfully");
      scheduler_.add(clock_.now() + config_.deleted_retention, Work::StackPurge, s.target, st.generation);
      break;
    case Work::StackPurge:
      if (s.generation != st.generation || st.action != Action::Delete || st.status != Status::Complete) return;
      by_id_.erase(st.id);
      stacks_[s.target].reset();
      break;
    default:
      break;
  }
}

void HeatEngine::finish(Stack& st, Status status, std::string reason) {
  st.status = status;
  st.reason = status == Status::Complete && reason.empty()
                  ? fmt::format("Stack {} completed successfully", actionName(st.action))
                  : std::move(reason);
  st.generation++;
  stackEvent(st, st.reason);
}

Status HeatEngine::progress(Stack& st, Resource& r, int depth, std::string_view parent) {
  if (r.status != Status::InProgress) return r.status;
  std::string reason;
  Status now = Status::InProgress;
  if (r.kind == Kind::Server) {
    const Server& s = nova_.at(r.server);
    if (s.purged || s.vm == VmState::Deleted) {
      now = Status::Failed;
      reason = fmt::format("NotFound: resources.{}: Instance {} could not be found.", r.name, s.id);
    } else if (s.vm == VmState::Error) {
      now = Status::Failed;
      reason = fmt::format("ResourceInError: resources.{}: Went to status ERROR due to \"Message: {}, Code: 500\"",
                           r.name, strings_.get(s.fault));
    } else if (s.vm == VmState::Active || s.vm == VmState::Stopped) {
      now = Status::Complete;
    }
  } else if (r.nested) {
    now = progressBody(st, *r.nested, depth + 1, r.name, &reason);
    if (now == Status::Failed) reason = fmt::format("Error: resources.{}.{}", r.name, reason);
  } else {
    now = Status::Complete;
  }
  if (now == Status::InProgress) return now;
  r.status = now;
  r.updated = clock_.now();
  r.reason = strings_.intern(now == Status::Complete ? "state changed" : reason);
  event(st, depth, parent, r, strings_.get(r.reason));
  return now;
}

Status HeatEngine::progressBody(Stack& st, Body& body, int depth, std::string_view parent,
                                std::string* reason) {
  Status overall = Status::Complete;
  for (auto& r : body.resources) {
    Status s = progress(st, r, depth, parent);
    if (s == Status::Failed && r.action != Action::Check && overall != Status::Failed) {
      overall = Status::Failed;
      if (reason) *reason = strings_.get(r.reason);
    } else if (s == Status::InProgress && overall == Status::Complete) {
      overall = Status::InProgress;
    }
  }
  return overall;
}

void HeatEngine::refresh(Stack& st) {
  if (st.status != Status::InProgress || st.action == Action::Delete) return;
  std::string reason;
  Status s = progressBody(st, st.body, 0, "", &reason);
  if (s == Status::InProgress) return;
  if (s == Status::Complete && !st.pending_failure.empty()) return;  // fails at its tick
  if (s == Status::Failed) {
    finish(st, Status::Failed, fmt::format("Resource {} failed: {}", actionName(st.action), reason));
  } else {
    finish(st, Status::Complete, "");
  }
}

std::optional<uint32_t> HeatEngine::findByName(uint32_t project, std::string_view name) const {
  auto it = by_name_.find({project, std::string(name)});
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> HeatEngine::findById(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

namespace {
Body* findNestedIn(Body& body, std::string_view id) {
  for (auto& r : body.resources) {
    if (!r.nested) continue;
    if (r.nested->id == id) return r.nested.get();
    if (Body* b = findNestedIn(*r.nested, id)) return b;
  }
  return nullptr;
}
}  // namespace

Body* HeatEngine::findNested(uint32_t project, std::string_view id, uint32_t* slot) {
  for (uint32_t i = 0; i < stacks_.size(); ++i) {
    if (!stacks_[i] || stacks_[i]->project != project) continue;
    if (Body* b = findNestedIn(stacks_[i]->body, id)) {
      *slot = i;
      return b;
    }
  }
  return nullptr;
}

void HeatEngine::outputs(Stack& st, Json& out, JsonAlloc& a, bool values) {
  out.SetArray();
  const Template* t = st.body.tmpl.get();
  if (t == nullptr || t->outputs == nullptr || !t->outputs->IsObject()) return;
  BodyResolver resolver{*this, st, st.body};
  for (const auto& m : t->outputs->GetObject()) {
    Json item(rapidjson::kObjectType);
    item.AddMember("output_key", Json(m.name, a), a);
    auto desc = util::stringMember(m.value, "description");
    item.AddMember("description", util::str(desc.value_or("No description given"), a), a);
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    auto override_it = output_overrides_.find(key);
    std::optional<std::string> simulated;
    if (values && override_it != output_overrides_.end()) {
      if (auto slot = findById(st.id)) simulated = override_it->second(*slot);
    }
    if (simulated) {
      item.AddMember("output_value", util::str(*simulated, a), a);
    } else if (values) {
      Json v;
      auto status = resolver.outputValue(key, v, a);
      if (status.ok()) {
        item.AddMember("output_value", v, a);
      } else {
        item.AddMember("output_value", Json(), a);
        item.AddMember("output_error", util::str(status.error().message, a), a);
      }
    }
    out.PushBack(item, a);
  }
}

void HeatEngine::attributes(Stack& st, Body& body, const Resource& r, Json& out, JsonAlloc& a) {
  out.SetObject();
  BodyResolver resolver{*this, st, body};
  auto add = [&](const char* name) {
    Json v;
    if (resolver.attribute(r.name, name, v, a).ok()) out.AddMember(Json(name, a), v, a);
  };
  if (r.kind == Kind::Server) {
    for (const char* n : {"first_address", "networks", "name", "tags"}) add(n);
  } else if (r.kind == Kind::Group) {
    for (const char* n : {"refs", "refs_map", "removed_rsrc_list"}) add(n);
  } else if (r.kind == Kind::Noop) {
    const std::string& type = strings_.get(r.type);
    if (type == "OS::Neutron::Port") {
      for (const char* n : {"fixed_ips", "mac_address", "network_id"}) add(n);
    } else if (type == "OS::Octavia::LoadBalancer") {
      for (const char* n : {"vip_address", "vip_port_id", "vip_subnet_id"}) add(n);
    } else if (type == "OS::Neutron::FloatingIP") {
      for (const char* n : {"floating_ip_address", "port_id", "fixed_ip_address"}) add(n);
    } else if (type == "OS::Heat::Value" || type == "OS::Heat::RandomString") {
      add("value");
    }
  } else if (r.kind == Kind::Provider && r.nested && r.nested->tmpl && r.nested->tmpl->outputs &&
             r.nested->tmpl->outputs->IsObject()) {
    for (const auto& m : r.nested->tmpl->outputs->GetObject()) {
      Json v;
      std::string key(m.name.GetString(), m.name.GetStringLength());
      if (resolver.attribute(r.name, key, v, a).ok()) out.AddMember(util::str(key, a), v, a);
    }
  }
}

}  // namespace magnumd::cloudsim
